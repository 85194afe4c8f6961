"""explain_keras: check inputs once, build the target, resolve the baseline, dispatch, wrap."""
from __future__ import annotations

import inspect
import warnings
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import baselines as baselines_mod
from . import counterfactual, perturbation  # noqa: F401  - they register their methods in METHODS
from . import input_range as ir
from ._checks import option_types, positive_int
from .attribution import METHODS
from .attribution import noise as attribution_noise
from .baselines import PointBaselines, ReferenceSet
from .data import as_images
from .distribute import get_strategy
from .errors import InputError
from .explanation import Explanation
from .models import introspect
from .precision import check_precision
from .errors import ExactnessWarning
from .models.introspect import check_input_shape as _check_input_shape  # noqa: F401  - re-exported
from .targets import (_as_class_array, class_weights, explained_scores, predict_scores, resolve_classes,
                      score_function)

if TYPE_CHECKING:
    import tensorflow as tf

    from ._typing import Baseline, Classes, Data, Head, Images, Model, Precision, Progress, Range, Score, Strategy

_COMMON = ("batch_size", "strategy", "progress", "input_range")
# Options that count something: 0 or a negative number is a mistake, never "the default".
_COUNTS = {"steps", "window", "stride", "background_size", "n_segments", "num_samples", "samples"}


def explain_keras(model: Model, x: Images | tf.data.Dataset, *, method: str = "integrated_gradients",
                  baseline: Baseline = "zero", original_class: Classes | Literal["labels"] | None = None,
                  target_class: Classes | None = None, score: Score = "probability", batch_size: int | None = None,
                  strategy: Strategy | None = None, data: Data | None = None, seed: int = 0,
                  progress: Progress = "auto", baseline_options: dict[str, Any] | None = None,
                  allow_mismatch: bool = False, precision: Precision = "float32", jit_compile: bool = False,
                  head: Head = "auto", input_range: Range | None = None, **method_options: Any) -> Explanation:
    """Explain a Keras image classifier's decisions, one-vs-all or one-vs-one.

    Args:
        model: a Keras 3 or tf_keras classifier whose output is (N, K) class scores.
        x: (N, H, W, C) or (H, W, C) images in the model's own input space (array or tensor); uint8 images
            are pixels in [0, 255] (computed as float32), accepted where the input range holds [0, 255].
            Or a finite ``tf.data.Dataset`` of images or (images, labels), batched or not: read into memory
            in chunks (:mod:`tfx_explain.data.stream`, the reader of ``scale.explain_dataset``, which streams
            large datasets to disk instead); its labels are ignored unless ``original_class="labels"``. An
            infinite or unknown-size dataset is refused (state its size with ``assert_cardinality``).
        method: one of ``tfx_explain.attribution.METHODS`` (saliency, gradient_input, integrated_gradients,
            expected_gradients, deeplift, deepshap, occlusion, and the methods later modules register).
        baseline: ``"zero"``, ``"max"``, ``"blur"``, ``"uniform"``, ``"mdts"``, ``"random_target"``,
            ``"train"``, an array, a callable ``(x, target_class) -> baselines``, a trained GANMEX
            generator, or a path to one (see :mod:`tfx_explain.baselines`).
        original_class: c_o, an int, one per sample, or one-hot rows (N, K) (as xplique's targets);
            ``"labels"`` takes the labels of a dataset ``x``; default the model's predicted class.
        target_class: None for one-vs-all (explain S_co); for one-vs-one the contrast class c_t (an int, one
            per sample, or one-hot rows (N, K)), explaining the score delta S_co - S_ct (ganmex_appendix.txt
            A.3). To explain class 3 alone (captum's ``target=3``), pass ``original_class=3``, not target_class.
        score: ``"probability"`` (softmax output, as the reference) or ``"logit"`` (pre-softmax). What S_k is
            for each output head (softmax, logits, sigmoid multi-label, binary single unit) is tabulated in
            :class:`~tfx_explain.targets.ScoreFunction`.
        head: what the model outputs: ``"auto"`` (read from its traced graph: a final Softmax or Sigmoid op,
            else logits, with a warning when the outputs do not look like logits), ``"softmax"``,
            ``"logits"`` or ``"sigmoid"``.
        batch_size: inputs per internal chunk (memory is bounded by it); default per method.
        strategy: a tf.distribute strategy or its name; chunks are split across its replicas.
        data: training data for ``mdts``, ``random_target`` and ``train`` baselines: a dataset name,
            an (images, labels) pair, or a finite tf.data.Dataset of (image, label) (streamed, never held whole,
            for ``mdts`` and ``random_target``: :mod:`tfx_explain.baselines.source`). It also gives the input range when neither ``input_range`` nor the
            model does.
        seed: seeds every random choice (EG references and path points, random baselines).
        progress: show a progress bar (True, False, or "auto" on a terminal).
        baseline_options: options of the baseline, e.g. ``{"sigma": 1.0}`` for blur (``"input_range"``
            here is deprecated: pass ``input_range=``).
        allow_mismatch: use a GANMEX generator (or a counterfactual explainer) trained against another
            classifier.
        precision: ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``: compute the model in 16 bits
            (GPUs); see :mod:`tfx_explain.precision` for the tolerance against float32.
        jit_compile: compile the attribution's traced functions with XLA.
        input_range: (low, high) of the model's input, scalars or per-channel arrays (e.g.
            ``tfx_explain.input_range.caffe_range()`` for ResNet50 / VGG16). Default: inferred from a
            Rescaling / Normalization layer at the model's input, else from ``data``
            (:mod:`tfx_explain.input_range`). Used by the ``"max"`` and ``"uniform"`` baselines and the
            ``"noise"`` filler (which raise without it), and to check x: values outside it raise InputError.
        **method_options: the method's own options (e.g. ``steps=200`` for IG, ``window=3`` for occlusion), and
            on gradient methods ``noise_samples=n, noise_std=0.2``: the map averaged over n noisy copies, std
            relative to the input range, baselines fixed (:mod:`tfx_explain.attribution.noise`).

    Returns:
        An :class:`~tfx_explain.Explanation`.

    Raises:
        InputError: bad arguments, x outside the input range, uint8 x or a range-dependent baseline or
            filler where nothing gives the range. ModelError, MismatchError: see :mod:`tfx_explain.errors`.

    Warns:
        ExactnessWarning: DeepLIFT / DeepSHAP met ops without a rule (the measured residual is named); fixed-step
            IG missed completeness by more than 5% of |S(x) - S(b)| on some sample; ``steps="auto"`` missed its
            tolerance. UserWarning: x (or a baseline) lies in [0, 1] while the inferred input range is pixels.
    """
    spec, options = _check_method(method, method_options)
    noise = attribution_noise.split_options(method, options)  # pops noise_samples= / noise_std= (noise.py)
    positive_int(batch_size, "batch_size", allow_none=True)
    check_precision(precision)
    introspect.check_model(model)
    x, original_class = _dataset_input(x, original_class)
    raw = x.numpy() if hasattr(x, "numpy") else x
    x = as_images(raw, "x")
    introspect.check_input_shape(model, x)
    _check_classes_early(model, original_class, target_class, len(x))
    if spec.baseline != "none":
        baselines_mod.check_spec(baseline, x.shape, data)
    baseline_options = dict(baseline_options or {})
    _check_baseline_options(baseline_options)
    needs_range = _needs_range(spec, baseline, options) or attribution_noise.range_need(method, spec.function, noise)
    # a dataset name is loaded for its range only where the range is needed (arrays are cheap to read)
    range_data = data if (needs_range or not isinstance(data, str)) else None
    rng = _input_range(input_range, baseline_options.pop("input_range", None), model, range_data, x.shape[-1])
    ir.check(x, rng, "x", uint8=np.asarray(raw).dtype == np.uint8)
    if needs_range:
        ir.require(rng, needs_range)  # before any work
    score_fn = score_function(model, score, probe=x[:1], one_vs_one=target_class is not None, precision=precision,
                              jit_compile=jit_compile, head=head)
    strategy = get_strategy(strategy) if strategy is not None else None
    if spec.classes is not None:  # a trained explainer explains its own classes (or refuses others)
        co, ct, options = spec.classes(score_fn, x, original_class, target_class, options)
    else:
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
                                     allow_mismatch=allow_mismatch, input_range=rng, **baseline_options)
        _check_baseline_form(method, spec.baseline, refs)
        # an array or callable of the user's, or MDTS from other-scale data (InputRange.bound: a range read off
        # the data's own min and max is no bound of the model's inputs)
        if isinstance(refs, PointBaselines) and rng is not None and rng.bound:
            ir.check(refs.values, rng, "baseline")
    call_baselines = refs.values if isinstance(refs, PointBaselines) else refs
    kwargs = dict(options, batch_size=batch_size, strategy=strategy, progress=progress)
    parameters = inspect.signature(spec.function).parameters
    if "seed" in parameters:
        kwargs.setdefault("seed", seed)
    if "allow_mismatch" in parameters:  # methods that use a trained explainer check its classifier
        kwargs["allow_mismatch"] = allow_mismatch
    if "input_range" in parameters:  # methods whose fillers need the range (the "noise" filler)
        kwargs["input_range"] = rng
    result = attribution_noise.run(spec.function, noise, score_fn, x, weights, call_baselines, kwargs, seed=seed,
                                   input_range=rng)

    # a method may explain other weights than e_co - e_ct (EG's one_vs_one="reference" explains S_co alone)
    weights = result.extras.pop("explained_weights", weights)
    input_scores = result.extras.pop("input_scores", None)  # S_w(x) where the method's own pass gave it
    if input_scores is None:
        input_scores = explained_scores(score_fn, x, weights, strategy)
    shown = result.extras.pop("baselines", None)
    baseline_values = refs.values if isinstance(refs, PointBaselines) else shown
    baseline_scores = result.extras.pop("baseline_scores", None)
    if baseline_scores is None and isinstance(refs, PointBaselines):
        baseline_scores = explained_scores(score_fn, refs.values, weights, strategy)
    info = {"baseline": _baseline_name(baseline, refs), "seed": seed, **_public(options),
            **({"precision": precision} if precision != "float32" else {}),
            **({"jit_compile": True} if jit_compile else {}),
            **({"input_range": list(rng.as_tuple()), "input_range_source": rng.source} if rng is not None else {}),
            **{k: v for k, v in result.extras.items() if np.ndim(v) == 0 or isinstance(v, (tuple, list))}}
    extras = {k: v for k, v in result.extras.items() if isinstance(v, np.ndarray) and v.ndim > 0}
    _warn_uncovered(method, result.extras.get("uncovered_ops"), input_scores, baseline_scores, result.attributions)
    if method == "integrated_gradients" and noise is None and options.get("steps", 200) != "auto":
        _warn_incomplete(options.get("steps", 200), input_scores, baseline_scores, result.attributions)
    if isinstance(refs, PointBaselines):
        extras.update({k: v for k, v in refs.info.items() if isinstance(v, np.ndarray)})
    return Explanation(inputs=x, baselines=baseline_values, attributions=result.attributions.astype(np.float32),
                       original_class=co, target_class=ct, input_scores=input_scores,
                       baseline_scores=baseline_scores, method=method, score=score, options=info, extras=extras)


def _warn_uncovered(method, uncovered, input_scores, baseline_scores, attributions):
    """Warn, with the measured residual, when a rule-based method met ops without a rule (DeepLIFT, DeepSHAP)."""
    if not uncovered or baseline_scores is None:
        return
    import warnings

    delta = input_scores - baseline_scores
    residual = np.abs(attributions.reshape(len(delta), -1).sum(axis=1) - delta)
    scale = max(float(np.abs(delta).max()), 1e-12)
    more = f" and {len(uncovered) - 1} more" if len(uncovered) > 1 else ""
    warnings.warn(f"{method}: no rule for {uncovered[0]}{more}; their gradients stand in for DeepLIFT multipliers, "
                  f"so the map is not exact: measured max |sum(A) - (S(x) - S(b))| = {residual.max():.3g} "
                  f"({residual.max() / scale:.1%} of max |S(x) - S(b)|). strict=True refuses such models; "
                  "integrated_gradients and occlusion need no rules", ExactnessWarning, stacklevel=3)


# A fixed-step IG map whose completeness residual exceeds this share of |S(x) - S(b)| on some sample is named in
# an ExactnessWarning: the quadrature error is then large enough to change how the map reads (issue 18 stops
# steps="auto" at 1%; 5% leaves room for the usual few-percent error of 200 right-Riemann steps on ReLU nets).
INCOMPLETE_IG = 0.05


def _warn_incomplete(steps, input_scores, baseline_scores, attributions):
    """Warn when fixed-step IG misses completeness, sum A = S(x) - S(b) (Sundararajan et al. 2017, Prop. 1), by
    more than :data:`INCOMPLETE_IG` of |S(x) - S(b)| on some sample (residuals under 1e-4 in units of S, float32
    noise for a delta near 0, are ignored)."""
    if baseline_scores is None:
        return
    import warnings

    delta = np.asarray(input_scores, np.float64) - baseline_scores
    residual = np.abs(attributions.reshape(len(delta), -1).sum(axis=1, dtype=np.float64) - delta)
    missed = (residual > INCOMPLETE_IG * np.abs(delta)) & (residual > 1e-4)
    if not missed.any():
        return
    worst = int(np.argmax(np.where(missed, residual / np.maximum(np.abs(delta), 1e-12), -1.0)))
    warnings.warn(f"integrated_gradients: with steps={steps}, {int(missed.sum())} of {len(delta)} maps miss "
                  f"completeness by more than {INCOMPLETE_IG:.0%}: worst |sum(A) - (S(x) - S(b))| = "
                  f"{residual[worst]:.3g} against |S(x) - S(b)| = {abs(delta[worst]):.3g} (sample {worst}); raise "
                  "steps, or pass steps='auto' to refine each sample to a tolerance", ExactnessWarning, stacklevel=3)


def _check_method(method, options):
    if method not in METHODS:
        raise InputError(f"method: expected one of {sorted(METHODS)}, got {method!r}")
    spec = METHODS[method]
    params = inspect.signature(spec.function).parameters
    accepted = {name for name, p in params.items() if p.kind == p.KEYWORD_ONLY and name not in _COMMON}
    own = dict(options)
    attribution_noise.split_options(method, own)  # checks and removes noise_samples= / noise_std= (noise.py)
    unknown = sorted(set(own) - accepted)
    if unknown:
        raise InputError(f"method_options: {unknown} are not options of {method!r}; it accepts {sorted(accepted)}")
    typed = {k: v for k, v in own.items() if not (k == "steps" and isinstance(v, str))}  # steps="auto": below
    option_types(typed, {name: params[name].default for name in accepted}, "method_options")
    for key in _COUNTS & set(own):
        if isinstance(own[key], int):
            positive_int(own[key], f"method_options: {key}")
    check = getattr(spec.function, "check_options", None)
    if check is not None:  # the method's own up-front checks (IG / EG: steps="auto", tolerance=, max_steps=)
        try:
            check(own)
        except InputError as err:
            raise InputError(f"method_options: {err}") from None
    return spec, options


def _dataset_input(x, original_class):
    """(images, original_class): a tf.data.Dataset ``x`` read into memory, its labels used only where
    ``original_class="labels"`` asks for them (labels are often not what the model predicts)."""
    from .data import stream

    if not stream.is_dataset(x):
        if isinstance(original_class, str) and original_class == "labels":
            raise InputError("original_class: 'labels' takes the labels of a tf.data.Dataset x of (images, labels); "
                             "x is not a dataset, so pass the classes themselves")
        return x, original_class
    images, labels = stream.read_all(x, "x")
    if isinstance(original_class, str) and original_class == "labels":
        if labels is None:
            raise InputError("original_class: 'labels' needs a dataset x of (images, labels), but its elements are "
                             "images alone")
        original_class = labels.reshape(len(labels)) if labels.ndim == 2 and labels.shape[1] == 1 else labels
    return images, original_class


def _check_classes_early(model, original_class, target_class, n):
    """The class arguments against the model's static class count, before the model is first called."""
    if isinstance(target_class, str):  # "all" / "random" are the dataset runs' and the metrics' words
        raise InputError(f"target_class: {target_class!r} is for whole datasets (scale.explain_dataset, "
                         "metrics.expand_targets, tfx-explain --target-class all); explain_keras takes one contrast "
                         "class per image: an int, one int per image, or one-hot rows")
    try:
        k = model.output_shape[-1]
    except (AttributeError, TypeError, IndexError, ValueError):
        return
    if not isinstance(k, int):
        return
    k = 2 if k == 1 else k  # a single unit is a binary head: classes 0 and 1 (targets.ScoreFunction)
    if original_class is not None:
        resolve_classes(original_class, target_class, n, k, None)
    elif target_class is not None:
        _as_class_array(target_class, n, k, "target_class")


def _check_baseline_options(options):
    allowed = {"sigma", "input_range"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InputError(f"baseline_options: unknown keys {unknown}; expected a subset of {sorted(allowed)}")


def _input_range(input_range, legacy, model, data, channels):
    """The one input range of this call (:func:`tfx_explain.input_range.resolve`); the legacy
    ``baseline_options["input_range"]`` still works, with a DeprecationWarning."""
    if legacy is not None:
        warnings.warn("baseline_options['input_range'] is deprecated: pass explain_keras(input_range=...), which "
                      "also reaches the fillers and checks x", DeprecationWarning, stacklevel=3)
        if input_range is None:
            input_range = legacy
    return ir.resolve(input_range, model, data, channels)


def _needs_range(spec, baseline, options):
    """What in this call needs the input range (a baseline or filler name), or None."""
    if spec.baseline != "none" and isinstance(baseline, str) and baseline in baselines_mod.NEEDS_RANGE:
        return f'baseline "{baseline}"'
    if isinstance(options.get("filler"), str) and options["filler"] in ("noise", "flip"):
        return f'filler "{options["filler"]}"'
    return None


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
