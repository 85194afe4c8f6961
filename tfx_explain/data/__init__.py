"""Datasets as (images, labels): images float32 NHWC in [0, 1], labels int64.

Names:
- ``"digits"``: scikit-learn's bundled 8x8 digits resized to 28x28 (the embedded default; no download).
- ``"fashion_mnist"``: the real Fashion-MNIST from Debian's ``dataset-fashion-mnist``, a ``data_dir``,
  or TFDS with ``download=True``.
- ``"colored_<base>"``: each grey image placed in one of R, G, B (the colored-MNIST ablation).
- ``"composite_<objects>"``: BAM-like objects on real scenes with ground-truth masks
  (``with_masks=True`` returns them).
- any TFDS image-classification name (``"mnist"``, ``"svhn_cropped"``, ``"cifar10"``,
  ``"cycle_gan/apple2orange"``), optionally written ``"tfds:<name>"``.

Wherever a function takes ``data``, numpy ``(images, labels)`` pairs and ``tf.data.Dataset`` objects
pass through unchanged (see :func:`resolve`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ..errors import DataNotFoundError, InputError
from . import colored, composite, digits, fashion_mnist, tfds_source
from ._common import as_images, as_labels, check_image_size, check_split

if TYPE_CHECKING:
    from collections.abc import Sequence

    import tensorflow as tf
    from numpy.typing import NDArray

    from .._typing import Data, PathLike

Split = Literal["train", "test"]

BUILTIN = ("digits", "fashion_mnist")
PREFIXES = ("colored_", "composite_", "tfds:")

__all__ = ["load", "load_dataset", "class_names", "available", "resolve", "as_images", "as_labels", "channels"]


def _check_name(name):
    if not isinstance(name, str) or not name:
        raise InputError(f"name: expected a dataset name (str), got {name!r}")
    if name in BUILTIN or name.startswith("tfds:"):
        return
    for prefix in ("colored_", "composite_"):
        if name.startswith(prefix):
            base = name[len(prefix):]
            allowed = BUILTIN if prefix == "composite_" else None
            if allowed and base not in allowed:
                raise InputError(f"name: composite datasets take objects from {allowed}, got {name!r}")
            if not allowed:
                _check_name(base)
            return
    if not _is_tfds_name(name):
        raise InputError(
            f"name: unknown dataset {name!r}; expected one of {BUILTIN}, 'colored_<base>', "
            "'composite_<objects>', or a tensorflow-datasets name such as 'mnist' or 'cifar10'")


def _is_tfds_name(name):
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        return False
    return name.split("/")[0].split(":")[0] in set(tfds.list_builders(with_community_datasets=False))


def channels(name: str, data_dir: PathLike | None = None) -> int | None:
    """The channel count of dataset ``name`` without loading it, or None when it cannot be told cheaply.

    ``digits`` and ``fashion_mnist``: 1; ``colored_*`` and ``composite_*``: 3; TFDS names: from the
    builder's metadata (``info.features["image"].shape``; no download, no data read; ``data_dir`` or
    TFDS_DATA_DIR for a prepared copy), None when TFDS cannot tell. Lets callers refuse a channel
    mismatch before the seconds a load takes (issue 14).
    """
    if not isinstance(name, str):
        return None
    if name.startswith(("colored_", "composite_")):
        return 3
    if name in BUILTIN:
        return 1
    try:
        return tfds_source.channels(name[len("tfds:"):] if name.startswith("tfds:") else name, data_dir)
    except DataNotFoundError:  # tensorflow-datasets missing or broken: load() reports it
        return None


def load(name: str, split: Split = "train", *, image_size: int | tuple[int, int] | None = None,
         data_dir: PathLike | None = None, download: bool = False, with_masks: bool = False,
         **options: Any) -> tuple[NDArray[Any], ...]:
    """Load a dataset split as numpy arrays.

    Args:
        name: dataset name (see the module docstring).
        split: ``"train"`` or ``"test"``.
        image_size: int or (H, W); default the dataset's own (digits: 28, composite: 32).
        data_dir: where to look for files (fashion_mnist IDX files, a prepared TFDS data_dir).
        download: allow tensorflow-datasets to download (needs network).
        with_masks: composite datasets only: also return the (N, H, W, 1) ground-truth object masks.
        **options: dataset-specific options (composite: object_classes, scenes, object_size,
            max_per_class, seed).

    Returns:
        ``(images, labels)``, or ``(images, labels, masks)`` with ``with_masks=True``.
    """
    if image_size is not None:
        check_image_size(image_size)
    _check_name(name)
    check_split(split)
    if with_masks and not name.startswith("composite_"):
        raise InputError(f"with_masks: only composite_* datasets have masks, got name {name!r}")
    if name.startswith("composite_"):
        images, labels, masks, _ = composite.load(name[len("composite_"):], split,
                                                  image_size=image_size or 32, data_dir=data_dir, **options)
        return (images, labels, masks) if with_masks else (images, labels)
    if options:
        raise InputError(f"options: {sorted(options)} are only accepted by composite_* datasets")
    if name.startswith("colored_"):
        images, labels = load(name[len("colored_"):], split, image_size=image_size, data_dir=data_dir,
                              download=download)
        if images.shape[-1] != 1:
            raise InputError(f"name: colored_* needs a grey base dataset, {name[8:]!r} has "
                             f"{images.shape[-1]} channels")
        return colored.colorize(images), labels
    if name == "digits":
        return digits.load(split, image_size=image_size or 28)
    if name == "fashion_mnist":
        return fashion_mnist.load(split, image_size=image_size or 28, data_dir=data_dir, download=download)
    tfds_name = name[len("tfds:"):] if name.startswith("tfds:") else name
    return tfds_source.load(tfds_name, split, image_size=image_size, data_dir=data_dir, download=download)


def load_dataset(name: str, split: Split = "train", *, batch_size: int | None = None, image_size: int | tuple[int,
                 int] | None = None, data_dir: PathLike | None = None, download: bool = False,
                 shuffle: bool = False, seed: int = 0, **options: Any) -> tf.data.Dataset:
    """The tf.data form: a ``tf.data.Dataset`` of (image, label), batched when ``batch_size`` is given.

    TFDS datasets stream from disk and never sit in memory whole; the built-in sets are small enough to
    be sliced from arrays.
    """
    if image_size is not None:
        check_image_size(image_size)
    import tensorflow as tf

    _check_name(name)
    tfds_name = name[len("tfds:"):] if name.startswith("tfds:") else name
    if name not in BUILTIN and not name.startswith(("colored_", "composite_")):
        ds = tfds_source.dataset(tfds_name, split, image_size=image_size, data_dir=data_dir, download=download)
    else:
        images, labels = load(name, split, image_size=image_size, data_dir=data_dir, download=download,
                              **options)
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size) if batch_size else ds


def class_names(name: str, **options: Any) -> Sequence[str] | None:
    """Human-readable class names of a dataset, or None when unknown."""
    _check_name(name)
    if name == "digits":
        return digits.CLASS_NAMES
    if name == "fashion_mnist":
        return fashion_mnist.CLASS_NAMES
    if name.startswith("colored_"):
        return class_names(name[len("colored_"):])
    if name.startswith("composite_"):
        objects = name[len("composite_"):]
        base = class_names(objects)
        objs = options.get("object_classes") or composite.DEFAULT_OBJECTS[objects]
        scenes = options.get("scenes") or composite.DEFAULT_SCENES
        # the objects of a composite dataset (digits, fashion_mnist) are always named: base is never None here
        return tuple(f"{base[c]}/{s}" for c in objs for s in scenes)  # type: ignore[index]
    return tfds_source.class_names(name[len("tfds:"):] if name.startswith("tfds:") else name)


def num_classes(name: str, **options: Any) -> int | None:
    names = class_names(name, **options)
    return len(names) if names else None


def available() -> dict[str, str]:
    """Which datasets can be loaded on this machine right now (name -> short status)."""
    status = {"digits": "present (bundled with scikit-learn)", "composite_digits": "present"}
    fm = fashion_mnist.find_files("train")
    status["fashion_mnist"] = f"present ({fm[0].parent})" if fm else "missing: apt-get install dataset-fashion-mnist"
    status["colored_fashion_mnist"] = status["fashion_mnist"]
    status["composite_fashion_mnist"] = status["fashion_mnist"]
    try:
        import tensorflow_datasets  # noqa: F401

        status["tfds:<name>"] = "tensorflow-datasets installed (needs network or a prepared data_dir)"
    except ImportError:
        status["tfds:<name>"] = 'missing: pip install "tfx_explain[tfds]"'
    return status


def load_named(data: str, split: Split = "train", **kwargs: Any) -> tuple[NDArray[Any], ...]:
    """:func:`load` for a ``data=`` argument given as a name: its errors name ``data``, the argument the caller
    typed, not ``load``'s ``name``."""
    try:
        return load(data, split, **kwargs)
    except InputError as err:
        head, sep, rest = str(err).partition(": ")
        if sep and head == "name":
            raise InputError(f"data: {rest}") from None
        raise


def resolve(data: Data | tf.data.Dataset, split: Split = "train", **kwargs: Any) -> tuple[NDArray[Any],
            ...] | tf.data.Dataset:
    """Turn ``data`` (a name, an (images, labels) pair, or a tf.data.Dataset) into what trainers take.

    Names are loaded; numpy pairs are validated and returned as (images, labels); datasets pass through.
    """
    import tensorflow as tf

    if isinstance(data, str):
        return load_named(data, split, **kwargs)
    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) >= 2:
        images = as_images(data[0], "data[0] (images)", allow_single=False)
        labels = as_labels(data[1], len(images), name="data[1] (labels)")
        return images, labels
    raise InputError(f"data: expected a dataset name, an (images, labels) pair or a tf.data.Dataset, "
                     f"got {type(data).__name__}")
