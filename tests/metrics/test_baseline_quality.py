import numpy as np

from tfx_explain.metrics import baseline_quality as bq


def test_colour_preservation_oracle():
    x = np.zeros((3, 2, 2, 3), np.float32)
    x[0, ..., 0] = 1.0
    x[1, ..., 1] = 0.5
    x[2, ..., 2] = 0.2
    b = x.copy()
    b[2] = 0.0
    b[2, ..., 0] = 0.3  # the third baseline turned red
    same, rate = bq.colour_preservation(x, b)
    assert same.tolist() == [True, True, False] and rate == 2 / 3


def test_distance_is_euclidean():
    x = np.zeros((2, 2, 2, 1), np.float32)
    b = np.ones_like(x)
    b[1] *= 0.5
    np.testing.assert_allclose(bq.baseline_distance(x, b), [2.0, 1.0])


def test_target_success_counts_hits():
    import keras

    inputs = keras.Input((2, 2, 1))
    model = keras.Model(inputs, keras.layers.Softmax()(keras.layers.Flatten()(inputs)[:, :3]))
    b = np.zeros((2, 2, 2, 1), np.float32)
    b[0, 0, 0, 0] = 5.0  # class 0
    b[1, 0, 1, 0] = 5.0  # class 1
    hits, rate = bq.target_success(model, b, [0, 2])
    assert hits.tolist() == [True, False] and rate == 0.5


def test_one_baseline_per_input_is_required():
    import pytest

    from tfx_explain.errors import InputError

    x = np.zeros((3, 2, 2, 3), np.float32)
    x[:, ..., 0] = 1.0
    # a single baseline broadcast over the three inputs was rated as three pairs (rate 1.0), silently
    with pytest.raises(InputError, match="baselines"):
        bq.colour_preservation(x, x[:1])
    with pytest.raises(InputError, match="baselines"):
        bq.baseline_distance(x, x[:, :1])


def test_target_success_names_a_class_list_of_the_wrong_length():
    import pytest

    from tfx_explain.errors import InputError

    with pytest.raises(InputError, match="target_class"):
        bq.target_success(None, np.zeros((2, 2, 2, 1), np.float32), [0, 1, 2])  # before any model call
