"""The one reader of ``tf.data.Dataset`` inputs: elements checked, unbatched, read in chunks.

Used by :func:`tfx_explain.explain_keras` (a finite dataset, read into memory) and by
:func:`tfx_explain.scale.explain_dataset` (streamed shard by shard to disk).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError


def is_dataset(obj):
    """Whether ``obj`` is a ``tf.data.Dataset`` (without importing TensorFlow when it is not loaded)."""
    import sys

    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(obj, tf.data.Dataset)


def image_stream(ds, name="dataset", labels="required", resize_hint="resize them first"):
    """Elements of ``ds`` checked and unbatched: (image, label) pairs, or images alone.

    Args:
        ds: a ``tf.data.Dataset`` of images (H, W, C) or (image, label) pairs, batched ((N, H, W, C)) or not.
        name: the argument named in errors.
        labels: ``"required"`` (elements must be pairs), ``"optional"`` (pairs or images alone).
        resize_hint: the fix the error for images of several sizes suggests.
    Returns:
        (ds, has_labels): the unbatched dataset, images of one fixed size in their own dtype; labels as they
        were (scalars, or one-hot rows of a batched dataset become one-hot vectors).
    Raises:
        InputError naming ``name``: other element structures, images of no fixed size.
    """
    spec = ds.element_spec
    pair = isinstance(spec, tuple) and len(spec) == 2
    image_spec = spec[0] if pair else spec
    rank = getattr(getattr(image_spec, "shape", None), "rank", None)
    if (labels == "required" and not pair) or (not pair and isinstance(spec, (tuple, dict))) or rank not in (3, 4):
        kinds = "(image, label)" if labels == "required" else "images or (images, labels)"
        raise InputError(f"{name}: expected elements {kinds} with images (H, W, C) or (N, H, W, C), got {spec}")
    if rank == 4:
        ds = ds.unbatch()
    shape = (ds.element_spec[0] if pair else ds.element_spec).shape
    if not shape.is_fully_defined():
        raise InputError(f"{name}: expected images of one fixed size, got shape {shape}; {resize_hint}")
    return ds, pair


def check_finite(ds, name="dataset", allow_unknown=False):
    """Refuse a dataset that never ends (``repeat()``); with ``allow_unknown=False`` also one of unknown size
    (``filter()``, generators), which might never end either. Returns the number of elements, or None.

    Call it before :func:`image_stream`: unbatching makes every size unknown."""
    import tensorflow as tf

    n = int(ds.cardinality())
    if n == tf.data.INFINITE_CARDINALITY:
        raise InputError(f"{name}: the tf.data.Dataset is infinite (repeat()?); bound it, e.g. with .take(n)")
    if n == tf.data.UNKNOWN_CARDINALITY:
        if not allow_unknown:
            raise InputError(f"{name}: the tf.data.Dataset has an unknown size (filter() or a generator), so it might "
                             "never end; state its size with "
                             "ds.apply(tf.data.experimental.assert_cardinality(n)) or pass arrays")
        return None
    return n


def read_chunks(ds, chunk_size, has_labels=True):
    """Numpy chunks of at most ``chunk_size`` elements from an unbatched stream: (images, labels) pairs, or
    (images, None) without labels."""
    batches = ds.batch(int(chunk_size)).prefetch(1).as_numpy_iterator()
    for batch in batches:
        yield batch if has_labels else (batch, None)


def read_all(ds, name="x", chunk_size=256):
    """A finite dataset of images or (images, labels), read into memory with :func:`read_chunks`.

    Returns (images (N, H, W, C) in the dataset's dtype, labels (N, ...) or None). Raises InputError naming
    ``name`` for an infinite or unknown-size dataset (before reading), bad elements, or an empty dataset.
    """
    check_finite(ds, name)  # before unbatching, which makes every size unknown
    ds, has_labels = image_stream(ds, name, labels="optional")
    images, labels = [], []
    for x, y in read_chunks(ds, chunk_size, has_labels):
        images.append(x)
        labels.append(y)
    if not images:
        raise InputError(f"{name}: the tf.data.Dataset holds no images")
    return np.concatenate(images), (np.concatenate(labels) if has_labels else None)
