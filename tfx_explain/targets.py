"""Which scalar is explained: the class score S_co (one-vs-all) or the score delta S_co - S_ct (one-vs-one).

GANMEX (ganmex_appendix.txt A.3) explains S_co - S_ct. Every attribution method of tfx_explain is given
per-sample output weights ``w`` (N, K) and explains ``S_w(x) = sum_k w_k S_k(x)``: ``w = e_co`` for
one-vs-all and ``w = e_co - e_ct`` for one-vs-one. Methods that are linear in the output (gradients, IG,
EG, DeepLIFT, occlusion) therefore give exactly ``map(S_co) - map(S_ct)`` for one-vs-one.

Scores are ``"probability"`` (the softmax output, as the reference harness used, ganmex.md §3.3) or
``"logit"`` (pre-softmax), found in the model's traced graph without modifying the model. Softmax, logit,
sigmoid multi-label and binary single-unit heads are each handled explicitly (:class:`ScoreFunction`).
"""
from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np

from .errors import InputError, ModelError
from .models import introspect

SCORES = ("probability", "logit")


_CACHE: OrderedDict = OrderedDict()  # (id(model), kind, one_vs_one, precision, jit) -> ScoreFunction; holds the model
_CACHE_SIZE = 8


def score_function(model, kind="probability", *, probe, one_vs_one=False, precision="float32", jit_compile=False,
                   head="auto"):
    """A :class:`ScoreFunction`, reused across calls on the same model so its traced functions are reused.

    The model is checked on ``probe`` every time (a cached model through a traced call: an eager call of a large
    backbone costs about a second, more than the work of a few images); only the last few models are kept.
    """
    key = (id(model), kind, bool(one_vs_one), precision, bool(jit_compile), head)
    cached = _CACHE.get(key)
    if cached is not None and cached.user_model is model:
        probe = np.asarray(probe, np.float32)
        traced = cached.compiled(("probe_outputs", probe.shape[1:]),
                                 lambda: lambda v: introspect.call_model(cached.user_model, v))
        introspect.probe_outputs(model, probe, call=traced)
        _CACHE.move_to_end(key)
        return cached
    fn = ScoreFunction(model, kind, probe=probe, one_vs_one=one_vs_one, precision=precision,
                       jit_compile=jit_compile, head=head)
    _CACHE[key] = fn
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return fn


class ScoreFunction:
    """Class scores S_k of a Keras model as TensorFlow ops, of the kind asked for, for every output head.

    ``head`` says what the model outputs (found from its traced graph with ``"auto"``):

    ==============  =====================================  ===========================================
    head            ``score="probability"``: S_k           ``score="logit"``: S_k
    ==============  =====================================  ===========================================
    softmax         the model's output p_k                 z_k, the softmax's input (found in the
                                                           traced graph: separate layer, fused into a
                                                           Dense, nested or subclassed model)
    logits          softmax(z)_k                           the model's output z_k
    sigmoid, K > 1  the model's output σ(z_k) (multi-      z_k, the sigmoid's input
                    label: classes are not exclusive)
    sigmoid, K = 1  (1 − p, p): class 1 = p, class 0 = 1−p  (0, z), so softmax((0, z)) = (1 − p, p)
    logits, K = 1   (1 − σ(z), σ(z))                        (0, z)
    ==============  =====================================  ===========================================

    One-vs-one explains S_co − S_ct; for the binary head the logit delta is ±z. A softmax or sigmoid that
    cannot be seen in the graph (hidden behind a ``TFSMLayer``) but is declared with ``head=`` gives logits
    as log p (softmax: exact for one-vs-one deltas only) or log p − log(1 − p) (sigmoid).

    Attributes:
        kind: "probability" or "logit".
        head: "softmax", "logits" or "sigmoid".
        units: the model's output width (1 for binary heads).
        num_classes: K (2 for a binary head).
        precision: how the scores are computed (see :mod:`tfx_explain.precision`); ``model`` is the model
            actually called (a float32 or mixed-precision copy of ``user_model`` when needed).
        jit_compile: whether the score functions are compiled with XLA.
    """

    def __init__(self, model, kind="probability", *, probe, one_vs_one=False, precision="float32", jit_compile=False,
                 head="auto"):
        from .precision import compute_model

        if kind not in SCORES:
            raise InputError(f"score: expected one of {SCORES}, got {kind!r}")
        self.user_model = model
        self.precision, self.jit_compile = precision, bool(jit_compile)
        model = compute_model(model, precision)
        self.model = model
        self.kind = kind
        self._compiled = {}
        outputs = introspect.probe_outputs(model, probe)
        self.head, self._activation_visible = introspect.output_head(model, probe, outputs, head)
        self.units = int(outputs.shape[1])
        self.num_classes = 2 if self.units == 1 else self.units
        self._log_probability_delta = (kind == "logit" and self.head == "softmax" and not self._activation_visible)
        if self._log_probability_delta:
            if not one_vs_one:
                raise ModelError(
                    "score: 'logit' needs the pre-softmax output, but this model's softmax cannot be seen in its "
                    "traced graph; pass a model that outputs logits or use score='probability'")
            # log p_co - log p_ct = z_co - z_ct exactly, so one-vs-one logit deltas need no bypass.
            warnings.warn("score='logit': the softmax of this model cannot be seen in its graph; using "
                          "log-probabilities, whose one-vs-one deltas equal the logit deltas exactly", stacklevel=3)
        if kind == "logit" and self.head == "sigmoid" and not self._activation_visible:
            warnings.warn("score='logit': the sigmoid of this model cannot be seen in its graph; using "
                          "log p - log(1 - p), which is exact except where p rounds to 0 or 1 in float32 (|z| > ~17)",
                          stacklevel=3)

    def compiled(self, key, build):
        """``tf.function(build())``, traced once per key and reused by later calls on this model.

        Keys must name everything the built function captures (steps, windows, shapes, ...).
        """
        import tensorflow as tf

        if key not in self._compiled:
            fn = tf.function(build(), reduce_retracing=True, jit_compile=self.jit_compile)
            # Each model gets its own functions, each traced once. TensorFlow's frequent-retracing detector keys
            # on the Python code object, which the closures of every model share, so explaining a sixth model
            # would be reported as retracing; the flag is per function, not a global filter.
            fn._omit_frequent_tracing_warning = True
            self._compiled[key] = fn
        return self._compiled[key]

    def scores_function(self, kind, image_shape):
        """The traced (N, H, W, C) -> (N, K) scores of ``kind``: one trace for every batch size."""
        import tensorflow as tf

        key = ("scores_of_kind", kind, tuple(image_shape))
        fresh = key not in self._compiled
        fn = self.compiled(key, lambda: lambda v: self._scores(v, kind))
        if fresh:  # traced for any batch size now, so later calls of any size reuse it
            fn.get_concrete_function(tf.TensorSpec((None,) + tuple(image_shape), tf.float32))
        return fn

    @property
    def has_logits(self):
        """Whether the pre-activation scores z can be reached exactly."""
        return self.head == "logits" or self._activation_visible

    def logits(self, x):
        """(N, K) logit scores (see the class table), whatever ``kind`` is."""
        return self._scores(x, "logit")

    def probabilities(self, x):
        """(N, K) probability scores (see the class table), whatever ``kind`` is."""
        return self._scores(x, "probability")

    def scores(self, x):
        """(N, K) class scores of the chosen kind, float32; differentiable TensorFlow ops."""
        return self._scores(x, self.kind)

    def _scores(self, x, kind):
        import tensorflow as tf

        if tf.executing_eagerly():  # the pre-activation is found in a graph: trace once per kind
            return self.scores_function(kind, x.shape[1:])(tf.cast(x, tf.float32))
        out = introspect.call_model(self.model, x)
        if kind == "logit" and self.head != "logits":
            out = self._pre_activation(out)
        elif kind == "probability" and self.head == "logits":
            out = tf.sigmoid(out) if self.units == 1 else tf.nn.softmax(out, axis=-1)
        out = tf.cast(out, tf.float32)  # a no-op in float32; mixed-precision outputs may arrive in 16 bits
        if self.units == 1:  # binary: class 1 = p (or z), class 0 = 1 - p (or 0)
            return tf.concat([1.0 - out if kind == "probability" else tf.zeros_like(out), out], axis=-1)
        return out

    def _pre_activation(self, out):
        import tensorflow as tf

        if self._activation_visible:
            return introspect.pre_activation(out)
        p = tf.cast(out, tf.float32)
        if self.head == "softmax":
            return tf.math.log(tf.maximum(p, 1e-30))
        return tf.math.log(tf.maximum(p, 1e-30)) - tf.math.log(tf.maximum(1.0 - p, 1e-30))

    def explained(self, x, weights):
        """The explained scalar per sample: S_w(x) = sum_k w_k S_k(x)."""
        import tensorflow as tf

        return tf.reduce_sum(self.scores(x) * weights, axis=-1)


def predict_scores(score_fn, x, strategy=None, batch_size=512):
    """(N, K) class scores of the chosen kind, batched."""
    from .batching import map_batches

    x = np.asarray(x, np.float32)
    fn = score_fn.scores_function(score_fn.kind, x.shape[1:])
    return map_batches(fn, [x], batch_size, strategy=strategy, desc="scores")


def explained_scores(score_fn, x, weights, strategy=None, batch_size=512):
    """(N,) the explained scalar S_w at x (from :func:`predict_scores`: one traced function per model)."""
    scores = predict_scores(score_fn, x, strategy, batch_size)
    return np.einsum("nk,nk->n", scores, np.asarray(weights, np.float32), dtype=np.float32)


def class_weights(original_class, target_class, num_classes):
    """Output weights w (N, K): e_co for one-vs-all (target None), e_co - e_ct for one-vs-one."""
    n = len(original_class)
    w = np.zeros((n, num_classes), np.float32)
    w[np.arange(n), original_class] = 1.0
    if target_class is not None:
        w[np.arange(n), target_class] -= 1.0
    return w


def resolve_classes(original_class, target_class, n, num_classes, predicted):
    """Validate and broadcast the class arguments to int64 arrays of length n (target may stay None)."""
    if original_class is None:
        co = predicted.astype(np.int64)
    else:
        co = _as_class_array(original_class, n, num_classes, "original_class")
    if target_class is None:
        return co, None
    ct = _as_class_array(target_class, n, num_classes, "target_class")
    same = np.flatnonzero(co == ct)
    if len(same):
        c, i = int(co[same[0]]), int(same[0])
        raise InputError(f"target_class: is the contrast class (one-vs-one explains S_co - S_ct), so it must differ "
                         f"from original_class, but both are {c} at index {i}; to explain class {c} alone, pass "
                         f"original_class={c} and no target_class")
    return co, ct


def _as_class_array(value, n, num_classes, name):
    """An int (broadcast to all samples), one int per sample, or one-hot rows (N, K), each class in [0, K).

    One-hot (as xplique's ``targets``): an (N, K) array, K the model's classes, with exactly one 1 per row and
    zeros elsewhere. Any other 2-D array is refused, so that scores or soft labels are never read as classes.
    """
    from .data import as_labels

    arr = np.asarray(value)
    if arr.ndim >= 2:
        arr = _one_hot_classes(arr, n, num_classes, name)
    return as_labels(np.full(n, arr) if arr.ndim == 0 else arr.reshape(-1), n, num_classes, name)


def _one_hot_classes(arr, n, num_classes, name):
    """(N, K) one-hot rows -> (N,) class indices; anything else raises InputError naming ``name``."""
    expected = f"(N, K) = ({n}, {num_classes})"
    if arr.ndim != 2 or arr.shape != (n, num_classes):
        raise InputError(f"{name}: a 2-D class array must be one-hot {expected} (one row per sample, one column per "
                         f"class), got shape {arr.shape}; pass class indices as a 1-D array instead")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name}: one-hot rows must be numbers, got dtype {arr.dtype}")
    ones = arr == 1
    bad = np.flatnonzero((ones.sum(axis=1) != 1) | ((arr != 0) & ~ones).any(axis=1))
    if len(bad):
        row = arr[bad[0]]
        other = np.flatnonzero((row != 0) & (row != 1))  # soft labels or scores, not a class
        found = f"holds {row[other[0]]:g} at column {int(other[0])}" if len(other) else f"holds {int(row.sum())} ones"
        raise InputError(f"{name}: one-hot rows must hold exactly one 1 and zeros elsewhere, but row {int(bad[0])} "
                         f"{found}")
    return ones.argmax(axis=1)
