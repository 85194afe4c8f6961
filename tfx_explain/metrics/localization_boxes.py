"""Object localization error from heatmap boxes (generative_feature_removal.txt §4.4, Table 2).

Fong & Vedaldi's procedure as the paper applies it: threshold each heatmap at t = alpha * max (negative
values set to 0), take the tightest box around the pixels with heat >= t, and count a localization error
when its IoU with the ground-truth box is below 0.5. alpha runs over 0, 0.05, ..., 0.95; the best alpha*
is chosen on a held-out set and the error reported on the test set. A map with no positive value gives
the whole image as its box (Fong's fallback; the paper's "baseline" is the whole image for every sample).

On the composite data the ground-truth box is the tightest box around the pasted object's mask.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

ALPHAS = np.round(np.arange(0.0, 1.0, 0.05), 2)


def mask_boxes(masks: ArrayLike) -> NDArray[np.int64]:
    """(N, 4) boxes (top, left, bottom, right), bottom/right exclusive, around the nonzero pixels of (N, H, W)
    masks; an empty mask gives the whole image."""
    masks = np.asarray(masks) > 0
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    return _boxes(rows, cols)


def _boxes(rows, cols):
    """Boxes from (..., H) and (..., W) occupancy; empty -> whole image."""
    height, width = rows.shape[-1], cols.shape[-1]
    top = np.where(rows.any(-1), rows.argmax(-1), 0)
    bottom = np.where(rows.any(-1), height - rows[..., ::-1].argmax(-1), height)
    left = np.where(cols.any(-1), cols.argmax(-1), 0)
    right = np.where(cols.any(-1), width - cols[..., ::-1].argmax(-1), width)
    return np.stack([top, left, bottom, right], axis=-1)


def heatmap_boxes(heatmaps: ArrayLike, alphas: NDArray[Any] | Sequence[float] = ALPHAS) -> NDArray[np.int64]:
    """(N, A, 4) boxes of heat >= alpha * max for every alpha; heatmaps (N, H, W), negatives clipped to 0."""
    heat = np.maximum(np.asarray(heatmaps, np.float64), 0.0)
    peak = heat.reshape(len(heat), -1).max(axis=1)
    alphas = np.asarray(alphas, np.float64)
    above = heat[:, None] >= (alphas[None, :] * peak[:, None])[:, :, None, None]  # (N, A, H, W)
    above &= (peak > 0)[:, None, None, None]  # nothing positive: whole image
    return _boxes(above.any(axis=3), above.any(axis=2))


def box_iou(a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.float64]:
    """Intersection over union of boxes (..., 4) in pixels."""
    inter_h = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    inter_w = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = inter_h * inter_w
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1)


def localization_error(heatmaps: ArrayLike, gt_masks: ArrayLike, alphas: NDArray[Any] | Sequence[float] = ALPHAS,
                       iou_threshold: float = 0.5) -> dict[str, Any]:
    """Localization error for every alpha.

    Args:
        heatmaps: (N, H, W) maps (channel-summed), or (N, H, W, C) attributions (summed over channels).
        gt_masks: (N, H, W) or (N, H, W, 1) ground-truth object masks.
    Returns:
        {"alphas": (A,), "errors": (A,) share of samples with IoU < threshold, "iou": (N, A),
         "best_alpha", "best_error", "baseline_error" (the whole image as the box)}.
    """
    heat = np.asarray(heatmaps, np.float64)
    heat = heat.sum(axis=-1) if heat.ndim == 4 else heat
    masks = np.asarray(gt_masks)
    masks = masks[..., 0] if masks.ndim == 4 else masks
    if heat.ndim != 3 or masks.shape != heat.shape:
        raise InputError(f"heatmaps, gt_masks: expected (N, H, W) maps and masks of the same shape, got "
                         f"{heat.shape} and {masks.shape}")
    gt = mask_boxes(masks)
    iou = box_iou(heatmap_boxes(heat, alphas), gt[:, None])
    errors = (iou < iou_threshold).mean(axis=0)
    whole = np.array([0, 0, heat.shape[1], heat.shape[2]])
    best = int(np.argmin(errors))
    return {"alphas": np.asarray(alphas), "errors": errors, "iou": iou, "best_alpha": float(alphas[best]),
            "best_error": float(errors[best]),
            "baseline_error": float((box_iou(whole[None], gt) < iou_threshold).mean())}


def heldout_localization_error(heatmaps: ArrayLike, gt_masks: ArrayLike, heldout_heatmaps: ArrayLike,
                               heldout_masks: ArrayLike, alphas: NDArray[Any] | Sequence[float] = ALPHAS,
                               iou_threshold: float = 0.5) -> dict[str, Any]:
    """Table 2's protocol: alpha* chosen on the held-out set, error measured on the test set at alpha*.

    Returns {"alpha", "error", "baseline_error", "failed": (N,) 1.0 where the test image's IoU < threshold}
    (``failed`` pairs two methods image by image: :func:`tfx_explain.metrics.paired_difference`)."""
    chosen = localization_error(heldout_heatmaps, heldout_masks, alphas, iou_threshold)["best_alpha"]
    test = localization_error(heatmaps, gt_masks, [chosen], iou_threshold)
    return {"alpha": chosen, "error": float(test["errors"][0]), "baseline_error": test["baseline_error"],
            "failed": (test["iou"][:, 0] < iou_threshold).astype(np.float64)}
