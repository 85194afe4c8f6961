"""Noise averaging of any gradient method: ``noise_samples=`` and ``noise_std=`` (captum's NoiseTunnel with
``nt_type="smoothgrad"``; Smilkov et al., 2017, applied to other maps as in their §3.2 and Fig. 5).

A_noisy(x) = (1/n) sum_s A(x + e_s; b), e_s ~ N(0, sigma^2) per pixel, sigma = noise_std * (high - low) of the
input range (per channel where the range is), the same draw as SmoothGrad's
(:func:`~tfx_explain.attribution.smoothgrad.noise_draw`). The baselines b are computed once from the clean
input and stay fixed across the n copies, as in captum's NoiseTunnel: a point baseline is repeated n times; for
Expected Gradients every copy of input i draws the same references as input i would.

The copies are batched: x (and its weights and baselines) are repeated n times, noised, and the method is
called once on the N·n rows (in groups of whole images when the repeated inputs would exceed
:data:`GROUP_BYTES`), then averaged per input. The method's own ``batch_size`` bounds its memory as usual.

Completeness: each copy of IG / DeepLIFT / EG sums to S_w(x + e_s) - S_w(b), so the average sums to
mean_s S_w(x + e_s) - S_w(b), not to S_w(x) - S_w(b). ``extras["noisy_input_scores"]`` holds
mean_s S_w(x + e_s) for methods with a baseline, so ``sum(A) - (noisy_input_scores - baseline_scores)`` is the
quadrature (or rule) residual; ``Explanation.convergence_delta`` also contains the smoothing's
S_w(x) - mean_s S_w(x + e_s).
"""
from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from ..errors import InputError
from .smoothgrad import check_noise_std, noise_draw, noise_seeds, noise_sigma

#: The methods that take ``noise_samples=``: the gradient maps (noise-averaging a perturbation method or
#: SmoothGrad itself is not offered).
NOISE_METHODS = ("saliency", "gradient_input", "integrated_gradients", "expected_gradients", "deeplift",
                 "guided_backprop")
OWN_NOISE = ("smoothgrad", "vargrad", "squaregrad")  # their own samples= and noise_std= do it
DEFAULT_STD = 0.2
GROUP_BYTES = 1 << 28  # noisy copies materialised at once on the host (256 MB)


@dataclasses.dataclass(frozen=True)
class NoiseOptions:
    samples: int
    std: float


def split_options(method, method_options):
    """Pop ``noise_samples`` / ``noise_std`` from ``method_options`` (in place); a NoiseOptions, or None.

    Raises InputError (one line naming the option) for a method that does not take them, a non-positive count,
    a negative or non-finite std, or ``noise_std`` without ``noise_samples``.
    """
    if "noise_samples" not in method_options:
        if "noise_std" in method_options and method in NOISE_METHODS:  # (smoothgrad's own noise_std stays)
            raise InputError("noise_std: given without noise_samples; pass noise_samples=n (e.g. 50) to average "
                             "the map over n noisy copies")
        return None
    if method in OWN_NOISE:  # a user of captum's NoiseTunnel will try noise_samples= on SmoothGrad itself
        raise InputError(f"noise_samples: method {method!r} is noise averaging itself; pass samples=n (and "
                         "noise_std=) instead")
    if method not in NOISE_METHODS:
        raise InputError(f"noise_samples: method {method!r} takes no noise averaging; it applies to "
                         f"{list(NOISE_METHODS)}")
    samples = method_options.pop("noise_samples")
    std = method_options.pop("noise_std", DEFAULT_STD)
    if isinstance(samples, bool) or not isinstance(samples, numbers.Integral) or samples < 1:
        raise InputError(f"noise_samples: expected a positive integer, got {samples!r}")
    return NoiseOptions(int(samples), check_noise_std(std))


def range_need(method, function, noise):
    """What in this call needs the input range because of noise (for ``input_range.require``), or None."""
    if getattr(function, "needs_input_range", None):
        return f'method "{method}"'
    if noise is not None:
        return "noise_samples"
    return None


@dataclasses.dataclass(frozen=True)
class _RepeatedReferences:
    """A ReferenceSet seen through n copies per input: row r draws what input offset + r // n draws (the
    references stay fixed across the copies)."""

    base: object
    copies: int
    offset: int = 0

    def __getattr__(self, name):
        return getattr(self.base, name)

    def draw_indices(self, sample_ids, n_refs, seed):
        return self.base.draw_indices(np.asarray(sample_ids, np.int64) // self.copies + self.offset, n_refs, seed)

    def draw(self, sample_ids, n_refs, seed):
        index = self.draw_indices(sample_ids, n_refs, seed)  # first: a lazily filled pool grows here
        return self.pool[index]


def noisy_copies(x, seed, samples, sigma, image_ids):
    """(len(image_ids) * samples, H, W, C): copy s of image i at row i * samples + s, x_i + sigma * e_{i,s}."""
    e = np.asarray(noise_draw(noise_seeds(seed, image_ids), samples, x.shape[1:]))
    return (x[:, None] + sigma * e).reshape((-1,) + x.shape[1:]).astype(np.float32)


def run(function, noise, score_fn, x, weights, baselines, kwargs, *, seed, input_range):
    """``function(score_fn, x, weights, baselines, **kwargs)``, averaged over noisy copies when ``noise`` is given.

    Returns the method's MethodResult with (N, ...) attributions and extras: float arrays of the N·n copies
    averaged per input, integer arrays (reference indices) and ``explained_weights`` of the first copy, plus
    ``noise_samples``, ``noise_std``, ``noise_sigma`` and (with a baseline) ``noisy_input_scores``.
    """
    if noise is None:
        return function(score_fn, x, weights, baselines, **kwargs)
    from ..targets import explained_scores
    from ._common import MethodResult

    n = noise.samples
    sigma = noise_sigma(input_range, noise.std, x.shape[-1], "noise_samples")
    group = max(1, GROUP_BYTES // max(1, n * x[0].nbytes))
    parts, scores = [], []
    for start in range(0, len(x), group):  # a loop over groups of whole images, never over copies
        ids = np.arange(start, min(start + group, len(x)))
        xs = noisy_copies(x[ids], seed, n, sigma, ids)
        ws = np.repeat(weights[ids], n, axis=0)
        if baselines is None:
            bs = None
        elif isinstance(baselines, np.ndarray):
            bs = np.repeat(baselines[ids], n, axis=0)
        else:  # a ReferenceSet: the copies of input i draw input i's references
            bs = _RepeatedReferences(baselines, n, int(start))
        parts.append(function(score_fn, xs, ws, bs, **kwargs))
        if baselines is not None:
            scores.append(explained_scores(score_fn, xs, parts[-1].extras.get("explained_weights", ws),
                                           kwargs.get("strategy")).reshape(-1, n).mean(axis=1))
    attributions = np.concatenate([p.attributions.reshape((-1, n) + x.shape[1:]).mean(axis=1) for p in parts])
    extras = {}
    for key, value in parts[0].extras.items():
        if isinstance(value, np.ndarray) and value.ndim > 0 and len(value) == len(parts[0].attributions):
            stacked = np.concatenate([p.extras[key].reshape((-1, n) + value.shape[1:]) for p in parts])
            floating = np.issubdtype(value.dtype, np.floating) and key != "explained_weights"
            extras[key] = stacked.mean(axis=1).astype(value.dtype) if floating else stacked[:, 0]
        else:
            extras[key] = value
    sig = np.ravel(sigma).tolist()
    extras.update(noise_samples=n, noise_std=noise.std, noise_sigma=sig[0] if len(sig) == 1 else tuple(sig))
    if scores:
        extras["noisy_input_scores"] = np.concatenate(scores).astype(np.float32)
    return MethodResult(attributions, extras)

