"""Localization error from thresholded heatmap boxes (generative_feature_removal.txt §4.4)."""
import numpy as np
import pytest

from tfx_explain.metrics.localization_boxes import (box_iou, heatmap_boxes, heldout_localization_error,
                                                    localization_error, mask_boxes)


def test_boxes_and_iou_by_hand():
    masks = np.zeros((2, 10, 10))
    masks[0, 2:5, 3:8] = 1
    np.testing.assert_array_equal(mask_boxes(masks), [[2, 3, 5, 8], [0, 0, 10, 10]])  # empty: whole image
    a, b = np.array([0, 0, 4, 4]), np.array([2, 2, 6, 6])
    assert box_iou(a, b) == pytest.approx(4 / 28)
    heat = np.zeros((1, 10, 10))
    heat[0, 1, 1], heat[0, 6, 8] = 1.0, 0.5
    heat[0, 9, 0] = -3.0  # negatives are clipped, so they never enter a box
    boxes = heatmap_boxes(heat, [0.0, 0.4, 0.9])
    np.testing.assert_array_equal(boxes[0], [[0, 0, 10, 10], [1, 1, 7, 9], [1, 1, 2, 2]])


def test_a_map_equal_to_the_mask_localizes_perfectly(rng):
    masks = np.zeros((4, 16, 16))
    for i in range(4):
        top, left = rng.integers(0, 8, 2)
        masks[i, top : top + 6, left : left + 5] = 1
    result = localization_error(masks + 0.01 * rng.uniform(size=masks.shape), masks)
    assert result["errors"][0] == 1.0  # alpha 0: the whole image, IoU 30/256
    assert result["best_error"] == 0.0 and result["baseline_error"] == 1.0
    held = heldout_localization_error(masks, masks, masks, masks)
    assert held["error"] == 0.0 and held["alpha"] > 0
