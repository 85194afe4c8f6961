"""Training data for the data baselines, in memory or streamed, read as chunks in index order.

:class:`TrainingData` wraps numpy ``(images, labels)`` or a ``tf.data.Dataset`` of (image, label) elements and
yields ``(offset, images (c, D) float32, labels (c,) int64)`` chunks; :mod:`.search` consumes them. A streamed
dataset is never materialised: memory is bounded by ``chunk_size``.

**Fingerprint** (the cache key of :mod:`.dataset`'s answers): arrays are hashed whole (SHA-1 of their float32
bytes and int64 labels). A ``tf.data.Dataset`` cannot be hashed without reading it (its graph names files and
generators, not their contents, and a generator or a shuffle may yield other data each pass), so its fingerprint
is the SHA-1 of everything a pass reads, computed during every pass. Consequences: a cached answer for a
dataset still costs one read-and-hash pass (no distance work), and it is used only when that pass's fingerprint
equals the one it was computed under; otherwise it is recomputed. A dataset whose passes differ (a reshuffling
pipeline) is refused where two passes must agree (the random-target draw).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    import tensorflow as tf
    from numpy.typing import ArrayLike, NDArray

CHUNK = 4096  # training images per chunk


class TrainingData:
    """Training images and labels for MDTS / random_target, read in chunks.

    Args:
        images: a numpy array (N, H, W, C), with labels; or dataset.
        labels: (N,) int labels of ``images``.
        dataset: a finite ``tf.data.Dataset`` of (image, label) pairs, batched or not, one-hot labels allowed.
        chunk_size: images per chunk (memory bound of a streamed pass); a batched dataset is read in its own
            batches.
    """

    def __init__(self, images: ArrayLike | None = None, labels: ArrayLike | None = None,
                 dataset: tf.data.Dataset | None = None, chunk_size: int = CHUNK) -> None:
        self.chunk_size = int(chunk_size)
        self.dataset: Any = None  # the tf.data.Dataset read (None for arrays)
        self._fingerprint: str | None = None
        if dataset is not None:
            from ..data import stream

            stream.check_finite(dataset, "data")  # before unbatching, which hides the size
            unbatched, _ = stream.image_stream(dataset, "data", labels="required")
            self.image_shape = tuple(unbatched.element_spec[0].shape.as_list())
            # a batched dataset is read batch by batch (chunk boundaries never change an answer): unbatching and
            # re-batching cost a third of a pass
            self.batched = dataset.element_spec[0].shape.rank == 4
            self.dataset = dataset if self.batched else unbatched
            self.source = dataset
        else:
            self.images = np.asarray(images)
            self.labels = np.asarray(labels).astype(np.int64)
            self.image_shape = tuple(self.images.shape[1:])
        self.dim = int(np.prod(self.image_shape))
        self.passes = 0  # full reads of a streamed dataset (what the cache and batching save)

    @property
    def streamed(self) -> bool:
        return self.dataset is not None

    def chunks(self) -> Iterator[tuple[int, NDArray[np.float32], NDArray[np.int64]]]:
        """Yield (offset, images (c, D) float32, labels (c,) int64); a streamed pass updates ``last_fingerprint``."""
        if not self.streamed:
            for start in range(0, len(self.images), self.chunk_size):
                part = self.images[start:start + self.chunk_size]
                yield start, part.reshape(len(part), -1).astype(np.float32), self.labels[start:start + self.chunk_size]
            return
        from ..data import stream

        digest = _hasher(self.image_shape)
        counts = np.zeros(1, np.int64)
        offset = 0
        reader = (self.dataset.prefetch(1).as_numpy_iterator() if self.batched
                  else stream.read_chunks(self.dataset, self.chunk_size))
        for x, y in reader:
            x = np.asarray(x).reshape(len(x), -1).astype(np.float32)
            y = _labels(y, offset)
            if not np.all(np.isfinite(x)):
                bad = offset + int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
                raise InputError(f"data: expected finite values, got NaN or Inf in training image {bad}")
            digest.update(x.data.cast("B"))
            digest.update(y.data.cast("B"))
            counts = _add_counts(counts, y)
            yield offset, x, y
            offset += len(x)
        if offset == 0:
            raise InputError("data: the tf.data.Dataset holds no images")
        self.passes += 1
        self.last_fingerprint = f"stream:{offset}:{digest.hexdigest()}"
        self.last_counts = counts  # the class counts of the pass that ``last_fingerprint`` names

    def fingerprint(self) -> str | None:
        """The arrays' content hash; for a stream, the hash of the last complete pass (None before one)."""
        if self.streamed:
            return getattr(self, "last_fingerprint", None)
        if self._fingerprint is None:
            digest = _hasher(self.image_shape)
            digest.update(np.ascontiguousarray(self.images, np.float32).data.cast("B"))
            digest.update(np.ascontiguousarray(self.labels).data.cast("B"))
            self._fingerprint = f"arrays:{len(self.images)}:{digest.hexdigest()}"
        return self._fingerprint

    def class_counts(self) -> NDArray[np.int64]:
        """Images per class (index = class): the labels in memory; for a stream, those of its last complete pass
        (read during every pass, with the fingerprint), after one counting pass if it was never read. A caller
        that reads the stream again compares :meth:`fingerprint` before and after, so the counts always belong
        to the data read."""
        if not self.streamed:
            return np.bincount(self.labels, minlength=1)
        if getattr(self, "last_counts", None) is None:
            for _ in self.chunks():
                pass
        return self.last_counts


def _add_counts(counts, y):
    c = np.bincount(y, minlength=len(counts))
    return np.pad(counts, (0, len(c) - len(counts))) + c


def _hasher(shape):
    # an identity check, not a security one: SHA-1 is the fastest hashlib digest here (about 4x BLAKE2b with SHA-NI)
    digest = hashlib.sha1()
    digest.update(repr(tuple(shape)).encode())
    return digest


def _labels(y, offset):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y))):
            raise InputError(f"data: expected integer class labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if (y < 0).any():
        raise InputError(f"data: expected non-negative class labels, got {int(y[y < 0][0])} at index "
                         f"{offset + int(np.flatnonzero(y < 0)[0])}")
    return y


def from_data(data: Any) -> TrainingData:
    """A :class:`TrainingData` for ``data``: a dataset name, an (images, labels) pair, a tf.data.Dataset, or a
    TrainingData (returned as it is)."""
    from .. import data as data_mod
    from ..data import stream

    if isinstance(data, TrainingData):
        return data
    if stream.is_dataset(data):
        return TrainingData(dataset=data)
    resolved = data_mod.resolve(data, "train")
    if stream.is_dataset(resolved):  # tf.data.Dataset reached through a name
        return TrainingData(dataset=resolved)
    return TrainingData(images=resolved[0], labels=resolved[1])
