"""Local gradient methods: saliency (Simonyan et al., 2014) and gradient x input (Shrikumar et al., 2016).

Both explain S_w = sum_k w_k S_k (see :mod:`tfx_explain.targets`), so the one-vs-one map is the
gradient of the score delta S_co - S_ct.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..batching import map_batches
from ._common import DEFAULT_BATCH, MethodResult, explained_gradient

if TYPE_CHECKING:
    from .._typing import Float32, Progress, Strategy
    from ..targets import ScoreFunction


def saliency(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None = None, *,
             absolute: bool = True, batch_size: int | None = None, strategy: Strategy | None = None,
             progress: Progress = False) -> MethodResult:
    """Saliency: |dS_w/dx| (DeepExplain's ``saliency``, which takes the absolute value).

    ``absolute=False`` returns the signed gradient. Needs no baseline (``baselines`` is ignored).
    """
    import tensorflow as tf

    def chunk(xc, wc):
        _, g = explained_gradient(score_fn, xc, wc)
        return tf.abs(g) if absolute else g

    fn = score_fn.compiled(("saliency", absolute), lambda: chunk)
    out = map_batches(fn, [x, weights], batch_size or 4 * DEFAULT_BATCH, strategy=strategy, progress=progress,
                      desc="saliency")
    return MethodResult(out)


def gradient_input(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None = None, *,
                   batch_size: int | None = None, strategy: Strategy | None = None,
                   progress: Progress = False) -> MethodResult:
    """Gradient x input: x * dS_w/dx (DeepExplain's ``grad*input``). Needs no baseline."""

    def chunk(xc, wc):
        _, g = explained_gradient(score_fn, xc, wc)
        return xc * g

    fn = score_fn.compiled(("gradient_input",), lambda: chunk)
    out = map_batches(fn, [x, weights], batch_size or 4 * DEFAULT_BATCH, strategy=strategy, progress=progress,
                      desc="gradient_input")
    return MethodResult(out)
