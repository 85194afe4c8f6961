"""Sparsity of attribution maps: the Gini index (Chalasani et al., 2020; ganmex_appendix.txt C.3).

With a = |A| flattened and sorted ascending, a_(1) <= ... <= a_(n) (Hurley & Rickard, 2009),

    G(a) = 1 - 2 sum_{k=1..n} (a_(k) / ||a||_1) (n - k + 1/2) / n.

G is 0 for a constant map and 1 - 1/n for a one-hot map; larger means sparser. An all-zero map is
given G = 0 (nothing is concentrated), as the limit of a constant map. A feature is one input element by
default (the paper's D = H x W x C); ``granularity="pixel"`` sums |A| over the channels first.

The probable paper computation (``eps=PAPER_EPS``). Table 3 of the appendix reports Gini ~0.05 for DeepLIFT
and Occlusion on MNIST. That cannot be G(|A|): G is never below the share of exactly-zero entries, and about
81% of MNIST pixels are zero (so zero-baseline maps are zero there). A widely copied Gini snippet adds a
constant 1e-7 to every entry of the un-normalised map before the formula above, G(|A| + eps). It is no
longer scale-invariant: maps whose entries are small against eps, such as DeepExplain's softmax-gradient
DeepLIFT on a saturated softmax, come out near 0. That is the paper's pattern, so ``eps=1e-7`` is offered
to compare with the paper. It is not a sparsity measure in its own right.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ._common import MetricResult, check_granularity

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from .._typing import Granularity

PAPER_EPS = 1e-7  # the constant of the widely copied Gini snippet (probably the paper's; see above)


def gini(attributions: ArrayLike, granularity: Granularity = "element", eps: float = 0.0) -> NDArray[np.float64]:
    """(N,) Gini index of |attributions| per sample (batched; no per-sample loop).

    Args:
        attributions: (N, ...) maps, one per sample, finite; any units (G(|A|) is scale-invariant).
        granularity: ``"element"`` (each input element; the paper's D = H x W x C) or ``"pixel"`` (|A|
            summed over the channels of an (N, H, W, C) map).
        eps: a constant added to every |A| entry, in the map's own units, before the index. 0 (default)
            is the Gini index of Hurley & Rickard (2009) as Chalasani et al. define it
            (ganmex_appendix.txt C.3). ``PAPER_EPS`` (1e-7) gives the probable paper computation of
            Table 3 (see the module docstring); it depends on the scale of the map.
    Raises:
        InputError: a map with fewer than 2 dimensions, NaN/Inf, an unknown granularity, or eps < 0.
    """
    a = np.asarray(attributions.numpy() if hasattr(attributions, "numpy") else attributions, np.float64)
    if a.ndim < 2:
        raise InputError(f"attributions: expected (N, ...) maps, one per sample, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError("attributions: expected finite values, got NaN or Inf")
    check_granularity(granularity)
    # np.isscalar's TypeGuard narrows eps (a float) to numpy's scalar union, which mypy cannot compare or convert
    if not (np.isscalar(eps) and np.isfinite(eps) and eps >= 0):  # type: ignore[operator]
        raise InputError(f"eps: expected a finite number >= 0 (0, or PAPER_EPS = 1e-7), got {eps!r}")
    a = np.abs(a)
    if granularity == "pixel" and a.ndim == 4:
        a = a.sum(axis=-1)
    a = np.sort(a.reshape(len(a), -1), axis=1) + float(eps)  # type: ignore[arg-type]  # eps: see above
    n = a.shape[1]
    total = a.sum(axis=1)
    weights = (n - np.arange(1, n + 1) + 0.5) / n
    safe = np.where(total > 0, total, 1.0)
    g = 1.0 - 2.0 * (a @ weights) / safe
    return np.where(total > 0, g, 0.0)


def sparsity(attributions: ArrayLike, granularity: Granularity = "element", eps: float = 0.0) -> MetricResult:
    """The Gini index as a :class:`MetricResult` (higher is sparser, the paper's preferred direction);
    ``eps`` as :func:`gini` (``PAPER_EPS`` for the probable paper computation of Table 3, C.3)."""
    name = "sparsity" if eps == 0 else "sparsity_eps"
    return MetricResult(name, gini(attributions, granularity, eps), True,
                        {"settings": {"granularity": granularity, "eps": eps}})
