import numpy as np
import pytest

from tfx_explain import metrics
from tfx_explain.errors import InputError
from tfx_explain.perturbation.fillers import Gray as ConstantFill  # a constant colour


def _two_class_data(n, rng):
    """Class 1 has a bright 2x2 block at the top left, class 0 not; noise everywhere else (8x8 images)."""
    x = rng.random((n, 8, 8, 1)).astype(np.float32) * 0.5
    y = np.arange(n) % 2
    x[y == 1, :2, :2] = 1.0
    x[y == 0, :2, :2] = 0.0
    block = np.zeros((n, 8, 8, 1), np.float32)
    block[:, :2, :2] = 1.0
    return x, y, block


def _logistic(input_shape, num_classes):
    import keras

    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(keras.layers.Flatten()(inputs)))


def test_pair_partners_and_default_pairs():
    assert metrics.default_pairs(5) == [(0, 1), (2, 3)]
    np.testing.assert_array_equal(metrics.pair_partners([0, 1, 2, 3, 4], [(0, 1), (2, 3)]), [1, 0, 3, 2, -1])
    with pytest.raises(InputError, match="pairs"):
        metrics.pair_partners([0, 1], [(0, 1), (1, 2)])


def test_remove_features_replaces_the_top_fraction():
    rng = np.random.default_rng(0)
    x = rng.random((3, 4, 4, 1)).astype(np.float32)
    a = rng.normal(size=x.shape)
    fill = ConstantFill(-1.0)
    np.testing.assert_array_equal(metrics.remove_features(x, a, 0.0, fill), x)
    np.testing.assert_array_equal(metrics.remove_features(x, a, 1.0, fill), -1.0)
    half = metrics.remove_features(x, a, 0.5, fill).reshape(3, -1)
    top = np.argsort(-a.reshape(3, -1), axis=1)[:, :8]
    assert np.all(np.take_along_axis(half, top, axis=1) == -1.0) and (half == -1.0).sum() == 24


def test_roar_rewards_the_attribution_that_removes_the_class_signal():
    rng = np.random.default_rng(1)
    x_tr, y_tr, block_tr = _two_class_data(120, rng)
    x_te, y_te, block_te = _two_class_data(60, rng)
    fractions = (0.0, 0.0625, 1.0)  # 4 of 64 features: exactly the block for the true map
    train = dict(preset="tiny", architecture=_logistic, epochs=8, batch_size=20, learning_rate=0.05)
    perfect = metrics.roar(x_tr, y_tr, block_tr + 0.01 * rng.random(x_tr.shape), x_te, y_te,
                           block_te + 0.01 * rng.random(x_te.shape), pairs=[(0, 1)], fractions=fractions, **train)
    random = metrics.roar(x_tr, y_tr, rng.normal(size=x_tr.shape), x_te, y_te, rng.normal(size=x_te.shape),
                          pairs=[(0, 1)], fractions=fractions, **train)
    acc_p, acc_r = perfect.extras["accuracy"][0], random.extras["accuracy"][0]
    assert acc_p[0] > 0.95 and acc_r[0] > 0.95  # the signal is learnable
    assert acc_p[1] < 0.75 and acc_r[1] > 0.9  # removing 6% by the true map erases it; random 6% does not
    assert perfect.values[0] > random.values[0] + 0.1
    expected = np.trapezoid(acc_p[0] - acc_p, fractions)
    np.testing.assert_allclose(perfect.values[0], expected)
    with pytest.raises(InputError, match="fractions"):
        metrics.roar(x_tr, y_tr, block_tr, x_te, y_te, block_te, fractions=(0.5, 0.1))


def test_roar_checkpoint_resumes_without_retraining(tmp_path, monkeypatch):
    import importlib

    roar_mod = importlib.import_module("tfx_explain.metrics.roar")  # the module: metrics.roar is the function

    rng = np.random.default_rng(2)
    x_tr, y_tr, block_tr = _two_class_data(40, rng)
    x_te, y_te, block_te = _two_class_data(20, rng)
    calls = []

    def fake_retrain(train, test, fraction, fill, granularity, settings, seed):
        calls.append(fraction)
        return 1.0 - fraction / 2  # a known curve: AORoarC = 1/2 * mean fraction = 0.25 over [0, 1]

    monkeypatch.setattr(roar_mod, "_retrain", fake_retrain)
    path = tmp_path / "roar.json"
    args = (x_tr, y_tr, block_tr, x_te, y_te, block_te)
    first = metrics.roar(*args, pairs=[(0, 1)], fractions=(0.0, 0.5, 1.0), preset="tiny", checkpoint=path)
    assert calls == [0.0, 0.5, 1.0] and path.exists()
    np.testing.assert_allclose(first.values, [0.25])
    again = metrics.roar(*args, pairs=[(0, 1)], fractions=(0.0, 0.5, 1.0), preset="tiny", checkpoint=path)
    assert calls == [0.0, 0.5, 1.0]  # nothing retrained: every (pair, fraction) came from the file
    np.testing.assert_array_equal(again.extras["accuracy"], first.extras["accuracy"])
    more = metrics.roar(*args, pairs=[(0, 1)], fractions=(0.0, 0.25, 0.5, 1.0), preset="tiny", checkpoint=path)
    assert calls == [0.0, 0.5, 1.0, 0.25]  # only the new fraction is trained
    np.testing.assert_allclose(more.values, [0.25])
    with pytest.raises(InputError, match="checkpoint"):
        metrics.roar(*args, pairs=[(0, 1)], fractions=(0.0, 0.5), preset="cpu", checkpoint=path)
