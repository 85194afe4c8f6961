"""Any TFDS image-classification dataset (mnist, svhn_cropped, cifar10, cycle_gan/apple2orange, ...).

Needs tensorflow-datasets and either network access or a prepared ``data_dir``. Images are mapped to
float32 in [0, 1]; images of varying size are centre-cropped to a square and resized to ``image_size``,
as the GANMEX reference pipeline does (ganmex.md §1.2). ``cycle_gan/<pair>`` has no labels of its own:
domain A is class 0 and domain B class 1, and split ``train`` is ``trainA + trainB``.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import DataNotFoundError
from ._common import check_image_size, check_split


def _import_tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise DataNotFoundError('TFDS datasets need tensorflow-datasets: pip install "tfx_explain[tfds]"') from err
    except Exception as err:  # installed but broken, e.g. protobuf older than tensorflow-metadata's generated code
        raise DataNotFoundError(f"tensorflow-datasets is installed but fails at import ({type(err).__name__}: "
                                f"{str(err)[:300]}); with TensorFlow 2.18 use tensorflow-metadata<1.21") from err
    return tfds


def _split_sources(name, split):
    """(tfds split name, constant label or None) pairs that make up one of our splits."""
    if name.startswith("cycle_gan"):
        return [(f"{split}A", 0), (f"{split}B", 1)]
    return [(split, None)]


def _preprocess(image, image_size):
    import tensorflow as tf

    image = tf.image.convert_image_dtype(image, tf.float32)
    if image_size is not None:
        side = tf.minimum(tf.shape(image)[0], tf.shape(image)[1])
        image = tf.image.resize_with_crop_or_pad(image, side, side)
        image = tf.image.resize(image, image_size, antialias=True)
        image = tf.clip_by_value(image, 0.0, 1.0)
    return image


def dataset(name, split="train", image_size=None, data_dir=None, download=True):
    """A tf.data.Dataset of (image float32 HWC in [0, 1], label int64), unbatched."""
    import tensorflow as tf

    tfds = _import_tfds()
    check_split(split)
    # TFDS reads TFDS_DATA_DIR once, when it is imported; read it per call so that a later setting (the CLI's
    # --data-dir, after something imported TFDS in this process) is honoured.
    data_dir = data_dir or os.environ.get("TFDS_DATA_DIR")
    size = check_image_size(image_size) if image_size is not None else None
    parts = []
    for tfds_split, constant_label in _split_sources(name, split):
        try:
            ds = tfds.load(name, split=tfds_split, data_dir=data_dir, download=download, shuffle_files=False)
        except ModuleNotFoundError as err:  # tensorflow-datasets' builders import modules it does not require
            raise DataNotFoundError(
                f"dataset: tensorflow-datasets cannot build {name!r} because the module {err.name!r} is missing; "
                f"install it (pip install {err.name.replace('_', '-')}, or pip install \"tfx_explain[tfds]\")") from err
        except Exception as err:  # TFDS raises many types (network, missing builder, not prepared)
            where = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
            how = ("It needs network access or a prepared data_dir" if download else
                   f"It is not prepared in {where}; pass download=True (needs network access) or the data_dir "
                   "(CLI: --data-dir) of a prepared copy")
            raise DataNotFoundError(f"dataset: {name!r} split {tfds_split!r} could not be loaded through "
                                    f"tensorflow-datasets ({type(err).__name__}). {how}.") from err

        def to_pair(example, constant_label=constant_label):
            label = example["label"] if constant_label is None else tf.constant(constant_label, tf.int64)
            return _preprocess(example["image"], size), tf.cast(label, tf.int64)

        parts.append(ds.map(to_pair, num_parallel_calls=tf.data.AUTOTUNE))
    out = parts[0]
    for p in parts[1:]:
        out = out.concatenate(p)
    return out


def load(name, split="train", image_size=None, data_dir=None, download=True):
    """Materialise a TFDS split as numpy arrays (images float32 NHWC in [0, 1], labels int64)."""
    ds = dataset(name, split, image_size=image_size, data_dir=data_dir, download=download)
    images, labels = [], []
    for x, y in ds.batch(1024).as_numpy_iterator():
        images.append(x)
        labels.append(y)
    if not images:
        raise DataNotFoundError(f"dataset {name!r} split {split!r} is empty")
    return np.concatenate(images).astype(np.float32), np.concatenate(labels).astype(np.int64)


def channels(name, data_dir=None):
    """The image channel count from the builder's metadata (no download, no data read), or None."""
    tfds = _import_tfds()
    try:
        shape = tfds.builder(name, data_dir=data_dir or os.environ.get("TFDS_DATA_DIR")).info.features["image"].shape
        return int(shape[-1]) if shape and shape[-1] is not None else None
    except Exception:  # noqa: BLE001 - an unknown or odd builder: the images are checked after loading
        return None


def class_names(name, data_dir=None):
    if name.startswith("cycle_gan"):
        pair = name.split("/")[1] if "/" in name else "apple2orange"
        a, _, b = pair.partition("2")
        return (a or "A", b or "B")
    tfds = _import_tfds()
    try:
        info = tfds.builder(name, data_dir=data_dir or os.environ.get("TFDS_DATA_DIR")).info
        return tuple(info.features["label"].names)
    except Exception:
        return None
