"""Which scalar is explained: the class score S_co (one-vs-all) or the score delta S_co - S_ct (one-vs-one).

GANMEX (ganmex_appendix.txt A.3) explains S_co - S_ct. Every attribution method of tfx_explain is given
per-sample output weights ``w`` (N, K) and explains ``S_w(x) = sum_k w_k S_k(x)``: ``w = e_co`` for
one-vs-all and ``w = e_co - e_ct`` for one-vs-one. Methods that are linear in the output (gradients, IG,
EG, DeepLIFT, occlusion) therefore give exactly ``map(S_co) - map(S_ct)`` for one-vs-one.

Scores are ``"probability"`` (the softmax output, as the reference harness used, ganmex.md §3.3) or
``"logit"`` (pre-softmax), found by bypassing a final softmax without modifying the model.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np

from .errors import InputError, ModelError
from .models import introspect

SCORES = ("probability", "logit")


_CACHE = OrderedDict()  # (id(model), kind, one_vs_one, precision, jit) -> ScoreFunction; holds the model
_CACHE_SIZE = 8


def score_function(model, kind="probability", *, probe, one_vs_one=False, precision="float32", jit_compile=False):
    """A :class:`ScoreFunction`, reused across calls on the same model so its traced functions are reused.

    The model is checked on ``probe`` every time; only the last few models are kept.
    """
    key = (id(model), kind, bool(one_vs_one), precision, bool(jit_compile))
    cached = _CACHE.get(key)
    if cached is not None and cached.user_model is model:
        introspect.probe_outputs(model, probe)
        _CACHE.move_to_end(key)
        return cached
    fn = ScoreFunction(model, kind, probe=probe, one_vs_one=one_vs_one, precision=precision,
                       jit_compile=jit_compile)
    _CACHE[key] = fn
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return fn


class ScoreFunction:
    """Class scores of a Keras model as a TensorFlow function, plus the logits where they can be reached.

    Attributes:
        kind: "probability" or "logit".
        num_classes: K.
        has_logits: whether ``logits`` is available (for DeepLIFT's softmax rule).
        probabilities_are_softmax_of_logits: whether ``probability == softmax(logits)``.
        precision, jit_compile: how the scores are computed (see :mod:`tfx_explain.precision`); ``model`` is
            the model actually called (a mixed-precision copy of ``user_model`` when not float32).
    """

    def __init__(self, model, kind="probability", *, probe, one_vs_one=False, precision="float32", jit_compile=False):
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
        self.num_classes = int(outputs.shape[1])
        bypass = introspect.logits_function(model)
        self._log_probability_delta = False
        if bypass is not None:  # a visible final softmax: output = softmax(logits)
            self._logits, self.output_is_probability = bypass, True
        elif introspect.looks_like_probabilities(outputs):  # softmax hidden inside a subclassed model
            self._logits, self.output_is_probability = None, True
        else:  # the model outputs logits
            self._logits, self.output_is_probability = (lambda x, training=False: model(x, training=training)), False
        if kind == "logit" and self._logits is None:
            if not one_vs_one:
                raise ModelError(
                    "score: 'logit' needs the pre-softmax output, but this model's final softmax cannot be "
                    "bypassed (subclassed model); pass a model that outputs logits or use score='probability'")
            # log p_co - log p_ct = z_co - z_ct exactly, so one-vs-one logit deltas need no bypass.
            self._log_probability_delta = True
            warnings.warn("score='logit': the softmax of this model cannot be bypassed; using log-probabilities,"
                          " whose one-vs-one deltas equal the logit deltas exactly", stacklevel=3)

    def compiled(self, key, build):
        """``tf.function(build())``, traced once per key and reused by later calls on this model.

        Keys must name everything the built function captures (steps, windows, shapes, ...).
        """
        import tensorflow as tf

        if key not in self._compiled:
            self._compiled[key] = tf.function(build(), reduce_retracing=True, jit_compile=self.jit_compile)
        return self._compiled[key]

    def _call_model(self, x):
        return self.model(x, training=False)

    @property
    def has_logits(self):
        return self._logits is not None

    def logits(self, x):
        if self._logits is None:
            raise ModelError("model: its logits cannot be reached (final softmax inside a subclassed model)")
        return self._logits(x, training=False)

    def probabilities(self, x):
        import tensorflow as tf

        out = self._call_model(x)
        return out if self.output_is_probability else tf.nn.softmax(out, axis=-1)

    def scores(self, x):
        """(N, K) class scores of the chosen kind; differentiable TensorFlow ops."""
        import tensorflow as tf

        if self.kind == "probability":
            out = self.probabilities(x)
        elif self._log_probability_delta:
            out = tf.math.log(tf.maximum(self._call_model(x), 1e-30))
        else:
            out = self.logits(x)
        return tf.cast(out, tf.float32)  # a no-op in float32; mixed-precision logits arrive in 16 bits

    def explained(self, x, weights):
        """The explained scalar per sample: S_w(x) = sum_k w_k S_k(x)."""
        import tensorflow as tf

        return tf.reduce_sum(self.scores(x) * weights, axis=-1)


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
        raise InputError(f"target_class: must differ from original_class (one-vs-one explains c_o against "
                         f"c_t), but both are {int(co[same[0]])} at index {int(same[0])}")
    return co, ct


def _as_class_array(value, n, num_classes, name):
    """An int (broadcast to all samples) or one int per sample, each in [0, num_classes)."""
    from .data import as_labels

    arr = np.asarray(value)
    return as_labels(np.full(n, arr) if arr.ndim == 0 else arr.reshape(-1), n, num_classes, name)
