"""Train a classifier under any tf.distribute strategy and save it as ``.keras``."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import data as data_mod
from .._io import atomic_path, write_json
from ..distribute import get_strategy
from ..errors import InputError
from . import classifiers


@dataclass
class TrainedClassifier:
    """A trained model with its history and test accuracy (None when no test data was given)."""

    model: object
    history: dict = field(default_factory=dict)
    test_accuracy: float | None = None
    seconds: float = 0.0


def _arrays(data, split, image_size):
    resolved = data_mod.resolve(data, split, **({"image_size": image_size} if image_size else {}))
    return resolved


def _as_dataset(resolved, batch_size, shuffle, seed):
    import tensorflow as tf

    if isinstance(resolved, tf.data.Dataset):
        ds = resolved
        return ds.unbatch().batch(batch_size) if _is_batched(ds) else ds.batch(batch_size)
    images, labels = resolved
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(2)


def _is_batched(ds):
    spec = ds.element_spec[0] if isinstance(ds.element_spec, tuple) else ds.element_spec
    return spec.shape.rank == 4


def _optimizer(name, learning_rate):
    import keras

    options = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
    if name not in options:
        raise InputError(f"optimizer: expected one of {tuple(options)}, got {name!r}")
    return options[name](learning_rate=learning_rate)


def train_classifier(model="mnist_cnn", data="digits", *, epochs=10, batch_size=32, optimizer="adam",
                     learning_rate=1e-3, test_data="auto", strategy=None, seed=0, shuffle=True, image_size=None,
                     out_dir=None, verbose="auto", **model_kwargs):
    """Train a classifier and return a :class:`TrainedClassifier`.

    Args:
        model: an architecture name from :mod:`tfx_explain.models.classifiers` (built inside the strategy
            scope) or an uncompiled/compiled Keras model (then created by the caller in that scope).
        data: a dataset name, an (images, labels) pair, or a tf.data.Dataset of (image, label).
        epochs: training epochs.
        batch_size: the global batch size.
        optimizer: ``"adam"``, ``"rmsprop"`` or ``"sgd"``. The reference trained with RMSprop and a softmax
            output under ``from_logits=True`` (a quirk, ganmex.md §1.10); we use ``from_logits=False`` on the
            softmax output, which is the correct loss.
        learning_rate: the optimizer's learning rate.
        test_data: "auto" (the test split of a named dataset), None, or data as above.
        strategy: a strategy or its name (see :mod:`tfx_explain.distribute`); the batch size is global.
        seed: seeds Keras, NumPy and TensorFlow, and the shuffle order.
        out_dir: if given, writes ``model.keras`` and ``run.json`` (arguments and results) atomically.
    """
    import keras

    if int(epochs) < 1 or int(batch_size) < 1:
        raise InputError(f"epochs, batch_size: expected positive ints, got {epochs}, {batch_size}")
    if out_dir is not None:  # before training, not after it
        from .._io import check_writable_dir

        check_writable_dir(out_dir, "out_dir")
    train = _arrays(data, "train", image_size)
    if test_data == "auto":
        test = _arrays(data, "test", image_size) if isinstance(data, str) else None
    else:
        test = _arrays(test_data, "test", image_size) if test_data is not None else None
    num_classes, shape = _infer_shape(train)
    strategy = get_strategy(strategy)
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        if isinstance(model, str):
            model = classifiers.build(model, shape, num_classes, **model_kwargs)
        model.compile(optimizer=_optimizer(optimizer, learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    start = time.time()
    from .._console import keras_verbose

    history = model.fit(_as_dataset(train, batch_size, shuffle, seed), epochs=int(epochs),
                        verbose=keras_verbose(verbose),
                        shuffle=False)  # the dataset is shuffled (seeded) above
    seconds = time.time() - start
    test_accuracy = None
    if test is not None:
        test_accuracy = float(model.evaluate(_as_dataset(test, 256, False, seed), verbose=0,
                                             return_dict=True)["accuracy"])
    result = TrainedClassifier(model, {k: [float(v) for v in vals] for k, vals in history.history.items()},
                               test_accuracy, seconds)
    if out_dir is not None:
        save_run(result, out_dir, {"data": data if isinstance(data, str) else "<arrays>", "epochs": epochs,
                                   "batch_size": batch_size, "optimizer": optimizer, "learning_rate": learning_rate,
                                   "seed": seed, "strategy": type(strategy).__name__})
    return result


def _infer_shape(train):
    import tensorflow as tf

    if isinstance(train, tf.data.Dataset):
        spec = train.element_spec
        shape = tuple(spec[0].shape[-3:])
        labels = np.concatenate([np.asarray(y).reshape(-1) for _, y in train.take(50).as_numpy_iterator()])
        return int(labels.max()) + 1, shape
    images, labels = train
    return int(labels.max()) + 1, tuple(images.shape[1:])


def save_model(model, path):
    """Save a Keras model to ``path`` (.keras) atomically."""
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return Path(path)


def save_run(result, out_dir, arguments):
    from .. import __version__

    out_dir = Path(out_dir)
    save_model(result.model, out_dir / "model.keras")
    write_json(out_dir / "run.json", {
        "command": "train-classifier", "arguments": arguments, "tfx_explain": __version__,
        "results": {"test_accuracy": result.test_accuracy, "seconds": round(result.seconds, 2),
                    "final_train_accuracy": result.history.get("accuracy", [None])[-1]},
    })


def load_model(path):
    """Load a ``.keras`` classifier with safe deserialisation (no arbitrary code)."""
    import keras

    path = Path(path)
    if not path.exists():
        raise InputError(f"path: no model file at {path}")
    return keras.models.load_model(path, safe_mode=True)


def describe(result):
    return json.dumps({"test_accuracy": result.test_accuracy, "seconds": round(result.seconds, 1)})
