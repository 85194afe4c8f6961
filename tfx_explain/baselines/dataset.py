"""Baselines drawn from the training data: MDTS, a random target-class sample, the training distribution.

The training data is an in-memory ``(images, labels)`` pair or a streamed ``tf.data.Dataset``
(:class:`~tfx_explain.baselines.source.TrainingData`); both go through the same chunked code (:mod:`.search`), so
a streamed answer is exactly the in-memory one. MDTS answers are cached per process, keyed by (query hash,
dataset fingerprint, one-vs-one or one-vs-all, class); see :mod:`.source` for what the fingerprint covers.
"""
from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import rng
from ..errors import InputError
from . import search
from .base import ReferenceSet
from .source import TrainingData

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .._typing import Float32, IntArray

    Training = NDArray[Any] | TrainingData | Any  # images array, TrainingData, or a tf.data.Dataset

CACHE_BYTES = 64 << 20  # float32 baseline images kept by the answer cache (least recently used evicted)


class _AnswerCache:
    """(query hash, one_vs_one, class) -> {dataset fingerprint: (train index, image)}, bounded in bytes."""

    def __init__(self, max_bytes=CACHE_BYTES):
        self.max_bytes = max_bytes
        self.entries = OrderedDict()
        self.bytes = 0

    def get(self, key, fingerprint):
        found = self.entries.get(key, {}).get(fingerprint)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key, fingerprint, index, image):
        slot = self.entries.setdefault(key, {})
        if fingerprint not in slot:
            slot[fingerprint] = (int(index), np.array(image, np.float32))
            self.bytes += image.nbytes
        self.entries.move_to_end(key)
        while self.bytes > self.max_bytes and self.entries:
            _, old = self.entries.popitem(last=False)
            self.bytes -= sum(v[1].nbytes for v in old.values())

    def clear(self):
        self.entries.clear()
        self.bytes = 0


CACHE = _AnswerCache()
_LAST_PASS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()  # tf.data.Dataset -> fingerprint of its last pass (a hint, never trusted)


def _training(train_images, train_labels):
    if isinstance(train_images, TrainingData):
        return train_images
    return TrainingData(images=train_images, labels=np.asarray(train_labels))


def _check_shape(x, training):
    if tuple(x.shape[1:]) != training.image_shape:
        raise InputError(f"data: training images have shape {training.image_shape}, x has {tuple(x.shape[1:])}; "
                         "the baseline must match the input")


def _groups(original_class, target_class):
    one_vs_one = target_class is not None
    return one_vs_one, np.asarray(target_class if one_vs_one else original_class, np.int64)


def mdts(x: Float32, original_class: IntArray, target_class: IntArray | None, train_images: Training,
         train_labels: IntArray | None = None, batch_size: int = search.QUERY_CHUNK,
         stats: dict[str, Any] | None = None) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Minimum-distance training sample (Bach et al., 2015; ganmex_main.txt §2.2 and Eq. 1).

    For one-vs-one, the training image of the target class nearest to x in L2; for one-vs-all (target None), the
    nearest training image of any class other than the original. Exact: the float64 argmin over all candidates,
    ties to the lowest training index, as brute force returns (the float32 shortlist and its error bound:
    :mod:`.search`). One pass over the training data serves all the samples.

    Args:
        x: (N, H, W, C) float32 inputs.
        original_class: (N,) ints.
        target_class: (N,) ints, or None for one-vs-all.
        train_images: (M, H, W, C) images, or a :class:`~tfx_explain.baselines.source.TrainingData` (then
            train_labels is None), e.g. a streamed tf.data.Dataset.
        train_labels: (M,) int labels of ``train_images``.
        batch_size: queries per float32 block (memory: batch_size x the training chunk size floats).
        stats: an optional dict, filled with ``shortlist_max``, ``cache_hits`` and ``passes``.
    Returns:
        (baselines (N, H, W, C) float32, indices (N,) int64 into the training data, in its reading order).
    Raises:
        InputError: training images of another shape, or no eligible training image for a sample.
    """
    training = _training(train_images, train_labels)
    _check_shape(x, training)
    one_vs_one, classes = _groups(original_class, target_class)
    flat = np.ascontiguousarray(x.reshape(len(x), -1), np.float32)
    keys = [(hashlib.blake2b(row.tobytes(), digest_size=20).hexdigest(), one_vs_one, int(c))
            for row, c in zip(flat, classes)]
    # a stream's fingerprint is known only after a pass: its last one (if this dataset was read before) is a hint,
    # checked against the fingerprint of this call's pass before any cached answer is used
    hint = training.fingerprint() if not training.streamed else _LAST_PASS.get(training.source)
    cached = [CACHE.get(k, hint) if hint else None for k in keys]
    skip = np.array([c is not None for c in cached], bool)
    passes0 = training.passes
    found = _search(flat, classes, one_vs_one, training, skip, batch_size)
    fingerprint = training.fingerprint()
    if fingerprint != hint and skip.any():  # the stream changed since those answers were cached: all again
        skip[:] = False
        found = _search(flat, classes, one_vs_one, training, None, batch_size)
        fingerprint = training.fingerprint()
    if training.streamed:
        _LAST_PASS[training.source] = fingerprint
    index, values = found.index, found.values
    for i in np.flatnonzero(skip):
        index[i], values[i] = cached[i]  # type: ignore[misc]  # skip[i] holds only where cached[i] is not None
    for i in range(len(flat)):
        CACHE.put(keys[i], fingerprint, index[i], values[i])
    if stats is not None:
        stats.update(shortlist_max=found.shortlist_max, cache_hits=int(skip.sum()), passes=training.passes - passes0)
    return values.reshape(x.shape), index


def _search(flat, classes, one_vs_one, training, skip, batch_size):
    found = search.Nearest(flat, classes, one_vs_one, skip=skip, query_chunk=batch_size)
    for offset, images, labels in training.chunks():
        if found.active.size:
            found.update(offset, images, labels)
        elif not training.streamed:  # all answered from the cache; a stream is still read for its fingerprint
            break
    found.check_found()
    return found


def random_target(x: Float32, original_class: IntArray, target_class: IntArray | None, train_images: Training,
                  train_labels: IntArray | None = None, seed: int = 0) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """A random training image of the target class (any other class for one-vs-all), per (seed, sample).

    Sample i takes the ``floor(u_i * n)``-th eligible image in reading order, u_i uniform from
    :func:`tfx_explain.rng.uniform` (seed, "random_target", i) and n the pool size from the class counts (one
    counting pass for a stream, then one drawing pass). Returns (baselines (N, H, W, C) float32, indices (N,)).
    Raises InputError: a class with no training image; a stream that reads differently on its two passes.
    """
    training = _training(train_images, train_labels)
    _check_shape(x, training)
    one_vs_one, classes = _groups(original_class, target_class)
    counts = training.class_counts()
    first = training.fingerprint()
    u = rng.uniform(seed, "random_target", np.arange(len(x)))
    draw = search.RankDraw(search.ranks_from_counts(u, classes, one_vs_one, counts), classes, one_vs_one,
                           training.dim)
    for offset, images, labels in training.chunks():
        draw.update(offset, images, labels)
    if training.streamed and training.fingerprint() != first:
        raise InputError("data: the tf.data.Dataset read differently on two passes (a shuffle with "
                         "reshuffle_each_iteration?); random_target needs a deterministic order")
    return draw.values.reshape(x.shape), draw.index


def train_distribution(original_class: IntArray, target_class: IntArray | None, train_images: Training,
                       train_labels: IntArray | None = None) -> ReferenceSet:
    """The training distribution as a reference set: the target class for one-vs-one (GANMEX's EG
    variant, ganmex_main.txt §4), the whole training set for one-vs-all (Erion et al.).

    In memory the pool is the training array itself. A streamed dataset gives a :class:`StreamedReferenceSet`:
    one counting pass gives the class sizes, and the images are fetched only when drawn, so it holds at most the
    distinct images drawn (N samples x draws), never the dataset. Draws are by rank within the class
    (:meth:`ReferenceSet.draw_ranks`), so they pick the same images as in memory. ``info["train_index"]`` maps
    pool rows to training indices (the identity in memory).
    Raises InputError: one-vs-one with a target class that has no training image."""
    training = _training(train_images, train_labels)
    classes = np.asarray(target_class, np.int64) if target_class is not None else None
    if not training.streamed:
        return ReferenceSet(pool=training.images.astype(np.float32), pool_labels=training.labels, classes=classes,
                            name="train", info={"train_index": np.arange(len(training.labels))})
    return StreamedReferenceSet(training, classes)


class StreamedReferenceSet(ReferenceSet):
    """The training distribution of a streamed dataset, fetched lazily: ``pool`` holds only the images drawn so far.

    Candidates are addressed by (group, rank): the group is the class for one-vs-one (rank: position among that
    class's images in reading order) and 0 for one-vs-all (rank: the training index), exactly the candidate order
    of the in-memory :class:`ReferenceSet`. :meth:`locate` maps ranks to pool rows, reading the stream once for all
    the ranks not yet held; so a call that draws up front (EG's fixed ``steps``, its ``"auto"`` up to
    ``max_steps``, DeepSHAP's background) costs one counting pass and one fetching pass, and memory is at most
    N x draws images. ``pool``, ``pool_labels`` and ``info["train_index"]`` grow together, in fetch order.
    Raises InputError (when fetching): the stream read differently from its counting pass.
    """

    def __init__(self, training: TrainingData, classes: NDArray[np.int64] | None) -> None:
        counts = training.class_counts()
        if classes is not None:
            wanted = np.unique(classes)
            padded = np.pad(counts, (0, max(0, int(wanted.max()) + 1 - len(counts))))
            missing = wanted[padded[wanted] == 0]
            if len(missing):
                raise InputError(f"data: no training image of class {int(missing[0])} for the 'train' baseline")
        super().__init__(pool=np.zeros((0,) + training.image_shape, np.float32), pool_labels=np.zeros(0, np.int64),
                         classes=classes, name="train", info={"train_index": np.zeros(0, np.int64)})
        self.training = training
        self.counts = counts
        self.first_pass = training.fingerprint()
        self.held: dict[int, tuple[NDArray[np.int64], NDArray[np.int64]]] = {}  # group -> (sorted ranks, pool rows)

    def pool_size(self, cls: int) -> int:
        return int(self.counts.sum()) if self.classes is None else int(self.counts[cls])

    def candidates(self, cls: int) -> NDArray[np.intp]:  # every candidate: fetches the whole class (unbounded)
        size = self.pool_size(cls)
        return self.locate(np.full(1, cls, np.int64), np.arange(size)[None])[0]

    def locate(self, groups: NDArray[np.int64], ranks: NDArray[np.int64]) -> NDArray[np.int64]:
        groups = np.asarray(groups, np.int64)
        ranks = np.asarray(ranks, np.int64)
        need = {}
        for cls in np.unique(groups):
            wanted = np.unique(ranks[groups == cls])
            held = self.held.get(int(cls), (np.zeros(0, np.int64),))[0]
            missing = wanted[~np.isin(wanted, held)]
            if len(missing):
                need[int(cls)] = missing
        if need:
            self._fetch(need)
        out = np.empty(ranks.shape, np.int64)
        for cls in np.unique(groups):
            rows = np.flatnonzero(groups == cls)
            held_ranks, pool_rows = self.held[int(cls)]
            out[rows] = pool_rows[np.searchsorted(held_ranks, ranks[rows])]
        return out

    def _fetch(self, need: dict[int, NDArray[np.int64]]) -> None:
        """One pass over the stream keeping the images at the needed ranks of each group (sorted, not yet held)."""
        images, labels, index, segments = [], [], [], []  # segments: (group, ranks) in the order rows are appended
        seen = np.zeros(len(self.counts), np.int64)  # images of each class read so far: the one-vs-one ranks
        for offset, x, y in self.training.chunks():
            for cls, wanted in need.items():
                if self.classes is None:
                    at, rank = np.arange(len(y)), offset + np.arange(len(y))
                else:
                    at = np.flatnonzero(y == cls)
                    rank = seen[cls] + np.arange(len(at))  # cls < len(seen): its count is > 0
                keep = np.isin(rank, wanted, assume_unique=True)
                if keep.any():
                    images.append(x[at[keep]])
                    labels.append(y[at[keep]])
                    index.append(offset + at[keep])
                    segments.append((cls, rank[keep]))
            if self.classes is not None:
                seen += np.bincount(y, minlength=len(seen))[: len(seen)]
        if self.training.fingerprint() != self.first_pass:
            raise InputError("data: the tf.data.Dataset read differently on two passes (a shuffle with "
                             "reshuffle_each_iteration?); the 'train' baseline needs a deterministic order")
        row = len(self.pool)
        self.pool = np.concatenate([self.pool, *(i.reshape((-1,) + self.training.image_shape) for i in images)])
        self.pool_labels = np.concatenate([self.pool_labels, *labels])
        self.info["train_index"] = np.concatenate([self.info["train_index"], *index])
        for cls, ranks in segments:
            held_ranks, held_rows = self.held.get(cls, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
            all_ranks = np.concatenate([held_ranks, ranks])
            order = np.argsort(all_ranks, kind="stable")
            self.held[cls] = (all_ranks[order], np.concatenate([held_rows, row + np.arange(len(ranks))])[order])
            row += len(ranks)
