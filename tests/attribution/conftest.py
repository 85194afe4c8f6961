import numpy as np
import pytest


@pytest.fixture(scope="module")
def linear_model():
    """logits = A x + c over a 4x4x1 image with 3 classes, then a separate softmax: closed forms known."""
    import keras

    inputs = keras.Input((4, 4, 1))
    dense = keras.layers.Dense(3, name="logits")
    out = keras.layers.Activation("softmax")(dense(keras.layers.Flatten()(inputs)))
    model = keras.Model(inputs, out)
    rng = np.random.default_rng(3)
    dense.set_weights([rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)])
    return model


def linear_parts(model):
    """(A as (16, 3), c) of the linear model."""
    kernel, bias = model.get_layer("logits").get_weights()
    return kernel, bias


@pytest.fixture(scope="module")
def linear_inputs():
    rng = np.random.default_rng(4)
    return rng.random((5, 4, 4, 1)).astype(np.float32), rng.random((5, 4, 4, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def digit_batch(digits, digits_model):
    (xt, yt), (x, y) = digits
    pred = digits_model.predict(x[:8], verbose=0).argmax(1)
    target = (pred + 3) % 10
    return x[:8], pred, target
