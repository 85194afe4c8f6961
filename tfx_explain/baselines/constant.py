"""Baselines computed from the input alone: zero, max, blur, uniform noise (ganmex_main.txt §2.2, Fig. 4)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import input_range as ir
from .. import rng

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .._typing import Range


def zero(x: NDArray[Any]) -> NDArray[np.float32]:
    """The all-zero image: the default baseline of IG, DeepLIFT and occlusion."""
    return np.zeros_like(x, dtype=np.float32)


def max_value(x: NDArray[Any], input_range: Range | None = None) -> NDArray[np.float32]:
    """The all-maximum image: every pixel at the top of ``input_range`` (per channel where it is per channel).

    ``input_range``: (low, high), scalars or length-C arrays (see :mod:`tfx_explain.input_range`); None raises
    InputError asking for it.
    """
    rng = ir.require(ir.normalize(input_range, channels=np.shape(x)[-1]), 'baseline "max"')
    return np.broadcast_to(rng.high, np.shape(x)).astype(np.float32)


def blur(x: NDArray[Any], sigma: float = 2.0) -> NDArray[np.float32]:
    """Gaussian blur of the input over H and W (Fong & Vedaldi, 2017); ``sigma`` in pixels.

    The reference ablation used sigma in {0.1, 0.5, 1, 2} (ganmex.md §3.3); 2 is the default here.
    """
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(np.asarray(x, np.float32), sigma=(0, sigma, sigma, 0), mode="nearest").astype(np.float32)


def uniform(x: NDArray[Any], input_range: Range | None = None, seed: int = 0) -> NDArray[np.float32]:
    """Uniform noise over ``input_range`` (per channel where it is per channel), one image per sample,
    reproducible per (seed, sample index). ``input_range=None`` raises InputError asking for it."""
    known = ir.require(ir.normalize(input_range, channels=np.shape(x)[-1]), 'baseline "uniform"')
    u = rng.uniform(seed, "uniform_baseline", np.arange(len(x)), np.shape(x)[1:])
    return (known.low + (known.high - known.low) * u).astype(np.float32)
