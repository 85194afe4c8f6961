"""KernelSHAP (Lundberg & Lee, NeurIPS 2017, Theorem 2) and KernelSHAP-G over superpixels, as shap's
``KernelExplainer`` computes it (shap 0.51, ``shap/explainers/_kernel.py``, ``l1_reg=False``).

Features are the M superpixels of each image (the same SLIC segments as LIME, :func:`.lime.slic_segments`). A
coalition z in {0, 1}^M keeps the superpixels with z_j = 1 and removes the others with ``filler`` (Eq. 1 of
generative_feature_removal.txt; ``filler="inpaint"`` gives KernelSHAP-G); f(z) is the explained score S_w of that
image (one-vs-all S_co or one-vs-one S_co - S_ct). The Shapley kernel (Theorem 2)

    pi(z) = (M - 1) / (C(M, |z|) |z| (M - |z|)),

is applied as shap applies it: subset sizes are paired (|z| and M - |z|) and weighted by (M - 1) / (k (M - k));
sizes whose share of ``num_samples`` covers all their subsets are enumerated in full (smallest first), the rest
are sampled (a subset and its complement, duplicates adding weight) and rescaled to the weight left. The
regression is shap's constrained weighted least squares: with phi_M eliminated by the efficiency constraint
sum_j phi_j = f(1) - f(0) (Eq. 8's phi_0 = f(0), the all-removed image), it solves the normal equations
(X' W X) w = X' W y. So sum_j phi_j = S(x) - S(all removed) holds exactly (up to rounding).

Random draws use ``numpy.random.RandomState(seed)`` in the order shap draws from the global ``numpy.random``
(``choice`` of the sizes, then one ``permutation`` per sample): with ``np.random.seed(seed)`` before shap, the
two designs are identical. ``num_samples`` above 2^M - 2 enumerates every coalition (exact Shapley values).
"""
from __future__ import annotations

import copy
import functools
import itertools
import warnings
from typing import TYPE_CHECKING

import numpy as np

from ..attribution import MethodResult
from ..batching import progress_bar
from ..errors import InputError
from . import _common
from .fillers import get_filler
from .lime import superpixels

if TYPE_CHECKING:
    from .._typing import Float32, FillerSpec, Progress, Strategy
    from ..input_range import InputRange
    from ..targets import ScoreFunction
    from numpy.typing import ArrayLike


def size_weights(m):
    """shap's weights of the subset sizes 1..ceil((M-1)/2): (M-1)/(k(M-k)), doubled where k pairs with M-k,
    normalised to sum to 1; and the number of paired sizes floor((M-1)/2)."""
    num_sizes, num_paired = int(np.ceil((m - 1) / 2.0)), int(np.floor((m - 1) / 2.0))
    weights = np.array([(m - 1.0) / (k * (m - k)) for k in range(1, num_sizes + 1)])
    weights[:num_paired] *= 2
    return weights / weights.sum(), num_paired


def shap_design(m, num_samples, random_state):
    """The coalitions and kernel weights of shap's ``KernelExplainer.explain`` for M >= 2 features.

    Returns (masks (n, M) float64 in {0, 1}, weights (n,) float64), n = min(num_samples, 2^M - 2) for M <= 30.
    The code follows shap 0.51 line by line (same draws from ``random_state``, same order of samples).
    """
    from scipy.special import binom

    nsamples = min(num_samples, 2 ** m - 2) if m <= 30 else num_samples
    weight_vector, num_paired = size_weights(m)
    num_sizes = len(weight_vector)
    masks, kernel = [], []
    num_full, left = 0, nsamples
    remaining = copy.copy(weight_vector)
    for size in range(1, num_sizes + 1):  # enumerate every size whose share covers all its subsets
        nsubsets = binom(m, size) * (2 if size <= num_paired else 1)
        if left * remaining[size - 1] / nsubsets < 1.0 - 1e-8:
            break
        num_full += 1
        left -= nsubsets
        if remaining[size - 1] < 1.0:
            remaining /= 1 - remaining[size - 1]
        w = weight_vector[size - 1] / binom(m, size) / (2.0 if size <= num_paired else 1.0)
        for inds in itertools.combinations(range(m), size):
            mask = np.zeros(m)
            mask[list(inds)] = 1.0
            masks.append(mask), kernel.append(w)
            if size <= num_paired:
                masks.append(1.0 - mask), kernel.append(w)
    num_fixed, samples_left = len(masks), nsamples - len(masks)
    if num_full != num_sizes:  # sample the rest, a subset and its complement at a time
        remaining = copy.copy(weight_vector)
        remaining[:num_paired] /= 2
        remaining = remaining[num_full:]
        remaining /= remaining.sum()
        ind_set = random_state.choice(len(remaining), 4 * samples_left, p=remaining)
        used = {}
        for ind in ind_set:
            if samples_left <= 0:
                break
            size = ind + num_full + 1
            mask = np.zeros(m)
            mask[random_state.permutation(m)[:size]] = 1.0
            key = tuple(mask)
            new = key not in used
            if new:
                used[key] = len(masks)
                samples_left -= 1
                masks.append(mask), kernel.append(1.0)
            else:
                kernel[used[key]] += 1.0
            if samples_left > 0 and size <= num_paired:
                if new:
                    samples_left -= 1
                    masks.append(1.0 - mask), kernel.append(1.0)
                else:
                    kernel[used[key] + 1] += 1.0  # shap: the complement is the sample after the original
        kernel = np.asarray(kernel)
        kernel[num_fixed:] *= weight_vector[num_full:].sum() / kernel[num_fixed:].sum()
    return np.asarray(masks, np.float64).reshape(-1, m), np.asarray(kernel, np.float64)


def shap_solve(masks, kernel, values, f_full, f_empty):
    """shap's ``KernelExplainer.solve`` without L1 selection: phi (M,) with sum(phi) = f_full - f_empty.

    The last feature is eliminated by the constraint; the others solve the weighted normal equations
    (X' W X) w = X' W y with X = z_{:, :-1} - z_{:, -1}, y = f(z) - f_empty - z_{:, -1} (f_full - f_empty).
    """
    delta = f_full - f_empty
    y = values - f_empty - masks[:, -1] * delta
    design = masks[:, :-1] - masks[:, -1:]
    weighted = kernel[:, None] * design
    try:
        w = np.linalg.solve(design.T @ weighted, weighted.T @ y)
    except np.linalg.LinAlgError:
        warnings.warn("kernel_shap: the regression is singular (too few samples for the superpixels); using the "
                      "least-squares solution, as shap does", stacklevel=3)
        root = np.sqrt(kernel)
        w = np.linalg.lstsq(root[:, None] * design, root * y, rcond=None)[0]
    phi = np.append(w, delta - w.sum())
    phi[np.abs(phi) < 1e-10] = 0.0  # shap's clean-up of rounding errors
    return phi


def kernel_shap(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None, *,
                segments: ArrayLike | None = None, n_segments: int = 50, compactness: float = 30.0,
                sigma: float = 3.0, num_samples: int = 1000, filler: FillerSpec = "gray", seed: int = 0,
                batch_size: int | None = None, strategy: Strategy | None = None, progress: Progress = False,
                input_range: InputRange | None = None) -> MethodResult:
    """KernelSHAP / KernelSHAP-G attributions over superpixels (see the module docstring).

    Args:
        score_fn: the explained score S_w (:class:`~tfx_explain.targets.ScoreFunction`).
        x: (N, H, W, C) images.
        weights: (N, K) output weights w of each image.
        segments: (N, H, W) or (H, W) integer superpixels; default SLIC as LIME (``n_segments``, ``compactness``,
            ``sigma``).
        num_samples: coalitions per image (shap's ``nsamples``); at least the number of superpixels; capped at
            2^M - 2 (then every coalition is evaluated and the values are exact).
        filler: what removed superpixels become (:mod:`tfx_explain.perturbation.fillers`); default ``"gray"``
            (each image's mean colour, as shap's image examples); ``"inpaint"`` gives KernelSHAP-G.
        seed: the RandomState seed of the sampled coalitions (shap's global ``np.random`` draws); every image
            uses it.
        batch_size: perturbed images per model call (default 32).
        input_range: the model's input range (explain_keras passes it), for the ``"noise"`` and ``"flip"`` fillers.
    Returns:
        attributions (N, H, W, C): each superpixel's Shapley value spread evenly over its pixels and channels
        (so the map sums to S(x) - S(all removed)); extras ``segments``, ``shap_values`` (N, M_max, zero-padded),
        ``expected_value`` (N,) = S(all removed), ``score`` (N,) = S(x), ``n_features`` (N,),
        ``num_samples`` (N,) coalitions evaluated.
    Raises:
        InputError: a bad option or too few samples for the superpixels, before any model call.
    """
    num_samples = _common.positive_int(num_samples, "num_samples")
    fill = get_filler(filler, input_range=input_range)
    fill.check(x)  # before any work
    segments, n_features = superpixels(x, segments, n_segments, compactness, sigma)
    if num_samples < n_features.max():
        raise InputError(f"num_samples: expected at least the number of superpixels ({int(n_features.max())}), "
                         f"got {num_samples}")
    designs = {int(m): shap_design(int(m), num_samples, np.random.RandomState(seed)) if m > 1
               else (np.zeros((0, 1)), np.zeros(0)) for m in np.unique(n_features)}
    values = np.zeros((len(x), int(n_features.max())), np.float64)
    ends = np.zeros((len(x), 2), np.float64)  # S(x), S(all removed)
    heat = np.zeros(x.shape[:3], np.float32)
    perturb = _common.keep_and_fill(fill, x)
    bar = progress_bar(len(x), "kernel shap", progress, unit="img")
    for i in range(len(x)):  # one design per image; its coalitions are scored in chunks
        m = int(n_features[i])
        masks, kernel = designs[m]
        coalitions = np.concatenate([np.ones((1, m)), np.zeros((1, m)), masks])  # f(1), f(0) with the samples
        scores = _scores(score_fn, functools.partial(perturb, i), x[i], weights[i], segments[i], coalitions,
                         batch_size, strategy)
        ends[i] = scores[:2]
        phi = (shap_solve(masks, kernel, scores[2:], scores[0], scores[1]) if m > 1
               else np.array([scores[0] - scores[1]]))  # one feature has all the effect (shap)
        values[i, :m] = phi
        heat[i] = (phi / np.bincount(segments[i].ravel(), minlength=m))[segments[i]]
        bar.update(1)
    bar.close()
    return MethodResult(_common.per_channel(heat, x.shape[-1]),
                        {"segments": segments, "shap_values": values, "expected_value": ends[:, 1],
                         "score": ends[:, 0], "n_features": n_features, "filler": fill.name,
                         "num_samples": np.array([len(designs[int(m)][0]) for m in n_features])})


def _scores(score_fn, perturb, image, weight, segments, coalitions, batch_size, strategy):
    """(n,) float64 S_w of one image with the superpixels of each coalition's zeros removed, in chunks."""
    chunk = int(max(1, min(_common.EVALUATIONS_PER_CALL, _common.CHUNK_ELEMENTS // image.size)))
    out = np.empty(len(coalitions), np.float64)
    for start in range(0, len(coalitions), chunk):
        rows = coalitions[start:start + chunk]
        perturbed = perturb(rows[:, segments].astype(np.float32))
        out[start:start + len(rows)] = _common.explained_scores(
            score_fn, perturbed, np.broadcast_to(weight, (len(rows),) + weight.shape), batch_size, strategy)
    return out
