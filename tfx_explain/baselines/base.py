"""The two shapes a baseline takes: one reference per sample, or a distribution of references."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import rng

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray


KEYS_PER_BLOCK = 1 << 22  # float64 draw keys (32 MB) sorted at once; a sample's row is never split


@dataclass
class PointBaselines:
    """One baseline image per input sample: ``values`` has the inputs' shape (N, H, W, C)."""

    values: np.ndarray
    name: str
    info: dict = field(default_factory=dict)


@dataclass
class ReferenceSet:
    """A distribution of references (Expected Gradients, DeepSHAP backgrounds).

    Sample i draws its references from ``pool[pool_labels == classes[i]]`` when ``classes`` is given
    (the one-vs-one variant draws from the target class, ganmex_main.txt §4), else from the whole pool.
    Draws are without replacement and depend only on (seed, i) (:mod:`tfx_explain.rng`), so chunking never
    changes them.
    """

    pool: np.ndarray
    pool_labels: np.ndarray | None
    classes: np.ndarray | None
    name: str = "train"
    info: dict = field(default_factory=dict)

    def candidates(self, cls: int) -> NDArray[np.intp]:
        if self.classes is None:
            return np.arange(len(self.pool))
        return np.flatnonzero(self.pool_labels == cls)

    def pool_size(self, cls: int) -> int:
        """How many references sample(s) of class ``cls`` draw from (the whole pool when ``classes`` is None)."""
        return len(self.candidates(cls))

    def locate(self, groups: NDArray[np.int64], ranks: NDArray[np.int64]) -> NDArray[np.int64]:
        """Pool indices of the ``ranks`` (n, r)-th candidates (in pool order) of each row's class ``groups`` (n,)."""
        out = np.empty(ranks.shape, np.int64)
        for cls in np.unique(groups):
            rows = np.flatnonzero(groups == cls)
            out[rows] = self.candidates(cls)[ranks[rows]]
        return out

    def draw_ranks(self, sample_ids: ArrayLike, n_refs: int, seed: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(groups (n,), ranks (n, n_refs)): sample i's draws as ranks among the candidates of its class
        ``groups[i]`` (0 for every sample when ``classes`` is None): a prefix of one permutation per (seed, i)."""
        sample_ids = np.asarray(sample_ids, np.int64)
        ranks = np.empty((len(sample_ids), n_refs), np.int64)
        groups = np.zeros(len(sample_ids), np.int64) if self.classes is None else self.classes[sample_ids]
        for cls in np.unique(groups):  # a loop over classes, vectorised over samples
            size = self.pool_size(cls)
            reps = -(-n_refs // size)  # fewer candidates than draws: cycle through the permutation
            every = np.flatnonzero(groups == cls)
            step = max(1, KEYS_PER_BLOCK // size)  # samples per block: the keys of a large pool stay bounded
            for rows in np.split(every, np.arange(step, len(every), step)):
                keys = rng.uniform(seed, "references", sample_ids[rows], (size,))
                order = np.argsort(keys, axis=1, kind="stable")
                ranks[rows] = np.tile(order, (1, reps))[:, :n_refs]
        return groups, ranks

    def draw_indices(self, sample_ids: ArrayLike, n_refs: int, seed: int) -> NDArray[np.int64]:
        """(len(sample_ids), n_refs) pool indices, without replacement where the candidate set allows."""
        return self.locate(*self.draw_ranks(sample_ids, n_refs, seed))

    def draw(self, sample_ids: ArrayLike, n_refs: int, seed: int) -> NDArray[Any]:
        index = self.draw_indices(sample_ids, n_refs, seed)  # first: a lazily filled pool grows here
        return self.pool[index]
