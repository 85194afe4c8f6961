import numpy as np
import pytest

from tfx_explain import ganmex
from tfx_explain.errors import InputError


def test_bundled_generator_is_tied_to_its_bundled_classifier():
    model = ganmex.bundled_classifier("composite")
    generator = ganmex.load("composite")
    generator.check_classifier(model)  # the fingerprint matches: no MismatchError
    assert generator.image_shape == tuple(model.input_shape[1:]) and generator.num_classes == model.output_shape[-1]
    x = np.random.default_rng(0).random((2,) + generator.image_shape).astype(np.float32)
    out = generator.generate(x, [1, 2])
    assert out.shape == x.shape and np.all(np.isfinite(out))
    assert generator.metadata["quality"]["target_success"] >= 0.95  # measured when exported (metadata)


def test_bundled_names_are_checked():
    with pytest.raises(InputError, match="name"):
        ganmex.bundled_classifier("imagenet")
