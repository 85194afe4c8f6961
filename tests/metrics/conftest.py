"""Fixtures of the metric tests."""
import numpy as np
import pytest

from .metric_oracles import linear_model


@pytest.fixture(scope="module")
def linear():
    """(model, W, x): a 3-class linear logit model on 4x4x1 inputs in [0, 1] and 6 inputs."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(16, 3)).astype(np.float32)
    x = rng.random((6, 4, 4, 1)).astype(np.float32)
    return linear_model(w), w, x
