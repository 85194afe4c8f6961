"""Baseline distance analysis (ganmex_appendix.txt B, Table 2).

* D_intra: the average Euclidean distance ||x - x'|| between two different instances of the same class;
* D_inter: the average distance between two instances of different classes;
* per baseline kind, the average distance ||x - b(x)|| from an instance to its baseline.

The paper does not say which split or how many pairs; we use every pair of the given images (the test
split in :mod:`scripts.reproduce_ganmex`), capped by ``max_samples`` images drawn with a seed, and report
the cap. Distances are exact: pairwise ||x||^2 - 2 x.x' + ||x'||^2 in float64 blocks, then the square root.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..data import as_images, as_labels
from ..errors import InputError
from ._common import MetricResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import ArrayLike

    from .._typing import Images

BLOCK = 1024


def class_distances(x: Images, labels: ArrayLike, *, max_samples: int = 2000, seed: int = 0) -> dict[str, float]:
    """{"d_intra", "d_inter", "n"}: mean pairwise distances within and across classes (Table 2)."""
    x = as_images(x, "x")
    labels = as_labels(labels, len(x), name="labels")
    if len(x) > max_samples:
        keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:max_samples])
        x, labels = x[keep], labels[keep]
    flat = x.reshape(len(x), -1).astype(np.float64)
    sq = (flat * flat).sum(axis=1)
    intra_sum = inter_sum = 0.0
    intra_n = inter_n = 0
    for start in range(0, len(flat), BLOCK):  # blocks of rows bound the memory of the (N, N) distances
        rows = slice(start, start + BLOCK)
        d2 = sq[rows, None] - 2.0 * flat[rows] @ flat.T + sq[None]
        d = np.sqrt(np.maximum(d2, 0.0))
        same = labels[rows, None] == labels[None]
        not_self = np.arange(start, start + len(d))[:, None] != np.arange(len(flat))[None]
        intra = same & not_self
        intra_sum += d[intra].sum()
        intra_n += int(intra.sum())
        inter_sum += d[~same].sum()
        inter_n += int((~same).sum())
    return {"d_intra": intra_sum / max(intra_n, 1), "d_inter": inter_sum / max(inter_n, 1), "n": int(len(x))}


def baseline_distance(x: Images, baselines: ArrayLike) -> MetricResult:
    """||x - b|| per sample as a :class:`MetricResult` (lower is closer, the minimum-distance goal, Eq. 1)."""
    x = as_images(x, "x")
    b = np.asarray(baselines, np.float64)
    if b.shape != x.shape:
        raise InputError(f"baselines: expected the inputs' shape {x.shape}, got {b.shape}")
    values = np.sqrt(((x.astype(np.float64) - b) ** 2).reshape(len(x), -1).sum(axis=1))
    return MetricResult("baseline_distance", values, False)


def distance_table(x: Images, labels: ArrayLike, baselines_by_kind: Mapping[str, tuple[ArrayLike, ArrayLike]], *,
                   max_samples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Table 2 for one dataset: D_intra, D_inter and the mean ||x - b|| of each baseline kind.

    ``baselines_by_kind`` maps a column name ("GAN", "MDTS", "Rand", "Zero") to (x_rows, baselines): the
    inputs the baselines belong to (one-vs-one baselines repeat x once per target class) and the baselines.
    """
    row = class_distances(x, labels, max_samples=max_samples, seed=seed)
    for kind, (inputs, baselines) in baselines_by_kind.items():
        result = baseline_distance(inputs, baselines)
        row[kind] = result.summary()["mean"]
        row[f"{kind}_std"] = result.summary()["std"]
    return row
