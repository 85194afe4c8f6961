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

The final softmax (``score="probability"``) is not element-wise. With ``softmax_rule="path"`` (default)
we explain the logits z with output multipliers m_k = int_0^1 dS_w/dz_k(z_b + a (z_x - z_b)) da (a
64-node Gauss-Legendre integral over the K-dimensional softmax), so sum_k m_k (z_k(x) - z_k(b)) equals
S_w(x) - S_w(b) and summation-to-delta stays exact. ``softmax_rule="gradient"`` differentiates the
softmax at the input instead, which is what the reference (DeepExplain with the softmax output) did;
it does not sum to delta.
"""
from __future__ import annotations

import numpy as np

from ..batching import map_batches
from ..errors import InputError
from ._common import DEFAULT_BATCH, MethodResult

THRESHOLD = 1e-5
GRADIENT_NAME = "TfxExplainDeepLiftRescale"
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


def _register():
    import tensorflow as tf

    try:
        tf.RegisterGradient(GRADIENT_NAME)(_rescale_gradient)
    except KeyError:
        pass  # already registered (module reloaded)


def softmax_path_multipliers(z_x, z_b, weights, nodes=64):
    """m_k = int_0^1 d(sum_j w_j softmax_j(z))/dz_k at z = z_b + a (z_x - z_b) da, Gauss-Legendre."""
    import tensorflow as tf

    t, c = np.polynomial.legendre.leggauss(nodes)
    alphas = tf.constant((t + 1) / 2, z_x.dtype)
    coefs = tf.constant(c / 2, z_x.dtype)
    points = z_b[None] + alphas[:, None, None] * (z_x - z_b)[None]  # (nodes, N, K)
    p = tf.nn.softmax(points, axis=-1)
    s = tf.reduce_sum(p * weights[None], axis=-1, keepdims=True)  # (nodes, N, 1)
    grads = p * (weights[None] - s)  # d(w . softmax)/dz = p * (w - w.p)
    return tf.tensordot(coefs, grads, axes=1)


def _chunk_fn(score_fn, softmax_rule):
    import tensorflow as tf

    use_logits = score_fn.has_logits and (score_fn.kind == "logit" or softmax_rule == "path")

    def chunk(x, b, w):
        both = tf.concat([x, b], axis=0)
        graph = tf.compat.v1.get_default_graph()
        with graph.gradient_override_map({op: GRADIENT_NAME for op in OVERRIDDEN}):
            out = score_fn.logits(both) if use_logits else score_fn.scores(both)
        n = tf.shape(x)[0]
        out_x, out_b = out[:n], out[n:]
        if use_logits and score_fn.kind == "probability":
            m = tf.stop_gradient(softmax_path_multipliers(out_x, out_b, w))
        else:
            m = w
        target = tf.reduce_sum(out_x * m)
        grad = tf.gradients(target, both)[0][:n]
        return grad * (x - b)

    return chunk, use_logits


def deeplift(score_fn, x, weights, baselines, *, softmax_rule="path", batch_size=None, strategy=None,
             progress=False):
    """DeepLIFT-Rescale attributions of S_w with one reference per sample (``baselines``, (N, H, W, C))."""
    if softmax_rule not in SOFTMAX_RULES:
        raise InputError(f"softmax_rule: expected one of {SOFTMAX_RULES}, got {softmax_rule!r}")
    _register()
    chunk, use_logits = _chunk_fn(score_fn, softmax_rule)
    out = map_batches(chunk, [x, baselines, weights], batch_size or 2 * DEFAULT_BATCH, strategy=strategy,
                      progress=progress, desc="deeplift")
    rule = "path" if (use_logits and score_fn.kind == "probability") else (
        "logit" if score_fn.kind == "logit" else "gradient")
    return MethodResult(out, {"softmax_rule": rule})


def deeplift_multi_reference(score_fn, x, weights, references, *, batch_size=None, strategy=None,
                             progress=False):
    """Mean of DeepLIFT-Rescale over several references per sample: DeepSHAP (Lundberg & Lee, 2017).

    ``references`` has shape (N, R, H, W, C); the map is (1/R) sum_r DeepLIFT(x, b_r), the DeepSHAP
    estimate with background {b_r} (ganmex_main.txt §2.1).
    """
    _register()
    chunk, _ = _chunk_fn(score_fn, "path")
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

    out = map_batches(multi, [x, references, weights], batch_size or max(1, DEFAULT_BATCH // max(1, r // 4)),
                      strategy=strategy, progress=progress, desc="deepshap")
    return MethodResult(out, {"softmax_rule": "path", "references": r})
