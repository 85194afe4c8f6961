"""explain_keras: check inputs once, build the target, resolve the baseline, dispatch, wrap."""
from __future__ import annotations

import inspect

import numpy as np

from . import baselines as baselines_mod
from . import counterfactual, perturbation  # noqa: F401  - they register their methods in METHODS
from ._checks import option_types, positive_int
from .attribution import METHODS
from .baselines import PointBaselines, ReferenceSet
from .batching import map_batches
from .data import as_images
from .distribute import get_strategy
from .errors import InputError
from .explanation import Explanation
from .models import introspect
from .precision import check_precision
from .targets import _as_class_array, class_weights, resolve_classes, score_function

_COMMON = ("batch_size", "strategy", "progress")
# Options that count something: 0 or a negative number is a mistake, never "the default".
_COUNTS = {"steps", "window", "stride", "background_size", "n_segments", "num_samples", "samples"}


def explain_keras(model, x, *, method="integrated_gradients", baseline="zero", original_class=None,
                  target_class=None, score="probability", batch_size=None, strategy=None, data=None, seed=0,
                  progress="auto", baseline_options=None, allow_mismatch=False, precision="float32",
                  jit_compile=False, **method_options):
    """Explain a Keras image classifier's decisions, one-vs-all or one-vs-one.

    Args:
        model: a Keras 3 or tf_keras classifier whose output is (N, K) class scores.
        x: (N, H, W, C) or (H, W, C) images in the model's own input space (array or tensor).
        method: one of ``tfx_explain.attribution.METHODS`` (saliency, gradient_input, integrated_gradients,
            expected_gradients, deeplift, deepshap, occlusion, and the methods later modules register).
        baseline: ``"zero"``, ``"max"``, ``"blur"``, ``"uniform"``, ``"mdts"``, ``"random_target"``,
            ``"train"``, an array, a callable ``(x, target_class) -> baselines``, a trained GANMEX
            generator, or a path to one (see :mod:`tfx_explain.baselines`).
        original_class: c_o, an int or one per sample; default the model's predicted class.
        target_class: None for one-vs-all (explain S_co); an int or one per sample for one-vs-one,
            explaining the score delta S_co - S_ct (ganmex_appendix.txt A.3).
        score: ``"probability"`` (softmax output, as the reference) or ``"logit"`` (pre-softmax).
        batch_size: inputs per internal chunk (memory is bounded by it); default per method.
        strategy: a tf.distribute strategy or its name; chunks are split across its replicas.
        data: training data for ``mdts``, ``random_target`` and ``train`` baselines: a dataset name or
            an (images, labels) pair.
        seed: seeds every random choice (EG references and path points, random baselines).
        progress: show a progress bar (True, False, or "auto" on a terminal).
        baseline_options: options of the baseline, e.g. ``{"sigma": 1.0}`` for blur or
            ``{"input_range": (0, 1)}``.
        allow_mismatch: use a GANMEX generator (or a counterfactual explainer) trained against another
            classifier.
        precision: ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``: compute the model in 16 bits
            (GPUs); see :mod:`tfx_explain.precision` for the tolerance against float32.
        jit_compile: compile the attribution's traced functions with XLA.
        **method_options: the method's own options (e.g. ``steps=200`` for IG, ``window=3`` for occlusion).

    Returns:
        An :class:`~tfx_explain.Explanation`.
    """
    spec, options = _check_method(method, method_options)
    positive_int(batch_size, "batch_size", allow_none=True)
    check_precision(precision)
    introspect.check_model(model)
    x = as_images(x.numpy() if hasattr(x, "numpy") else x, "x")
    _check_input_shape(model, x)
    _check_classes_early(model, original_class, target_class, len(x))
    if spec.baseline != "none":
        baselines_mod.check_spec(baseline, x.shape, data)
    baseline_options = dict(baseline_options or {})
    _check_baseline_options(baseline_options)
    score_fn = score_function(model, score, probe=x[:1], one_vs_one=target_class is not None, precision=precision,
                              jit_compile=jit_compile)
    strategy = get_strategy(strategy) if strategy is not None else None
    predicted = None
    if original_class is None:
        predicted = predict_scores(score_fn, x, strategy).argmax(axis=1)
    co, ct = resolve_classes(original_class, target_class, len(x), score_fn.num_classes, predicted)
    weights = class_weights(co, ct, score_fn.num_classes)
    if spec.gradient:
        from .attribution._common import check_differentiable

        check_differentiable(score_fn, x, weights, method)

    refs = None
    if spec.baseline != "none":
        refs = baselines_mod.resolve(baseline, x, co, ct, data=data, seed=seed, model=model,
                                     allow_mismatch=allow_mismatch, **baseline_options)
        _check_baseline_form(method, spec.baseline, refs)
    call_baselines = refs.values if isinstance(refs, PointBaselines) else refs
    kwargs = dict(options, batch_size=batch_size, strategy=strategy, progress=progress)
    parameters = inspect.signature(spec.function).parameters
    if "seed" in parameters:
        kwargs.setdefault("seed", seed)
    if "allow_mismatch" in parameters:  # methods that use a trained explainer check its classifier
        kwargs["allow_mismatch"] = allow_mismatch
    result = spec.function(score_fn, x, weights, call_baselines, **kwargs)

    input_scores = explained_scores(score_fn, x, weights, strategy)
    shown = result.extras.pop("baselines", None)
    baseline_values = refs.values if isinstance(refs, PointBaselines) else shown
    baseline_scores = result.extras.pop("baseline_scores", None)
    if baseline_scores is None and isinstance(refs, PointBaselines):
        baseline_scores = explained_scores(score_fn, refs.values, weights, strategy)
    info = {"baseline": _baseline_name(baseline, refs), "seed": seed, **_public(options),
            **({"precision": precision} if precision != "float32" else {}),
            **({"jit_compile": True} if jit_compile else {}),
            **{k: v for k, v in result.extras.items() if np.ndim(v) == 0 or isinstance(v, (tuple, list))}}
    extras = {k: v for k, v in result.extras.items() if isinstance(v, np.ndarray) and v.ndim > 0}
    if isinstance(refs, PointBaselines):
        extras.update({k: v for k, v in refs.info.items() if isinstance(v, np.ndarray)})
    return Explanation(inputs=x, baselines=baseline_values, attributions=result.attributions.astype(np.float32),
                       original_class=co, target_class=ct, input_scores=input_scores,
                       baseline_scores=baseline_scores, method=method, score=score, options=info, extras=extras)


def predict_scores(score_fn, x, strategy=None, batch_size=512):
    """(N, K) class scores of the chosen kind, batched."""
    fn = score_fn.compiled(("scores",), lambda: score_fn.scores)
    return map_batches(fn, [x], batch_size, strategy=strategy, desc="scores")


def explained_scores(score_fn, x, weights, strategy=None, batch_size=512):
    """(N,) the explained scalar S_w at x."""
    fn = score_fn.compiled(("explained",), lambda: score_fn.explained)
    return map_batches(fn, [x, weights], batch_size, strategy=strategy,
                       desc="scores")


def _check_method(method, options):
    if method not in METHODS:
        raise InputError(f"method: expected one of {sorted(METHODS)}, got {method!r}")
    spec = METHODS[method]
    params = inspect.signature(spec.function).parameters
    accepted = {name for name, p in params.items() if p.kind == p.KEYWORD_ONLY and name not in _COMMON}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise InputError(f"method_options: {unknown} are not options of {method!r}; it accepts {sorted(accepted)}")
    option_types(options, {name: params[name].default for name in accepted}, "method_options")
    for key in _COUNTS & set(options):
        if isinstance(options[key], int):
            positive_int(options[key], f"method_options: {key}")
    return spec, options


def _check_input_shape(model, x):
    expected = introspect.input_shape(model)
    if expected is None:
        return
    if len(expected) != 3:
        raise InputError(f"model: expected an image model with (H, W, C) inputs, its input shape is {expected}")
    for got, want, axis in zip(x.shape[1:], expected, ("height", "width", "channels")):
        if want is not None and got != want:
            raise InputError(f"x: expected images of shape (N, {', '.join(str(e) for e in expected)}) for this "
                             f"model, got {x.shape} (the {axis} differs)")


def _check_classes_early(model, original_class, target_class, n):
    """The class arguments against the model's static class count, before the model is first called."""
    try:
        k = model.output_shape[-1]
    except (AttributeError, TypeError, IndexError, ValueError):
        return
    if not isinstance(k, int):
        return
    if original_class is not None:
        resolve_classes(original_class, target_class, n, k, None)
    elif target_class is not None:
        _as_class_array(target_class, n, k, "target_class")


def _check_baseline_options(options):
    allowed = {"sigma", "input_range"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InputError(f"baseline_options: unknown keys {unknown}; expected a subset of {sorted(allowed)}")


def _check_baseline_form(method, form, refs):
    if form == "point" and isinstance(refs, ReferenceSet):
        raise InputError(f"baseline: {method!r} takes one baseline per sample, but 'train' is a distribution; "
                         "use method='expected_gradients' or 'deepshap' with it")
    if form == "distribution" and not isinstance(refs, ReferenceSet):
        raise InputError(f"baseline: {method!r} draws references from a distribution; pass baseline='train' "
                         "with data=(images, labels) (the target class is used for one-vs-one)")


def _baseline_name(baseline, refs):
    return refs.name if refs is not None else None


def _public(options):
    return {k: v for k, v in options.items() if isinstance(v, (int, float, str, bool, tuple, list, type(None)))}
