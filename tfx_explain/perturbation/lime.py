"""LIME (Ribeiro et al. 2016) and LIME-G (generative_feature_removal.txt §3.4), as the ``lime`` package computes it.

For each image: SLIC superpixels (S of them); N binary samples z ~ RandomState(seed).randint(0, 2, (N, S))
with z_0 = 1 (lime's ``data_labels``); sample k removes the superpixels with z_kj = 0 (Eq. 1, ``filler``); the
targets are the explained scores s(x_k); weights pi_k = sqrt(exp(-d_k^2 / width^2)) with the cosine distance
d_k between z_k and the all-ones row (``LimeImageExplainer``); the attribution of superpixel j is the
coefficient of a weighted ridge regression (alpha 1, with intercept; ``LimeBase``, all features kept as with
``num_features=100000``), painted on its pixels. With the gray filler this reproduces
``lime_image.LimeImageExplainer(random_state=seed).explain_instance(..., hide_color=<the colour>,
segmentation_fn=<the same segments>, random_seed=<any>)``. Defaults follow the reference code (§3.2):
S = 50 (SLIC compactness 30, sigma 3), N = 500, kernel width 0.25. LIME-G is ``filler="inpaint"``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..attribution import MethodResult
from ..batching import progress_bar
from ..errors import InputError
from . import _common
from .fillers import get_filler

if TYPE_CHECKING:
    from .._typing import Float32, FillerSpec, Progress, Strategy
    from ..input_range import InputRange
    from ..targets import ScoreFunction
    from numpy.typing import ArrayLike


def slic_segments(images, n_segments=50, compactness=30.0, sigma=3.0):
    """(N, H, W) int superpixel labels 0..S-1 (scikit-image SLIC with ``start_label=0``, lime's wrapper
    parameters of the reference code); Lab colour for RGB images."""
    from skimage.segmentation import slic

    out = np.empty(images.shape[:3], np.int64)
    for i, image in enumerate(images):  # segmentation is per image by nature
        out[i] = slic(image.astype(np.float64), n_segments=n_segments, compactness=compactness, sigma=sigma,
                      start_label=0, channel_axis=-1, convert2lab=image.shape[-1] == 3)
    return out


def check_segments(segments, x):
    """(N, H, W) int labels relabelled to 0..S_i-1 per image; one (H, W) map is shared by all images."""
    seg = np.asarray(segments)
    if seg.ndim == 2:
        seg = np.broadcast_to(seg, (len(x),) + seg.shape)
    if seg.shape != x.shape[:3] or not np.issubdtype(seg.dtype, np.integer):
        raise InputError(f"segments: expected integer labels of shape {x.shape[:3]} or {x.shape[1:3]}, got "
                         f"{seg.shape} ({seg.dtype})")
    return np.stack([np.unique(s, return_inverse=True)[1].reshape(s.shape) for s in seg])


def superpixels(x, segments=None, n_segments=50, compactness=30.0, sigma=3.0):
    """The superpixels of LIME and KernelSHAP: the given ``segments`` (checked and relabelled), else SLIC's.

    Returns (labels (N, H, W) int in 0..S_i-1, S (N,) superpixels per image)."""
    if segments is None:
        _common.positive_int(n_segments, "n_segments")
        segments = slic_segments(x, n_segments, compactness, sigma)
    segments = check_segments(segments, x)
    return segments, segments.reshape(len(x), -1).max(axis=1) + 1


def sample_rows(n_features, num_samples, seed):
    """lime's perturbation design: RandomState(seed).randint(0, 2, N * S).reshape(N, S), first row all ones."""
    rows = np.random.RandomState(seed).randint(0, 2, num_samples * n_features).reshape((num_samples, n_features))
    rows[0, :] = 1
    return rows


def cosine_kernel(rows, kernel_width):
    """pi = sqrt(exp(-d^2 / width^2)), d = cosine distance of each row to the all-ones row (lime's defaults)."""
    from sklearn.metrics import pairwise_distances

    d = pairwise_distances(rows, np.ones((1, rows.shape[1])), metric="cosine").ravel()
    return np.sqrt(np.exp(-(d ** 2) / kernel_width ** 2))


def weighted_ridge(features, targets, weights, alpha=1.0):
    """Ridge with intercept and sample weights, the regression the lime package fits:
    scikit-learn's ``Ridge(alpha).fit(X, y, sample_weight=w)``. Returns (coef (S,), intercept)."""
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=alpha, fit_intercept=True).fit(features, targets, sample_weight=weights)
    return model.coef_, float(model.intercept_)


def lime(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None, *,
         segments: ArrayLike | None = None, n_segments: int = 50, compactness: float = 30.0, sigma: float = 3.0,
         num_samples: int = 500, kernel_width: float = 0.25, ridge_alpha: float = 1.0, filler: FillerSpec = "gray",
         seed: int = 0, batch_size: int | None = None, strategy: Strategy | None = None, progress: Progress = False,
         input_range: InputRange | None = None) -> MethodResult:
    """LIME / LIME-G attributions.

    Args:
        segments: (N, H, W) or (H, W) integer superpixels; default SLIC with ``n_segments``, ``compactness``,
            ``sigma`` (scikit-image, ``start_label=0``).
        num_samples: N perturbed samples per image (the first is the unperturbed image).
        kernel_width: lime's kernel width (0.25).
        ridge_alpha: lime's Ridge alpha (1).
        filler: as in :mod:`tfx_explain.perturbation.fillers`; ``"inpaint"`` gives LIME-G.
        seed: the RandomState seed of the samples (lime's ``random_state``); every image uses it.
        input_range: the model's input range (explain_keras passes it), for the ``"noise"`` filler.
    Returns:
        attributions (N, H, W, C) (each superpixel's coefficient painted on it, split over channels); extras
        ``segments``, ``coefficients`` (N, S_max, zero-padded), ``intercept`` (N,), ``n_features`` (N,).
    """
    num_samples = _common.positive_int(num_samples, "num_samples")
    kernel_width = _common.positive_float(kernel_width, "kernel_width")
    ridge_alpha = _common.positive_float(ridge_alpha, "ridge_alpha", allow_zero=True)
    fill = get_filler(filler, input_range=input_range)
    fill.check(x)  # before any work
    segments, n_features = superpixels(x, segments, n_segments, compactness, sigma)
    rows = {int(s): sample_rows(int(s), num_samples, seed) for s in np.unique(n_features)}
    coefficients = np.zeros((len(x), int(n_features.max())), np.float64)
    intercepts = np.zeros(len(x), np.float64)
    heat = np.zeros(x.shape[:3], np.float32)
    per_chunk = max(1, _common.EVALUATIONS_PER_CALL // num_samples)
    bar = progress_bar(len(x), "lime", progress, unit="img")
    for start in range(0, len(x), per_chunk):
        stop = min(start + per_chunk, len(x))
        removed = np.concatenate([1.0 - rows[int(n_features[i])][:, segments[i]] for i in range(start, stop)])
        images = np.repeat(x[start:stop], num_samples, axis=0)
        perturbed = fill(images, removed[..., None].astype(np.float32))
        targets = _common.explained_scores(score_fn, perturbed, np.repeat(weights[start:stop], num_samples, axis=0),
                                           batch_size, strategy).astype(np.float64).reshape(stop - start, num_samples)
        for k, i in enumerate(range(start, stop)):  # a 500 x S least-squares problem per image
            z = rows[int(n_features[i])]
            coef, intercepts[i] = weighted_ridge(z.astype(np.float64), targets[k], cosine_kernel(z, kernel_width),
                                                 ridge_alpha)
            coefficients[i, : len(coef)] = coef
            heat[i] = coef[segments[i]]
        bar.update(stop - start)
    bar.close()
    return MethodResult(_common.per_channel(heat, x.shape[-1]),
                        {"segments": segments, "coefficients": coefficients, "intercept": intercepts,
                         "n_features": n_features, "filler": fill.name, "num_samples": num_samples})
