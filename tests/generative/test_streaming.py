"""Trainers fed a tf.data.Dataset stream it: exactly balanced batches, exact resume where TensorFlow allows it
(iterator checkpoints, deterministic replay), an approximate resume that warns, and bad inputs refused up front."""
import warnings

import numpy as np
import pytest
import tensorflow as tf

import tfx_explain as tx
from tfx_explain import ganmex
from tfx_explain.data import stream
from tfx_explain.errors import InputError
from tfx_explain.generative.stargan import streamed_class_balanced_batches

TINY = dict(width=4, res_blocks=1, d_width=4, checkpoint_every=2, sample_every=0, log_every=1, batch_per_class=2)


@pytest.fixture(scope="module")
def tiny_data():
    x, y = tx.data.load("digits", "train", image_size=8)
    return x[:200], y[:200]


@pytest.fixture(scope="module")
def tiny_classifier(tiny_data):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10), keras.layers.Softmax()])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(*tiny_data, epochs=1, verbose=0)
    return model


def _indexed(n=60, k=3, size=4):
    """Image i is filled with i / n, its label is i % k: a stream whose order the test can read back."""
    return tf.data.Dataset.range(n).map(lambda i: (tf.fill([size, size, 1], tf.cast(i, tf.float32) / n), i % k))


def test_survey_counts_firsts_and_extremes_match_numpy():
    x = np.random.default_rng(0).uniform(-1, 2, (50, 4, 4, 2)).astype(np.float32)
    y = np.arange(50) % 4
    ds, _ = stream.training_stream(tf.data.Dataset.from_tensor_slices((x, np.eye(4)[y])).batch(7))  # one-hot
    found = stream.survey(ds, 4, chunk_size=16)
    assert found.count == 50 and found.image_shape == (4, 4, 2)
    np.testing.assert_array_equal(found.counts, np.bincount(y))
    np.testing.assert_array_equal(found.firsts, x[:4])
    np.testing.assert_array_equal(found.extremes[:, 0, 0], [x.min(axis=(0, 1, 2)), x.max(axis=(0, 1, 2))])
    with pytest.raises(InputError, match=r"class\(es\) \[4\] have none"):
        stream.survey(ds, 5)


def test_streamed_batches_are_balanced_in_stream_order():
    ds, _ = stream.training_stream(_indexed())
    make = streamed_class_balanced_batches(ds, 3, per_class=2, seed=0, d_steps=2)
    assert make.mode == "iterator"
    batches = list(make(0).take(3))
    ids = lambda x: np.rint(x.numpy()[..., 0, 0, 0] * 60).astype(int)  # noqa: E731
    # per step and class: 2 generator images, then 2 x 2 critic images, the class's next 6 in stream order
    for t, b in enumerate(batches):
        g, d = ids(b["x_g"]).reshape(3, 2), ids(b["x_d"]).reshape(3, 2, 2)  # (class, image[, critic step])
        for k in range(3):
            nxt = [(k + 3 * j) % 60 for j in range(6 * t, 6 * t + 6)]  # class k's images: k, k+3, ...
            assert list(g[k]) == nxt[:2] and list(d[k].T.ravel()) == nxt[2:]
        np.testing.assert_array_equal(b["c_g"], np.repeat(np.arange(3), 2))
        np.testing.assert_array_equal(b["c_d"], np.repeat(np.arange(3), 2)[:, None].repeat(2, 1))


def _train(classifier, data, steps, out_dir, **extra):
    return ganmex.train(classifier, data, steps=steps, out_dir=out_dir, verbose=0, **dict(TINY, **extra))


def _assert_same_weights(a, b):
    for x, y in zip(a.generator.get_weights() + a.gan.discriminator.get_weights(),
                    b.generator.get_weights() + b.gan.discriminator.get_weights()):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("pipeline, mode", [
    (lambda ds: ds, "iterator"),  # the iterator is checkpointed with the model
    (lambda ds: ds.shuffle(64, seed=3, reshuffle_each_iteration=False), "replay"),  # replayed with skip
])
def test_killed_streamed_run_resumes_exactly(tiny_classifier, tiny_data, tmp_path, pipeline, mode):
    data = lambda: pipeline(tf.data.Dataset.from_tensor_slices(tiny_data))  # noqa: E731
    ds, _ = stream.training_stream(data())
    assert streamed_class_balanced_batches(ds, 10, 2, 0, 3).mode == mode
    full = _train(tiny_classifier, data(), 4, tmp_path / "full")
    _train(tiny_classifier, data(), 2, tmp_path / "resumed")  # "killed" after its checkpoint at step 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = _train(tiny_classifier, data(), 4, tmp_path / "resumed")
    assert not [w for w in caught if str(w.message).startswith("data:")]  # an exact resume does not warn
    _assert_same_weights(full, resumed)
    saved = tf.train.load_checkpoint(str(tmp_path / "resumed" / "checkpoints" / "ckpt-2")).get_variable_to_shape_map()
    assert any("data_iterator" in name for name in saved) == (mode == "iterator")


def test_non_deterministic_stream_resumes_approximately_with_a_warning(tiny_classifier, tiny_data, tmp_path):
    noisy = lambda: tf.data.Dataset.from_tensor_slices(tiny_data).map(  # noqa: E731
        lambda x, y: (tf.clip_by_value(x + tf.random.uniform(tf.shape(x), 0, 1e-3), 0, 1), y))
    _train(tiny_classifier, noisy(), 2, tmp_path)
    with pytest.warns(UserWarning, match="resumes approximately"):
        gen = _train(tiny_classifier, noisy(), 3, tmp_path)
    assert np.all(np.isfinite(gen.generate(tiny_data[0][:2], 1)))


@pytest.mark.parametrize("make, match", [
    (lambda x, y: tf.data.Dataset.from_tensor_slices(x), r"data: expected elements \(image, label\)"),
    (lambda x, y: tf.data.Dataset.from_tensor_slices((x[:, :6, :6], y)), "classifier takes images of shape"),
    (lambda x, y: tf.data.Dataset.from_tensor_slices((x, y + 5)), r"data labels: expected ints in \[0, 10\)"),
    (lambda x, y: tf.data.Dataset.from_tensor_slices((x, y % 9)), "class.*have none"),
    (lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)).repeat(), "infinite"),
    (lambda x, y: tf.data.Dataset.from_tensor_slices((x, y[:, None, None])), "integer class indices or one-hot"),
    (lambda x, y: tf.data.Dataset.from_tensor_slices((x * 2, y)), "leave the model's input range"),
])
def test_bad_streamed_input_is_refused_up_front(tiny_classifier, tiny_data, make, match):
    with pytest.raises(InputError, match=match):
        _train(tiny_classifier, make(*tiny_data), 1, None, input_range=(0.0, 1.0))


def test_batched_one_hot_stream_trains(tiny_classifier, tiny_data):
    x, y = tiny_data
    ds = tf.data.Dataset.from_tensor_slices((x, np.eye(10, dtype=np.float32)[y])).batch(32)
    gen = _train(tiny_classifier, ds, 1, None)
    assert gen.metadata["input_range"] == [0.0, 1.0]
    assert gen.generate(x[:2], 3).shape == (2, 8, 8, 1)


def test_streamed_inpainter_takes_images_in_stream_order_and_resumes_exactly(tmp_path):
    from tfx_explain import inpainting
    from tfx_explain.generative.deepfill import streamed_batches

    images = np.random.default_rng(0).uniform(size=(12, 16, 16, 1)).astype(np.float32)  # grey: repeated to RGB
    data = lambda: tf.data.Dataset.from_tensor_slices(images)  # noqa: E731
    uint8 = tf.data.Dataset.from_tensor_slices(np.round(np.repeat(images, 3, -1) * 255).astype(np.uint8))
    make = streamed_batches(uint8, 2, 2, (8, 8), (2, 2), False, 0)
    step1 = list(make(0).take(2))[1]["images"].numpy()  # step 1 holds stream images 4..7, mapped to [-1, 1]
    np.testing.assert_allclose((step1.reshape(4, 16, 16, 3) + 1) * 127.5, np.round(images[4:8] * 255).repeat(3, -1),
                               atol=1e-4)
    tiny = dict(preset="cpu_small", image_size=16, cnum=4, d_cnum=4, batch_size=2, n_critic=0, verbose=0,
                run_eagerly=True)
    inpainting.train(data(), steps=1, out_dir=tmp_path, **tiny)
    resumed = inpainting.train(data(), steps=2, out_dir=tmp_path, **tiny)
    straight = inpainting.train(data(), steps=2, **tiny)
    assert resumed.metadata["training_images"] == 12 and resumed.metadata["data"] == "<tf.data>"
    for a, b in zip(resumed.generator.get_weights(), straight.generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(InputError, match=r"data: expected images in \[0, 1\]"):
        inpainting.train(tf.data.Dataset.from_tensor_slices(images * 2), steps=1, **tiny)


def test_streamed_ganmex_stays_under_the_memory_budget():
    """100,000 generated 28x28x1 images (314 MB as float32; 628 MB while the old code concatenated them),
    never materialised: GANMEX ("cpu" preset) trains 2 steps with peak RSS under 1.5 GB, measured in a child
    process (scripts/bench_streaming.py --child)."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "scripts"))
    try:
        from bench_streaming import measure
    finally:
        sys.path.pop(0)
    result = measure(100_000, 2)
    assert result["peak_rss_mb"] < 1536, result
    assert result["peak_rss_mb"] - result["rss_before_training_mb"] < 2 * 100_000 * 28 * 28 * 4 / 2 ** 20, result
