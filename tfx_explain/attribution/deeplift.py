"""DeepLIFT with the Rescale rule (Shrikumar et al., 2017; ganmex_main.txt §2.1), native TF2.

The multiplier of every element-wise non-linearity y = f(u) becomes dy/du := (f(u) - f(u_ref)) /
(u - u_ref) when |u - u_ref| > 1e-5, else the derivative at the midpoint (ganmex.md §3.1, DeepExplain's
threshold); linear layers keep their weights. Chaining these multipliers is ordinary back-propagation
with the non-linearities' gradients replaced, which we do with TensorFlow's public gradient override:
the inputs and their references run as one batch [x; b] inside a ``tf.function`` under
``Graph.gradient_override_map``, and ``tf.gradients`` uses the Rescale gradient registered below.

Summation-to-delta is exact on networks whose non-linearities are element-wise (ReLU, ELU, sigmoid,
tanh, softplus, ...) and whose other layers are affine in inference mode (dense, conv, average pooling,
batch norm, dropout). Max pooling keeps its gradient, as in DeepExplain.

A softmax (``score="probability"``) is not element-wise. With ``softmax_rule="path"`` (default) its
multiplier is the Jacobian averaged along the straight path between the reference's and the input's
logits, m = int_0^1 J(z_b + a (z_x - z_b))^T g da (64-node Gauss-Legendre over K dimensions), so
m . (z_x - z_b) = g . (p_x - p_b) and summation-to-delta stays exact; it works on any Softmax op, also
one hidden inside a subclassed model. ``softmax_rule="gradient"`` keeps the ordinary softmax gradient,
which is what the reference (DeepExplain on the softmax output) did; it does not sum to delta.
"""
from __future__ import annotations

import numpy as np

from ..batching import map_batches
from ..errors import InputError
from ._common import DEFAULT_BATCH, MethodResult

THRESHOLD = 1e-5
GRADIENT_NAME = "TfxExplainDeepLiftRescale"
SOFTMAX_GRADIENT_NAME = "TfxExplainDeepLiftSoftmaxPath"
SOFTMAX_RULES = ("path", "gradient")


def _derivative(op_type, u, op):
    """f'(u) of the supported element-wise ops, for the |du| <= threshold case."""
    import tensorflow as tf

    if op_type == "Relu":
        return tf.cast(u > 0, u.dtype)
    if op_type == "Relu6":
        return tf.cast((u > 0) & (u < 6), u.dtype)
    if op_type == "LeakyRelu":
        return tf.where(u > 0, tf.ones_like(u), tf.fill(tf.shape(u), tf.cast(op.get_attr("alpha"), u.dtype)))
    if op_type == "Elu":
        return tf.where(u > 0, tf.ones_like(u), tf.exp(u))
    if op_type == "Selu":
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        return scale * tf.where(u > 0, tf.ones_like(u), alpha * tf.exp(u))
    if op_type == "Sigmoid":
        s = tf.sigmoid(u)
        return s * (1 - s)
    if op_type == "Tanh":
        t = tf.tanh(u)
        return 1 - t * t
    if op_type == "Softplus":
        return tf.sigmoid(u)
    if op_type == "Softsign":
        return 1.0 / tf.square(1.0 + tf.abs(u))
    raise ValueError(f"no Rescale derivative for op {op_type}")  # only OVERRIDDEN ops are routed here


OVERRIDDEN = ("Relu", "Relu6", "LeakyRelu", "Elu", "Selu", "Sigmoid", "Tanh", "Softplus", "Softsign")


def _rescale_gradient(op, grad):
    """Rescale-rule gradient for a batch laid out as [inputs; references] along axis 0."""
    import tensorflow as tf

    u, y = op.inputs[0], op.outputs[0]
    half = tf.shape(u)[0] // 2
    du = u[:half] - u[half:]
    dy = y[:half] - y[half:]
    far = tf.abs(du) > THRESHOLD
    ratio = dy / tf.where(far, du, tf.ones_like(du))
    multiplier = tf.where(far, ratio, _derivative(op.type, (u[:half] + u[half:]) / 2, op))
    return grad * tf.concat([multiplier, multiplier], axis=0)


def _softmax_path_gradient(op, grad, nodes=64):
    """Softmax rule for a batch [inputs; references]: the gradient averaged along the straight path.

    For p = softmax(z) and upstream gradient g, returns int_0^1 J(z_b + a (z_x - z_b))^T g da (64-node
    Gauss-Legendre), so that sum_k m_k (z_x - z_b)_k = g . (p(z_x) - p(z_b)): the softmax keeps
    summation-to-delta like an element-wise Rescale non-linearity.
    """
    import tensorflow as tf

    z = op.inputs[0]
    half = tf.shape(z)[0] // 2
    z_x, z_b = z[:half], z[half:]
    g = grad[:half]
    t, c = np.polynomial.legendre.leggauss(nodes)
    alphas = tf.constant((t + 1) / 2, z.dtype)
    coefs = tf.constant(c / 2, z.dtype)
    p = tf.nn.softmax(z_b[None] + alphas[:, None, None] * (z_x - z_b)[None], axis=-1)  # (nodes, N, K)
    jtg = p * (g[None] - tf.reduce_sum(p * g[None], axis=-1, keepdims=True))
    m = tf.tensordot(coefs, jtg, axes=1)
    return tf.concat([m, tf.zeros_like(m)], axis=0)


def _register():
    import tensorflow as tf

    for name, function in ((GRADIENT_NAME, _rescale_gradient), (SOFTMAX_GRADIENT_NAME, _softmax_path_gradient)):
        try:
            tf.RegisterGradient(name)(function)
        except KeyError:
            pass  # already registered (module reloaded)


def _chunk_fn(score_fn, softmax_rule):
    import tensorflow as tf

    overrides = {op: GRADIENT_NAME for op in OVERRIDDEN}
    if softmax_rule == "path":
        overrides["Softmax"] = SOFTMAX_GRADIENT_NAME

    def chunk(x, b, w):
        both = tf.concat([x, b], axis=0)
        with tf.compat.v1.get_default_graph().gradient_override_map(overrides):
            out = score_fn.scores(both)
        n = tf.shape(x)[0]
        grad = tf.gradients(tf.reduce_sum(out[:n] * w), both)[0][:n]
        return grad * (x - b)

    return chunk


def deeplift(score_fn, x, weights, baselines, *, softmax_rule="path", batch_size=None, strategy=None,
             progress=False):
    """DeepLIFT-Rescale attributions of S_w with one reference per sample (``baselines``, (N, H, W, C))."""
    if softmax_rule not in SOFTMAX_RULES:
        raise InputError(f"softmax_rule: expected one of {SOFTMAX_RULES}, got {softmax_rule!r}")
    _register()
    fn = score_fn.compiled(("deeplift", softmax_rule), lambda: _chunk_fn(score_fn, softmax_rule))
    out = map_batches(fn, [x, baselines, weights], batch_size or 2 * DEFAULT_BATCH,
                      strategy=strategy, progress=progress, desc="deeplift")
    return MethodResult(out, {"softmax_rule": softmax_rule if score_fn.kind == "probability" else "none (logits)"})


def deeplift_multi_reference(score_fn, x, weights, references, *, batch_size=None, strategy=None,
                             progress=False):
    """Mean of DeepLIFT-Rescale over several references per sample: DeepSHAP (Lundberg & Lee, 2017).

    ``references`` has shape (N, R, H, W, C); the map is (1/R) sum_r DeepLIFT(x, b_r), the DeepSHAP
    estimate with background {b_r} (ganmex_main.txt §2.1).
    """
    _register()
    chunk = _chunk_fn(score_fn, "path")
    n, r = references.shape[:2]

    import tensorflow as tf

    def multi(xc, refs, w):
        c = tf.shape(xc)[0]
        shape = tf.shape(xc)[1:]
        x_rep = tf.reshape(tf.repeat(xc[:, None], r, axis=1), tf.concat([[c * r], shape], 0))
        b_rep = tf.reshape(refs, tf.concat([[c * r], shape], 0))
        w_rep = tf.repeat(w, r, axis=0)
        attr = chunk(x_rep, b_rep, w_rep)
        return tf.reduce_mean(tf.reshape(attr, tf.concat([[c, r], shape], 0)), axis=1)

    out = map_batches(score_fn.compiled(("deeplift_multi", r), lambda: multi), [x, references, weights], batch_size or max(1, DEFAULT_BATCH // max(1, r // 4)),
                      strategy=strategy, progress=progress, desc="deepshap")
    return MethodResult(out, {"softmax_rule": "path", "references": r})
