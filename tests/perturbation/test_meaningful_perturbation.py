"""MP / MP-G: the mask stays in [0, 1]; the straight-through gradient of MP-G; the TV term by hand."""
import numpy as np
import pytest
import tensorflow as tf

from tfx_explain import explain_keras
from tfx_explain.errors import InputError
from tfx_explain.perturbation.meaningful_perturbation import (jitter_offsets, meaningful_perturbation, perturb,
                                                              total_variation)


@pytest.mark.parametrize("filler", ["blur", "inpaint"])
def test_mask_stays_in_unit_interval(score, random_inpainter, filler):
    score_fn, x, weights = score
    fill = random_inpainter if filler == "inpaint" else filler
    result = meaningful_perturbation(score_fn, x, weights, None, filler=fill, steps=6, learning_rate=0.5)
    mask = result.extras["mask"]
    assert mask.shape == (2, 3, 3)  # H / 8 for 28 px
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    assert np.isin(mask, (0.0, 1.0)).any()  # the clamp was active
    assert np.all((result.extras["removed_fraction"] >= 0) & (result.extras["removed_fraction"] <= 1))


def test_straight_through_gradient_is_x_minus_fill(rng):
    """d S / d m for S = sum(v * x_tilde): the block sum of (x - G) v, and G gets no gradient."""
    x = tf.constant(rng.uniform(size=(1, 4, 4, 2)).astype(np.float32))
    v = tf.constant(rng.normal(size=(1, 4, 4, 2)).astype(np.float32))
    scale = tf.Variable(0.3)
    m = tf.constant([[[0.9, 0.2], [0.6, 0.1]]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(m)
        keep = tf.image.resize(m[..., None], (4, 4), method="nearest")
        x_tilde, removed = perturb(x, None, keep, fill_tensor=lambda img, hole: img * scale)
        total = tf.reduce_sum(v * x_tilde)
    expected = tf.reduce_sum(tf.reshape((x - 0.3 * x) * v, (1, 2, 2, 2, 2, 2)), axis=[2, 4, 5])
    np.testing.assert_allclose(tape.gradient(total, m).numpy(), expected.numpy(), rtol=1e-5)
    assert tape.gradient(total, scale) is None
    np.testing.assert_array_equal(removed.numpy()[0, ::2, ::2, 0], [[0, 1], [0, 1]])  # 0.9 and 0.6 kept


def test_total_variation_by_hand():
    m = tf.constant([[[0.0, 0.5, 1.0], [1.0, 1.0, 0.0]]])
    expected = (1.0 + 0.5 ** 3 + 1.0) + (0.5 ** 3 + 0.5 ** 3 + 0.0 + 1.0)
    assert float(total_variation(m, 3.0)[0]) == pytest.approx(expected)


def test_jitter_depends_on_the_image_index_only():
    np.testing.assert_array_equal(jitter_offsets(3, 5, 0, 4, 1)[:, 1:], jitter_offsets(2, 5, 1, 4, 1))
    assert jitter_offsets(3, 5, 0, 4, 1).max() < 4 and jitter_offsets(3, 5, 0, 0, 1).max() == 0


def test_explain_keras_runs_mp_and_checks_options(digits_model, score):
    _, x, _ = score
    e = explain_keras(digits_model, x[:1], method="meaningful_perturbation", steps=3, filler="gray")
    assert e.attributions.shape == (1, 28, 28, 1) and e.extras["mask"].shape == (1, 3, 3)
    with pytest.raises(InputError, match="upsample"):
        explain_keras(digits_model, x[:1], method="meaningful_perturbation", upsample="cubic")
