"""Single-feature alteration metrics (ganmex_appendix.txt C.4): faithfulness and monotonicity.

Both alter one feature at a time and compare the effect with the attribution. For feature i,

    delta_i = S_w(x) - S_w(x with feature i altered)

where S_w is the explained score (S_co, or S_co - S_ct for one-vs-one, as in C.1) and "altered" uses the
same fill as the perturbation curve: the flip 1 - x by default (C.1). The papers' own removal values
differ (AIX360 replaces x_i by a per-feature ``base``); pass ``fill="baseline"`` with the attribution
baselines, or any fill, to use another.

* Faithfulness (Alvarez-Melis & Jaakkola, 2018; Tomsett et al., 2019): the Pearson correlation between
  A_i and delta_i over the features of one sample; AIX360's ``faithfulness_metric`` computes
  -corr(A, S(x with i removed)), which is the same number.
* Monotonicity (Nguyen & Martinez, 2020, Eq. 6): the Spearman rank correlation between |A_i| and the
  importance of feature i, measured as the expected squared change of the score when i is altered,
  E[(S_w(x) - S_w(x_i altered))^2] = delta_i^2 for a deterministic fill (ranks of delta_i^2 are those of
  |delta_i|).

Both are higher-is-better, in [-1, 1]; NaN for a sample whose map or deltas are constant.
The D single-feature alterations of many images are evaluated in batches (one model call covers
``EVALUATIONS_PER_CALL`` altered images); pass ``deltas=`` to reuse them between the two metrics.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..data import as_images
from ..errors import InputError
from ..perturbation.fillers import filler_name, reference_image
from ._common import (MetricResult, check_granularity, check_inputs, feature_scores, metric_range, pearson_rows,
                      resolve_fill, resolve_target, spearman_rows)
from .perturbation import score_curve

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from .._typing import Classes, FillerSpec, Granularity, Images, Model, Progress, Range, Score, Strategy


def single_feature_deltas(model: Model, x: Images, original_class: Classes | None = None,
                          target_class: Classes | None = None, *, fill: FillerSpec = "flip",
                          baselines: ArrayLike | None = None, granularity: Granularity = "element",
                          score: Score = "probability", batch_size: int | None = None,
                          strategy: Strategy | None = None, progress: Progress = False,
                          input_range: Range | None = None) -> NDArray[np.float64]:
    """(N, D) delta_i = S_w(x) - S_w(x with only feature i altered), for every feature of every sample.

    A mask-independent fill (flip, zero, baseline, ...) is applied inside one TensorFlow function to
    ``EVALUATIONS_PER_CALL`` single-feature masks at a time; a mask-dependent fill is called on batches of
    one-hot masks. ``input_range`` as in :func:`~tfx_explain.metrics.perturbation_curve`: the flip needs it.
    """
    x = as_images(x.numpy() if hasattr(x, "numpy") else x, "x")
    check_granularity(granularity)
    fill_fn = resolve_fill(fill, x, input_range=metric_range(model, x, input_range), baselines=baselines)
    target = resolve_target(model, x, original_class, target_class, score)
    n_features = feature_scores(x[:1], granularity).shape[1]
    return _single_deltas(target, x, fill_fn, n_features, granularity, batch_size, strategy, progress)


def _single_deltas(target, x, fill_fn, n_features, granularity, batch_size, strategy, progress):
    import tensorflow as tf

    from ..api import explained_scores
    from ..batching import map_batches
    from ._common import EVALUATIONS_PER_CALL

    base = explained_scores(target.score_fn, x, target.weights, strategy).astype(np.float64)
    references = reference_image(fill_fn, x)
    if references is None:
        # a mask-dependent fill: one-hot masks through the generic curve engine, feature by feature order
        eye_ranks = np.broadcast_to(np.arange(n_features, dtype=np.int32), (len(x), n_features))
        cumulative = score_curve(target, x, eye_ranks, np.arange(1, n_features + 1), _OneHotFill(fill_fn), "delete",
                                 granularity, batch_size=batch_size, strategy=strategy, progress=progress)
        return base[:, None] - cumulative
    mask_shape = x.shape[1:3] + ((1,) if granularity == "pixel" else x.shape[3:])
    chunk = batch_size or max(1, min(len(x), EVALUATIONS_PER_CALL // min(n_features, EVALUATIONS_PER_CALL)))
    block = max(1, min(n_features, EVALUATIONS_PER_CALL // chunk))
    n_blocks = -(-n_features // block)
    score_fn = target.score_fn
    feature_ids = tf.reshape(tf.range(n_features), (1,) + mask_shape)

    def run(xc, refc, wc):
        c = tf.shape(xc)[0]
        w_rep = tf.tile(wc, [block, 1])

        def body(i, acc):
            which = tf.reshape(i * block + tf.range(block), (block, 1, 1, 1))
            single = tf.equal(feature_ids, which)[:, None]  # (block, 1, H, W, C or 1): feature i*block + j
            altered = tf.broadcast_to(single, tf.concat([[block], tf.shape(xc)], 0))
            images = tf.where(altered, refc[None], xc[None])
            flat = tf.reshape(images, tf.concat([[block * c], tf.shape(xc)[1:]], 0))
            return i + 1, acc.write(i, tf.reshape(score_fn.explained(flat, w_rep), (block, c)))

        acc = tf.TensorArray(tf.float32, size=n_blocks)
        _, acc = tf.while_loop(lambda i, _: i < n_blocks, body, (0, acc))
        return tf.transpose(tf.reshape(acc.stack(), (n_blocks * block, c))[:n_features])

    altered = map_batches(run, [x, references, target.weights], chunk, strategy=strategy, progress=progress,
                          desc="single-feature alterations")
    return base[:, None] - altered.astype(np.float64)


class _OneHotFill:
    """Turns the cumulative masks rank < k (with identity ranks) into the single-feature mask of feature k-1."""

    def __init__(self, fill):
        self.fill = fill
        self.name = filler_name(fill)

    def __call__(self, images, masks):
        flat = masks.reshape(len(masks), -1)
        count = flat.sum(axis=1).astype(np.int64)  # k features are masked: keep only feature k - 1
        single = np.zeros_like(flat)
        single[np.arange(len(flat)), np.maximum(count - 1, 0)] = (count > 0)
        return self.fill(images, single.reshape(masks.shape))


def faithfulness(model: Model, x: Images, attributions: ArrayLike, original_class: Classes | None = None,
                 target_class: Classes | None = None, *, deltas: ArrayLike | None = None, fill: FillerSpec = "flip",
                 baselines: ArrayLike | None = None, granularity: Granularity = "element",
                 score: Score = "probability", batch_size: int | None = None, strategy: Strategy | None = None,
                 progress: Progress = False, input_range: Range | None = None) -> MetricResult:
    """Faithfulness (Alvarez-Melis & Jaakkola, 2018): Pearson corr(A_i, delta_i) per sample."""
    x, a, deltas = _prepare(model, x, attributions, original_class, target_class, deltas, fill, baselines,
                            granularity, score, batch_size, strategy, progress, input_range)
    values = pearson_rows(feature_scores(a, granularity), deltas)
    return MetricResult("faithfulness", values, True, _settings(fill, granularity, score))


def monotonicity(model: Model, x: Images, attributions: ArrayLike, original_class: Classes | None = None,
                 target_class: Classes | None = None, *, deltas: ArrayLike | None = None, fill: FillerSpec = "flip",
                 baselines: ArrayLike | None = None, granularity: Granularity = "element",
                 score: Score = "probability", batch_size: int | None = None, strategy: Strategy | None = None,
                 progress: Progress = False, input_range: Range | None = None) -> MetricResult:
    """Monotonicity (Nguyen & Martinez, 2020): Spearman corr(|A_i|, delta_i^2) per sample."""
    x, a, deltas = _prepare(model, x, attributions, original_class, target_class, deltas, fill, baselines,
                            granularity, score, batch_size, strategy, progress, input_range)
    values = spearman_rows(np.abs(feature_scores(a, granularity)), deltas ** 2)
    return MetricResult("monotonicity", values, True, _settings(fill, granularity, score))


def _prepare(model, x, attributions, original_class, target_class, deltas, fill, baselines, granularity, score,
             batch_size, strategy, progress, input_range):
    x, a = check_inputs(x, attributions)
    check_granularity(granularity)
    n_features = feature_scores(a[:1], granularity).shape[1]
    if deltas is None:
        deltas = single_feature_deltas(model, x, original_class, target_class, fill=fill, baselines=baselines,
                                       granularity=granularity, score=score, batch_size=batch_size,
                                       strategy=strategy, progress=progress, input_range=input_range)
    deltas = np.asarray(deltas, np.float64)
    if deltas.shape != (len(x), n_features):
        raise InputError(f"deltas: expected shape {(len(x), n_features)} (from single_feature_deltas), got "
                         f"{deltas.shape}")
    return x, a, deltas


def _settings(fill, granularity, score):
    name = fill if isinstance(fill, str) else filler_name(fill)
    return {"settings": {"fill": name, "granularity": granularity, "score": score}}
