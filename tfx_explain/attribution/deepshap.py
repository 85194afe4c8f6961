"""DeepSHAP (Lundberg & Lee, 2017; Chen et al., 2019; ganmex_main.txt §2.1) for the score delta.

``engine="shap"`` (default) runs the shap package's ``DeepExplainer``, as the GANMEX authors did
(ganmex_appendix.txt A.3; ganmex.md §3.5): it is fed a Keras model whose single output is the explained
scalar S_w = w . S(x) (the score delta for one-vs-one) and the custom background: the sample's own
baseline (a GANMEX or MDTS image, one explainer per distinct baseline as in the reference), or, for
``baseline="train"``, ``background_size`` training images of the target class (any class for
one-vs-all), drawn once per class with ``seed``. shap handles the softmax with its own rule.

``engine="native"`` is defined as the mean over background references of *our* DeepLIFT
(:mod:`.deeplift`, one rule per op in :mod:`.rules`), batched on TF; per-sample backgrounds are drawn per
(seed, sample). It equals shap's DeepExplainer (to 1e-5, ``tests/attribution/test_model_zoo.py``) on models
built from ReLU, max pooling and dense/conv layers explained on logits, where both use the same rules.
Elsewhere it is a different estimator, and the two disagree by design:

- the softmax: shap has its own softmax handler; native uses the exact path rule (:mod:`.rules`);
- swish/SiLU: shap has no rule (Keras' ``tf.nn.silu`` keeps its custom gradient there); native traces
  x·σ(x) and applies the Shapley product rule;
- reduce-max (global max pooling): shap treats it as element-wise; native splits Δmax exactly;
- products of two input-dependent tensors (squeeze-and-excitation gates) with broadcasting: shap's Mul
  handler mishandles the broadcast gate; native uses the two-player Shapley split.

Native satisfies summation-to-delta, sum_i phi_i = S_w(x) - mean_b S_w(b), wherever the traced-path check
finds every op covered; otherwise ``explain_keras`` warns with the measured residual (``strict=True`` refuses).
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..baselines.base import ReferenceSet
from ..errors import InputError, ModelError
from ..models import introspect
from ._common import MethodResult
from .deeplift import deeplift_multi_reference

if TYPE_CHECKING:
    from .._typing import Float32, Progress, Strategy
    from ..targets import ScoreFunction

ENGINES = ("shap", "native")


def deepshap(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | ReferenceSet, *,
             engine: Literal["shap", "native"] = "shap", background_size: int = 100, seed: int = 0,
             strict: bool = False, batch_size: int | None = None, strategy: Strategy | None = None,
             progress: Progress = False) -> MethodResult:
    """DeepSHAP attributions with a point baseline per sample ((N, H, W, C) array) or a ReferenceSet.

    ``strict`` (native engine): refuse a model with an op that has no DeepLIFT rule instead of warning."""
    if engine not in ENGINES:
        raise InputError(f"engine: expected one of {ENGINES}, got {engine!r}")
    if engine == "native":
        if isinstance(baselines, ReferenceSet):
            refs = baselines.draw(np.arange(len(x)), int(background_size), seed)
        else:
            refs = baselines[:, None]
        result = deeplift_multi_reference(score_fn, x, weights, refs, strict=strict, batch_size=batch_size,
                                          strategy=strategy, progress=progress)
        result.extras.update(engine="native", baselines=refs.mean(axis=1),
                             baseline_scores=_mean_reference_scores(score_fn, refs, weights, strategy))
        return result
    return _with_shap(score_fn, x, weights, baselines, int(background_size), seed, progress)


def _mean_reference_scores(score_fn, refs, weights, strategy):
    """mean_r S_w(b_r) per sample: the value DeepSHAP's attributions sum down to."""
    from ..targets import explained_scores

    n, r = refs.shape[:2]
    flat = refs.reshape((n * r,) + refs.shape[2:])
    return explained_scores(score_fn, flat, np.repeat(weights, r, axis=0), strategy).reshape(n, r).mean(axis=1)


def _score_model(score_fn):
    """A Keras 3 model from images to the chosen class scores, for shap to trace."""
    import keras

    model = score_fn.model
    if introspect.keras_module(model) is not keras:
        raise ModelError("model: engine='shap' needs a Keras 3 model (shap does not trace tf_keras models); "
                         "use engine='native'")
    if score_fn.units == 1:
        raise ModelError("model: engine='shap' needs K >= 2 output units; for a binary head use engine='native'")
    if score_fn.kind == "probability":
        if score_fn.head == "logits":
            inputs = keras.Input(model.input_shape[1:])
            return keras.Model(inputs, keras.layers.Softmax()(model(inputs)))
        return model
    if score_fn.head == "logits":
        return model
    sub = introspect.logits_model(model)
    if sub is not None:
        return sub
    raise ModelError("score: engine='shap' with score='logit' needs a model with a separate final softmax "
                     "layer or a logits output; use engine='native'")


def _delta_model(score_model, w):
    import keras

    inputs = keras.Input(score_model.input_shape[1:])
    head = keras.layers.Dense(1, use_bias=False, trainable=False)
    out = head(score_model(inputs))
    head.set_weights([np.asarray(w, np.float32).reshape(-1, 1)])
    return keras.Model([inputs], out)  # shap calls its model with a list of inputs: built the same way, no warning


def _groups(x, weights, baselines, background_size, seed):
    """Yield (rows, w, background): samples sharing output weights and background are explained together."""
    if isinstance(baselines, ReferenceSet):
        keys = [weights[i].tobytes() for i in range(len(x))]
        backgrounds = {}
        for i, key in enumerate(keys):
            cls = None if baselines.classes is None else int(baselines.classes[i])
            backgrounds.setdefault((key, cls), []).append(i)
        plans = []  # (rows, group, ranks among the group's candidates): choice over an array picks these positions
        for (key, cls), rows in backgrounds.items():
            group = 0 if cls is None else cls
            size = baselines.pool_size(group)
            rng = np.random.default_rng([seed] if cls is None else [seed, cls])  # entropy must be >= 0
            plans.append((rows, group, np.sort(rng.choice(size, size=min(background_size, size), replace=False))))
        if not plans:
            return
        # one locate for all groups: a streamed pool fetches every background in one pass
        index = baselines.locate(np.concatenate([np.full(len(p), g, np.int64) for _, g, p in plans]),
                                 np.concatenate([p for _, _, p in plans])[:, None])[:, 0]
        for (rows, _, _), part in zip(plans, np.split(index, np.cumsum([len(p) for _, _, p in plans])[:-1])):
            yield np.asarray(rows), weights[rows[0]], baselines.pool[part]
        return
    keys = [weights[i].tobytes() + baselines[i].tobytes() for i in range(len(x))]
    groups = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    for rows in groups.values():
        yield np.asarray(rows), weights[rows[0]], baselines[rows[0]][None]


@contextlib.contextmanager
def _tensorflow_state_restored():
    """Put back what shap swaps inside TensorFlow (eager gradient recording, the gradient registry and the
    backprop filter), whether or not shap finishes: shap restores them only on success, and a failure left
    every later gradient in the process failing with "gradient registry has no entry for: shap_..."."""
    from tensorflow.python.eager import execute as tf_execute
    from tensorflow.python.framework import ops as tf_ops
    from tensorflow.python.ops import gradients_util

    registry = tf_ops._gradient_registry._registry
    record_gradient = tf_execute.record_gradient
    entries = {name: dict(entry) for name, entry in registry.items()}
    backpropagatable = getattr(gradients_util, "_IsBackpropagatable", None)
    try:
        yield
    finally:
        tf_execute.record_gradient = record_gradient
        for name in set(registry) - set(entries):
            del registry[name]
        for name, entry in entries.items():
            registry[name] = entry
        if backpropagatable is not None:
            gradients_util._IsBackpropagatable = backpropagatable


def _with_shap(score_fn, x, weights, baselines, background_size, seed, progress):
    import shap

    from ..batching import progress_bar

    score_model = _score_model(score_fn)
    out = np.zeros_like(x)
    mean_background = np.zeros_like(x)
    expected = np.zeros(len(x), np.float32)
    models = {}
    groups = list(_groups(x, weights, baselines, background_size, seed))
    bar = progress_bar(len(x), "deepshap (shap)", progress, unit="img")
    with _tensorflow_state_restored():
        try:
            for rows, w, background in groups:
                key = w.tobytes()
                if key not in models:
                    models[key] = _delta_model(score_model, w)
                explainer = shap.DeepExplainer(models[key], background)
                values = np.asarray(explainer.shap_values(x[rows], check_additivity=False))
                out[rows] = values.reshape(x[rows].shape)  # a single output: (n, H, W, C[, 1])
                mean_background[rows] = background.mean(axis=0)
                expected[rows] = float(np.ravel(explainer.expected_value)[0])
                bar.update(len(rows))
        except Exception as err:  # noqa: BLE001 - shap fails in many ways on layers it does not know
            text = " ".join(str(err).split())[:200]
            raise ModelError(f"model: shap's DeepExplainer failed on this model ({type(err).__name__}: {text}); "
                             'use engine="native"') from err
        finally:
            bar.close()
    return MethodResult(out, {"engine": "shap", "baselines": mean_background, "baseline_scores": expected,
                              "explainers": len(groups)})


__all__ = ["deepshap"]
