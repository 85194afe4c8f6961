"""Shared helpers of the dataset loaders: checks, resizing and the split names."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from .._typing import Images

SPLITS = ("train", "test")


def check_split(split):
    if split not in SPLITS:
        raise InputError(f"split: expected one of {SPLITS}, got {split!r}")
    return split


def check_image_size(image_size, name="image_size"):
    """Accept an int or an (H, W) pair of positive ints; return (H, W)."""
    if isinstance(image_size, (int, np.integer)):
        image_size = (int(image_size), int(image_size))
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected an int or an (H, W) pair, got {image_size!r}") from None
    if h < 1 or w < 1:
        raise InputError(f"{name}: expected positive sizes, got {image_size!r}")
    return h, w


def resize(images, size):
    """Bilinear resize of float NHWC images in [0, 1] (antialiased when shrinking), clipped to [0, 1]."""
    import tensorflow as tf

    h, w = size
    if images.shape[1:3] == (h, w):
        return images.astype(np.float32)
    out = []
    for start in range(0, len(images), 4096):  # bounded memory for large sets
        chunk = tf.image.resize(images[start : start + 4096], (h, w), method="bilinear", antialias=True)
        out.append(np.clip(chunk.numpy(), 0.0, 1.0))
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, h, w, images.shape[-1]), np.float32)


def as_images(images: Images, name: str = "images", allow_single: bool = True) -> NDArray[np.float32]:
    """Validate user images: a float NHWC array (or, with ``allow_single``, one HWC image), finite values.

    Returns a float32 array of rank 4. Raises InputError naming ``name`` otherwise.
    """
    arr = np.asarray(images)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 3 and allow_single:
        arr = arr[None]
    if arr.ndim != 4:
        expected = "(N, H, W, C) or (H, W, C)" if allow_single else "(N, H, W, C)"
        raise InputError(f"{name}: expected shape {expected}, got {arr.shape}")
    if arr.shape[0] == 0:
        raise InputError(f"{name}: expected at least one image, got an empty batch {arr.shape}")
    if arr.shape[-1] not in (1, 3, 4) and arr.shape[1] in (1, 3):
        raise InputError(f"{name}: expected channels-last NHWC images, got {arr.shape} (channels first?)")
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)).ravel()
        raise InputError(f"{name}: expected finite values, got NaN or Inf in sample(s) {bad[:5].tolist()}")
    return arr


def as_labels(labels: ArrayLike, n: int, num_classes: int | None = None, name: str = "labels") -> NDArray[np.int64]:
    """Validate integer labels of length ``n`` in [0, num_classes)."""
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] > 1:  # one-hot
        arr = arr.argmax(axis=1)
    arr = arr.reshape(-1)
    if len(arr) != n:
        raise InputError(f"{name}: expected {n} labels (one per sample), got {len(arr)}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise InputError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    upper = num_classes if num_classes is not None else np.iinfo(np.int64).max
    bad = np.flatnonzero((arr < 0) | (arr >= upper))
    if len(bad):
        expected = f"ints in [0, {num_classes})" if num_classes is not None else "non-negative ints"
        raise InputError(f"{name}: expected {expected}, got {int(arr[bad[0]])} at index {int(bad[0])}")
    return arr
