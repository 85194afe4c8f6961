"""Conventions users bring from peers: one-hot targets (xplique), captum's target=3, tf.data inputs."""
import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.errors import InputError


@pytest.fixture(scope="module")
def small():
    import keras

    rng = np.random.default_rng(3)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3), keras.layers.Softmax()])
    model.set_weights([rng.normal(size=(3, 3, 1, 4)).astype(np.float32) * 0.5, np.zeros(4, np.float32),
                       rng.normal(size=(64, 3)).astype(np.float32) * 0.3, np.zeros(3, np.float32)])
    return model, rng.random((4, 6, 6, 1)).astype(np.float32)


def test_one_hot_classes_give_the_same_explanation_as_indices(small):
    model, x = small
    co, ct = np.array([0, 2, 1, 0]), np.array([1, 0, 2, 2])
    want = tx.explain_keras(model, x, method="gradient_input", original_class=co, target_class=ct)
    got = tx.explain_keras(model, x, method="gradient_input", original_class=np.eye(3)[co],
                           target_class=np.eye(3, dtype=np.float32)[ct])
    np.testing.assert_array_equal(got.original_class, co)
    np.testing.assert_array_equal(got.target_class, ct)
    np.testing.assert_array_equal(got.attributions, want.attributions)


@pytest.mark.parametrize("name, value, match", [
    ("original_class", np.eye(3)[[0, 1, 2, 0]] * 0.9, "row 0 holds 0.9"),                # soft labels
    ("original_class", np.array([[1, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]]), "row 0 holds 2 ones"),
    ("target_class", np.zeros((4, 3)), "row 0 holds 0 ones"),
    ("target_class", np.eye(4)[:, :4], r"got shape \(4, 4\)"),                             # K = 4, model has 3
    ("original_class", np.array([[0], [1], [2], [0]]), r"got shape \(4, 1\)"),             # a column, not one-hot
    ("original_class", np.eye(3)[[0, 1]], r"got shape \(2, 3\)"),                          # N = 2 for 4 images
    ("target_class", np.zeros((4, 3, 1)), r"got shape \(4, 3, 1\)"),
])
def test_other_2d_class_arrays_raise_naming_the_argument(small, name, value, match):
    model, x = small
    kwargs = {"original_class": [1, 2, 0, 1]} if name == "target_class" else {}
    with pytest.raises(InputError, match=rf"^{name}: .*{match}"):
        tx.explain_keras(model, x, method="saliency", **{name: value}, **kwargs)


def test_target_equal_to_original_explains_the_convention_in_one_sentence(small):
    model, x = small
    with pytest.raises(InputError) as caught:
        tx.explain_keras(model, x, method="saliency", original_class=2, target_class=[0, 2, 1, 0])
    message = str(caught.value)
    assert message.startswith("target_class: is the contrast class (one-vs-one explains S_co - S_ct)")
    assert "both are 2 at index 1" in message and "pass original_class=2 and no target_class" in message
    assert "\n" not in message and message.count(". ") == 0


def _dataset(x, labels=None, batch=None):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x if labels is None else (x, labels))
    return ds.batch(batch) if batch else ds


@pytest.mark.parametrize("batch", [None, 3])
def test_a_finite_dataset_gives_what_its_arrays_give(small, batch):
    model, x = small
    want = tx.explain_keras(model, x, method="integrated_gradients", steps=8, target_class=[1, 0, 0, 2],
                            original_class=[0, 1, 2, 1])
    got = tx.explain_keras(model, _dataset(x, batch=batch), method="integrated_gradients", steps=8,
                           target_class=[1, 0, 0, 2], original_class=[0, 1, 2, 1])
    np.testing.assert_array_equal(got.inputs, x)
    np.testing.assert_array_equal(got.attributions, want.attributions)


def test_dataset_labels_are_ignored_unless_asked_for(small):
    model, x = small
    predicted = np.asarray(model(x)).argmax(1)
    labels = (predicted + 1) % 3
    e = tx.explain_keras(model, _dataset(x, labels, batch=2), method="saliency")
    np.testing.assert_array_equal(e.original_class, predicted)          # like arrays: the prediction
    e = tx.explain_keras(model, _dataset(x, labels, batch=2), method="saliency", original_class="labels")
    np.testing.assert_array_equal(e.original_class, labels)
    e = tx.explain_keras(model, _dataset(x, np.eye(3)[labels]), method="saliency", original_class="labels")
    np.testing.assert_array_equal(e.original_class, labels)             # one-hot labels too


def test_infinite_unknown_and_unlabelled_datasets_are_refused_before_any_work(small):
    import tensorflow as tf

    model, x = small
    with pytest.raises(InputError, match=r"^x: the tf.data.Dataset is infinite"):
        tx.explain_keras(model, _dataset(x).repeat(), method="saliency")
    with pytest.raises(InputError, match=r"^x: the tf.data.Dataset has an unknown size"):
        tx.explain_keras(model, _dataset(x).filter(lambda v: True), method="saliency")
    sized = _dataset(x).filter(lambda v: True).apply(tf.data.experimental.assert_cardinality(4))
    assert len(tx.explain_keras(model, sized, method="saliency")) == 4   # the fix the message gives works
    with pytest.raises(InputError, match=r"^original_class: 'labels' needs a dataset x of \(images, labels\)"):
        tx.explain_keras(model, _dataset(x), method="saliency", original_class="labels")
    with pytest.raises(InputError, match=r"^original_class: 'labels' takes the labels of a tf.data.Dataset"):
        tx.explain_keras(model, x, method="saliency", original_class="labels")
    with pytest.raises(InputError, match=r"^x: the tf.data.Dataset holds no images"):
        tx.explain_keras(model, _dataset(x).take(0), method="saliency")
    with pytest.raises(InputError, match=r"^x: expected elements images or \(images, labels\)"):
        tx.explain_keras(model, tf.data.Dataset.from_tensor_slices((x, x, x)), method="saliency")
