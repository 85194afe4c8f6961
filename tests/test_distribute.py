"""Strategies made by tfx_explain.distribute."""
import numpy as np
import pytest

from tfx_explain.distribute import get_strategy, mirrored
from tfx_explain.errors import InputError


def _fit_dense(strategy, width, x, y):
    import keras

    with strategy.scope():
        model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Flatten(), keras.layers.Dense(width),
                                  keras.layers.Dense(10)])
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.fit(x, y, epochs=1, batch_size=16, verbose=0).history["loss"][0]


def test_several_mirrored_strategies_in_one_process(logical_cpus):
    """TensorFlow restarts collective keys at 1 for every MirroredStrategy and caches shapes by key; models of
    different sizes trained under successive strategies must not collide."""
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 6, 6, 1), dtype=np.float32), rng.integers(0, 10, 64)
    losses = [_fit_dense(mirrored(logical_cpus), w, x, y) for w in (3, 17)]
    losses.append(_fit_dense(get_strategy("cpu:2"), 5, x, y))
    losses.append(_fit_dense(get_strategy(logical_cpus), 9, x, y))
    assert np.all(np.isfinite(losses))


def test_strategy_names(logical_cpus):
    assert get_strategy("cpu:2").num_replicas_in_sync == 2
    assert get_strategy(None).num_replicas_in_sync == 1
    with pytest.raises(InputError, match="strategy"):
        get_strategy("cpu:two")
    with pytest.raises(InputError, match="strategy"):
        get_strategy(3)
