"""DeepLIFT's rules, one per TensorFlow op type, in one table (Shrikumar et al., 2017; ganmex_main.txt §2.1).

DeepLIFT back-propagates *multipliers* m = contribution / Δinput instead of gradients. It is ordinary
back-propagation where every non-linear op's gradient is replaced by a rule, so we run it with TensorFlow's
public gradient override (``Graph.gradient_override_map``) over one batch laid out as [inputs; references]:
the first half of every tensor belongs to the inputs, the second half to their references. A rule sees an
op's inputs and outputs for both halves and returns the multiplier for the first half (zero for the second).

Every op between the input and the explained score is one of:

- **linear** (:data:`LINEAR`) in the input-dependent operand (convolution, dense, pooling by averaging,
  batch norm at inference, reshapes, concatenation, ...): its gradient already is the exact multiplier;
- **a rule** (:data:`RULES`), exact by construction (Σ contributions = Δoutput):

  - ``rescale``: element-wise y = f(u): m = Δy / Δu (Rescale rule, Shrikumar et al. §3.5.1), f'(midpoint)
    when |Δu| <= 1e-5 (DeepExplain's threshold, ganmex.md §3.1) for smooth f; piecewise-linear ops (ReLU,
    ReLU6, leaky ReLU, abs) use the exact secant for every Δu != 0 (:data:`PIECEWISE_LINEAR`);
  - ``shapley2``: element-wise y = f(a, b) of two operands (Mul, RealDiv, Maximum, SquaredDifference, ...):
    the two-player Shapley split φ_a = ½[f(a, b₀) − f(a₀, b₀) + f(a, b) − f(a₀, b)] and symmetrically for b,
    so φ_a + φ_b = Δy; for Mul this is the multipliers (b + b₀)/2 and (a + a₀)/2 (squeeze-and-excitation
    gates, swish written as x·σ(x)). An operand that does not depend on the input makes it a Rescale rule;
  - ``bilinear``: products linear in each operand (Einsum, batched matmul: attention) when both depend on the
    input: Δf = f(Δa, b̄) + f(ā, Δb), the ordinary gradients with the other operand at its midpoint;
  - ``max``: max pooling and reduce-max split Δmax exactly between the input's and the reference's argmax:
    with c = max(y, y₀), the input's argmax gets c − y₀ and the reference's argmax gets y − c (the same
    split as shap's DeepExplainer); reduce-min is its mirror;
  - ``softmax``: the Jacobian averaged along the straight path between the reference's and the input's
    logits (``softmax_rule="path"``), so m·Δz = g·Δp (see :mod:`.deeplift`); log-softmax likewise;
  - ``pass``: StopGradient passes the multiplier through (DeepLIFT explains the function the model computes;
    e.g. ``tf.nn.moments`` stops the gradient of the mean, whose DeepLIFT contribution to the variance is
    exactly zero anyway);
- **neutral** (:data:`NEUTRAL`): ops that depend only on shapes or pass values unchanged.

Any other op on the path (a ``py_function``, ArgMax, a comparison feeding a select, a block with its own
``tf.custom_gradient``, a function call hiding non-linear ops such as a ``TFSMLayer``) has no rule:
:mod:`.traced_path` finds it before the computation. Keras' ``swish``/``silu`` is ``tf.nn.silu``, an op
that carries a custom gradient; while an explanation is traced, :func:`plain_activations` replaces it by its
plain composition x·σ(x), whose ops do have rules. The user's model is not modified.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

THRESHOLD = 1e-5
#: Element-wise ops computed without rounding (y is u, 0 or a fixed multiple of u): their secant Δy/Δu is exact
#: and bounded for any Δu != 0, so they skip the threshold. Below it, the midpoint derivative of a kink (0 or 1
#: for ReLU) would differ from the secant by up to 1 per unit and break summation-to-delta by up to |Δu|.
PIECEWISE_LINEAR = frozenset({"Relu", "Relu6", "LeakyRelu", "Abs"})

#: Ops whose gradient is the exact DeepLIFT multiplier: linear (or affine) in the input-dependent operand.
LINEAR = frozenset({
    "Conv2D", "Conv3D", "Conv", "DepthwiseConv2dNative", "Conv2DBackpropInput", "Conv3DBackpropInputV2",
    "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum", "BiasAdd", "Add", "AddV2", "AddN",
    "Sub", "Neg", "Reshape", "Transpose", "Pad", "PadV2", "MirrorPad", "ConcatV2", "Concat", "Slice",
    "StridedSlice", "Pack", "Unpack", "Split", "SplitV", "Squeeze", "ExpandDims", "AvgPool", "AvgPool3D",
    "Mean", "Sum", "Tile", "BroadcastTo", "ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic",
    "ResizeArea", "GatherV2", "Gather", "ReverseV2", "DepthToSpace", "SpaceToDepth", "SpaceToBatchND",
    "BatchToSpaceND", "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "Cumsum", "Roll",
    "Cast", "ImageProjectiveTransformV3",
})
#: Linear ops that become bilinear (no rule) when two of their operands depend on the input.
MULTILINEAR = frozenset({"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum", "Conv2D",
                         "Conv3D", "Conv", "DepthwiseConv2dNative"})
#: Ops that carry values unchanged or depend only on static shapes.
NEUTRAL = frozenset({"Identity", "IdentityN", "Snapshot", "EnsureShape", "CheckNumerics", "Placeholder",
                     "Const", "ReadVariableOp", "NoOp", "Shape", "ShapeN", "Size", "Rank", "ZerosLike",
                     "OnesLike", "Fill", "Range", "_Arg", "_Retval", "VarHandleOp", "PreventGradient"})
#: Ops that depend on their input's shape only, never on its values.
SHAPE_ONLY = frozenset({"Shape", "ShapeN", "Size", "Rank", "ZerosLike", "OnesLike"})


def _unary_functions():
    import tensorflow as tf

    return {
        "Relu": lambda u, op: tf.nn.relu(u), "Relu6": lambda u, op: tf.nn.relu6(u),
        "LeakyRelu": lambda u, op: tf.nn.leaky_relu(u, op.get_attr("alpha")),
        "Elu": lambda u, op: tf.nn.elu(u), "Selu": lambda u, op: tf.nn.selu(u),
        "Softplus": lambda u, op: tf.math.softplus(u), "Softsign": lambda u, op: tf.nn.softsign(u),
        "Sigmoid": lambda u, op: tf.sigmoid(u), "Tanh": lambda u, op: tf.tanh(u),
        "Erf": lambda u, op: tf.math.erf(u), "Erfc": lambda u, op: tf.math.erfc(u),
        "Exp": lambda u, op: tf.exp(u), "Expm1": lambda u, op: tf.math.expm1(u),
        "Log": lambda u, op: tf.math.log(u), "Log1p": lambda u, op: tf.math.log1p(u),
        "Sqrt": lambda u, op: tf.sqrt(u), "Rsqrt": lambda u, op: tf.math.rsqrt(u),
        "Square": lambda u, op: tf.square(u), "Reciprocal": lambda u, op: tf.math.reciprocal(u),
        "Abs": lambda u, op: tf.abs(u), "Sin": lambda u, op: tf.sin(u), "Cos": lambda u, op: tf.cos(u),
        "Atan": lambda u, op: tf.atan(u),
    }


def _binary_functions():
    import tensorflow as tf

    return {
        "Mul": tf.multiply, "RealDiv": tf.realdiv, "Div": tf.realdiv, "DivNoNan": tf.math.divide_no_nan,
        "Maximum": tf.maximum, "Minimum": tf.minimum, "SquaredDifference": tf.math.squared_difference,
        "Pow": tf.pow,
    }


UNARY_OPS = ("Relu", "Relu6", "LeakyRelu", "Elu", "Selu", "Softplus", "Softsign", "Sigmoid", "Tanh", "Erf", "Erfc",
             "Exp", "Expm1", "Log", "Log1p", "Sqrt", "Rsqrt", "Square", "Reciprocal", "Abs", "Sin", "Cos", "Atan")
BINARY_OPS = ("Mul", "RealDiv", "Div", "DivNoNan", "Maximum", "Minimum", "SquaredDifference", "Pow")
#: Binary ops linear in operand i when the other operand does not depend on the input.
_LINEAR_OPERANDS = {"Mul": (0, 1), "RealDiv": (0,), "Div": (0,), "DivNoNan": (0,)}

#: Products that are linear in each operand (attention's query-key and weight-value products).
BILINEAR_OPS = ("Einsum", "BatchMatMulV2", "BatchMatMulV3")

#: op type -> rule kind. The single table every DeepLIFT computation and the traced-path check read.
RULES = {**{t: "rescale" for t in UNARY_OPS}, **{t: "shapley2" for t in BINARY_OPS},
         **{t: "bilinear" for t in BILINEAR_OPS},
         "MaxPool": "max", "MaxPoolV2": "max", "Max": "max", "Min": "max",
         "Softmax": "softmax", "LogSoftmax": "softmax", "StopGradient": "pass"}


# --- which tensors depend on the explained input (set while tf.gradients runs) --------------------------------

_STATE = threading.local()


@contextlib.contextmanager
def explained_input(tensor):
    """While active, the rules know which graph tensors depend on ``tensor`` (the [inputs; references] batch)."""
    previous = getattr(_STATE, "dependent", None)
    _STATE.dependent = forward_reach(tensor)
    try:
        yield
    finally:
        _STATE.dependent = previous


def forward_reach(tensor):
    """Names of the graph tensors whose values depend on ``tensor`` (shape-only ops cut the dependence)."""
    seen, stack = {tensor.name}, [tensor]
    while stack:
        for consumer in stack.pop().consumers():
            if consumer.type in SHAPE_ONLY:
                continue
            for out in consumer.outputs:
                if out.name not in seen:
                    seen.add(out.name)
                    stack.append(out)
    return seen


def _depends(tensor):
    dependent = getattr(_STATE, "dependent", None)
    return True if dependent is None else tensor.name in dependent


# --- the rules ---------------------------------------------------------------------------------------------------

def _halves(t):
    """(inputs' half, references' half) of a [inputs; references] tensor (one Split op: cheap to trace)."""
    import tensorflow as tf

    return tuple(tf.split(t, 2, axis=0))


def _first_half_only(m):
    import tensorflow as tf

    return tf.concat([m, tf.zeros_like(m)], axis=0)


def _safe_ratio(num, den, fallback, threshold=THRESHOLD):
    import tensorflow as tf

    far = tf.abs(den) > threshold
    return tf.where(far, num / tf.where(far, den, tf.ones_like(den)), fallback)


def _elementwise_derivative(f, *points, wrt=0):
    """d f(points) / d points[wrt], element-wise (f is element-wise, points broadcast to one shape)."""
    import tensorflow as tf

    shape = tf.shape(f(*points))
    points = [tf.broadcast_to(p, shape) for p in points]
    with tf.GradientTape() as tape:
        tape.watch(points[wrt])
        y = f(*points)
    return tape.gradient(y, points[wrt])


def _unbroadcast(t, shape_of):
    """Sum ``t`` over the axes along which ``shape_of`` was broadcast, back to ``shape_of``'s shape."""
    import tensorflow as tf

    axes, _ = tf.raw_ops.BroadcastGradientArgs(s0=tf.shape(shape_of), s1=tf.shape(t))
    return tf.reshape(tf.reduce_sum(t, axes), tf.shape(shape_of))


def _derivative(op, u):
    """f'(u) of a unary op: closed forms for the common activations (cheaper to trace), else autodiff."""
    import tensorflow as tf

    if op.type == "Relu":
        return tf.cast(u > 0, u.dtype)
    if op.type == "Relu6":
        return tf.cast((u > 0) & (u < 6), u.dtype)
    if op.type == "Sigmoid":
        s = tf.sigmoid(u)
        return s * (1 - s)
    if op.type == "Tanh":
        return 1 - tf.square(tf.tanh(u))
    f = _unary_functions()[op.type]
    return _elementwise_derivative(lambda v: f(v, op), u)


def rescale_gradient(op, grad):
    """Rescale rule for an element-wise y = f(u) (Shrikumar et al. §3.5.1)."""
    import tensorflow as tf

    (u_x, u_b), (y_x, y_b) = _halves(op.inputs[0]), _halves(op.outputs[0])
    threshold = 0.0 if op.type in PIECEWISE_LINEAR else THRESHOLD
    multiplier = _safe_ratio(y_x - y_b, u_x - u_b, _derivative(op, (u_x + u_b) / 2), threshold)
    g_x, _ = _halves(grad)
    return _first_half_only(g_x * tf.cast(multiplier, grad.dtype))


def shapley2_gradient(op, grad):
    """Two-player Shapley split for an element-wise y = f(a, b) (exact: φ_a + φ_b = Δy)."""
    import tensorflow as tf

    f = _binary_functions()[op.type]
    a, b = op.inputs[0], op.inputs[1]
    dep = (_depends(a), _depends(b))
    g_x, _ = _halves(grad)
    if dep[0] != dep[1] and (0 if dep[0] else 1) in _LINEAR_OPERANDS.get(op.type, ()):
        # linear in its only input-dependent operand: the ordinary gradient is the exact multiplier
        # (the other operand does not depend on the input: it has no [inputs; references] halves)
        if op.type == "Mul":
            other = b if dep[0] else a
            return tuple(_first_half_only(_unbroadcast(g_x * other, _halves(t)[0])) if d else None
                         for t, d in zip((a, b), dep))
        return _first_half_only(_unbroadcast(g_x / b, _halves(a)[0])), None
    (a_x, a_b), (b_x, b_b) = _halves(a) if dep[0] else (a, a), _halves(b) if dep[1] else (b, b)
    if dep[0] and dep[1] and op.type in ("Mul", "SquaredDifference"):
        # closed forms of the Shapley multipliers: no difference of large products, no rounding loss
        if op.type == "Mul":
            m_a, m_b = (b_x + b_b) / 2, (a_x + a_b) / 2
        else:  # (a - b)^2: m_a = (a_x - b_x) + (a_b - b_b) = -m_b
            m_a = (a_x - b_x) + (a_b - b_b)
            m_b = -m_a
        return (_first_half_only(_unbroadcast(g_x * m_a, a_x)), _first_half_only(_unbroadcast(g_x * m_b, b_x)))
    y_x, y_b = _halves(op.outputs[0])
    if dep[0] and dep[1]:
        y_xb, y_bx = f(a_x, b_b), f(a_b, b_x)
        phi = (((y_xb - y_b) + (y_x - y_bx)) / 2, ((y_bx - y_b) + (y_x - y_xb)) / 2)
    else:
        phi = (y_x - y_b, y_x - y_b)
    mids = ((a_x + a_b) / 2, (b_x + b_b) / 2)
    grads = []
    for i, (own_x, own_b) in enumerate(((a_x, a_b), (b_x, b_b))):
        if not dep[i]:
            grads.append(None)
            continue
        delta = tf.broadcast_to(own_x - own_b, tf.shape(y_x))
        m = _safe_ratio(phi[i], delta, _elementwise_derivative(f, *mids, wrt=i))
        grads.append(_first_half_only(_unbroadcast(g_x * m, own_x)))
    return tuple(grads)


def max_gradient(op, grad):
    """Exact split of Δmax for MaxPool / MaxPoolV2 / Max (and Δmin for Min).

    With c = max(y, y₀), the input's argmax position receives g·(c − y₀) and the reference's argmax position
    receives g·(y − c); the two sum to g·(y − y₀). Both are bounded by g·|Δu| at their position, so the
    multiplier (contribution / Δu) is finite; positions with Δu = 0 contribute nothing.
    """
    import tensorflow as tf

    u_x, u_b = _halves(op.inputs[0])
    y_x, y_b = _halves(op.outputs[0])
    g_x, _ = _halves(grad)
    sign = -1.0 if op.type == "Min" else 1.0
    c = sign * tf.maximum(sign * y_x, sign * y_b)
    share_x, share_b = g_x * (c - y_b), g_x * (y_x - c)
    if op.type in ("MaxPool", "MaxPoolV2"):
        route = _maxpool_router(op)
        contrib = route(u_x, y_x, share_x) + route(u_b, y_b, share_b)
    else:
        contrib = _reduce_router(op, u_x, share_x) + _reduce_router(op, u_b, share_b)
    du = u_x - u_b
    nonzero = tf.not_equal(du, 0)
    return (_first_half_only(tf.where(nonzero, contrib / tf.where(nonzero, du, tf.ones_like(du)), tf.zeros_like(du))),
            *([None] * (len(op.inputs) - 1)))


def _maxpool_router(op):
    """(u, y, g) -> g routed to u's argmax positions of each window (TensorFlow's MaxPoolGrad)."""
    import tensorflow as tf

    if op.type == "MaxPool":
        ksize, strides = op.get_attr("ksize"), op.get_attr("strides")
    else:
        ksize, strides = op.inputs[1], op.inputs[2]
    padding, data_format = op.get_attr("padding"), op.get_attr("data_format")

    def route(u, y, g):
        if op.type == "MaxPool":
            return tf.raw_ops.MaxPoolGrad(orig_input=u, orig_output=y, grad=g, ksize=ksize, strides=strides,
                                          padding=padding, data_format=data_format)
        return tf.raw_ops.MaxPoolGradV2(orig_input=u, orig_output=y, grad=g, ksize=ksize, strides=strides,
                                        padding=padding, data_format=data_format)

    return route


def _reduce_router(op, u, g):
    """g (the reduced shape) split equally among u's argmax (argmin) positions along the reduced axes."""
    import tensorflow as tf

    axes = op.inputs[1]
    extreme = tf.reduce_max if op.type == "Max" else tf.reduce_min
    y = extreme(u, axis=axes, keepdims=True)
    hit = tf.cast(tf.equal(u, y), u.dtype)
    hit = hit / tf.reduce_sum(hit, axis=axes, keepdims=True)
    return hit * tf.reshape(g, tf.shape(y))


def _bilinear_function(op):
    import tensorflow as tf

    if op.type == "Einsum":
        equation = op.get_attr("equation").decode()
        return lambda a, b: tf.einsum(equation, a, b)
    adj_x, adj_y = op.get_attr("adj_x"), op.get_attr("adj_y")
    return lambda a, b: tf.linalg.matmul(a, b, adjoint_a=adj_x, adjoint_b=adj_y)


def bilinear_gradient(op, grad):
    """Shapley split of a product f(a, b) linear in each operand (Einsum, batched matmul).

    Δf = f(Δa, b̄) + f(ā, Δb) with ā, b̄ the midpoints of input and reference, so the multipliers are the
    ordinary gradients with the other operand held at its midpoint; with one input-dependent operand, the
    ordinary gradient (the product is linear in it).
    """
    import tensorflow as tf

    f = _bilinear_function(op)
    a, b = op.inputs[0], op.inputs[1]
    dep = (_depends(a), _depends(b))
    if not (dep[0] and dep[1]):
        own, other = (a, b) if dep[0] else (b, a)
        with tf.GradientTape() as tape:
            tape.watch(own)
            y = f(own, other) if dep[0] else f(other, own)
        g = tape.gradient(y, own, output_gradients=grad)
        return (g, None) if dep[0] else (None, g)
    (a_x, a_b), (b_x, b_b) = _halves(a), _halves(b)
    g_x, _ = _halves(grad)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a_x, b_x])
        y_a = f(a_x, (b_x + b_b) / 2)
        y_b = f((a_x + a_b) / 2, b_x)
    m_a = tape.gradient(y_a, a_x, output_gradients=g_x)
    m_b = tape.gradient(y_b, b_x, output_gradients=g_x)
    return _first_half_only(m_a), _first_half_only(m_b)


def pass_gradient(op, grad):
    """StopGradient: DeepLIFT explains the computed function, so the multiplier passes through."""
    return grad


def softmax_path_gradient(op, grad, nodes=128):
    """Softmax (and log-softmax) rule: the Jacobian averaged along the straight path between the logits.

    For p = softmax(z) and upstream gradient g, m = int_0^1 J(z_b + a (z_x - z_b))^T g da (128-node
    Gauss-Legendre; for log p, J^T g = g - p sum(g)), so that sum_k m_k (z_x - z_b)_k = g . (p(z_x) - p(z_b)):
    the softmax keeps summation-to-delta like an element-wise Rescale non-linearity. When the logits differ
    by tens, p changes within a sliver of the path and the quadrature misses part of the integral; the
    remainder g . Δp - m . Δz is then added along Δz (the smallest change of m that makes the sum exact).
    """
    import tensorflow as tf

    z_x, z_b = _halves(op.inputs[0])
    y_x, y_b = _halves(op.outputs[0])
    g, _ = _halves(grad)
    t, c = np.polynomial.legendre.leggauss(nodes)
    alphas = tf.constant((t + 1) / 2, z_x.dtype)
    coefs = tf.constant(c / 2, z_x.dtype)
    dz = z_x - z_b
    along = tf.reshape(alphas, [-1] + [1] * dz.shape.rank)  # (nodes, 1, ..., 1): any rank, e.g. attention maps
    p = tf.nn.softmax(z_b[None] + along * dz[None], axis=-1)  # (nodes, N, ..., K)
    if op.type == "LogSoftmax":
        jtg = g[None] - p * tf.reduce_sum(g, axis=-1, keepdims=True)[None]
    else:
        jtg = p * (g[None] - tf.reduce_sum(p * g[None], axis=-1, keepdims=True))
    m = tf.tensordot(coefs, jtg, axes=1)
    remainder = tf.reduce_sum(g * (y_x - y_b), -1, keepdims=True) - tf.reduce_sum(m * dz, -1, keepdims=True)
    norm = tf.reduce_sum(dz * dz, -1, keepdims=True)
    m = m + tf.where(norm > 0, remainder / tf.where(norm > 0, norm, tf.ones_like(norm)), tf.zeros_like(norm)) * dz
    return _first_half_only(m)


_GRADIENTS = {"rescale": rescale_gradient, "shapley2": shapley2_gradient, "bilinear": bilinear_gradient,
              "max": max_gradient,
              "softmax": softmax_path_gradient, "pass": pass_gradient}


def _name(kind):
    return f"TfxExplainDeepLift_{kind}"


def register():
    """Register every rule with TensorFlow once (idempotent)."""
    import tensorflow as tf

    for kind, function in _GRADIENTS.items():
        try:
            tf.RegisterGradient(_name(kind))(function)
        except KeyError:
            pass  # already registered (module reloaded)


def override_map(softmax_rule="path"):
    """{op type: registered rule name} for ``Graph.gradient_override_map``."""
    register()
    overrides = {op: _name(kind) for op, kind in RULES.items()}
    if softmax_rule != "path":  # "gradient": DeepExplain's plain softmax gradient
        overrides.pop("Softmax")
        overrides.pop("LogSoftmax")
    return overrides


# --- tracing the model with plain activations --------------------------------------------------------------------

def _plain_silu(features, beta=1.0, name=None):
    """x·σ(βx) built from Mul and Sigmoid ops (tf.nn.silu hides them behind a custom gradient)."""
    import tensorflow as tf

    features = tf.convert_to_tensor(features)
    return features * tf.sigmoid(tf.cast(beta, features.dtype) * features)


@contextlib.contextmanager
def deeplift_tracing(softmax_rule="path"):
    """Graph ops created inside get DeepLIFT's rules; custom-gradient activations are traced plainly.

    Use only while tracing a ``tf.function`` (graph mode). ``tf.nn.silu``/``tf.nn.swish`` (Keras' ``"swish"``
    and ``"silu"``) are replaced for the duration by :func:`_plain_silu`; the user's model is not modified.
    """
    import tensorflow as tf

    modules = {id(m): m for m in (tf.nn, getattr(tf.compat.v2, "nn", None), getattr(tf.compat.v1, "nn", None))
               if m is not None}.values()
    saved = [(m, name, getattr(m, name)) for m in modules for name in ("silu", "swish") if hasattr(m, name)]
    try:
        for m, name, _ in saved:
            setattr(m, name, _plain_silu)
        with tf.compat.v1.get_default_graph().gradient_override_map(override_map(softmax_rule)):
            yield
    finally:
        for m, name, original in saved:
            setattr(m, name, original)
