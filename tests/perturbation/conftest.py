"""Fixtures of the perturbation tests: a few digits, the explained score, and a small random inpainter
(fast; the bundled trained one is exercised by the notebook and tests/generative)."""
import numpy as np
import pytest


@pytest.fixture(scope="package")
def random_inpainter():
    import keras

    from tfx_explain.generative.deepfill import build_generator
    from tfx_explain.inpainting import Inpainter

    keras.utils.set_random_seed(0)
    return Inpainter(build_generator(4))


@pytest.fixture(scope="package")
def score(digits_model, digits):
    """(score_fn, x, weights): 2 test digits, one-vs-all weights of the predicted class."""
    from tfx_explain.targets import ScoreFunction, class_weights

    _, (x_test, _) = digits
    x = x_test[:2]
    score_fn = ScoreFunction(digits_model, "probability", probe=x[:1])
    predicted = np.asarray(digits_model(x)).argmax(axis=1)
    return score_fn, x, class_weights(predicted, None, score_fn.num_classes)


@pytest.fixture(scope="package")
def composite():
    """(score_fn, x, weights): 2 composite_fashion_mnist test images at 64 px (the bundled inpainter's size) and
    a small seeded untrained CNN, one-vs-all weights of its predicted class."""
    import keras

    from tfx_explain import data
    from tfx_explain.targets import ScoreFunction, class_weights

    x = data.load("composite_fashion_mnist", "test", image_size=64, max_per_class=1)[0][:2]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Conv2D(4, 5, strides=4, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
    score_fn = ScoreFunction(model, "probability", probe=x[:1])
    return score_fn, x, class_weights(np.asarray(model(x)).argmax(axis=1), None, score_fn.num_classes)


@pytest.fixture(scope="package")
def bundled_inpainter():
    from tfx_explain import inpainting

    return inpainting.load()
