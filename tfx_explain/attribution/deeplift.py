"""DeepLIFT (Shrikumar et al., 2017; ganmex_main.txt §2.1), native TF2, with one rule per op type.

The inputs and their references run as one batch [x; b] inside a ``tf.function`` whose ops get DeepLIFT's
rules through TensorFlow's public gradient override; ``tf.gradients`` then chains multipliers instead of
gradients, and the attribution is multiplier × (x − b). The rules and the table that maps op types to them
live in :mod:`.rules`: Rescale for element-wise non-linearities (dy/du := Δy/Δu when |Δu| > 1e-5, else the
derivative at the midpoint: DeepExplain's threshold, ganmex.md §3.1), the two-player Shapley split for
products and other two-operand element-wise ops, an exact split of Δmax for max pooling and reduce-max,
and the path rule for the softmax. Linear ops keep their gradient, which is their exact multiplier.

Summation-to-delta, sum_i A_i = S_w(x) − S_w(b), is therefore exact on every model whose traced path has
only linear ops and ops with a rule (all of keras.applications' ResNet, MobileNetV2, EfficientNet,
DenseNet, VGG, Xception and ConvNeXt; ``tests/attribution/test_model_zoo.py``). Before computing,
:mod:`.traced_path` lists the ops on the path; an op without a rule makes ``explain_keras`` warn with the
op, its Keras layer and the measured residual (``strict=True`` refuses instead), and a function call that
hides non-linear ops (``TFSMLayer``) is refused.

A softmax (``score="probability"``) is not element-wise. With ``softmax_rule="path"`` (default) its
multiplier is the Jacobian averaged along the straight path between the reference's and the input's
logits, m = int_0^1 J(z_b + a (z_x - z_b))^T g da (64-node Gauss-Legendre over K dimensions), so
m . (z_x - z_b) = g . (p_x - p_b) and summation-to-delta stays exact; it works on any Softmax op, also
one hidden inside a subclassed model. ``softmax_rule="gradient"`` keeps the ordinary softmax gradient,
which is what the reference (DeepExplain on the softmax output) did; it does not sum to delta.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal


from ..batching import map_batches
from ..errors import InputError, ModelError
from . import rules, traced_path
from ._common import DEFAULT_BATCH, MethodResult

if TYPE_CHECKING:
    from .._typing import Float32, Progress, Strategy
    from ..targets import ScoreFunction

SOFTMAX_RULES = ("path", "gradient")


def _chunk_fn(score_fn, softmax_rule):
    """The traced DeepLIFT step; tracing it records the traced-path check in ``chunk.findings``."""
    import tensorflow as tf

    def chunk(x, b, w):
        both = tf.concat([x, b], axis=0)
        with rules.deeplift_tracing(softmax_rule):
            out = score_fn.scores(both)
        chunk.findings = traced_path.analyse(both, out, score_fn.model, softmax_rule)
        n = tf.shape(x)[0]
        with rules.explained_input(both):
            grad = tf.gradients(tf.reduce_sum(out[:n] * w), both)[0][:n]
        return grad * (x - b)

    return chunk


def _traced(score_fn, key, build, specs, chunk_of):
    """The compiled step for ``key``, traced now on ``specs`` (None batch), and its traced-path findings."""
    fn = score_fn.compiled(key, build)
    fn.get_concrete_function(*specs)
    return fn, chunk_of(fn.python_function).findings


def check_rules(findings, strict=False, method="deeplift"):
    """Raise for fatal findings (:mod:`.traced_path`), or for any with ``strict``; return the findings."""
    fatal = [f for f in findings if f.fatal]
    if fatal:
        raise ModelError(f"model: {method} cannot apply its rules here: {fatal[0].describe()}. Use "
                         "method='integrated_gradients' or 'occlusion', which need no rules")
    if findings and strict:
        raise ModelError(f"model: {method} has no rule for {findings[0].describe()}"
                         + (f" and {len(findings) - 1} more op(s)" if len(findings) > 1 else "")
                         + "; strict=True refuses such models (without strict a warning reports the measured "
                         "residual)")
    return findings


def _specs(x, weights, *middle):
    import tensorflow as tf

    return [tf.TensorSpec((None,) + tuple(a.shape[1:]), tf.float32) for a in (x, *middle, weights)]


def deeplift(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32, *,
             softmax_rule: Literal["path", "gradient"] = "path", strict: bool = False, batch_size: int | None = None,
             strategy: Strategy | None = None, progress: Progress = False) -> MethodResult:
    """DeepLIFT-Rescale attributions of S_w with one reference per sample.

    Args:
        score_fn: the explained score (:class:`~tfx_explain.targets.ScoreFunction`).
        x: (N, H, W, C) inputs.
        weights: (N, K) output weights w.
        baselines: (N, H, W, C) references, one per input.
        softmax_rule: ``"path"`` (exact) or ``"gradient"`` (DeepExplain's; does not sum to delta).
        strict: refuse (:class:`~tfx_explain.errors.ModelError`) a model with an op that has no rule, instead
            of computing and letting ``explain_keras`` warn with the measured residual.
    Returns:
        (N, H, W, C) attributions with sum_i A_i = S_w(x) - S_w(b) (exact when ``extras["uncovered_ops"]``
        is empty). Raises ModelError before any work for a function call that hides non-linear ops.
    """
    if softmax_rule not in SOFTMAX_RULES:
        raise InputError(f"softmax_rule: expected one of {SOFTMAX_RULES}, got {softmax_rule!r}")
    fn, findings = _traced(score_fn, ("deeplift", softmax_rule), lambda: _chunk_fn(score_fn, softmax_rule),
                           _specs(x, weights, baselines), lambda f: f)
    check_rules(findings, strict)
    out = map_batches(fn, [x, baselines, weights], batch_size or 2 * DEFAULT_BATCH,
                      strategy=strategy, progress=progress, desc="deeplift")
    return MethodResult(out, {"softmax_rule": softmax_rule if score_fn.kind == "probability" else "none (logits)",
                              "uncovered_ops": tuple(f.describe() for f in findings)})


def deeplift_multi_reference(score_fn, x, weights, references, *, strict=False, batch_size=None, strategy=None,
                             progress=False):
    """Mean of DeepLIFT-Rescale over several references per sample (native DeepSHAP).

    ``references`` has shape (N, R, H, W, C); the map is (1/R) sum_r DeepLIFT(x, b_r), the DeepSHAP
    estimate with background {b_r} (Lundberg & Lee, 2017; ganmex_main.txt §2.1), built from this module's
    rules (so it sums to S_w(x) - mean_r S_w(b_r)).
    """
    import tensorflow as tf

    r = references.shape[1]
    single, findings = _traced(score_fn, ("deeplift", "path"), lambda: _chunk_fn(score_fn, "path"),
                               _specs(x, weights, x), lambda f: f)
    check_rules(findings, strict, method="deepshap")

    def multi(xc, refs, w):  # every (input, reference) pair through the traced DeepLIFT step, then the mean
        c = tf.shape(xc)[0]
        shape = tf.shape(xc)[1:]
        x_rep = tf.reshape(tf.repeat(xc[:, None], r, axis=1), tf.concat([[c * r], shape], 0))
        b_rep = tf.reshape(refs, tf.concat([[c * r], shape], 0))
        attr = single(x_rep, b_rep, tf.repeat(w, r, axis=0))
        return tf.reduce_mean(tf.reshape(attr, tf.concat([[c, r], shape], 0)), axis=1)

    fn = score_fn.compiled(("deeplift_multi", r), lambda: multi)
    out = map_batches(fn, [x, references, weights], batch_size or max(1, DEFAULT_BATCH // max(1, r // 4)),
                      strategy=strategy, progress=progress, desc="deepshap")
    return MethodResult(out, {"softmax_rule": "path", "references": r,
                              "uncovered_ops": tuple(f.describe() for f in findings)})
