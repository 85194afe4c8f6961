"""Baselines for attribution methods (ganmex_main.txt §2.2; ganmex_appendix.txt B).

Names accepted by ``explain_keras(baseline=...)``:

========================  ====================================================================
``"zero"``                all-zero image
``"max"``                 all pixels at the top of the input range (needs the range)
``"blur"``                Gaussian blur of the input (option ``sigma``)
``"uniform"``             uniform noise over the input range (seeded; needs the range)
``"mdts"``                minimum-distance training sample of the target class (needs ``data``)
``"random_target"``       a random training sample of the target class (needs ``data``)
``"train"``               the training distribution (EG, DeepSHAP; needs ``data``)
array                     one per sample (N, H, W, C), or one image broadcast to all
callable                  ``f(x, target_class) -> baselines``
generator                 an object with ``generate(x, target_class)`` (a trained GANMEX), or its path
========================  ====================================================================

``data`` is a dataset name, an (images, labels) pair, or a finite ``tf.data.Dataset`` of (image, label) read in
chunks and never held whole (:mod:`.source`; ``train`` keeps only the target classes' images). MDTS is exact (the
float64 nearest, ties to the lowest index, :mod:`.search`), and a streamed dataset gives exactly the in-memory answer.

The input range (scalars or per channel) comes from :mod:`tfx_explain.input_range`: ``explain_keras``'s
``input_range=``, the model's preprocessing layer, or ``data``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .base import PointBaselines, ReferenceSet
from .constant import blur, max_value, uniform, zero
from .dataset import mdts, random_target, train_distribution
from .source import TrainingData, from_data

if TYPE_CHECKING:
    from .._typing import Baseline, Data, Float32, IntArray, Model, Range

NAMES = ("zero", "max", "blur", "uniform", "mdts", "random_target", "train")
NEEDS_DATA = ("mdts", "random_target", "train")
NEEDS_RANGE = ("max", "uniform")
CLASS_TARGETED = ("mdts", "random_target", "generator")

__all__ = ["NAMES", "PointBaselines", "ReferenceSet", "resolve", "zero", "max_value", "blur", "uniform", "mdts",
           "random_target", "train_distribution", "check_spec", "TrainingData"]


def _is_generator(obj):
    return hasattr(obj, "generate") and callable(obj.generate)


def check_spec(baseline: Baseline, x_shape: tuple[int, ...], data: Data | None) -> None:
    """Validate the baseline argument before any work (shapes, names, data presence)."""
    if isinstance(baseline, str):
        if baseline not in NAMES:
            if Path(baseline).exists():
                return
            raise InputError(f"baseline: expected one of {NAMES}, an array, a callable, a GANMEX generator or "
                             f"its path, got {baseline!r}")
        if baseline in NEEDS_DATA and data is None:
            raise InputError(f"data: baseline {baseline!r} draws from the training data; pass data=(images, "
                             "labels), a tf.data.Dataset of (image, label) or a dataset name")
        if baseline in NEEDS_DATA:
            _check_data(data, x_shape)
        return
    if isinstance(baseline, (Path,)):
        if not baseline.exists():
            raise InputError(f"baseline: no saved generator at {baseline}")
        return
    if callable(baseline) or _is_generator(baseline):
        return
    arr = np.asarray(baseline)
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"baseline: expected a name, an array, a callable or a generator, got "
                         f"{type(baseline).__name__}")
    fits = arr.shape == tuple(x_shape) or arr.shape == tuple(x_shape[1:]) or arr.shape == (1,) + tuple(x_shape[1:])
    if not fits:
        raise InputError(f"baseline: expected shape {tuple(x_shape)} (one per input) or {tuple(x_shape[1:])} "
                         f"(one for all), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError("baseline: expected finite values, got NaN or Inf")


def _check_data(data, x_shape):
    """A tf.data.Dataset's elements and image shape, or an array pair's image shape, before any work."""
    from ..data import stream

    if isinstance(data, TrainingData):
        shape = data.image_shape
    elif stream.is_dataset(data):
        shape = TrainingData(dataset=data).image_shape  # checks the elements and that the dataset is finite
    elif isinstance(data, (tuple, list)) and len(data) >= 2 and np.ndim(data[0]) == 4:
        shape = tuple(np.shape(data[0])[1:])
    else:
        return  # a name (loaded later) or a malformed pair (data.resolve names the fault)
    if shape != tuple(x_shape[1:]):
        raise InputError(f"data: training images have shape {shape}, x has {tuple(x_shape[1:])}")


def resolve(baseline: Baseline, x: Float32, original_class: IntArray, target_class: IntArray | None, *,
            data: Data | None = None, seed: int = 0, input_range: Range | None = None, sigma: float = 2.0,
            allow_mismatch: bool = False, model: Model | None = None) -> PointBaselines | ReferenceSet:
    """Turn the ``baseline`` argument into :class:`PointBaselines` or a :class:`ReferenceSet`.

    ``input_range``: (low, high) or an :class:`~tfx_explain.input_range.InputRange`; ``"max"`` and
    ``"uniform"`` raise InputError without it.
    """
    if _is_generator(baseline) or isinstance(baseline, Path) or (
            isinstance(baseline, str) and baseline not in NAMES):
        return _from_generator(baseline, x, original_class, target_class, model, allow_mismatch)
    if isinstance(baseline, str):
        if baseline == "zero":
            return PointBaselines(zero(x), "zero")
        if baseline == "max":
            return PointBaselines(max_value(x, input_range), "max")
        if baseline == "blur":
            return PointBaselines(blur(x, sigma), "blur", {"sigma": sigma})
        if baseline == "uniform":
            return PointBaselines(uniform(x, input_range, seed), "uniform", {"seed": seed})
        training = from_data(data)
        if baseline == "mdts":
            values, idx = mdts(x, original_class, target_class, training)
            return PointBaselines(values, "mdts", {"train_index": idx})
        if baseline == "random_target":
            values, idx = random_target(x, original_class, target_class, training, seed=seed)
            return PointBaselines(values, "random_target", {"train_index": idx, "seed": seed})
        return train_distribution(original_class, target_class, training)
    if callable(baseline):
        values = np.asarray(baseline(x, target_class), np.float32)
        if values.shape != x.shape:
            raise InputError(f"baseline: the callable returned shape {values.shape}, expected {x.shape}")
        return PointBaselines(values, getattr(baseline, "__name__", "callable"))
    arr = np.asarray(baseline, np.float32)
    if arr.shape != x.shape:
        arr = np.broadcast_to(arr.reshape((1,) + x.shape[1:]), x.shape).copy()
    return PointBaselines(arr, "array")


def _from_generator(baseline, x, original_class, target_class, model, allow_mismatch):
    if target_class is None:
        raise InputError("target_class: a generator baseline (GANMEX) is class-targeted; pass target_class")
    if not _is_generator(baseline):
        from .. import ganmex

        baseline = ganmex.load(baseline)
    if model is not None and hasattr(baseline, "check_classifier"):
        baseline.check_classifier(model, allow_mismatch=allow_mismatch)
    values = np.asarray(baseline.generate(x, target_class), np.float32)
    if values.shape != x.shape:
        raise InputError(f"baseline: the generator returned shape {values.shape}, expected {x.shape}")
    return PointBaselines(values, "ganmex", {"generator": type(baseline).__name__})
