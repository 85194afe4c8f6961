"""Shared fixtures. Two logical CPU devices are configured before TensorFlow starts, so that tests can
compare MirroredStrategy over two replicas with the default single-device strategy."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tfx_explain.distribute import configure_logical_cpus  # noqa: E402

LOGICAL_CPUS = configure_logical_cpus(2)


@pytest.fixture(scope="session")
def logical_cpus():
    return LOGICAL_CPUS


@pytest.fixture(scope="session")
def digits():
    from tfx_explain import data

    return data.load("digits", "train"), data.load("digits", "test")


@pytest.fixture(scope="session")
def digits_model(digits):
    """mnist_cnn trained briefly on digits (about 93% test accuracy): a real ReLU CNN with a softmax."""
    from tfx_explain.models import train_classifier

    (xt, yt), _ = digits
    return train_classifier("mnist_cnn", (xt, yt), epochs=3, batch_size=64, verbose=0, test_data=None).model


@pytest.fixture
def rng():
    return np.random.default_rng(0)
