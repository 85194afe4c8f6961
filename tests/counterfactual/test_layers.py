"""The counterfactual explainers' layers: closed forms and parity with Keras / numpy."""
import keras
import numpy as np
import pytest

from tfx_explain.generative import layers_counterfactual as lc


def test_conditional_batch_norm_with_one_bin_is_batch_norm(rng):
    x = rng.normal(2.0, 3.0, (6, 4, 4, 5)).astype(np.float32)
    cbn = lc.ConditionalBatchNorm(1, epsilon=1e-3)
    bn = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.9)
    np.testing.assert_allclose(cbn(x, training=True), bn(x, training=True), atol=1e-5)
    np.testing.assert_allclose(cbn.moving_mean.numpy(), bn.moving_mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(cbn.moving_variance.numpy(), bn.moving_variance.numpy(), atol=1e-4)
    np.testing.assert_allclose(cbn(x, training=False), bn(x, training=False), atol=1e-4)


def test_conditional_batch_norm_looks_up_scale_and_offset_by_bin(rng):
    x = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)
    c = np.array([0, 2, 1, 2], np.int32)
    layer = lc.ConditionalBatchNorm(3, epsilon=1e-3)
    layer.build([x.shape, c.shape])
    gamma, beta = rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    normed = (x - x.mean(axis=(0, 1, 2))) / np.sqrt(x.var(axis=(0, 1, 2)) + 1e-3)
    expected = normed * gamma[c][:, None, None] + beta[c][:, None, None]
    np.testing.assert_allclose(layer([x, c], training=True), expected, atol=1e-5)
    # official behaviour: batch statistics at inference too; default: moving averages (initially 0 and 1)
    official = lc.ConditionalBatchNorm(3, epsilon=1e-3, batch_stats_at_inference=True)
    official.build([x.shape, c.shape])
    official.gamma.assign(gamma)
    official.beta.assign(beta)
    np.testing.assert_allclose(official([x, c], training=False), expected, atol=1e-5)
    moving = (x / np.sqrt(1 + 1e-3)) * gamma[c][:, None, None] + beta[c][:, None, None]
    fresh = lc.ConditionalBatchNorm(3, epsilon=1e-3)
    fresh.build([x.shape, c.shape])
    fresh.gamma.assign(gamma)
    fresh.beta.assign(beta)
    np.testing.assert_allclose(fresh([x, c], training=False), moving, atol=1e-5)


def test_spectral_norm_converges_to_unit_largest_singular_value(rng):
    layer = lc.SNDense(7)
    x = rng.normal(size=(2, 12)).astype(np.float32)
    layer(x)
    for _ in range(60):  # each training call runs one power iteration
        layer(x, training=True)
    w = layer.normalized(layer.kernel, training=False).numpy()
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(layer(x), x @ w + layer.bias.numpy(), atol=1e-5)
    conv = lc.SNConv2D(4, 3, strides=2)
    y = conv(rng.normal(size=(1, 8, 8, 3)).astype(np.float32), training=True)
    assert tuple(y.shape) == (1, 4, 4, 4)


def test_spectral_norm_gradient_flows_through_sigma(rng):
    import tensorflow as tf

    layer = lc.SNDense(3, use_bias=False)
    x = tf.constant(rng.normal(size=(4, 5)).astype(np.float32))
    layer(x)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(x, training=False))
    g = tape.gradient(out, layer.kernel)
    sigma = float(layer.kernel[0, 0] / layer.normalized(layer.kernel, False)[0, 0])
    sigma_as_constant = tf.transpose(x) @ tf.ones((4, 3)) / sigma  # what Keras' in-place SN would give
    assert not np.allclose(g.numpy(), sigma_as_constant.numpy(), atol=1e-4)


@pytest.mark.parametrize("bins", [2, 5, 10])
def test_ordinal_projection_matches_the_loop_over_thresholds(rng, bins):
    phi = rng.normal(size=(bins, 6)).astype(np.float32)
    c = np.arange(bins, dtype=np.int32)
    shared = lc.OrdinalProjection(bins, "shared")
    shared([phi, c])
    v = shared.normalized(shared.kernel, training=False).numpy().T  # (2, C)
    loop = [sum(v[int(i <= c_)] @ p for i in range(1, bins)) for p, c_ in zip(phi, c)]  # official code's loop
    np.testing.assert_allclose(shared([phi, c]), loop, rtol=1e-5, atol=1e-5)
    paper = lc.OrdinalProjection(bins, "paper")
    paper([phi, c])
    vs = paper.normalized(paper.kernel, training=False).numpy().T  # (bins - 1, C): v_1..v_{N-1}
    eq4 = [sum(vs[i] @ p for i in range(bins - 1) if i < c_) for p, c_ in zip(phi, c)]  # sum_{i<k} v_i^T phi
    np.testing.assert_allclose(paper([phi, c]), eq4, rtol=1e-5, atol=1e-5)


def test_glue_layers(rng):
    a, b = rng.normal(size=(3, 2, 2, 1)), rng.normal(size=(3, 2, 2, 1))
    y = np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(lc.select_by_class(a, b, y), np.where(y[:, None, None, None] == 1, b, a))
    x = rng.random((2, 3, 3, 1)).astype(np.float32) * 4 - 1  # range (-1, 3)
    there = lc.Rescale(*lc.to_unit_range((-1, 3)))(x)
    assert float(np.min(there)) >= -1 and float(np.max(there)) <= 1
    np.testing.assert_allclose(lc.Rescale(*lc.from_unit_range((-1, 3)))(there), x, atol=1e-6)
    np.testing.assert_allclose(lc.GlobalSumPooling()(x), x.sum(axis=(1, 2)), atol=1e-5)
    assert lc.down_strides(28, 4) == [2, 2, 1, 1]
    assert lc.down_strides(128, 5) == [2, 2, 2, 2, 2]


def test_layers_survive_serialization(rng, tmp_path):
    inputs = [keras.Input((4, 4, 2)), keras.Input((), dtype="int32")]
    h = lc.ConditionalBatchNorm(3)(inputs)
    h = lc.SNConv2D(3, 3)(h)
    phi = lc.GlobalSumPooling()(h)
    out = lc.OrdinalProjection(3, "paper")([phi, inputs[1]])
    model = keras.Model(inputs, out)
    x, c = rng.normal(size=(2, 4, 4, 2)).astype(np.float32), np.array([0, 2], np.int32)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(again([x, c]), model([x, c]), atol=1e-6)
