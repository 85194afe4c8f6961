"""SP / SP-G: the batched method equals a brute-force loop over windows, for constant and generative fillers."""
import numpy as np
import pytest

from tfx_explain import explain_keras
from tfx_explain.errors import InputError
from tfx_explain.perturbation.fillers import get_filler
from tfx_explain.perturbation.sliding_patch import sliding_patch, window_masks


def brute_force(score_fn, x, weights, filler, patch, stride):
    h, w = x.shape[1:3]
    rows = range(0, h - patch + 1, stride)
    cols = range(0, w - patch + 1, stride)
    grid = np.zeros((len(x), len(rows), len(cols)))
    for n in range(len(x)):
        base = float(score_fn.explained(x[n : n + 1], weights[n : n + 1])[0])
        for i, top in enumerate(rows):
            for j, left in enumerate(cols):
                mask = np.zeros((1, h, w, 1), np.float32)
                mask[0, top : top + patch, left : left + patch] = 1
                filled = filler(x[n : n + 1], mask)
                grid[n, i, j] = base - float(score_fn.explained(filled, weights[n : n + 1])[0])
    return grid


@pytest.mark.parametrize("name", ["gray", "noise", "inpaint"])
def test_sliding_patch_equals_brute_force(score, random_inpainter, name):
    score_fn, x, weights = score
    filler = get_filler(random_inpainter if name == "inpaint" else name, input_range=(0.0, 1.0))
    result = sliding_patch(score_fn, x, weights, None, patch=9, stride=5, filler=filler)
    expected = brute_force(score_fn, x, weights, filler, 9, 5)
    assert result.extras["grid"].shape == (2, 4, 4)  # floor((28 - 9) / 5) + 1
    np.testing.assert_allclose(result.extras["grid"], expected, atol=1e-5)


def test_window_count_and_centre_placement(score):
    masks, starts = window_masks((64, 64), (17, 17), (3, 3))
    assert masks.shape == (256, 64, 64, 1) and masks[17].sum() == 17 * 17  # 16 x 16 windows
    score_fn, x, weights = score
    result = sliding_patch(score_fn, x, weights, None, patch=7, stride=3, placement="centre")
    heat = result.attributions.sum(axis=-1)
    grid = result.extras["grid"]
    centres = np.arange(grid.shape[1]) * 3 + 3
    np.testing.assert_allclose(heat[:, centres][:, :, centres], grid, rtol=1e-5, atol=1e-7)


def test_explain_keras_runs_sliding_patch(digits_model, score):
    _, x, _ = score
    e = explain_keras(digits_model, x, method="sliding_patch", patch=9, stride=5, filler="zero")
    assert e.attributions.shape == x.shape and e.options["filler"] == "zero"
    with pytest.raises(InputError, match="patch"):
        explain_keras(digits_model, x, method="sliding_patch", patch=40)


@pytest.mark.parametrize("mode, skimage_mode", [("reflect", "reflect"), ("edge", "edge")])
def test_stretched_map_equals_skimage_resize_order_1(score, mode, skimage_mode):
    """The reference resizes the n x n SP map with skimage ``resize(order=1)`` (mode "reflect", its default
    here); ``resize_mode="edge"`` (the earlier behaviour) is skimage's mode "edge"."""
    from skimage.transform import resize

    score_fn, x, weights = score
    result = sliding_patch(score_fn, x, weights, None, patch=9, stride=4, resize_mode=mode)
    grid = result.extras["grid"]  # (2, 5, 5) on 28 x 28
    expected = np.stack([resize(g.astype(np.float64), x.shape[1:3], order=1, mode=skimage_mode,
                                anti_aliasing=False) for g in grid])
    np.testing.assert_allclose(result.attributions.sum(axis=-1), expected, rtol=1e-5, atol=1e-7)
    assert result.extras["resize_mode"] == mode
    with pytest.raises(InputError, match="resize_mode"):
        sliding_patch(score_fn, x, weights, None, patch=9, stride=4, resize_mode="wrap")
