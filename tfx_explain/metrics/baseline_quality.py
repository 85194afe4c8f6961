"""How well class-targeted baselines meet GANMEX's three requirements (ganmex_main.txt §3.1):
the baseline belongs to the target class, is realistic, and is close to the input.

- :func:`target_success`: the classifier assigns c_t to the baseline (requirement 1).
- :func:`colour_preservation`: on colored datasets, the baseline keeps the input's colour channel
  (the mode constraint of ganmex_main.txt §5, Fig. 5B).
- :func:`baseline_distance`: ||x - baseline||_2 per sample (requirement 3; Table 2 averages it).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from .._typing import Classes, Images, Model


def target_success(model: Model, baselines: Images, target_class: Classes,
                   batch_size: int = 256) -> tuple[NDArray[np.bool_], float]:
    """Per sample, whether ``argmax model(baseline) == target_class``; returns (per_sample bool, rate).

    ``target_class`` is one int for all baselines or one per baseline (N,). Raises InputError otherwise,
    before the model is called."""
    target = np.asarray(target_class)
    if target.ndim > 1 or (target.ndim == 1 and len(target) != len(baselines)):
        raise InputError(f"target_class: expected one int or one per baseline ({len(baselines)}), "
                         f"got shape {target.shape}")
    predicted = np.asarray(model.predict(baselines, batch_size=batch_size, verbose=0)).argmax(axis=1)
    hits = predicted == target
    return hits, float(hits.mean()) if len(hits) else float("nan")


def dominant_channel(images: NDArray[Any]) -> NDArray[np.intp]:
    """The colour channel holding most of each image's intensity: (N,) ints."""
    return np.asarray(images).reshape(len(images), -1, images.shape[-1]).sum(axis=1).argmax(axis=1)


def colour_preservation(inputs: NDArray[Any], baselines: NDArray[Any]) -> tuple[NDArray[np.bool_], float]:
    """Per sample, whether the baseline's dominant channel is the input's; returns (per_sample bool, rate).

    ``inputs`` and ``baselines`` are (N, H, W, C), one baseline per input (InputError otherwise)."""
    _same_shape(inputs, baselines)
    same = dominant_channel(inputs) == dominant_channel(baselines)
    return same, float(same.mean()) if len(same) else float("nan")


def baseline_distance(inputs: NDArray[Any], baselines: ArrayLike) -> NDArray[np.float64]:
    """||x - baseline||_2 per sample (Euclidean, in the classifier's input space, ganmex_appendix B).

    ``inputs`` and ``baselines`` are (N, H, W, C), one baseline per input (InputError otherwise)."""
    _same_shape(inputs, baselines)
    diff = (np.asarray(inputs, np.float64) - np.asarray(baselines, np.float64)).reshape(len(inputs), -1)
    return np.sqrt((diff ** 2).sum(axis=1))


def _same_shape(inputs, baselines):
    """One baseline per input: broadcasting one baseline over all inputs would rate N pairs that are not."""
    shapes = np.shape(inputs), np.shape(baselines)
    if shapes[0] != shapes[1]:
        raise InputError(f"baselines: expected the inputs' shape {shapes[0]} (one baseline per input), got {shapes[1]}")
