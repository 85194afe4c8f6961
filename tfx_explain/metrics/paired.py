"""Paired comparisons of two methods measured on the same images: is the difference real?

At n = 100 images a 95% interval on a ~30% error rate is about +-9 points, wider than the 2-4 point gaps
that papers rank methods by; but two methods scored on the *same* images differ far less from image to image
than either does from the mean, so the paired difference has a much narrower interval. These functions give
that interval (a bootstrap over images, scipy's BCa) and, for binary outcomes such as "localization failed",
the exact McNemar test; a ranking is claimed only where the interval excludes 0.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


def paired_difference(a: ArrayLike, b: ArrayLike, *, confidence: float = 0.95, n_resamples: int = 9999,
                      seed: int = 0) -> dict[str, Any]:
    """Mean of ``a - b`` over images with a paired bootstrap interval (and McNemar's test for 0/1 outcomes).

    Args:
        a: (N,) per-image scores of the first method (e.g. 1 where localization failed). Non-finite pairs
            are dropped (their count is reported).
        b: (N,) per-image scores of the second method on the same N images.
        confidence: level of the two-sided interval.
        n_resamples: bootstrap resamples (scipy.stats.bootstrap, BCa; percentile where BCa is degenerate).
        seed: seeds the resampling.
    Returns:
        {"n", "dropped", "mean_a", "mean_b", "difference" (mean a - b), "ci" [low, high], "confidence",
         "excludes_zero" (bool), and for 0/1 inputs "mcnemar": {"a_only", "b_only", "p_value"}, the exact
         two-sided binomial test on the discordant pairs (McNemar, 1947)}.
    Raises:
        InputError: shapes differ, fewer than 2 finite pairs, a confidence outside (0, 1) (0.95, not 95) or
            n_resamples < 1.
    """
    from scipy import stats

    from .._checks import positive_int

    n_resamples = positive_int(n_resamples, "n_resamples")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.number)) or not 0 < confidence < 1:
        raise InputError(f"confidence: expected a level in (0, 1), e.g. 0.95, got {confidence!r}")

    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise InputError(f"a, b: expected per-image scores on the same images, got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        raise InputError(f"a, b: expected at least 2 finite pairs, got {int(keep.sum())}")
    a, b = a[keep], b[keep]
    d = a - b
    low, high = _interval(d, confidence, n_resamples, seed)
    out = {"n": int(len(d)), "dropped": int((~keep).sum()), "mean_a": float(a.mean()), "mean_b": float(b.mean()),
           "difference": float(d.mean()), "ci": [low, high], "confidence": confidence,
           "excludes_zero": bool(low > 0 or high < 0)}
    if np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all():
        a_only, b_only = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
        p = stats.binomtest(a_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
        out["mcnemar"] = {"a_only": a_only, "b_only": b_only, "p_value": float(p)}
    return out


def _interval(d, confidence, n_resamples, seed):
    from scipy import stats

    import warnings

    if np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())):  # every image agrees: no spread to resample
        return float(d.mean()), float(d.mean())
    rng = np.random.default_rng(seed)
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():  # BCa warns where it is degenerate (few distinct values): fall back
            warnings.simplefilter("ignore")
            res = stats.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                                  method=method, random_state=rng)
        low, high = res.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return float(low), float(high)
    return float("nan"), float("nan")


def verdict(result, name_a, name_b, lower_is_better=True):
    """One line: which method is better, or "no difference shown" when the interval includes 0."""
    if not result["excludes_zero"]:
        return f"{name_a} vs {name_b}: no difference shown"
    a_better = (result["difference"] < 0) == lower_is_better
    return f"{name_a if a_better else name_b} better"
