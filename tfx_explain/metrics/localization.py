"""Inverse localization (ganmex_main.txt §4.1, Table 1; ganmex_appendix.txt C.5).

For a sample with common-feature set S_c and distinguishing set S_d,

    L(A(x)) = (1/|S_c| sum_{i in S_c} |A_i(x)|) / (1/|S_d| sum_{i in S_d} |A_i(x)|),

the mean absolute attribution on what the two classes share over the mean on what tells them apart.
Lower is better (the map is localized on S_d). Masks are per pixel and cover every channel; |A| is
averaged over the elements of each set, so summing channels first gives the same ratio.

* Composite (BAM-like) data, §4.1: classes are (object, scene) pairs. For a target class with the same
  scene and another object, S_d is the object; with the same object and another scene, S_d is the
  background; S_c is the rest (:func:`tfx_explain.data.composite.distinguishing_mask`). Pairs that differ
  in both have no common set; they get NaN and are left out of the table, as in the paper.
* SVHN-style edge/center, C.5: S_c = the two vertical edge strips, S_d = the center band. The paper does
  not give the strip width; we use ``edge_fraction`` = 0.25 of the width on each side (for 32-pixel
  SVHN crops, 8 columns, about where the central digit ends) and document it with every reported number.

A sample whose distinguishing set has zero attribution gets +inf (NaN when both sets are zero): the
summary counts them as undefined rather than letting one sample dominate the mean.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ._common import MetricResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

PAIR_KINDS = ("different object", "different scene", "both differ")


def ratio(attributions, common, distinguishing):
    """(N,) mean |A| over the common set / mean |A| over the distinguishing set (masks (N, H, W, 1|C))."""
    a = np.abs(np.asarray(attributions, np.float64))
    common = _mask(common, a, "common")
    distinguishing = _mask(distinguishing, a, "distinguishing")
    n = len(a)
    channels = a.shape[-1] if common.shape[-1] == 1 else 1
    sums_c = (a * common).reshape(n, -1).sum(axis=1)
    sums_d = (a * distinguishing).reshape(n, -1).sum(axis=1)
    count_c = common.reshape(n, -1).sum(axis=1) * channels
    count_d = distinguishing.reshape(n, -1).sum(axis=1) * channels
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_c = np.where(count_c > 0, sums_c / np.maximum(count_c, 1), np.nan)
        mean_d = np.where(count_d > 0, sums_d / np.maximum(count_d, 1), np.nan)
        return mean_c / mean_d


def _mask(mask, a, name):
    m = np.asarray(mask, np.float64)
    if m.ndim == 3:
        m = m[..., None]
    if m.shape[:3] != a.shape[:3] or m.shape[-1] not in (1, a.shape[-1]):
        raise InputError(f"{name}: expected masks of shape {a.shape[:3] + (1,)} or {a.shape}, got {m.shape}")
    return (m > 0.5).astype(np.float64)


def inverse_localization(attributions: ArrayLike, original_class: ArrayLike, target_class: ArrayLike,
                         masks: ArrayLike, n_scenes: int) -> MetricResult:
    """Inverse localization on composite (object x scene) data (§4.1, Table 1).

    Args:
        attributions: (N, H, W, C) one-vs-one maps A_{c_o -> c_t}.
        original_class: (N,) composite classes c_o (object * n_scenes + scene).
        target_class: (N,) composite classes c_t, in the same layout.
        masks: (N, H, W, 1) ground-truth object masks (``data.load(..., with_masks=True)``).
        n_scenes: scenes per object in the class layout.
    Raises:
        InputError: class lists not one per map, n_scenes < 1, or c_t = c_o for a sample.
    Returns:
        :class:`MetricResult` (lower is better) with extras ``pair_kind`` (N,) strings and ``by_kind``
        {kind: summary} for the "different object", "different scene" and overall rows of Table 1.
    """
    from ..data.composite import distinguishing_mask

    co = np.asarray(original_class).reshape(-1)
    ct = np.asarray(target_class).reshape(-1)
    a = np.asarray(attributions)
    if len(co) != len(a) or len(ct) != len(a):
        raise InputError(f"original_class, target_class: expected {len(a)} classes each, got {len(co)} and {len(ct)}")
    if int(n_scenes) < 1:
        raise InputError(f"n_scenes: expected a positive int, got {n_scenes!r}")
    same = np.flatnonzero(co == ct)
    if len(same):  # was labelled "both differ" and left out as NaN, silently
        raise InputError(f"target_class: expected the contrast class of a one-vs-one map, different from "
                         f"original_class, but both are {int(co[same[0]])} at index {int(same[0])}")
    kinds = pair_kinds(co, ct, n_scenes)
    s_d = distinguishing_mask(np.asarray(masks, np.float32), co, ct, int(n_scenes))
    values = ratio(a, 1.0 - s_d, s_d)
    values[kinds == "both differ"] = np.nan
    return MetricResult("inverse_localization", values, False, {
        "pair_kind": kinds, "by_kind": by_kind(values, kinds), "settings": {"n_scenes": int(n_scenes)}})


def pair_kinds(original_class, target_class, n_scenes):
    """(N,) "different object", "different scene" or "both differ" for composite class pairs."""
    co, ct = np.asarray(original_class), np.asarray(target_class)
    same_scene = (co % n_scenes) == (ct % n_scenes)
    same_object = (co // n_scenes) == (ct // n_scenes)
    return np.where(same_scene & ~same_object, PAIR_KINDS[0],
                    np.where(same_object & ~same_scene, PAIR_KINDS[1], PAIR_KINDS[2]))


def by_kind(values, kinds):
    """Table 1's rows: the summary per pair kind and overall (defined pairs only)."""
    from ._common import summarize

    rows = {kind: summarize(values[kinds == kind]) for kind in PAIR_KINDS[:2]}
    rows["overall"] = summarize(values[kinds != PAIR_KINDS[2]])
    return rows


def edge_center_masks(shape: Sequence[int], edge_fraction: float = 0.25) -> tuple[NDArray[np.float32],
                      NDArray[np.float32]]:
    """(edge, center) float masks (H, W, 1): the two vertical edge strips and the band between (C.5)."""
    h, w = int(shape[0]), int(shape[1])
    if not 0 < edge_fraction < 0.5:
        raise InputError(f"edge_fraction: expected a fraction in (0, 0.5) of the width per side, got {edge_fraction}")
    strip = max(1, int(round(edge_fraction * w)))
    edge = np.zeros((h, w, 1), np.float32)
    edge[:, :strip] = 1.0
    edge[:, w - strip :] = 1.0
    return edge, 1.0 - edge


def edge_center_localization(attributions: ArrayLike, edge_fraction: float = 0.25) -> MetricResult:
    """SVHN-style inverse localization (C.5): mean |A| on the vertical edges / mean |A| in the center."""
    a = np.asarray(attributions)
    if a.ndim != 4:
        raise InputError(f"attributions: expected (N, H, W, C) maps, got shape {a.shape}")
    edge, center = edge_center_masks(a.shape[1:3], edge_fraction)
    values = ratio(a, np.broadcast_to(edge, a.shape[:3] + (1,)), np.broadcast_to(center, a.shape[:3] + (1,)))
    return MetricResult("edge_center_localization", values, False, {"settings": {"edge_fraction": edge_fraction}})
