"""Occlusion (Zeiler & Fergus, 2013; Ancona et al., 2018), as DeepExplain computes it.

A window slides over (H, W, C) with a stride; inside it the input is replaced by the baseline (the zero
image by default, so DeepExplain's fill 0; a GANMEX baseline gives the class-targeted fill). For each
window position p, delta_p = S_w(x) - S_w(x with the window replaced); the attribution of feature i is
sum_{p containing i} delta_p / sum_{p containing i} |window_p|. With the default window of one feature
this is Occlusion-1 of ganmex_appendix.txt A.3: A_i = S_w(x) - S_w(x with feature i replaced).

Windows are (h, w, c) over (H, W, C): an int k or a pair (h, w) means c = 1, one window per channel;
pass (h, w, C) to occlude a patch in all channels at once. One
deviation from DeepExplain (whose ``view_as_windows`` drops the remainder, leaving those features uncovered):
where the stride does not reach the edge, a last window is placed touching it, so every feature is covered.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..batching import map_batches
from ..errors import InputError
from ._common import EVALUATIONS_PER_CALL, MethodResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._typing import Float32, Progress, Strategy
    from ..targets import ScoreFunction


def _triple(value, shape, name):
    """A window or stride as (h, w, c); an int or an (h, w) pair has c = 1 (one window per channel)."""
    if isinstance(value, (int, np.integer)):
        value = (int(value), int(value), 1)
    value = tuple(int(v) for v in value)
    if len(value) == 2:
        value = value + (1,)
    if len(value) != 3 or any(v < 1 for v in value) or any(v > s for v, s in zip(value, shape)):
        raise InputError(f"{name}: expected an int or (h, w[, c]) with 1 <= each <= image size {tuple(shape)}, "
                         f"got {value}")
    return value


def axis_starts(size, win, step):
    """Window starts along one axis, with the last window touching the edge."""
    starts = list(range(0, size - win + 1, step))
    if starts[-1] != size - win:
        starts.append(size - win)
    return np.asarray(starts)


def window_corners(shape, window, stride):
    """Top-left-front corners of every window position, (P, 3), covering the image edge to edge."""
    axes = [axis_starts(*args) for args in zip(shape, window, stride)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def coverage(shape, window, stride):
    """sum over windows containing feature i of |window|: separable, as positions form a grid."""
    per_axis = []
    for size, win, step in zip(shape, window, stride):
        count = np.zeros(size, np.float32)
        for s in axis_starts(size, win, step):
            count[s : s + win] += 1
        per_axis.append(count)
    return float(np.prod(window)) * np.einsum("h,w,c->hwc", *per_axis)


def occlusion(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32, *,
              window: int | Sequence[int] = 1, stride: int | Sequence[int] | None = None,
              batch_size: int | None = None, strategy: Strategy | None = None,
              progress: Progress = False) -> MethodResult:
    """Occlusion attributions; ``window`` and ``stride`` are ints or (h, w[, c]) (default stride = window); an
    int or (h, w) occludes one channel at a time (c = 1), (h, w, C) a patch in all channels (module docstring)."""
    import tensorflow as tf

    shape = x.shape[1:]
    window = _triple(window, shape, "window")
    stride = _triple(stride, shape, "stride") if stride is not None else window
    corners = window_corners(shape, window, stride)
    n_pos = len(corners)
    chunk_size = batch_size or max(1, min(len(x), EVALUATIONS_PER_CALL // min(n_pos, EVALUATIONS_PER_CALL)))
    block = max(1, min(n_pos, EVALUATIONS_PER_CALL // chunk_size))
    n_blocks = -(-n_pos // block)
    padded = np.concatenate([corners, np.repeat(corners[-1:], n_blocks * block - n_pos, axis=0)])
    valid = tf.constant((np.arange(n_blocks * block) < n_pos).astype(np.float32).reshape(n_blocks, block))
    corner_blocks = tf.constant(padded.reshape(n_blocks, block, 3).astype(np.int32))
    grids = [tf.range(s)[None, :] for s in shape]  # per axis (1, size)
    win = tf.constant(window, tf.int32)

    def masks_of(cb):
        """(block, H, W, C) float masks of the windows at corners cb (block, 3)."""
        inside = [(g >= cb[:, a : a + 1]) & (g < cb[:, a : a + 1] + win[a]) for a, g in enumerate(grids)]
        return tf.cast(inside[0][:, :, None, None] & inside[1][:, None, :, None] & inside[2][:, None, None, :],
                       tf.float32)

    counts_t = tf.constant(coverage(shape, window, stride))

    def chunk(xc, bc, w):
        c = tf.shape(xc)[0]
        base = score_fn.explained(xc, w)
        w_rep = tf.tile(w, [block, 1])

        def body(i, acc):
            m = masks_of(corner_blocks[i])[:, None]  # (block, 1, H, W, C)
            occluded = xc[None] * (1.0 - m) + bc[None] * m
            flat = tf.reshape(occluded, tf.concat([[block * c], tf.shape(xc)[1:]], 0))
            delta = base[None] - tf.reshape(score_fn.explained(flat, w_rep), (block, c))
            delta = delta * valid[i][:, None]
            return i + 1, acc + tf.einsum("pc,phwk->chwk", delta, m[:, 0])

        _, heat = tf.while_loop(lambda i, _: i < n_blocks, body, (0, tf.zeros_like(xc)))
        return heat / counts_t[None]

    fn = score_fn.compiled(("occlusion", shape, window, stride, chunk_size, block), lambda: chunk)
    out = map_batches(fn, [x, baselines, weights], chunk_size, strategy=strategy, progress=progress,
                      desc="occlusion")
    return MethodResult(out, {"window": window, "stride": stride, "positions": n_pos})
