"""Exact nearest-neighbour search and position-keyed draws over training data read in chunks.

One home for the MDTS search (:func:`nearest`) and the random-target draw (:func:`draw_by_rank`); both consume
chunks ``(offset, images (c, D) float32, labels (c,) int64)`` in increasing ``offset`` order, so an in-memory array
and a streamed ``tf.data.Dataset`` (:mod:`.source`) go through the same code and give the same answer.

**Exactness.** The answer is the float64 argmin of ``sum((t - q) ** 2)`` over the eligible training images (the
images cast to float32 first, then to float64), ties to the lowest training index: what a brute-force float64
``argmin`` returns. Distances are first computed cheaply in float32 as ``||q||^2 - 2 q.t + ||t||^2`` (one
matrix product), then every candidate that the float32 error bound cannot rule out is re-ranked exactly in float64.

**The bound** (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §3.1, Lemma 3.1 and Eq. 3.4-3.5).
With unit roundoff u and gamma_n = n u / (1 - n u), a length-D inner product summed in any order has
|fl(x.y) - x.y| <= gamma_D sum|x_i y_i|. The expansion's three parts and its two additions each term of
``sum(q_i^2) + sum(2|q_i t_i|) + sum(t_i^2)`` goes through at most D + 2 roundings, so

    |fl32(d2) - d2| <= gamma_{D+2}(2^-24) (||q|| + ||t||)^2           (sum|q_i t_i| <= ||q|| ||t||, Cauchy-Schwarz)

The float64 re-ranking (difference, square, D-term sum) has |fl64(d2) - d2| <= gamma_{D+2}(2^-53) (||q|| + ||t||)^2.
With E = 2 (gamma32 + gamma64) (||q|| + ||t||)^2 (the factor 2 covers the float32 norms used to evaluate E itself),
L = fl32(d2) - E <= fl64(d2) <= fl32(d2) + E = U for every pair. A candidate j is dropped only when
L_j > min_k U_k (then fl64 d_j > fl64 d_k), or when L_j >= the exact float64 distance of the best candidate
already found at a lower index (it cannot win, ties going to the lowest index). Every other candidate is
re-ranked in float64, so the float32 shortlist never decides the answer. Where TensorFlow runs float32 matrix
products as TF32 (Ampere or later GPUs, on by default), the products' inputs are rounded to 10 mantissa bits and
E gains 2^-9 ||q|| ||t||.

The bound is worst-case (realistic float32 errors grow like sqrt(D) u, not D u), so the shortlist holds every near-tie
and a few more; its largest size is reported (``shortlist_max``). Memory is bounded by the chunk sizes: a
(queries chunk x data chunk) float32 block, plus the shortlisted candidates (re-ranked in blocks of ``RERANK_BYTES``).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

U32 = 2.0 ** -24
U64 = 2.0 ** -53
RERANK_BYTES = 32 << 20  # float64 bytes of candidates re-ranked at once
QUERY_CHUNK = 512


def gamma(n, u):
    """Higham's gamma_n = n u / (1 - n u): the relative error bound of n accumulated roundings."""
    return n * u / (1.0 - n * u)


def error_bound(q_sq, t_sq, dim, tf32=False):
    """(r, c) bound E on |fl32(d2) - fl64(d2)| for the squared norms ``q_sq`` (r,) and ``t_sq`` (c,) of D = ``dim``
    features (see the module docstring for the derivation)."""
    qn = np.sqrt(np.maximum(q_sq, 0.0)).astype(np.float64)[:, None]
    tn = np.sqrt(np.maximum(t_sq, 0.0)).astype(np.float64)[None, :]
    e = 2.0 * (gamma(dim + 2, U32) + gamma(dim + 2, U64)) * (qn + tn) ** 2
    if tf32:
        e += 2.0 ** -9 * qn * tn * 2.0
    return e


def tf32_active():
    """Whether TensorFlow's float32 matrix products may run as TF32 here (a GPU and TF32 enabled)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU")) and tf.config.experimental.is_tensor_float_32_execution_enabled()


def exact_sq_distances(q64, cand64):
    """float64 squared L2 distances of one query (D,) to candidates (k, D): the oracle every path uses."""
    return ((cand64 - q64) ** 2).sum(axis=1)


def eligible(labels, classes, one_vs_one):
    """(r, c) mask: training image j is a candidate for query i (its label is ``classes[i]`` for one-vs-one,
    any other label for one-vs-all)."""
    same = labels[None, :] == classes[:, None]
    return same if one_vs_one else ~same


class Nearest:
    """Running exact nearest neighbours of ``queries`` (N, D) float32 over chunks fed in index order.

    ``classes`` (N,): the target class per query (``one_vs_one=True``) or the original class (one-vs-all: the
    nearest image of any other class). ``skip`` (N,) bool: queries already answered (cache), not searched.
    """

    def __init__(self, queries, classes, one_vs_one, skip=None, query_chunk=QUERY_CHUNK):
        self.q = np.ascontiguousarray(queries, np.float32)
        self.q64 = self.q.astype(np.float64)
        self.q_sq = np.einsum("ij,ij->i", self.q, self.q, dtype=np.float32)
        self.classes = np.asarray(classes, np.int64)
        self.one_vs_one = bool(one_vs_one)
        self.active = np.flatnonzero(~np.asarray(skip, bool)) if skip is not None else np.arange(len(self.q))
        self.best = np.full(len(self.q), np.inf)
        self.index = np.full(len(self.q), -1, np.int64)
        self.values = np.zeros_like(self.q)
        self.query_chunk = int(query_chunk)
        self.shortlist_max = 0
        self.tf32 = tf32_active()

    def update(self, offset, images, labels):
        """Fold in one chunk of training images (c, D) float32 with labels (c,) at ``offset``."""
        if not self.one_vs_one:  # nearly the whole chunk is eligible: one product, the query's own class masked
            self._block(self.active, np.arange(len(labels)), offset, images, labels)
            return
        groups = self.classes[self.active]
        for cls in np.unique(groups):  # a target class's queries share its images: one product per class
            cols = np.flatnonzero(labels == cls)
            if len(cols):
                self._block(self.active[groups == cls], cols, offset, images[cols], labels[cols])

    def _block(self, queries, cols, offset, sub, labels):
        import tensorflow as tf

        t = tf.constant(sub)
        t_sq = tf.reduce_sum(t * t, axis=1)
        t_sq_np = t_sq.numpy()
        for start in range(0, len(queries), self.query_chunk):
            rows = queries[start:start + self.query_chunk]
            q = tf.constant(self.q[rows])
            d2 = (self.q_sq[rows, None] - 2.0 * tf.matmul(q, t, transpose_b=True) + t_sq[None, :]).numpy()
            if not np.isfinite(d2).all():  # the bound and the shortlist need finite float32 distances
                raise InputError("data: squared distances overflow float32 (pixel values beyond about 1e18); "
                                 "rescale the images and x")
            e = error_bound(self.q_sq[rows], t_sq_np, sub.shape[1], self.tf32)
            ok = eligible(labels, self.classes[rows], self.one_vs_one)
            low = np.where(ok, d2 - e, np.inf)
            threshold = np.minimum(np.where(ok, d2 + e, np.inf).min(axis=1), self.best[rows])
            # keep L <= min U, and L < best (an equal one sits at a higher index than the best so far)
            keep = (low <= threshold[:, None]) & (low < self.best[rows, None])
            self._rerank(rows, keep, offset + cols, sub)

    def _rerank(self, rows, keep, index, images):
        """Exact float64 re-ranking of the kept candidates ``images[keep[r]]`` (training indices ``index``)."""
        counts = keep.sum(axis=1)
        if counts.size:
            self.shortlist_max = max(self.shortlist_max, int(counts.max()))
        d = images.shape[1]
        block = max(1, RERANK_BYTES // (8 * d))
        for r, row in enumerate(rows):
            cand = np.flatnonzero(keep[r])  # ascending: argmin's first hit is the lowest index
            for s in range(0, len(cand), block):
                part = cand[s:s + block]
                dist = exact_sq_distances(self.q64[row], images[part].astype(np.float64))
                k = int(dist.argmin())
                if dist[k] < self.best[row]:  # strict: an equal distance at a higher index loses
                    self.best[row] = dist[k]
                    self.index[row] = index[part[k]]
                    self.values[row] = images[part[k]]

    def check_found(self, what="data"):
        missing = np.flatnonzero(self.index[self.active] < 0)
        if len(missing):
            i = int(self.active[missing[0]])
            kind = "of class" if self.one_vs_one else "outside class"
            raise InputError(f"{what}: no training image {kind} {int(self.classes[i])} for sample {i}")


class RankDraw:
    """Pick, per query, the ``ranks[i]``-th eligible training image (0-based, in index order) over chunks fed
    in index order: the random-target draw once the ranks are known from the class counts."""

    def __init__(self, ranks, classes, one_vs_one, shape):
        self.ranks = np.asarray(ranks, np.int64)
        self.classes = np.asarray(classes, np.int64)
        self.one_vs_one = bool(one_vs_one)
        self.seen = np.zeros(len(self.ranks), np.int64)
        self.index = np.full(len(self.ranks), -1, np.int64)
        self.values = np.zeros((len(self.ranks), shape), np.float32)

    def update(self, offset, images, labels):
        for cls in np.unique(self.classes):
            rows = np.flatnonzero(self.classes == cls)
            pos = np.flatnonzero(labels == cls) if self.one_vs_one else np.flatnonzero(labels != cls)
            local = self.ranks[rows] - self.seen[rows]
            hit = (local >= 0) & (local < len(pos))
            self.index[rows[hit]] = offset + pos[local[hit]]
            self.values[rows[hit]] = images[pos[local[hit]]]
            self.seen[rows] += len(pos)


def ranks_from_counts(u, classes, one_vs_one, counts, what="data"):
    """Ranks ``floor(u * pool size)`` (clipped) within each query's eligible pool, from per-class ``counts``."""
    classes = np.asarray(classes, np.int64)
    known = np.where(classes < len(counts), classes, 0)
    per_class = np.where(classes < len(counts), counts[known], 0)
    sizes = per_class if one_vs_one else counts.sum() - per_class
    empty = np.flatnonzero(sizes == 0)
    if len(empty):
        kind = "of class" if one_vs_one else "outside class"
        raise InputError(f"{what}: no training image {kind} {int(classes[empty[0]])} for sample {int(empty[0])}")
    return np.minimum((np.asarray(u) * sizes).astype(np.int64), sizes - 1)
