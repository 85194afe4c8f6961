"""Mixed precision and XLA give float32's results within the stated tolerances (tfx_explain.precision).

Attributions: relative L2 error ||A - A_32|| / ||A_32|| per method, and the explained scores. GANMEX: three
training steps, then the generator's baselines (pixels in [0, 1]) against the float32 run's.
"""
import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain import ganmex
from tfx_explain.errors import InputError, ModelError
from tfx_explain.precision import ATTRIBUTION_TOLERANCES as TOLERANCES, SCORE_TOLERANCES as SCORE_TOLERANCE

from .conftest import TINY_GANMEX


def _switch(name):
    return {"jit_compile": True} if name == "xla" else {"precision": name}


@pytest.mark.parametrize("method, options, tolerances", TOLERANCES, ids=[t[0] for t in TOLERANCES])
def test_attributions_match_float32(small_model, small_digits, method, options, tolerances):
    x = small_digits[0][:16]
    co = small_model.predict(x, verbose=0).argmax(1)
    kwargs = dict(method=method, original_class=co, target_class=(co + 3) % 10, progress=False, **options)
    reference = tx.explain_keras(small_model, x, **kwargs)
    for switch, tolerance in tolerances.items():
        e = tx.explain_keras(small_model, x, **kwargs, **_switch(switch))
        error = np.linalg.norm(e.attributions - reference.attributions) / np.linalg.norm(reference.attributions)
        assert error <= tolerance, (switch, error)
        assert e.attributions.dtype == np.float32
        np.testing.assert_allclose(e.input_scores, reference.input_scores, atol=SCORE_TOLERANCE[switch])
        if switch != "xla":
            assert 0 < error and e.options["precision"] == switch  # it really computed in 16 bits


def test_mixed_precision_copies_the_model_and_leaves_it_alone(small_model):
    from tfx_explain.precision import compute_model

    copy = compute_model(small_model, "mixed_float16")
    assert copy is not small_model and small_model.layers[0].compute_dtype == "float32"
    assert [l.compute_dtype for l in copy.layers] == ["float16", "float16", "float16", "float32"]
    assert all(w.dtype == "float32" for w in copy.weights)
    for a, b in zip(copy.get_weights(), small_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_precision_and_unclonable_models(small_digits):
    import keras

    x = small_digits[0][:2]
    with pytest.raises(InputError, match="precision: expected one of"):
        tx.explain_keras(keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3),
                                           keras.layers.Softmax()]), x, method="saliency", precision="half")

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.flat, self.dense = keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")

        def call(self, inputs):
            return self.dense(self.flat(inputs))

    net = Net()
    net(x)
    with pytest.raises(ModelError, match="precision: 'mixed_float16' .* Sequential or functional"):
        tx.explain_keras(net, x, method="saliency", precision="mixed_float16")


@pytest.fixture(scope="module")
def train_data():
    x, y = tx.data.load("digits", "train", image_size=8)
    return x[:200], y[:200]


@pytest.fixture(scope="module")
def float32_ganmex(small_model, train_data):
    return ganmex.train(small_model, train_data, steps=3, verbose=0, **TINY_GANMEX)


@pytest.mark.parametrize("switch, tolerance", [("xla", 1e-4), ("mixed_float16", 5e-2)])
def test_ganmex_training_matches_float32(small_model, small_digits, train_data, float32_ganmex, switch, tolerance):
    """Three steps; float16 goes through Keras' loss scaling. The generator's output stays float32."""
    gen = ganmex.train(small_model, train_data, steps=3, verbose=0, **TINY_GANMEX, **_switch(switch))
    x = small_digits[0][:16]
    out = gen.generate(x, 3)
    error = np.abs(out - float32_ganmex.generate(x, 3)).max()
    assert error <= tolerance and out.dtype == np.float32, error
    assert gen.metadata["config"]["precision"] == ("float32" if switch == "xla" else switch)
    if switch == "mixed_float16":
        assert type(gen.gan.g_optimizer).__name__ == "LossScaleOptimizer"
        assert gen.generator.get_layer("down0").compute_dtype == "float16"
        assert all(w.dtype == "float32" for w in gen.generator.weights)
