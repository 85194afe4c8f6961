"""IG / EG memory is bounded (issue 14): ``batch_size`` caps the path points per model call, and without it the
points per call come from an activation budget measured by a probe trace. A layer records the largest batch
the model ever sees; the attributions do not depend on the chunking."""
import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.attribution import _common


def _model():
    import keras
    import tensorflow as tf

    class MaxBatch(keras.layers.Layer):
        def build(self, shape):
            self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen")

        def call(self, x):
            self.seen.assign(tf.maximum(self.seen, tf.cast(tf.shape(x)[0], tf.float32)))
            return x

    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 1))
    h = MaxBatch(name="max_batch")(inp)
    h = keras.layers.Conv2D(4, 3, activation="relu")(h)
    h = keras.layers.Dense(3)(keras.layers.Flatten()(h))
    return keras.Model(inp, keras.layers.Softmax()(h))


def _seen(model):
    return int(model.get_layer("max_batch").seen.numpy())


@pytest.mark.parametrize("method", ["integrated_gradients", "expected_gradients"])
def test_path_points_per_call_follow_batch_size_and_the_budget(method, monkeypatch):
    x = np.random.default_rng(0).uniform(0, 1, (3, 12, 12, 1)).astype(np.float32)
    options = dict(method=method, steps=40, progress=False)
    if method == "expected_gradients":
        options.update(baseline="train", data=(np.random.default_rng(1).uniform(0, 1, (50, 12, 12, 1)),
                                               np.arange(50) % 3))
    reference = tx.explain_keras(_model(), x, **options)
    model = _model()
    bounded = tx.explain_keras(model, x, batch_size=5, **options)
    assert _seen(model) <= 5
    np.testing.assert_allclose(bounded.attributions, reference.attributions, rtol=1e-5, atol=1e-7)

    model = _model()
    budget_points = 7  # the probe's value is checked below; here the budget alone decides
    monkeypatch.setattr(_common, "_probe_point_bytes", lambda *a: 1000)
    monkeypatch.setattr(_common, "ACTIVATION_BUDGET", budget_points * 1000)
    budgeted = tx.explain_keras(model, x, **options)
    assert 1 < _seen(model) <= budget_points
    np.testing.assert_allclose(budgeted.attributions, reference.attributions, rtol=1e-5, atol=1e-7)


def test_probe_counts_the_activations_of_one_point():
    """Conv2D(4, 3) on 12x12x1 then Dense(3): the per-point tensors of the forward pass alone hold at least
    the input (144), the conv output before and after ReLU (2 x 400) and the scores; the probe must see them,
    and it must not count the weights (the Dense kernel alone is 1200 floats and would double the count)."""
    from tfx_explain.targets import score_function

    model = _model()
    fn = score_function(model, probe=np.zeros((1, 12, 12, 1), np.float32))
    floats = _common._probe_point_bytes(fn, (12, 12, 1), 3) // 4
    assert 144 + 2 * 400 <= floats < 20 * (144 + 400)
