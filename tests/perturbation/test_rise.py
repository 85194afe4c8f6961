"""RISE / RISE-G: the masks of the authors' code, the batched method against a loop over masks, parity with
xplique's Rise (statistically), one-vs-one linearity, the inpainter on composite images, bad input."""
import numpy as np
import pytest
from skimage.transform import resize

from tfx_explain.errors import InputError
from tfx_explain.perturbation import _common
from tfx_explain.perturbation.rise import cell_size, draw_masks, rise, upsample_masks


@pytest.mark.parametrize("size, grid", [((28, 28), (7, 7)), ((30, 22), (4, 3))])
def test_masks_are_the_authors_resize_and_crop(size, grid):
    """Oracle: eclique/RISE, skimage resize(order=1, mode="reflect") to (s + 1) C, then the crop at the offset."""
    cells = cell_size(size, grid)
    assert cells == tuple(int(np.ceil(n / g)) for n, g in zip(size, grid))
    grids, offsets = draw_masks(40, grid, 0.5, cells, seed=3)
    assert set(np.unique(grids)) == {0.0, 1.0} and (offsets >= 0).all() and (offsets < cells).all()
    up = tuple((g + 1) * c for g, c in zip(grid, cells))
    expected = np.stack([resize(g, up, order=1, mode="reflect", anti_aliasing=False)[
        dy:dy + size[0], dx:dx + size[1]] for g, (dy, dx) in zip(grids, offsets)])
    np.testing.assert_allclose(upsample_masks(grids, offsets, size, cells), expected, atol=1e-6)


@pytest.mark.parametrize("filler, normalization", [("zero", "expectation"), ("gray", "empirical")])
def test_batched_rise_equals_a_loop_over_masks(score, monkeypatch, filler, normalization):
    """Brute force on the same masks: one model call per (image, mask), Eq. 6 summed in a Python loop."""
    score_fn, x, weights = score
    n, p, grid = 23, 0.4, (5, 4)
    monkeypatch.setattr(_common, "CHUNK_ELEMENTS", 7 * 28 * 28)  # 7 masks per chunk: chunk edges are exercised
    ours = rise(score_fn, x, weights, None, num_samples=n, grid_size=grid, keep_prob=p, filler=filler,
                normalization=normalization, seed=5, batch_size=4).attributions[..., 0]
    cells = cell_size(x.shape[1:3], grid)
    masks = upsample_masks(*draw_masks(n, grid, p, cells, 5), x.shape[1:3], cells)
    for i in range(len(x)):
        fill = 0.0 if filler == "zero" else x[i].mean()
        total = np.zeros(x.shape[1:3])
        for m in masks:
            perturbed = x[i] * m[..., None] + fill * (1.0 - m[..., None])
            total += float(score_fn.explained(perturbed[None], weights[i:i + 1])[0]) * m
        expected = total / (n * p if normalization == "expectation" else masks.sum(axis=0))
        np.testing.assert_allclose(ours[i], expected, rtol=1e-4, atol=1e-5)


def test_rise_agrees_with_xplique_statistically(score, digits_model):
    """Same model, images, grid and p, independent masks (xplique: one shift per batch, edge-clamped resize):
    xplique's map is as close to ours as our own map with other masks (3000 masks: r = 0.98-0.99 for both).
    Empirical normalisation is xplique's; the paper's N p differs by the noise of sum_i M_i / (N p)."""
    import tensorflow as tf
    from xplique.attributions import Rise

    score_fn, x, weights = score
    x, weights, n = x[:1], weights[:1], 3000  # one image keeps the test short
    tf.random.set_seed(0)
    theirs = np.asarray(Rise(digits_model, batch_size=100, nb_samples=n, grid_size=7, preservation_probability=0.5,
                             mask_value=0.0).explain(x, weights)).reshape(x.shape[:3])

    def ours(normalization, seed):
        return rise(score_fn, x, weights, None, num_samples=n, normalization=normalization, batch_size=100,
                    seed=seed).attributions[..., 0]

    def r(a, b):
        return np.array([np.corrcoef(a[i].ravel(), b[i].ravel())[0, 1] for i in range(len(a))])

    empirical = ours("empirical", 1)
    to_xplique, to_ourselves = r(empirical, theirs), r(empirical, ours("empirical", 2))
    assert (to_xplique > 0.95).all() and (to_xplique > to_ourselves - 0.03).all(), (to_xplique, to_ourselves)
    assert (r(ours("expectation", 1), theirs) > 0.9).all()


def test_one_vs_one_is_the_difference_of_the_one_vs_all_maps(digits_model, digits):
    """S_co - S_ct is linear in the weights and the masks are shared: RISE(co vs ct) = RISE(co) - RISE(ct)."""
    import tfx_explain as tx

    x = digits[1][0][:2]
    kw = dict(method="rise", num_samples=40, grid_size=4, batch_size=40, progress=False)
    co, ct = np.array([1, 2]), np.array([7, 3])
    pair = tx.explain_keras(digits_model, x, original_class=co, target_class=ct, **kw).attributions
    a = tx.explain_keras(digits_model, x, original_class=co, **kw).attributions
    b = tx.explain_keras(digits_model, x, original_class=ct, **kw).attributions
    np.testing.assert_allclose(pair, a - b, atol=1e-5)
    assert np.abs(pair).max() > 1e-3


def test_rise_g_fills_binarised_holes_with_the_bundled_inpainter(composite, bundled_inpainter):
    """RISE-G on composite images (``filler="inpaint"``): each perturbed image is the inpainter's fill of the
    holes M < 0.5; the weights stay the soft masks."""
    score_fn, x, weights = composite
    n, grid = 6, (4, 4)
    ours = rise(score_fn, x, weights, None, num_samples=n, grid_size=grid, filler="inpaint", seed=2)
    assert ours.extras["filler"] == "inpaint" and np.isfinite(ours.attributions).all()
    cells = cell_size(x.shape[1:3], grid)
    masks = upsample_masks(*draw_masks(n, grid, 0.5, cells, 2), x.shape[1:3], cells)
    filled = bundled_inpainter.inpaint(np.repeat(x[:1], n, axis=0), (masks < 0.5).astype(np.float32))
    scores = np.asarray(score_fn.explained(filled, np.repeat(weights[:1], n, axis=0)))
    expected = np.tensordot(scores, masks, axes=1) / (n * 0.5)
    np.testing.assert_allclose(ours.attributions[0].sum(axis=-1), expected, rtol=1e-4, atol=1e-5)


def test_rise_refuses_bad_options_before_any_work(score):
    score_fn, x, weights = score
    for options, name in [({"num_samples": 0}, "num_samples"), ({"keep_prob": 0.0}, "keep_prob"),
                          ({"keep_prob": 1.5}, "keep_prob"), ({"grid_size": 0}, "grid_size"),
                          ({"grid_size": (3, 40)}, "grid_size"), ({"normalization": "sum"}, "normalization"),
                          ({"filler": "nope"}, "filler"), ({"filler": "inpaint"}, "filler")]:
        with pytest.raises(InputError, match=name):
            rise(score_fn, x, weights, None, **options)
