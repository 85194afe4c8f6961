"""Robustness of heatmaps to hyperparameters (generative_feature_removal.txt §4.3, Fig. 3, Tables S3-S4).

For each image, k heatmaps are produced under k settings of one hyperparameter (SP: patch sizes; LIME:
random seeds; MP: random initialisations) and every one of the k(k-1)/2 pairs is scored with three
similarities of Adebayo et al. (2018), as the authors' sister code (``anguyen8/sam``) computes them
(generative_attribution.md §4.1):

* SSIM with a uniform 5x5 window, equal to ``skimage.metrics.structural_similarity(a, b, win_size=5,
  data_range=...)`` (the package's one SSIM, :func:`._common.ssim`);
* Pearson correlation of HOG features: ``skimage.feature.hog`` (9 orientations, 3x3 cells per block,
  L2-Hys) with 16 px cells at 224 px (scaled to the map size by default), then ``scipy.stats.pearsonr``;
* Spearman rank correlation of the flattened maps: ``scipy.stats.spearmanr``.

Maps are first divided by their maximum absolute value (``normalize="maxabs"``: LIME and gradient maps in
the reference; SSIM then uses data range 2); ``normalize=None`` leaves them as they are (MP masks, range 1).
Per image the pair scores are averaged; the summary is the mean and standard deviation over images.
Identical maps score 1 on all three (a correlation with a constant map is otherwise undefined: NaN).
"""
from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import InputError
from ._common import ssim as ssim_rows

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    from ..explanation import Explanation

METRICS = ("ssim", "hog_pearson", "spearman")
NORMALIZE = ("maxabs", None)


def normalize_maxabs(heatmap: NDArray[Any]) -> NDArray[Any]:
    """h / max|h| (a zero map stays zero): the reference's rescaling to [-1, 1]."""
    peak = np.abs(heatmap).max()
    return heatmap / peak if peak > 0 else heatmap


def ssim(a: NDArray[Any], b: NDArray[Any], data_range: float = 2.0, win_size: int = 5) -> float:
    """Structural similarity of two maps, uniform window (:func:`._common.ssim`, equal to scikit-image's)."""
    if np.array_equal(a, b):
        return 1.0
    return float(ssim_rows(a[None], b[None], data_range, win_size=win_size)[0])


def hog_pearson(a: NDArray[Any], b: NDArray[Any], pixels_per_cell: int = 16) -> float:
    """Pearson correlation of the HOG features of two maps."""
    from scipy.stats import pearsonr
    from skimage.feature import hog

    if np.array_equal(a, b):
        return 1.0
    options = dict(orientations=9, pixels_per_cell=(pixels_per_cell, pixels_per_cell), cells_per_block=(3, 3),
                   block_norm="L2-Hys")
    fa, fb = hog(a.astype(np.float64), **options), hog(b.astype(np.float64), **options)
    if np.ptp(fa) == 0 or np.ptp(fb) == 0:
        return float("nan")
    return float(pearsonr(fa, fb)[0])


def spearman(a: NDArray[Any], b: NDArray[Any]) -> float:
    """Spearman rank correlation of the flattened maps (scipy)."""
    from scipy.stats import spearmanr

    if np.array_equal(a, b):
        return 1.0
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a.ravel(), b.ravel())[0])


def default_cell(size: int) -> int:
    """16 px HOG cells at 224 px, scaled to the map size (5 px at 64), at least 2."""
    return max(2, int(round(16 * size / 224)))


def robustness(heatmaps: ArrayLike | Sequence[Explanation], *, metrics: Sequence[str] = METRICS,
               normalize: Literal["maxabs"] | None = "maxabs", data_range: float | None = None, win_size: int = 5,
               pixels_per_cell: int | None = None) -> dict[str, Any]:
    """Pairwise similarity of heatmaps across hyperparameter settings.

    Args:
        heatmaps: (K, N, H, W): K settings x N images (channel-summed maps at the image size, e.g.
            ``Explanation.heatmaps()`` of K runs); or a list of K such (N, H, W) arrays or Explanations.
        metrics: a subset of ``("ssim", "hog_pearson", "spearman")``.
        normalize: ``"maxabs"`` (each map / max|map|) or None.
        data_range: SSIM's data range; default 2 with ``"maxabs"`` (maps in [-1, 1]), else the pair's range.
        win_size: SSIM window (5, as the reference). pixels_per_cell: HOG cell size; default :func:`default_cell`.
    Returns:
        {metric: (N,) per-image mean over the K(K-1)/2 pairs, "summary": {metric: {"mean", "std", "n"}},
        "pairs": number of pairs}.
    """
    maps = _as_maps(heatmaps)
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown or normalize not in NORMALIZE:
        raise InputError(f"metrics, normalize: expected a subset of {METRICS} and one of {NORMALIZE}, got "
                         f"{list(metrics)}, {normalize!r}")
    k, n, height, width = maps.shape
    if min(height, width) < win_size:
        raise InputError(f"win_size: SSIM needs maps of at least {win_size} px, got {height}x{width}")
    if normalize == "maxabs":
        maps = np.stack([[normalize_maxabs(m) for m in row] for row in maps])
    cell = pixels_per_cell or default_cell(min(height, width))
    pairs = list(combinations(range(k), 2))
    out: dict[str, Any] = {name: np.zeros(n) for name in metrics}
    for i in range(n):  # per image and pair: scikit-image and scipy work on one map at a time
        for name in metrics:
            scores = [_score(name, maps[p, i], maps[q, i], normalize, data_range, win_size, cell) for p, q in pairs]
            out[name][i] = np.nanmean(scores) if np.isfinite(scores).any() else np.nan
    out["summary"] = {name: _summary(out[name]) for name in metrics}
    out["pairs"] = len(pairs)
    return out


def _score(name, a, b, normalize, data_range, win_size, cell):
    if name == "ssim":
        if data_range is None:
            data_range = 2.0 if normalize == "maxabs" else (max(a.max(), b.max()) - min(a.min(), b.min())) or 1.0
        return ssim(a, b, data_range, win_size)
    if name == "hog_pearson":
        return hog_pearson(a, b, cell)
    return spearman(a, b)


def _summary(values):
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {"mean": float(finite.mean()), "std": float(finite.std()), "n": int(len(finite))}


def _as_maps(heatmaps):
    if isinstance(heatmaps, (list, tuple)):
        heatmaps = [h.heatmaps() if hasattr(h, "heatmaps") else np.asarray(h) for h in heatmaps]
    maps = np.asarray(heatmaps, np.float64)
    if maps.ndim != 4 or maps.shape[0] < 2:
        raise InputError(f"heatmaps: expected (K >= 2 settings, N, H, W), got shape {maps.shape}")
    if not np.all(np.isfinite(maps)):
        raise InputError("heatmaps: expected finite values")
    return maps
