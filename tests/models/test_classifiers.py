import numpy as np
import pytest

from tfx_explain import data
from tfx_explain.errors import InputError, ModelError
from tfx_explain.models import build, introspect, load_model, save_model, train_classifier
from tfx_explain.distribute import mirrored


@pytest.mark.parametrize("name, shape, k, params", [
    ("mnist_cnn", (28, 28, 1), 10, 1184 + 73792 + 262400 + 2570),  # 6x6 convs 32, 64 (+bias); fc 1024->256; 10
    ("cifar_cnn", (32, 32, 3), 10, None),
    ("mobilenet_classifier", (32, 32, 3), 4, None),
])
def test_architectures_build_and_end_in_a_separate_softmax(name, shape, k, params):
    model = build(name, shape, k)
    out = model(np.zeros((2,) + shape, np.float32))
    assert tuple(out.shape) == (2, k)
    np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, atol=1e-5)
    assert introspect.final_softmax(model)[0] == "layer"
    if params is not None:
        assert model.count_params() == params
    if name == "cifar_cnn":
        assert sum("pool" in l.name for l in model.layers) == 4
        assert sum(type(l).__name__ == "BatchNormalization" for l in model.layers) == 9


def test_logits_bypass_without_modifying_the_model(rng):
    import keras

    model = build("mnist_cnn", (28, 28, 1), 10)
    layers_before = [l.name for l in model.layers]
    x = rng.random((3, 28, 28, 1)).astype(np.float32)
    logits = introspect.logits_function(model)(x)
    np.testing.assert_allclose(keras.ops.softmax(logits).numpy(), model(x).numpy(), atol=1e-6)
    assert [l.name for l in model.layers] == layers_before  # untouched
    # a Dense with a softmax activation is bypassed through its affine part
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(3, activation="softmax")
    m2 = keras.Model(inputs, dense(keras.layers.Dense(5, activation="relu")(inputs)))
    z = introspect.logits_function(m2)(np.ones((2, 4), np.float32))
    np.testing.assert_allclose(keras.ops.softmax(z).numpy(), m2(np.ones((2, 4), np.float32)).numpy(), atol=1e-6)


def test_fingerprint_survives_save_and_load_and_changes_with_weights(tmp_path):
    model = build("mnist_cnn", (28, 28, 1), 10)
    path = save_model(model, tmp_path / "clf.keras")
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    again = load_model(path)
    assert introspect.weights_fingerprint(again) == introspect.weights_fingerprint(model)
    w = again.layers[-2].get_weights()
    again.layers[-2].set_weights([w[0] + 1e-3, w[1]])
    assert introspect.weights_fingerprint(again) != introspect.weights_fingerprint(model)


def test_training_learns_digits():
    result = train_classifier("mnist_cnn", "digits", epochs=3, batch_size=64, verbose=0)
    assert result.test_accuracy > 0.85
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_mirrored_over_two_logical_cpus_equals_default(logical_cpus):
    """Same data order, same initial weights: two replicas give the same model as one device."""
    import keras

    x, y = data.load("digits", "train")
    x, y = x[:256], y[:256]
    results = []
    for strategy in (None, mirrored(logical_cpus)):
        keras.utils.set_random_seed(7)
        r = train_classifier("mnist_cnn", (x, y), epochs=2, batch_size=32, shuffle=False, dropout=0.0,
                             strategy=strategy, verbose=0, test_data=None, seed=7)
        results.append(r.model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_train_classifier_writes_run_directory(tmp_path):
    result = train_classifier("mnist_cnn", "digits", epochs=1, verbose=0, out_dir=tmp_path)
    import json

    record = json.loads((tmp_path / "run.json").read_text())
    assert record["results"]["test_accuracy"] == pytest.approx(result.test_accuracy)
    assert (tmp_path / "model.keras").exists()


@pytest.mark.parametrize("call, error, match", [
    (lambda: build("resnet", (28, 28, 1), 10), InputError, "architecture"),
    (lambda: build("mnist_cnn", (28, 28), 10), InputError, "input_shape"),
    (lambda: build("mnist_cnn", (28, 28, 1), 1), InputError, "num_classes"),
    (lambda: build("mobilenet_classifier", (28, 28, 3), 2), InputError, "at least 32x32"),
    (lambda: train_classifier("mnist_cnn", "digits", epochs=0), InputError, "epochs"),
    (lambda: train_classifier("mnist_cnn", "digits", optimizer="lbfgs", verbose=0), InputError, "optimizer"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_model_whose_output_is_not_a_class_vector():
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(ModelError, match=r"class scores with shape \(N, K\)"):
        introspect.probe_outputs(model, np.zeros((1, 8, 8, 1), np.float32))
