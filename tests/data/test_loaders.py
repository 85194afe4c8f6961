import gzip

import numpy as np
import pytest

from tfx_explain import data
from tfx_explain.data import colored, composite, fashion_mnist
from tfx_explain.errors import DataNotFoundError, InputError


def _check_arrays(images, labels, shape, num_classes):
    assert images.dtype == np.float32 and labels.dtype == np.int64
    assert images.shape[1:] == shape and len(images) == len(labels)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert set(np.unique(labels)) == set(range(num_classes))


def test_digits_shapes_ranges_and_documented_split():
    (xtr, ytr), (xte, yte) = data.load("digits", "train"), data.load("digits", "test")
    _check_arrays(xtr, ytr, (28, 28, 1), 10)
    _check_arrays(xte, yte, (28, 28, 1), 10)
    assert (len(xtr), len(xte)) == (1438, 359)  # every fifth of sklearn's 1,797 samples is a test sample
    from sklearn.datasets import load_digits

    raw = load_digits()
    np.testing.assert_array_equal(yte, raw.target[4::5])
    small = data.load("digits", "test", image_size=8)[0]
    np.testing.assert_allclose(small[..., 0], raw.images[4::5] / 16.0, atol=1e-6)  # no resize at 8x8


def test_digits_deterministic_and_splits_disjoint():
    a, b = data.load("digits", "train")[0], data.load("digits", "train")[0]
    np.testing.assert_array_equal(a, b)
    train = {x.tobytes() for x in data.load("digits", "train", image_size=8)[0]}
    test = [x.tobytes() for x in data.load("digits", "test", image_size=8)[0]]
    assert sum(t in train for t in test) < 5  # sklearn's digits hold a few exact duplicates, nothing more


def test_fashion_mnist_real_files():
    x, y = data.load("fashion_mnist", "test")
    _check_arrays(x, y, (28, 28, 1), 10)
    assert len(x) == 10_000 and np.bincount(y).tolist() == [1000] * 10
    assert data.class_names("fashion_mnist")[8] == "Bag"


def test_fashion_mnist_missing_files_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.delenv(fashion_mnist.ENV_VAR, raising=False)
    with pytest.raises(DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion_mnist", "train", data_dir=tmp_path)


def test_fashion_mnist_from_a_user_directory(tmp_path):
    images = (np.arange(3 * 28 * 28) % 256).astype(np.uint8).reshape(3, 28, 28)
    labels = np.array([0, 9, 4], np.uint8)
    header = lambda dims: bytes([0, 0, 8, len(dims)]) + b"".join(int(d).to_bytes(4, "big") for d in dims)
    for stem, arr in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        with gzip.open(tmp_path / f"{stem}.gz", "wb") as f:
            f.write(header(arr.shape) + arr.tobytes())
    x, y = data.load("fashion_mnist", "test", data_dir=tmp_path)
    np.testing.assert_allclose(x[..., 0], images / 255.0, atol=1e-7)
    np.testing.assert_array_equal(y, [0, 9, 4])


def test_colored_images_have_one_nonzero_channel():
    grey, labels = data.load("digits", "test")
    x, y = data.load("colored_digits", "test")
    assert x.shape == grey.shape[:3] + (3,)
    np.testing.assert_array_equal(y, labels)
    nonzero = (x.reshape(len(x), -1, 3) > 0).any(axis=1).sum(axis=1)
    assert np.all(nonzero <= 1) and np.all(nonzero[grey.reshape(len(x), -1).max(1) > 0] == 1)
    ch = colored.channel_of(grey)
    np.testing.assert_allclose(x[np.arange(len(x)), ..., ch], grey[..., 0])
    assert len(np.unique(ch)) == 3


@pytest.mark.parametrize("objects", ["digits", "fashion_mnist"])
def test_composite_masks_cover_exactly_the_pasted_object(objects):
    x, y, m = data.load(f"composite_{objects}", "test", with_masks=True, max_per_class=20)
    assert x.shape[1:] == (32, 32, 3) and m.shape == x.shape[:3] + (1,)
    assert np.bincount(y).tolist() == [20] * 4
    names = data.class_names(f"composite_{objects}")
    assert len(names) == 4 and names[0].endswith("/brick") and names[1].endswith("/grass")
    # Rebuild the scenes with the same random stream: outside the mask the image is the scene exactly.
    assert set(np.unique(m)) <= {0.0, 1.0} and 0.03 < m.mean() < 0.5
    grey_outside = np.ptp(x, axis=-1)[m[..., 0] == 0]
    np.testing.assert_allclose(grey_outside, 0.0, atol=1e-6)  # scenes are grey; only objects are coloured
    inside = np.ptp(x, axis=-1)[m[..., 0] == 1]
    assert np.all(inside > 0)  # every masked pixel carries some object colour


def test_compose_oracle():
    scene = np.full((1, 4, 4, 3), 0.5, np.float32)
    obj = np.zeros((1, 2, 2, 1), np.float32)
    obj[0, 0, 0, 0] = 1.0
    obj[0, 1, 1, 0] = 0.5
    img, mask = composite.compose(obj, scene, np.array([[1, 2]]), (4, 4))
    expected = np.zeros((4, 4), np.float32)
    expected[1, 2] = expected[2, 3] = 1.0
    np.testing.assert_array_equal(mask[0, ..., 0], expected)
    np.testing.assert_allclose(img[0, 1, 2], composite.OBJECT_COLOR)
    np.testing.assert_allclose(img[0, 2, 3], 0.5 * composite.OBJECT_COLOR + 0.25)
    np.testing.assert_allclose(img[0, 0, 0], [0.5, 0.5, 0.5])


def test_composite_is_deterministic_and_test_scenes_differ():
    a = data.load("composite_digits", "train", max_per_class=10)[0]
    b = data.load("composite_digits", "train", max_per_class=10)[0]
    np.testing.assert_array_equal(a, b)


def test_distinguishing_sets():
    masks = np.zeros((3, 2, 2, 1), np.float32)
    masks[:, 0, 0] = 1
    # classes: o * 2 + s. (0 -> 2): same scene, other object; (0 -> 1): same object, other scene.
    d = composite.distinguishing_mask(masks, np.array([0, 0, 0]), np.array([2, 1, 3]), n_scenes=2)
    np.testing.assert_array_equal(d[0], masks[0])
    np.testing.assert_array_equal(d[1], 1 - masks[1])
    np.testing.assert_array_equal(d[2], np.ones_like(masks[2]))


def test_tfds_path_offline_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        x, y = data.load("mnist", "train")
        assert x.shape == (12, 28, 28, 1) and x.dtype == np.float32 and y.dtype == np.int64
        assert 0.0 <= x.min() and x.max() <= 1.0
        x32, _ = data.load("tfds:mnist", "test", image_size=16)
        assert x32.shape[1:] == (16, 16, 1)
        ds = data.load_dataset("mnist", "train", batch_size=5)
        first = next(iter(ds))
        assert tuple(first[0].shape) == (5, 28, 28, 1)


@pytest.fixture(scope="module")
def tfds_data_dir(tmp_path_factory):
    """A real TFDS data_dir prepared offline by a real builder (store_as_tfds_dataset, TFDS's TfDataBuilder):
    train 12 and test 6 random 28x28x1 uint8 images with labels; returns (data_dir, {split: (x, y)})."""
    tfds = pytest.importorskip("tensorflow_datasets")
    import tensorflow as tf

    rng = np.random.default_rng(0)
    arrays = {s: (rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8), rng.integers(0, 10, n))
              for s, n in (("train", 12), ("test", 6))}
    data_dir = tmp_path_factory.mktemp("tfds")
    features = tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(28, 28, 1)),
                                           "label": tfds.features.ClassLabel(num_classes=10)})
    splits = {s: tf.data.Dataset.from_tensor_slices({"image": x, "label": y}) for s, (x, y) in arrays.items()}
    tfds.dataset_builders.store_as_tfds_dataset(name="tiny_digits", version="1.0.0", features=features,
                                                split_datasets=splits, data_dir=str(data_dir),
                                                disable_shuffling=True)
    return data_dir, arrays


def test_tfds_real_builder_path_offline(tfds_data_dir):
    """data.load reads a prepared data_dir through tfds.load's real builder path (no mock, no network)."""
    data_dir, arrays = tfds_data_dir
    for split, (x_raw, y_raw) in arrays.items():
        x, y = data.load("tfds:tiny_digits", split, data_dir=str(data_dir))
        assert x.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_allclose(x, x_raw / 255.0, atol=1e-6)  # convert_image_dtype: uint8 / 255
        np.testing.assert_array_equal(y, y_raw)


def test_cli_data_dir_reads_a_prepared_tfds_dataset(tfds_data_dir, tmp_path, monkeypatch):
    """explain --dataset tfds:<name> --data-dir DIR explains the images stored there, in their order."""
    import keras

    from tfx_explain import cli, scale

    data_dir, arrays = tfds_data_dir
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)  # --data-dir sets it for this process
    keras.utils.set_random_seed(0)
    inp = keras.Input((28, 28, 1))
    model = keras.Model(inp, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inp)))
    model.save(tmp_path / "m.keras")
    out = tmp_path / "run"
    assert cli.main(["explain", "--model", str(tmp_path / "m.keras"), "--dataset", "tfds:tiny_digits",
                     "--data-dir", str(data_dir), "--split", "test", "--limit", "4", "--set", "steps=2",
                     "--out", str(out)]) == 0
    run = scale.load_run(out)
    x = arrays["test"][0][:4] / 255.0
    assert run["attributions"].shape == (4, 28, 28, 1)
    predicted = model.predict(x, verbose=0).argmax(1)
    np.testing.assert_array_equal(run["rows"]["label"], arrays["test"][1][:4])
    np.testing.assert_array_equal(run["rows"]["original_class"], predicted)


def test_channels_are_told_without_loading_and_match_the_loaded_images(tfds_data_dir):
    data_dir = str(tfds_data_dir[0])
    for name in ("digits", "colored_digits", "composite_digits"):
        assert data.channels(name) == data.load(name, "test")[0].shape[-1]
    assert data.channels("tfds:tiny_digits", data_dir) == data.load("tfds:tiny_digits", "test",
                                                                     data_dir=data_dir)[0].shape[-1] == 1
    assert (data.channels("mnist"), data.channels("cifar10")) == (1, 3)  # builder metadata: nothing prepared
    assert data.channels("tfds:no_such_builder") is None


def test_arrays_and_datasets_pass_through():
    import tensorflow as tf

    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype(np.float32)
    images, labels = data.resolve((x, [0, 1, 1, 0]))
    np.testing.assert_array_equal(images, x)
    assert labels.dtype == np.int64
    ds = tf.data.Dataset.from_tensor_slices((x, [0, 1, 1, 0]))
    assert data.resolve(ds) is ds


@pytest.mark.parametrize("call, match", [
    (lambda: data.load("not_a_dataset"), "name: unknown dataset"),
    (lambda: data.load("digits", "validation"), "split"),
    (lambda: data.load("digits", with_masks=True), "with_masks"),
    (lambda: data.load("composite_mnist"), "composite datasets take objects"),
    (lambda: data.resolve((np.zeros((2, 8, 8)), [0])), "expected shape"),
    (lambda: data.resolve((np.zeros((2, 8, 8, 1)), [0])), "expected 2 labels"),
    (lambda: data.resolve((np.full((1, 8, 8, 1), np.nan), [0])), "NaN"),
    (lambda: data.as_labels([0, 12], 2, num_classes=10), r"ints in \[0, 10\), got 12 at index 1"),
    (lambda: data.resolve((np.zeros((2, 3, 8, 8)), [0, 1])), "channels"),
])
def test_bad_input_raises_one_clear_error(call, match):
    with pytest.raises(InputError, match=match):
        call()
