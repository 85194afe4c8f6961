"""Noise-averaged gradients: SmoothGrad, VarGrad and SquareGrad.

For n noisy copies x + e_s of each input, e_s ~ N(0, sigma^2) per pixel, and g_s = dS_w(x + e_s)/dx:

- SmoothGrad (Smilkov et al., 2017, "SmoothGrad: removing noise by adding noise", §3 eq. 2): (1/n) sum_s g_s;
- VarGrad (Adebayo et al., 2018, "Local explanation methods for deep neural networks lack sensitivity to
  parameter values", §2): the variance of the g_s, unbiased (1/(n-1) sum_s (g_s - mean)^2, as xplique);
- SquareGrad (Hooker et al., 2019, "A benchmark for interpretability methods in deep neural networks",
  SmoothGrad-Squared, §4): (1/n) sum_s g_s^2.

S_w = sum_k w_k S_k is the explained scalar of :mod:`tfx_explain.targets`, so one-vs-one maps take the gradient
of the score delta S_co - S_ct (as :func:`~tfx_explain.attribution._common.explained_gradient`).

The noise level is relative to the input range, as Smilkov et al. §4 ("noise level" = sigma / (x_max - x_min)):
sigma = noise_std * (high - low), per channel where the range is per channel; the range comes from
``explain_keras(input_range=...)``, the model or the data (:mod:`tfx_explain.input_range`).

The noise is drawn in the graph from TensorFlow's stateless Philox, keyed by (seed, image index)
(:func:`tfx_explain.rng.tf_normal`): a map never depends on chunking. All the copies of a chunk of images go
through the model together, in blocks of at most ``batch_size`` model evaluations per traced call (memory bound,
:func:`~tfx_explain.attribution._common.path_points_per_call`); the mean and the variance are combined across
blocks with Chan et al.'s pairwise update, so VarGrad is 0 (not a rounding residue of E[g^2] - E[g]^2) wherever
the gradient does not change with the noise.
"""
from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from .. import input_range as ir
from ..batching import map_batches
from ..errors import InputError
from ._common import MethodResult, path_points_per_call

if TYPE_CHECKING:
    from .._typing import Float32, Progress, Strategy
    from ..input_range import InputRange
    from ..targets import ScoreFunction

STATISTICS = ("mean", "variance", "square")
_NEEDS = "needs the input range to scale its noise (noise_std is relative to high - low)"


def check_noise_std(noise_std, name="noise_std"):
    """``noise_std`` as a float >= 0, or one InputError naming ``name``."""
    if (isinstance(noise_std, bool) or not isinstance(noise_std, numbers.Real) or not math.isfinite(noise_std)
            or noise_std < 0):
        raise InputError(f"{name}: expected a finite number >= 0 (a fraction of the input range), got {noise_std!r}")
    return float(noise_std)


def noise_sigma(input_range, noise_std, channels, feature):
    """sigma = noise_std * (high - low): a float32 array of shape () or (C,). InputError when the range is unknown."""
    rng = ir.require(input_range, feature)
    low, high = ir.broadcastable(rng, channels)
    return (np.float32(noise_std) * (np.asarray(high, np.float32) - np.asarray(low, np.float32))).astype(np.float32)


def noise_seeds(seed, image_ids):
    """(len(image_ids), 2) int64 stateless seeds of the images' noise (:func:`tfx_explain.rng.tf_seeds`)."""
    from .. import rng

    return rng.tf_seeds(seed, "gradient_noise", image_ids)


def noise_draw(seeds, samples, image_shape):
    """(len(seeds), samples) + image_shape standard normals: copy s of image i gets row [i, s].

    ``seeds`` from :func:`noise_seeds`. The one draw of every noise-averaged method (SmoothGrad, VarGrad,
    SquareGrad and the ``noise_samples`` option of :mod:`.noise`), from the ``"gradient_noise"`` stream of
    :mod:`tfx_explain.rng`.
    """
    from .. import rng

    return rng.tf_normal(seeds, (int(samples),) + tuple(int(d) for d in image_shape))


def sizes(points, samples, n_images):
    """(images per chunk, samples per block, blocks) so that one traced call evaluates <= ``points`` copies."""
    chunk = max(1, min(n_images, points // samples)) if samples <= points else 1
    blocks = -(-chunk * samples // points)
    return chunk, -(-samples // blocks), blocks


def _chunk_fn(score_fn, samples, block, blocks, sigma):
    import tensorflow as tf

    sig = tf.constant(sigma, tf.float32)

    def chunk(x, seeds, w):
        shape = x.shape[1:]
        c = tf.shape(x)[0]
        noise = noise_draw(seeds, samples, shape)  # (c, samples, H, W, C)
        pad = blocks * block - samples
        noise = tf.pad(noise, [[0, 0], [0, pad]] + [[0, 0]] * len(shape))
        valid_all = tf.pad(tf.ones([samples], tf.float32), [[0, pad]])
        w_rep = tf.repeat(w, block, axis=0)

        def body(i, count, mean, m2):
            e = noise[:, i * block:(i + 1) * block]
            points = tf.reshape(x[:, None] + sig * e, tf.concat([[c * block], tf.shape(x)[1:]], 0))
            with tf.GradientTape() as tape:
                tape.watch(points)
                out = score_fn.explained(points, w_rep)
            g = tf.reshape(tape.gradient(out, points), tf.concat([[c, block], tf.shape(x)[1:]], 0))
            valid = tf.reshape(valid_all[i * block:(i + 1) * block], [1, block] + [1] * len(shape))
            n_b = tf.reduce_sum(valid)
            mean_b = tf.reduce_sum(g * valid, axis=1, keepdims=True) / n_b
            m2_b = tf.reduce_sum(tf.square(g - mean_b) * valid, axis=1, keepdims=True)
            total = count + n_b  # Chan, Golub & LeVeque's pairwise combination of (count, mean, M2)
            delta = mean_b - mean
            new_mean = mean + delta * (n_b / total)
            new_m2 = m2 + m2_b + tf.square(delta) * (count * n_b / total)
            return i + 1, total, tf.ensure_shape(new_mean, mean.shape), tf.ensure_shape(new_m2, m2.shape)

        zeros = tf.zeros_like(x)[:, None]
        _, count, mean, m2 = tf.while_loop(lambda i, *_: i < blocks, body, (0, tf.constant(0.0), zeros, zeros))
        mean, m2 = mean[:, 0], m2[:, 0]
        # all three statistics from one trace: (1/n) sum g^2 = mean^2 + M2 / n, without a running sum's cancellation
        return mean, m2 / tf.maximum(count - 1.0, 1.0), tf.square(mean) + m2 / count

    return chunk


def gradient_statistic(score_fn, x, weights, *, statistic, samples, noise_std, seed, input_range, name,
                       batch_size=None, strategy=None, progress=False):
    """The ``statistic`` of dS_w/dx over ``samples`` noisy copies of each input: (N, H, W, C) float32."""
    if statistic not in STATISTICS:
        raise InputError(f"statistic: expected one of {STATISTICS}, got {statistic!r}")
    noise_std = check_noise_std(noise_std)
    if isinstance(samples, bool) or not isinstance(samples, numbers.Integral) or samples < (2 if statistic ==
                                                                                          "variance" else 1):
        least = 2 if statistic == "variance" else 1
        raise InputError(f"samples: expected an integer >= {least}" + (" (a variance needs two draws)" if least == 2
                                                                        else "") + f", got {samples!r}")
    samples = int(samples)
    sigma = noise_sigma(input_range, noise_std, x.shape[-1], f'method "{name}"')
    points = path_points_per_call(score_fn, x.shape[1:], weights.shape[1], batch_size)
    chunk, block, blocks = sizes(points, samples, len(x))
    key = ("gradient_statistics", samples, block, blocks, tuple(np.ravel(sigma).tolist()))
    fn = score_fn.compiled(key, lambda: _chunk_fn(score_fn, samples, block, blocks, sigma))
    stats = map_batches(fn, [x, noise_seeds(seed, np.arange(len(x))), weights], chunk, strategy=strategy,
                        progress=progress, desc=name)
    out = stats[STATISTICS.index(statistic)]
    sig = np.ravel(sigma).tolist()
    return MethodResult(out, {"samples": samples, "noise_std": noise_std,
                              "noise_sigma": sig[0] if len(sig) == 1 else tuple(sig)})


def smoothgrad(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None = None, *,
               samples: int = 50, noise_std: float = 0.2, seed: int = 0, input_range: InputRange | None = None,
               batch_size: int | None = None, strategy: Strategy | None = None,
               progress: Progress = False) -> MethodResult:
    """SmoothGrad: (1/n) sum_s dS_w(x + e_s)/dx, e_s ~ N(0, sigma^2) (Smilkov et al., 2017, eq. 2).

    Args:
        score_fn: the explained score (:class:`~tfx_explain.targets.ScoreFunction`).
        x: (N, H, W, C) inputs.
        weights: (N, K) output weights w. Needs no baseline (``baselines`` is ignored).
        samples: noisy copies n per input (50, Smilkov et al. §4: "the estimate stabilises by n = 50").
        noise_std: sigma as a fraction of the input range (sigma = noise_std * (high - low), per channel where the
            range is; 0.2 as xplique; Smilkov et al. recommend 10-20%).
        seed: seeds the noise; copy s of input i depends only on (seed, i, s, samples).
        input_range: the model's :class:`~tfx_explain.input_range.InputRange` (explain_keras passes it).
        batch_size: model evaluations (noisy copies) per traced call, which bounds memory; None: sized from
            about 1 GB of activations (:func:`~tfx_explain.attribution._common.path_points_per_call`).
    Returns:
        (N, H, W, C) attributions in units of S per input unit; extras ``samples``, ``noise_std``, ``noise_sigma``.
    Raises:
        InputError: unknown input range, ``samples`` < 1, ``noise_std`` < 0 or not finite.
    """
    return gradient_statistic(score_fn, x, weights, statistic="mean", samples=samples, noise_std=noise_std,
                              seed=seed, input_range=input_range, name="smoothgrad", batch_size=batch_size,
                              strategy=strategy, progress=progress)


def vargrad(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None = None, *,
            samples: int = 50, noise_std: float = 0.2, seed: int = 0, input_range: InputRange | None = None,
            batch_size: int | None = None, strategy: Strategy | None = None,
            progress: Progress = False) -> MethodResult:
    """VarGrad: the unbiased variance (1/(n-1)) sum_s (g_s - mean g)^2 of g_s = dS_w(x + e_s)/dx (Adebayo et al.,
    2018, §2; the 1/(n-1) as xplique). Options as :func:`smoothgrad`; ``samples`` >= 2. Units: S^2 per input unit^2.
    """
    return gradient_statistic(score_fn, x, weights, statistic="variance", samples=samples, noise_std=noise_std,
                              seed=seed, input_range=input_range, name="vargrad", batch_size=batch_size,
                              strategy=strategy, progress=progress)


def squaregrad(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None = None, *,
               samples: int = 50, noise_std: float = 0.2, seed: int = 0, input_range: InputRange | None = None,
               batch_size: int | None = None, strategy: Strategy | None = None,
               progress: Progress = False) -> MethodResult:
    """SquareGrad (SmoothGrad-Squared): (1/n) sum_s g_s^2 with g_s = dS_w(x + e_s)/dx (Hooker et al., 2019, §4).
    Options as :func:`smoothgrad`. Units: S^2 per input unit^2."""
    return gradient_statistic(score_fn, x, weights, statistic="square", samples=samples, noise_std=noise_std,
                              seed=seed, input_range=input_range, name="squaregrad", batch_size=batch_size,
                              strategy=strategy, progress=progress)


for _f in (smoothgrad, vargrad, squaregrad):
    # read by explain_keras to ask for the range before any work (a marker on the function: mypy knows no such attribute)
    _f.needs_input_range = _NEEDS  # type: ignore[attr-defined]
