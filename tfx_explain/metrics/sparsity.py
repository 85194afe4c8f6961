"""Sparsity of attribution maps: the Gini index (Chalasani et al., 2020; ganmex_appendix.txt C.3).

With a = |A| flattened and sorted ascending, a_(1) <= ... <= a_(n) (Hurley & Rickard, 2009),

    G(a) = 1 - 2 sum_{k=1..n} (a_(k) / ||a||_1) (n - k + 1/2) / n.

G is 0 for a constant map and 1 - 1/n for a one-hot map; larger means sparser. An all-zero map is
given G = 0 (nothing is concentrated), as the limit of a constant map. A feature is one input element by
default (the paper's D = H x W x C); ``granularity="pixel"`` sums |A| over the channels first.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._common import MetricResult, check_granularity


def gini(attributions, granularity="element"):
    """(N,) Gini index of |attributions| per sample (batched; no per-sample loop)."""
    a = np.asarray(attributions.numpy() if hasattr(attributions, "numpy") else attributions, np.float64)
    if a.ndim < 2:
        raise InputError(f"attributions: expected (N, ...) maps, one per sample, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError("attributions: expected finite values, got NaN or Inf")
    check_granularity(granularity)
    a = np.abs(a)
    if granularity == "pixel" and a.ndim == 4:
        a = a.sum(axis=-1)
    a = np.sort(a.reshape(len(a), -1), axis=1)
    n = a.shape[1]
    total = a.sum(axis=1)
    weights = (n - np.arange(1, n + 1) + 0.5) / n
    safe = np.where(total > 0, total, 1.0)
    g = 1.0 - 2.0 * (a @ weights) / safe
    return np.where(total > 0, g, 0.0)


def sparsity(attributions, granularity="element"):
    """The Gini index as a :class:`MetricResult` (higher is sparser, the paper's preferred direction)."""
    return MetricResult("sparsity", gini(attributions, granularity), True, {"settings": {"granularity": granularity}})
