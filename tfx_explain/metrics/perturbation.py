"""Perturbation metrics: the perturbation curve, AOPC_L and AOPC_all (ganmex_appendix.txt C.1), deletion and
insertion (Petsiuk et al., 2018).

All of them remove features in descending order of attribution and track the explained score S_w: the
class score S_co for one-vs-all, the score delta S_co - S_ct for one-vs-one (C.1, after Shrikumar et al.).

Perturbation curve (C.1; Bach et al., 2015; Samek et al., 2017). x^(k) is x with its k most attributed
features flipped to 1 - x (inputs in [0, 1]; low + high - x over the model's input range in general); the
curve is S_w(x^(k)) for k = 0..L and

    AOPC_L = 1/(L+1) sum_{k=0..L} [S_w(x^(0)) - S_w(x^(k))]                (Samek et al., Eq. 12, one image)

per sample; the table value is its mean over samples. AOPC_100 uses L = 100; AOPC_all uses every feature
(L = D). A feature is one input element, so an RGB image of 32 x 32 has D = 3072 features, the
dimensions of the paper's Table 2. Choices we made where the papers leave them open: ties in the
attributions are broken by feature index (stable sort); ``step`` > 1 evaluates every ``step``-th level
only, and AOPC is then the mean over the evaluated levels (a Riemann estimate of the same mean).

Deletion and insertion (Petsiuk et al., 2018, RISE §4.1). Deletion removes pixels (all channels of a
pixel at once, by the channel-summed attribution) from the most important down, replacing them by the
``fill`` (zero by default); insertion starts from the fill everywhere (a blur by default) and puts the
most important pixels back first. Each returns the area under the score curve over the removed (inserted)
fraction in [0, 1] (trapezoid rule): low is good for deletion, high for insertion.

Batching: the levels of many images are built inside one TensorFlow function from the feature ranks and
evaluated together (``EVALUATIONS_PER_CALL`` perturbed images per model call). A fill without a
mask-independent ``reference`` (an inpainter) is called on batches of (image, level) masks instead.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..batching import map_batches, progress_bar
from ..errors import InputError
from ..perturbation.fillers import filler_name, reference_image
from ._common import (EVALUATIONS_PER_CALL, MetricResult, check_granularity, check_inputs, check_positive_int,
                      descending_ranks, feature_scores, metric_range, resolve_fill, resolve_target, trapezoid)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from .._typing import Classes, FillerSpec, Granularity, Images, Model, Progress, Range, Score, Strategy

    from ..perturbation.fillers import Filler
    from ._common import Target

MODES = ("delete", "insert")


def perturbation_curve(model: Model, x: Images, attributions: ArrayLike, original_class: Classes | None = None,
                       target_class: Classes | None = None, *, max_features: int | None = None, step: int = 1,
                       fill: FillerSpec = "flip", baselines: ArrayLike | None = None,
                       granularity: Granularity = "element", score: Score = "probability",
                       batch_size: int | None = None, strategy: Strategy | None = None, progress: Progress = False,
                       name: str | None = None, input_range: Range | None = None) -> MetricResult:
    """Score curve under cumulative removal of the most attributed features, and its AOPC (C.1).

    Args:
        model: the Keras classifier whose attributions are judged.
        x: (N, H, W, C) inputs in the model's input range.
        attributions: (N, H, W, C), the maps judged.
        original_class: c_o per sample (default: the predicted class).
        target_class: c_t per sample for one-vs-one.
        max_features: L, the number of perturbed features; None for all (AOPC_all).
        step: evaluate every ``step``-th level (1 = every level, as the paper).
        fill: ``"flip"`` (1 - x, the paper's) or any filler of :mod:`tfx_explain.perturbation.fillers` (the
            one registry the methods use too: ``"zero"``, ``"blur"``, ``"gray"``, ``"mean"``, ``"baseline"``,
            ``"inpaint"``, a Filler, an Inpainter, or a callable ``(images, masks) -> fill`` used inside the
            mask); baselines: for ``fill="baseline"``.
        granularity: ``"element"`` (every input value is a feature, the paper's) or ``"pixel"``.
        score: ``"probability"`` (the reference harness's) or ``"logit"``.
        input_range: (low, high) of the model's input, scalars or per channel; default inferred from the
            model (:mod:`tfx_explain.input_range`). ``"flip"`` needs it (InputError when unknown); x outside
            it raises InputError.
    Returns:
        :class:`MetricResult` with per-sample AOPC values (higher is better) and extras ``levels`` (k),
        ``scores`` (N, levels) = S_w(x^(k)) and ``drop`` = S_w(x^(0)) - S_w(x^(k)), the curve to plot.
    """
    x, a = check_inputs(x, attributions)
    granularity = check_granularity(granularity)
    step = check_positive_int(step, "step")
    n_features = feature_scores(a[:1], granularity).shape[1]
    total = n_features if max_features is None else check_positive_int(max_features, "max_features")
    if total > n_features:
        raise InputError(f"max_features: expected at most the {n_features} features of the input, got {total}")
    levels = np.unique(np.append(np.arange(0, total + 1, step), total))
    rng = metric_range(model, x, input_range)
    fill_fn = resolve_fill(fill, x, input_range=rng, baselines=baselines)
    target = resolve_target(model, x, original_class, target_class, score)
    scores = score_curve(target, x, descending_ranks(feature_scores(a, granularity)), levels, fill_fn, "delete",
                         granularity, batch_size=batch_size, strategy=strategy, progress=progress)
    drop = scores[:, :1] - scores
    label = name or (f"aopc_{total}" if max_features is not None else "aopc_all")
    return MetricResult(label, drop.mean(axis=1), True, {
        "levels": levels, "scores": scores, "drop": drop,
        "settings": {"max_features": int(total), "step": step, "fill": filler_name(fill_fn), "granularity": granularity,
                     "score": score}})


def aopc(model: Model, x: Images, attributions: ArrayLike, original_class: Classes | None = None,
         target_class: Classes | None = None, *, L: int = 100, **options: Any) -> MetricResult:
    """AOPC_L (ganmex_appendix.txt C.1): the mean score drop over the first L flipped features."""
    return perturbation_curve(model, x, attributions, original_class, target_class, max_features=L, **options)


def aopc_all(model: Model, x: Images, attributions: ArrayLike, original_class: Classes | None = None,
             target_class: Classes | None = None, **options: Any) -> MetricResult:
    """AOPC_all (ganmex_appendix.txt C.1): the mean score drop over all D flipped features."""
    return perturbation_curve(model, x, attributions, original_class, target_class, max_features=None, **options)


def deletion(model: Model, x: Images, attributions: ArrayLike, original_class: Classes | None = None,
             target_class: Classes | None = None, *, steps: int = 100, fill: FillerSpec = "zero",
             baselines: ArrayLike | None = None, granularity: Granularity = "pixel", score: Score = "probability",
             batch_size: int | None = None, strategy: Strategy | None = None, progress: Progress = False,
             input_range: Range | None = None) -> MetricResult:
    """Deletion (Petsiuk et al., 2018): area under S_w while the most important pixels are removed.

    ``steps`` levels between none and all features removed (evenly spaced counts); low is good.
    ``fill`` as in :func:`perturbation_curve`; ``input_range`` likewise (only the flip and noise fills need it).
    Returns a :class:`MetricResult` with extras ``fractions`` and ``scores`` (N, levels).
    """
    return _area_metric("deletion", "delete", False, model, x, attributions, original_class, target_class, steps,
                        fill, baselines, granularity, score, batch_size, strategy, progress, input_range)


def insertion(model: Model, x: Images, attributions: ArrayLike, original_class: Classes | None = None,
              target_class: Classes | None = None, *, steps: int = 100, fill: FillerSpec = "blur",
              baselines: ArrayLike | None = None, granularity: Granularity = "pixel", score: Score = "probability",
              batch_size: int | None = None, strategy: Strategy | None = None, progress: Progress = False,
              input_range: Range | None = None) -> MetricResult:
    """Insertion (Petsiuk et al., 2018): area under S_w while the most important pixels are put back
    into the fully filled image; high is good.

    The default ``fill="blur"`` is the fillers' one blur, sigma = 10 H / 224 px (1.25 at 28 px, 2.9 at 64).
    Until the fills were unified it was a fixed sigma = 5 px: pass ``fill=fillers.Blur(sigma=5.0)`` for those
    numbers (RISE's own code blurs with sigma 5 at 224 px, i.e. ``Blur(sigma=5 * H / 224)``).
    """
    return _area_metric("insertion", "insert", True, model, x, attributions, original_class, target_class, steps,
                        fill, baselines, granularity, score, batch_size, strategy, progress, input_range)


def _area_metric(label, mode, higher, model, x, attributions, original_class, target_class, steps, fill, baselines,
                 granularity, score, batch_size, strategy, progress, input_range):
    x, a = check_inputs(x, attributions)
    granularity = check_granularity(granularity)
    steps = check_positive_int(steps, "steps")
    n_features = feature_scores(a[:1], granularity).shape[1]
    levels = np.unique(np.round(np.linspace(0, n_features, min(steps, n_features) + 1)).astype(np.int64))
    fill_fn = resolve_fill(fill, x, input_range=metric_range(model, x, input_range), baselines=baselines)
    target = resolve_target(model, x, original_class, target_class, score)
    scores = score_curve(target, x, descending_ranks(feature_scores(a, granularity)), levels, fill_fn, mode,
                         granularity, batch_size=batch_size, strategy=strategy, progress=progress)
    fractions = levels / n_features
    area = trapezoid(scores, fractions, axis=1)
    return MetricResult(label, area, higher, {
        "fractions": fractions, "scores": scores,
        "settings": {"steps": steps, "fill": filler_name(fill_fn), "granularity": granularity, "score": score}})


def score_curve(target: Target, x: NDArray[np.float32], ranks: NDArray[Any], levels: ArrayLike, fill: Filler,
                mode: Literal["delete", "insert"] = "delete", granularity: Granularity = "element", *,
                batch_size: int | None = None, strategy: Strategy | None = None,
                progress: Progress = False) -> NDArray[np.float64]:
    """(N, len(levels)) S_w of every perturbation level of every image.

    Level k removes the features with rank < k (``mode="delete"``), or keeps only those and fills the rest
    (``mode="insert"``). ``ranks`` is (N, D) from :func:`descending_ranks`.
    """
    if mode not in MODES:
        raise InputError(f"mode: expected one of {MODES}, got {mode!r}")
    levels = np.asarray(levels, np.int32)
    references = reference_image(fill, x)
    if references is not None:
        if references.shape != x.shape:
            raise InputError(f"fill: its reference images have shape {references.shape}, expected {x.shape}")
        return _curve_in_graph(target, x, references, ranks, levels, mode, granularity, batch_size, strategy,
                               progress)
    return _curve_with_callable(target, x, fill, ranks, levels, mode, granularity, batch_size, strategy, progress)


def _mask_shape(x, granularity):
    return x.shape[1:3] + ((1,) if granularity == "pixel" else x.shape[3:])


def _chunk_and_block(n, n_levels, batch_size):
    chunk = batch_size or max(1, min(n, EVALUATIONS_PER_CALL // min(n_levels, EVALUATIONS_PER_CALL)))
    block = max(1, min(n_levels, EVALUATIONS_PER_CALL // chunk))
    return chunk, block


def _curve_in_graph(target, x, references, ranks, levels, mode, granularity, batch_size, strategy, progress):
    """All levels built inside one tf.function per chunk: perturbed = where(rank < k, reference, x)."""
    import tensorflow as tf

    n_levels = len(levels)
    chunk, block = _chunk_and_block(len(x), n_levels, batch_size)
    n_blocks = -(-n_levels // block)
    padded = np.concatenate([levels, np.repeat(levels[-1:], n_blocks * block - n_levels)])
    level_blocks = tf.constant(padded.reshape(n_blocks, block))
    mask_shape = _mask_shape(x, granularity)
    score_fn = target.score_fn
    insert = mode == "insert"

    def run(xc, refc, rc, wc):
        c = tf.shape(xc)[0]
        r = tf.reshape(rc, tf.concat([[1, c], mask_shape], 0))
        w_rep = tf.tile(wc, [block, 1])

        def body(i, acc):
            k = tf.reshape(level_blocks[i], (block, 1, 1, 1, 1))
            removed = r < k
            if insert:
                removed = tf.logical_not(removed)
            removed = tf.broadcast_to(removed, tf.concat([[block], tf.shape(xc)], 0))
            images = tf.where(removed, refc[None], xc[None])
            flat = tf.reshape(images, tf.concat([[block * c], tf.shape(xc)[1:]], 0))
            out = tf.reshape(score_fn.explained(flat, w_rep), (block, c))
            return i + 1, acc.write(i, out)

        acc = tf.TensorArray(tf.float32, size=n_blocks)
        _, acc = tf.while_loop(lambda i, _: i < n_blocks, body, (0, acc))
        stacked = tf.reshape(acc.stack(), (n_blocks * block, c))
        return tf.transpose(stacked[:n_levels])

    return map_batches(run, [x, references, ranks, target.weights], chunk, strategy=strategy, progress=progress,
                       desc="perturbation curve").astype(np.float64)


def _curve_with_callable(target, x, fill, ranks, levels, mode, granularity, batch_size, strategy, progress):
    """A mask-dependent fill (an inpainter): masks of many (image, level) pairs are filled per call."""
    from ..api import explained_scores

    n, n_levels = len(x), len(levels)
    chunk, block = _chunk_and_block(n, n_levels, batch_size)
    mask_shape = _mask_shape(x, granularity)
    out = np.empty((n, n_levels), np.float64)
    bar = progress_bar(n * n_levels, "perturbation curve", progress, unit="img")
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        xc, rc, wc = x[rows], ranks[rows], target.weights[rows]
        c = len(xc)
        for b0 in range(0, n_levels, block):
            ks = levels[b0 : b0 + block]
            removed = rc[None, :, :] < ks[:, None, None]  # (b, c, D)
            if mode == "insert":
                removed = ~removed
            masks = removed.reshape((len(ks) * c,) + mask_shape).astype(np.float32)
            images = np.tile(xc, (len(ks), 1, 1, 1))
            filled = np.asarray(fill(images, masks), np.float32)
            if filled.shape != images.shape:
                raise InputError(f"fill: returned shape {filled.shape} for images of shape {images.shape}")
            s = explained_scores(target.score_fn, filled, np.tile(wc, (len(ks), 1)), strategy,
                                 batch_size=EVALUATIONS_PER_CALL)
            out[rows, b0 : b0 + len(ks)] = s.reshape(len(ks), c).T
            bar.update(len(ks) * c)
    bar.close()
    return out
