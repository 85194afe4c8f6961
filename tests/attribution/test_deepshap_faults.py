"""deepshap under faults (issue 14): a failure inside shap leaves TensorFlow usable and names engine="native";
one-vs-all with the training-set distribution draws backgrounds (no negative seed)."""
import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.errors import ModelError


def _model(seed, pool):
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input((12, 12, 1)), keras.layers.Conv2D(4, 3, activation="relu")]
    layers += [keras.layers.GlobalMaxPooling2D()] if pool else [keras.layers.Flatten()]
    return keras.Sequential(layers + [keras.layers.Dense(3)])


def test_shap_failure_restores_tensorflow_and_suggests_native():
    x = np.random.default_rng(0).uniform(0, 1, (2, 12, 12, 1)).astype("float32")
    with pytest.raises(ModelError, match='engine="native"'):
        tx.explain_keras(_model(1, pool=True), x, method="deepshap", baseline=np.full_like(x, 0.5), score="logit",
                         progress=False)
    fresh = _model(2, pool=False)
    e = tx.explain_keras(fresh, x, method="saliency", score="logit", absolute=False, progress=False)
    import tensorflow as tf  # the oracle: plain GradientTape on the same model

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = fresh(xt)
        picked = tf.gather(out, tf.argmax(out, axis=1), batch_dims=1)
    np.testing.assert_allclose(e.attributions, tape.gradient(picked, xt).numpy(), rtol=1e-5, atol=1e-6)


def test_deepshap_one_vs_all_with_train_baseline(digits_model, digits):
    (xt, yt), (x, _) = digits
    e = tx.explain_keras(digits_model, x[:2], method="deepshap", baseline="train", data=(xt[:50], yt[:50]),
                         background_size=5, engine="native", progress=False)
    assert e.attributions.shape == (2, 28, 28, 1) and np.isfinite(e.attributions).all()
