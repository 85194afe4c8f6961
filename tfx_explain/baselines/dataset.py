"""Baselines drawn from the training data: MDTS, a random target-class sample, the training distribution."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import rng
from .base import ReferenceSet

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .._typing import Float32, IntArray

CANDIDATES = 8  # float32 shortlist size before the exact float64 re-ranking


def _candidate_pool(labels, original_class, target_class, i_classes):
    """Pool indices for the samples of one group: target class (one-vs-one) or any other class."""
    if target_class is not None:
        return np.flatnonzero(labels == i_classes)
    return np.flatnonzero(labels != i_classes)


def mdts(x: Float32, original_class: IntArray, target_class: IntArray | None, train_images: NDArray[Any],
         train_labels: IntArray, batch_size: int = 256) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Minimum-distance training sample (Bach et al., 2015; ganmex_main.txt §2.2 and Eq. 1).

    For one-vs-one, the training image of the target class nearest to x in L2; for one-vs-all (target
    None), the nearest training image of any class other than the original. Distances are computed
    by batched matrix products on TF (||x||^2 - 2 x.t + ||t||^2, float32) to shortlist ``CANDIDATES``
    images, which are then re-ranked exactly in float64; ties go to the lowest training index, as a
    brute-force ``argmin`` would. Returns (baselines, indices into the training set).
    """
    import tensorflow as tf

    n = len(x)
    flat_x = x.reshape(n, -1).astype(np.float32)
    flat_t = train_images.reshape(len(train_images), -1).astype(np.float32)
    groups = target_class if target_class is not None else original_class
    chosen = np.empty(n, np.int64)
    for cls in np.unique(groups):  # loop over classes; samples of a class are batched
        rows = np.flatnonzero(groups == cls)
        pool = _candidate_pool(train_labels, original_class, target_class, cls)
        t = tf.constant(flat_t[pool])
        t_sq = tf.reduce_sum(t * t, axis=1)
        k = min(CANDIDATES, len(pool))
        for start in range(0, len(rows), batch_size):
            r = rows[start : start + batch_size]
            q = tf.constant(flat_x[r])
            d2 = tf.reduce_sum(q * q, axis=1, keepdims=True) - 2.0 * tf.matmul(q, t, transpose_b=True) + t_sq
            short = tf.math.top_k(-d2, k=k).indices.numpy()  # (b, k) positions in pool
            cand = pool[short]
            exact = ((flat_x[r, None, :].astype(np.float64) - flat_t[cand].astype(np.float64)) ** 2).sum(-1)
            order = _argmin_lowest_index(exact, cand)
            chosen[r] = cand[np.arange(len(r)), order]
    return train_images[chosen].astype(np.float32), chosen


def _argmin_lowest_index(dist, index):
    """Per row, the position of the smallest distance; equal distances go to the lowest index."""
    best = dist.min(axis=1, keepdims=True)
    masked = np.where(dist == best, index, np.iinfo(np.int64).max)
    return masked.argmin(axis=1)


def random_target(x: Float32, original_class: IntArray, target_class: IntArray | None, train_images: NDArray[Any],
                  train_labels: IntArray, seed: int = 0) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """A random training image of the target class (any other class for one-vs-all), per (seed, sample)."""
    n = len(x)
    groups = target_class if target_class is not None else original_class
    chosen = np.empty(n, np.int64)
    u = rng.uniform(seed, "random_target", np.arange(n))
    for cls in np.unique(groups):
        rows = np.flatnonzero(groups == cls)
        pool = _candidate_pool(train_labels, original_class, target_class, cls)
        chosen[rows] = pool[np.minimum((u[rows] * len(pool)).astype(np.int64), len(pool) - 1)]
    return train_images[chosen].astype(np.float32), chosen


def train_distribution(original_class: IntArray, target_class: IntArray | None, train_images: NDArray[Any],
                       train_labels: IntArray) -> ReferenceSet:
    """The training distribution as a reference set: the target class for one-vs-one (GANMEX's EG
    variant, ganmex_main.txt §4), the whole training set for one-vs-all (Erion et al.)."""
    classes = target_class if target_class is not None else None
    return ReferenceSet(pool=train_images.astype(np.float32), pool_labels=train_labels, classes=classes,
                        name="train")
