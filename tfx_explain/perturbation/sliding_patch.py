"""Sliding-Patch (SP; Zeiler & Fergus 2014) and SP-G (generative_feature_removal.txt §3.3).

A p x p patch slides over the image at stride s; at window i the patch is removed (Eq. 1, ``filler``) and
the attribution is ``A_i = s(x) - s(x_i)``. Windows start at 0, s, 2s, ... <= H - p, so the map has
n = floor((H - p) / s) + 1 cells per axis (the reference code, §3.1); the paper uses p = 29, s = 3 at 224 px
and bilinearly upsamples the n x n map to the image. SP-G is the same method with ``filler="inpaint"``: the
inpainter fills every window, called once per chunk of masks.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ..batching import progress_bar
from ..errors import InputError
from ..attribution import MethodResult
from . import _common
from .fillers import get_filler

if TYPE_CHECKING:
    from .._typing import Float32, FillerSpec, Progress, Strategy
    from ..input_range import InputRange
    from ..targets import ScoreFunction

PLACEMENTS = ("stretch", "centre")


def default_patch(height):
    """The paper's 29 px at 224, scaled to the image height and made odd (9 at 64, 5 at 32)."""
    p = max(3, int(round(29 * height / 224)))
    return p if p % 2 else p + 1


def window_masks(size, patch, stride):
    """(n_h * n_w, H, W, 1) float masks, 1 inside each window, row-major; and the starts per axis."""
    starts = [np.arange(0, s - p + 1, st) for s, p, st in zip(size, patch, stride)]
    rows = (np.arange(size[0])[None] >= starts[0][:, None]) & (np.arange(size[0])[None] < starts[0][:, None] + patch[0])
    cols = (np.arange(size[1])[None] >= starts[1][:, None]) & (np.arange(size[1])[None] < starts[1][:, None] + patch[1])
    masks = rows[:, None, :, None] & cols[None, :, None, :]  # (n_h, n_w, H, W)
    return masks.reshape(-1, size[0], size[1], 1).astype(np.float32), starts


def sliding_patch(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None, *,
                  patch: int | tuple[int, int] | None = None, stride: int | tuple[int, int] = 3,
                  filler: FillerSpec = "gray", placement: Literal["stretch", "centre"] = "stretch",
                  resize_mode: Literal["reflect", "edge"] = "reflect", batch_size: int | None = None,
                  strategy: Strategy | None = None, progress: Progress = False,
                  input_range: InputRange | None = None) -> MethodResult:
    """SP / SP-G attributions.

    Args:
        patch: window size, an int or (h, w); default :func:`default_patch` (29 px at 224 scaled).
        stride: window stride, an int or (h, w) (paper: 3).
        filler: ``"gray"``, ``"blur"``, ``"noise"``, ``"zero"``, ``"inpaint"``, an Inpainter or a callable
            (see :mod:`tfx_explain.perturbation.fillers`); ``"inpaint"`` gives SP-G.
        placement: how the n x n map becomes an H x W heatmap: ``"stretch"`` (default, the paper: a bilinear
            resize of the grid to the image, so cell i sits at (i + 0.5) H / n) or ``"centre"`` (cell i at the
            centre of its window, linear in between; the stretched map is offset by up to p / 2 pixels).
        resize_mode: the border of that linear resize: ``"reflect"`` (default; the reference code's skimage
            ``resize(order=1)``, mode "reflect": the grid mirrored about its end cells) or ``"edge"`` (the end
            cells' values held to the border, this function's behaviour before).
        batch_size: perturbed images per scoring call (default 32).
        input_range: the model's input range (explain_keras passes it), for the ``"noise"`` filler.
    Returns:
        attributions (N, H, W, C) with the heatmap split equally over channels, extras ``grid`` (N, n_h, n_w).
    """
    size = x.shape[1:3]
    patch = _common.pair(patch if patch is not None else default_patch(size[0]), "patch", size)
    stride = _common.pair(stride, "stride", size)
    if placement not in PLACEMENTS:
        raise InputError(f"placement: expected one of {PLACEMENTS}, got {placement!r}")
    if resize_mode not in _common.RESIZE_MODES:
        raise InputError(f"resize_mode: expected one of {_common.RESIZE_MODES}, got {resize_mode!r}")
    fill = get_filler(filler, input_range=input_range)
    fill.check(x)  # before any work
    masks, starts = window_masks(size, patch, stride)
    n_win = len(masks)
    base = _common.explained_scores(score_fn, x, weights, batch_size, strategy)
    per_chunk = max(1, _common.EVALUATIONS_PER_CALL // n_win)
    deltas = np.empty((len(x), n_win), np.float32)
    bar = progress_bar(len(x), "sliding patch", progress, unit="img")
    for start in range(0, len(x), per_chunk):
        stop = min(start + per_chunk, len(x))
        k = stop - start
        images = np.repeat(x[start:stop], n_win, axis=0)
        perturbed = fill(images, np.tile(masks, (k, 1, 1, 1)))
        scores = _common.explained_scores(score_fn, perturbed, np.repeat(weights[start:stop], n_win, axis=0),
                                          batch_size, strategy)
        deltas[start:stop] = base[start:stop, None] - scores.reshape(k, n_win)
        bar.update(k)
    bar.close()
    grid = deltas.reshape(len(x), len(starts[0]), len(starts[1]))
    if placement == "stretch":
        centres = [_common.stretch_centres(len(st), s) for st, s in zip(starts, size)]
    else:
        centres = [st + (p - 1) / 2.0 for st, p in zip(starts, patch)]
    heat = _common.resize_maps(grid, centres[0], centres[1], size, resize_mode)
    return MethodResult(_common.per_channel(heat, x.shape[-1]),
                        {"grid": grid, "patch": patch, "stride": stride, "filler": fill.name,
                         "resize_mode": resize_mode})
