"""RISE (Petsiuk, Das & Saenko, BMVC 2018) and RISE-G: random low-resolution masks, upsampled with random shifts.

Saliency (Eq. 6, the Monte Carlo estimate of Eq. 5, S(lambda) = E[f(I . M) | M(lambda) = 1]):

    S(lambda) = 1 / (N E[M]) * sum_i f(I . M_i) M_i(lambda),    E[M] = p,

with f the explained score S_w (one-vs-all S_co, or one-vs-one S_co - S_ct). Mask generation (Sec. 3.2): N binary
s x s grids, each cell kept with probability p; each grid bilinearly upsampled to (s + 1) C_H x (s + 1) C_W with
cells C = ceil(H / s) x ceil(W / s) (the authors' code, ``eclique/RISE``: ceil, where the paper writes floor;
with floor the crop can fall off the upsampled mask), then cropped to H x W at a random offset in
[0, C_H) x [0, C_W). The upsampling is scikit-image's ``resize(order=1, mode="reflect")`` of the authors' code.
Every mask has its own offset; xplique's ``Rise`` draws one offset per batch of masks and resizes with
``tf.image.resize`` (edge border).

Normalisation: ``"expectation"`` (default) divides by N p, Eq. 6 and the authors' code (``sal / N / p1``);
``"empirical"`` divides each pixel by sum_i M_i(lambda), as xplique's ``Rise`` does (a self-normalised estimate:
the same limit, less variance where the mean score is large).

Removal: pixel lambda of mask i is replaced by ``filler`` to the degree 1 - M_i(lambda) (the fillers' blend
x (1 - m) + f m with m = 1 - M). The default ``filler="zero"`` is the paper's I . M (Eq. 6; note that the
authors' code multiplies ImageNet-normalised tensors, so their zero is the mean colour: ``"gray"`` or ``"mean"``
for that). ``filler="inpaint"`` gives RISE-G: the DeepFill inpainter takes binary holes, so the soft mask is
binarised (hole where M_i < 0.5, as every filler binarises for the inpainter); blending the inpainted image
with the soft mask instead would leak up to half of the removed evidence back into the hole. The weights
M_i(lambda) of Eq. 6 stay the soft masks, so the estimator and its normaliser E[M] = p are unchanged.

The masks are the same for every image (drawn once from ``tfx_explain.rng``, stream ``"rise_masks"``), built and
scored in chunks; results do not depend on the chunk or batch size.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from .. import rng
from ..attribution import MethodResult
from ..batching import progress_bar
from ..errors import InputError
from . import _common
from .fillers import get_filler

if TYPE_CHECKING:
    from .._typing import Float32, FillerSpec, Progress, Strategy
    from ..input_range import InputRange
    from ..targets import ScoreFunction

NORMALIZATIONS = ("expectation", "empirical")


def cell_size(size, grid):
    """(C_H, C_W) = ceil(H / s_h), ceil(W / s_w): the authors' code (the crop needs (s + 1) C >= H + C - 1)."""
    return tuple(-(-n // g) for n, g in zip(size, grid))


def draw_masks(num_samples, grid, keep_prob, cells, seed):
    """The low-resolution masks: (grids (N, s_h, s_w) float32 in {0, 1}, offsets (N, 2) int in [0, C))."""
    gen = rng.generator(seed, "rise_masks")
    grids = (gen.random((num_samples,) + tuple(grid)) < keep_prob).astype(np.float32)
    offsets = np.stack([gen.integers(0, c, num_samples) for c in cells], axis=1)
    return grids, offsets


def upsample_masks(grids, offsets, size, cells):
    """(n, H, W) float32 masks: each grid resized bilinearly to (s + 1) C (reflect border, half-pixel centres:
    skimage ``resize(order=1, mode="reflect", anti_aliasing=False)``), then cropped at its offset."""
    mats = []
    for axis in (0, 1):
        s, up = grids.shape[1 + axis], (grids.shape[1 + axis] + 1) * cells[axis]
        full = _common.interpolation_matrix(_common.stretch_centres(s, up), up, "reflect").astype(np.float32)
        mats.append(full[offsets[:, axis, None] + np.arange(size[axis])])  # (n, H or W, s): the cropped rows
    return np.matmul(np.matmul(mats[0], grids), mats[1].transpose(0, 2, 1))


def rise(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None, *, num_samples: int = 2000,
         grid_size: int | tuple[int, int] = 7, keep_prob: float = 0.5, filler: FillerSpec = "zero",
         normalization: Literal["expectation", "empirical"] = "expectation", seed: int = 0,
         batch_size: int | None = None, strategy: Strategy | None = None, progress: Progress = False,
         input_range: InputRange | None = None) -> MethodResult:
    """RISE / RISE-G attributions (Petsiuk et al. 2018, Eq. 6 and Sec. 3.2; see the module docstring).

    Args:
        score_fn: the explained score S_w = sum_k w_k S_k (:class:`~tfx_explain.targets.ScoreFunction`).
        x: (N, H, W, C) images.
        weights: (N, K) output weights w of each image.
        num_samples: N masks (the paper: 4000 at 224 px; xplique's ``nb_samples``).
        grid_size: s, an int or (s_h, s_w), at most the image size (the paper: 7).
        keep_prob: p in (0, 1], the probability that a grid cell is kept (xplique's ``preservation_probability``).
        filler: what removed pixels become (:mod:`tfx_explain.perturbation.fillers`); default ``"zero"`` (I . M);
            ``"inpaint"`` gives RISE-G.
        normalization: ``"expectation"`` (N p, Eq. 6) or ``"empirical"`` (sum_i M_i per pixel, xplique).
        seed: seeds the masks (the same masks for every image).
        batch_size: perturbed images per model call (default 32).
        input_range: the model's input range (explain_keras passes it), for the ``"noise"`` and ``"flip"`` fillers.
    Returns:
        attributions (N, H, W, C): the saliency map in units of S_w, split equally over channels; extras
        ``filler``, ``num_samples``, ``grid_size``, ``keep_prob``, ``normalization``.
    Raises:
        InputError: a bad option, before any model call.
    """
    size = x.shape[1:3]
    num_samples = _common.positive_int(num_samples, "num_samples")
    grid = _common.pair(grid_size, "grid_size", size)
    keep_prob = _common.positive_float(keep_prob, "keep_prob")
    if keep_prob > 1:
        raise InputError(f"keep_prob: expected a probability in (0, 1], got {keep_prob}")
    if normalization not in NORMALIZATIONS:
        raise InputError(f"normalization: expected one of {NORMALIZATIONS}, got {normalization!r}")
    fill = get_filler(filler, input_range=input_range)
    fill.check(x)  # before any work
    cells = cell_size(size, grid)
    grids, offsets = draw_masks(num_samples, grid, keep_prob, cells, seed)
    chunk = int(min(num_samples, max(1, _common.CHUNK_ELEMENTS // int(np.prod(x.shape[1:])))))
    perturb = _common.keep_and_fill(fill, x)
    saliency = np.zeros(x.shape[:3], np.float64)
    mask_sum = np.zeros(size, np.float64)
    bar = progress_bar(len(x) * num_samples, "rise", progress, unit="mask")
    for start in range(0, num_samples, chunk):  # masks outer: each chunk is built once and serves every image
        stop = min(start + chunk, num_samples)
        masks = upsample_masks(grids[start:stop], offsets[start:stop], size, cells)
        mask_sum += masks.sum(axis=0, dtype=np.float64)
        for i in range(len(x)):
            perturbed = perturb(i, masks)
            scores = _common.explained_scores(score_fn, perturbed, np.broadcast_to(weights[i], (stop - start,) +
                                              weights.shape[1:]), batch_size, strategy)
            saliency[i] += np.tensordot(scores.astype(np.float64), masks, axes=1)
            bar.update(stop - start)
    bar.close()
    saliency /= (num_samples * keep_prob) if normalization == "expectation" else np.maximum(mask_sum, 1e-12)
    return MethodResult(_common.per_channel(saliency.astype(np.float32), x.shape[-1]),
                        {"filler": fill.name, "num_samples": num_samples, "grid_size": grid, "keep_prob": keep_prob,
                         "normalization": normalization})
