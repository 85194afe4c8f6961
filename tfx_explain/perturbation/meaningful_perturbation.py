"""Meaningful Perturbation (MP; Fong & Vedaldi 2017) and MP-G (generative_feature_removal.txt §3.5, Eq. 2-3).

A low-resolution keep-mask m in [0, 1] (1 = keep) is upsampled to the image and learned by minimising

    lambda_1 sum |1 - m| + lambda_2 sum_i |grad m_i|^beta + s(Phi(x_tilde, tau)),   x_tilde = x m + f (1 - m)

for 300 Adam steps (lr 0.1), clamping m to [0, 1] after each step. Defaults are the reference code's (§3.3):
a random U(0, 1) init, nearest upsampling (Fong and jacobgil use bilinear: ``upsample="bilinear"``), L1 and
TV coefficients 1e-4 and 1e-2 as *sums* over the mask cells, TV exponent 3, jitter tau ~ U{0..3} (a random
crop of the image padded by the jitter), Adam as PyTorch's (betas 0.9/0.999, eps 1e-8), the explained score
(softmax probability by default) as the class term. The attribution is 1 - m (high = important), upsampled
bilinearly for the heatmap.

Fillers: mask-independent ones (blur = MP's null image, gray, noise, zero) blend the soft mask. With a
mask-dependent filler (``"inpaint"``: MP-G; or a callable) the mask is binarised at
``max(0.5, (max + min) / 2)`` with a straight-through estimator and the filled image is a constant
(``stop_gradient``), so d x_tilde / d m = x - G, as the reference (§3.3).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ..attribution import MethodResult
from .. import rng
from ..batching import progress_bar
from ..errors import InputError
from . import _common
from .fillers import get_filler

if TYPE_CHECKING:
    from .._typing import Float32, FillerSpec, Progress, Strategy
    from ..input_range import InputRange
    from ..targets import ScoreFunction

UPSAMPLE = ("nearest", "bilinear")
INIT = ("random", "ones")


def total_variation(m, beta):
    """TV(m) = sum |m[i+1, j] - m[i, j]|^beta + sum |m[i, j+1] - m[i, j]|^beta per mask (reference ``tv_norm``)."""
    import tensorflow as tf

    rows = tf.reduce_sum(tf.abs(m[:, 1:, :] - m[:, :-1, :]) ** beta, axis=[1, 2])
    cols = tf.reduce_sum(tf.abs(m[:, :, 1:] - m[:, :, :-1]) ** beta, axis=[1, 2])
    return rows + cols


def binarise(keep):
    """Reference MP-G threshold per sample: keep > max(0.5, (max + min) / 2)."""
    import tensorflow as tf

    hi = tf.reduce_max(keep, axis=[1, 2, 3], keepdims=True)
    lo = tf.reduce_min(keep, axis=[1, 2, 3], keepdims=True)
    return tf.cast(keep > tf.maximum(0.5, 0.5 * (hi + lo)), keep.dtype)


def initial_masks(n, shape, first_index, seed, init):
    """(n, h, w) U(0, 1) masks that depend only on (seed, image index), or ones."""
    if init == "ones":
        return np.ones((n,) + shape, np.float32)
    return rng.uniform(seed, "mp_init", first_index + np.arange(n), tuple(shape)).astype(np.float32)


def jitter_offsets(n, steps, first_index, jitter, seed):
    """(steps, n, 2) crop offsets in [0, jitter), a function of (seed, image index, step) only."""
    if jitter == 0:
        return np.zeros((steps, n, 2), np.int32)
    u = rng.uniform(seed, "mp_jitter", first_index + np.arange(n), (steps, 2)).transpose(1, 0, 2)
    return np.floor(u * jitter).astype(np.int32)


def meaningful_perturbation(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None, *,
                            filler: FillerSpec = "blur", mask_size: int | tuple[int, int] | None = None,
                            steps: int = 300, learning_rate: float = 0.1, l1_coeff: float = 1e-4,
                            tv_coeff: float = 1e-2, tv_beta: float = 3.0, jitter: int = 4,
                            upsample: Literal["nearest", "bilinear"] = "nearest", init: Literal["random",
                            "ones"] = "random", seed: int = 0, batch_size: int | None = None,
                            strategy: Strategy | None = None, progress: Progress = False,
                            input_range: InputRange | None = None) -> MethodResult:
    """MP / MP-G attributions.

    Args:
        filler: ``"blur"`` (MP), ``"inpaint"`` (MP-G), or any filler of :mod:`~tfx_explain.perturbation.fillers`.
        mask_size: the learned mask's (h, w); default H/8 x W/8 (28 x 28 at 224, as the reference).
        steps: Adam steps (Eq. 3's setting: 300).
        learning_rate: Adam's learning rate (0.1).
        l1_coeff: weight of the L1 term (1e-4).
        tv_coeff: weight of the TV term (1e-2).
        tv_beta: the TV exponent (3).
        jitter: the range of the random crop offsets, [0, jitter) pixels (4).
        upsample: ``"nearest"`` (reference) or ``"bilinear"``.
        init: ``"random"`` (U(0, 1), seeded per image) or ``"ones"``.
        batch_size: images optimised together (default 32).
        input_range: the model's input range (explain_keras passes it), for the ``"noise"`` filler.
    Returns:
        attributions (N, H, W, C) from 1 - m; extras ``mask`` (N, h, w) in [0, 1], ``final_score`` (N,) and
        ``removed_fraction`` (N,), the share of pixels replaced by the filler at the end.
    """
    size = x.shape[1:3]
    mask_size = _common.pair(mask_size if mask_size is not None else (max(1, size[0] // 8), max(1, size[1] // 8)),
                             "mask_size", size)
    steps = _common.positive_int(steps, "steps")
    for name, value in (("learning_rate", learning_rate), ("tv_beta", tv_beta)):
        _common.positive_float(value, name)
    for name, value in (("l1_coeff", l1_coeff), ("tv_coeff", tv_coeff)):
        _common.positive_float(value, name, allow_zero=True)
    if isinstance(jitter, bool) or not isinstance(jitter, (int, np.integer)) or jitter < 0:
        raise InputError(f"jitter: expected a non-negative int, got {jitter!r}")
    if upsample not in UPSAMPLE or init not in INIT:
        raise InputError(f"upsample, init: expected one of {UPSAMPLE} and {INIT}, got {upsample!r}, {init!r}")
    fill = get_filler(filler, input_range=input_range)
    fill.check(x)  # before any work
    settings = dict(steps=steps, lr=float(learning_rate), l1=float(l1_coeff), tv=float(tv_coeff),
                    beta=float(tv_beta), jitter=int(jitter), method=upsample, seed=seed, init=init)
    chunk = batch_size or 32
    outputs = []
    bar = progress_bar(len(x), "meaningful perturbation", progress, unit="img")
    for start in range(0, len(x), chunk):
        stop = min(start + chunk, len(x))
        outputs.append(_optimise(score_fn, x[start:stop], weights[start:stop], fill, mask_size, start, settings))
        bar.update(stop - start)
    bar.close()
    masks, scores, removed = (np.concatenate(parts) for parts in zip(*outputs))
    heat = _common.resize_maps(1.0 - masks, _common.stretch_centres(mask_size[0], size[0]),
                               _common.stretch_centres(mask_size[1], size[1]), size)
    return MethodResult(_common.per_channel(heat, x.shape[-1]),
                        {"mask": masks, "final_score": scores, "removed_fraction": removed, "filler": fill.name})


def perturb(x, fill_image, keep, fill_tensor=None, filled=None):
    """x_tilde and the removed share for one step; ``keep`` (B, H, W, 1) is the upsampled mask (1 = keep).

    Mask-independent fillers pass ``fill_image`` and blend the soft mask: x keep + f (1 - keep). Mask-dependent
    ones binarise ``keep`` (:func:`binarise`) with a straight-through estimator and fill the hole with
    ``fill_tensor(x, hole)`` (in-graph, the inpainter) or a precomputed ``filled`` image, both held constant:
    x_tilde = x b + G (1 - b), forward b binary, backward d b / d keep = 1.
    """
    import tensorflow as tf

    if fill_image is not None:
        return x * keep + fill_image * (1.0 - keep), 1.0 - keep
    binary = binarise(keep)
    straight = keep + tf.stop_gradient(binary - keep)
    generated = fill_tensor(x, 1.0 - binary) if fill_tensor is not None else filled
    return x * straight + tf.stop_gradient(generated) * (1.0 - straight), 1.0 - binary


def _optimise(score_fn, x, weights, fill, mask_size, first_index, s):
    """Run the Adam loop for one chunk of images; returns (masks, final scores, removed fractions)."""
    import tensorflow as tf

    from ..generative.deepfill import crop_boxes

    n, (height, width) = len(x), x.shape[1:3]
    pad = [(0, 0), (0, s["jitter"]), (0, s["jitter"]), (0, 0)]
    x_pad = tf.constant(np.pad(x, pad, mode="symmetric"))
    blend = not fill.mask_dependent
    f_pad = tf.constant(fill.fill_image(x_pad.numpy())) if blend else None
    external = fill.mask_dependent and fill.tensor_fn is None  # a user callable: numpy, outside the graph
    w = tf.constant(weights)

    def crops(m, offsets):
        crop = lambda t: crop_boxes(t, offsets, (height, width))  # noqa: E731
        keep = tf.image.resize(m[..., None], (height, width), method=s["method"])
        return crop(x_pad), (crop(f_pad) if blend else None), keep

    def perturbed(m, offsets, filled):
        x_c, f_c, keep = crops(m, offsets)
        return perturb(x_c, f_c, keep, None if external else fill.tensor_fn, filled)

    @tf.function(reduce_retracing=True)
    def step(m, first, second, t, offsets, filled):
        with tf.GradientTape() as tape:
            tape.watch(m)
            x_tilde, _ = perturbed(m, offsets, filled)
            loss = tf.reduce_sum(s["l1"] * tf.reduce_sum(tf.abs(1.0 - m), axis=[1, 2])
                                 + s["tv"] * total_variation(m, s["beta"]) + score_fn.explained(x_tilde, w))
        g = tape.gradient(loss, m)
        first = 0.9 * first + 0.1 * g  # PyTorch Adam (betas 0.9, 0.999; eps added after the square root)
        second = 0.999 * second + 0.001 * tf.square(g)
        m_hat, v_hat = first / (1.0 - 0.9 ** t), second / (1.0 - 0.999 ** t)
        m = tf.clip_by_value(m - s["lr"] * m_hat / (tf.sqrt(v_hat) + 1e-8), 0.0, 1.0)
        return m, first, second

    @tf.function(reduce_retracing=True)
    def hole_of(m, offsets):
        x_c, _, keep = crops(m, offsets)
        return x_c, 1.0 - binarise(keep)

    def filled_by_callable(m, offsets):
        if not external:
            return tf.zeros((n, height, width, x.shape[-1]))
        x_c, hole = hole_of(m, offsets)
        return tf.constant(fill(x_c.numpy(), hole.numpy()))

    m = tf.constant(initial_masks(n, mask_size, first_index, s["seed"], s["init"]))
    first, second = tf.zeros_like(m), tf.zeros_like(m)
    offsets = tf.constant(jitter_offsets(n, s["steps"], first_index, s["jitter"], s["seed"]))
    for t in range(s["steps"]):
        m, first, second = step(m, first, second, tf.constant(t + 1.0), offsets[t], filled_by_callable(m, offsets[t]))
    centre = tf.zeros((n, 2), tf.int32)
    x_tilde, removed = perturbed(m, centre, filled_by_callable(m, centre))
    scores = score_fn.explained(x_tilde, w)
    return m.numpy(), np.asarray(scores), np.asarray(tf.reduce_mean(removed, axis=[1, 2, 3]))
