"""Guided Backpropagation (Springenberg et al., 2015, "Striving for simplicity: the all convolutional net", §3.4
and Fig. 1): the gradient of S_w where every ReLU passes back only positive signal from positive inputs,

    R_in = [u > 0] * [dy/du > 0] * max(R_out, 0)      for y = relu(u),

instead of the gradient's R_in = [u > 0] * R_out. It runs through the same public gradient override as DeepLIFT
(:mod:`.rules`): the ops traced inside :func:`guided_tracing` get the registered rule ``TfxExplainGuided``,
``tf.gradients`` then chains it. The user's model is not modified.

Which ops get the rule (:data:`GUIDED_OPS`), decided here:

- ``Relu``: Springenberg's rule exactly;
- ``Relu6``: the same, also zero where u >= 6 (where the op's own gradient is zero);
- ``LeakyRelu`` and ``Elu``: the rule as for ReLU. Their negative branch's small slope is gated off, since the
  guided rule zeroes the signal wherever the forward input was negative; for u > 0 they are the identity like
  ReLU. (xplique overrides only ``keras.layers.ReLU`` and ``activation="relu"``; on ReLU/ReLU6 networks the two
  agree, tested.)

Every other activation keeps its plain gradient: sigmoid, tanh, softplus, softsign, SELU, GELU (Erf, or Tanh in
its approximation), and Keras' swish / silu (``tf.nn.silu``, a ``tf.custom_gradient`` block). ``explain_keras``
warns naming each such op and its Keras layer (:func:`~.traced_path.ops_on_path`); the output head's own
sigmoid or softmax is not warned about (it maps the explained scores, it is not a hidden activation).
S_w is the explained scalar of :mod:`tfx_explain.targets` (one-vs-one: the score delta S_co - S_ct).
"""
from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING

from ..batching import map_batches
from ._common import DEFAULT_BATCH, MethodResult
from . import traced_path

if TYPE_CHECKING:
    from .._typing import Float32, Progress, Strategy
    from ..targets import ScoreFunction

GUIDED_OPS = ("Relu", "Relu6", "LeakyRelu", "Elu")
#: Non-linearities that keep their plain gradient (warned about when on the traced path): smooth activations, and
#: the select / max / min ops of a ReLU written without a Relu op (Keras' ``ReLU(threshold=...)``).
PLAIN_ACTIVATIONS = frozenset({"Sigmoid", "Tanh", "Softplus", "Softsign", "Selu", "Erf", "Erfc", "Gelu",
                               "Select", "SelectV2", "Maximum", "Minimum"})
_NAME = "TfxExplainGuided"


def guided_gradient(op, grad):
    """Springenberg's rule: the op's own gate [u > 0] (and [u < 6] for Relu6) times max(grad, 0)."""
    import tensorflow as tf

    u = op.inputs[0]
    gate = u > 0
    if op.type == "Relu6":
        gate = gate & (u < 6)
    return tf.where(gate & (grad > 0), grad, tf.zeros_like(grad))


def register():
    """Register the guided rule with TensorFlow once (idempotent)."""
    import tensorflow as tf

    try:
        tf.RegisterGradient(_NAME)(guided_gradient)
    except KeyError:
        pass  # already registered (module reloaded)


def override_map():
    """{op type: registered rule name} for ``Graph.gradient_override_map``."""
    register()
    return {op: _NAME for op in GUIDED_OPS}


@contextlib.contextmanager
def guided_tracing():
    """Graph ops of :data:`GUIDED_OPS` created inside get the guided rule. Use only while tracing (graph mode)."""
    import tensorflow as tf

    with tf.compat.v1.get_default_graph().gradient_override_map(override_map()):
        yield


def _output_layers(model):
    """Names of the layers that produce the model's outputs (their activation is the head, not warned about)."""
    names = set()
    for t in getattr(model, "outputs", None) or []:
        history = getattr(t, "_keras_history", None)
        if history is not None:
            names.add(history[0].name)
    layers = getattr(model, "layers", None) or []
    if layers:
        names.add(layers[-1].name)
    return names


def _describe(findings):
    """'Sigmoid, IdentityN (a tf.custom_gradient block, e.g. swish) in layer 'act'; Tanh in op 'x'' (grouped)."""
    groups = {}
    for f in findings:
        where = f"layer {f.layer!r}" if f.layer else f"op {f.op_name!r}"
        name = f"{f.op_type} ({f.reason})" if f.op_type == "IdentityN" else f.op_type
        groups.setdefault(where, []).append(name)
    return "; ".join(f"{', '.join(types)} in {where}" for where, types in groups.items())


def _chunk_fn(score_fn):
    import tensorflow as tf

    def chunk(x, w):
        with guided_tracing():
            out = score_fn.explained(x, w)
        chunk.findings = traced_path.ops_on_path(x, out, score_fn.model, PLAIN_ACTIVATIONS, custom_gradients=True,
                                                 skip_layers=_output_layers(score_fn.model))
        return tf.gradients(out, x)[0]

    return chunk


def guided_backprop(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None = None, *,
                    batch_size: int | None = None, strategy: Strategy | None = None,
                    progress: Progress = False) -> MethodResult:
    """Guided Backpropagation of S_w (Springenberg et al., 2015, §3.4); needs no baseline.

    Args:
        score_fn: the explained score (:class:`~tfx_explain.targets.ScoreFunction`).
        x: (N, H, W, C) inputs.
        weights: (N, K) output weights w (e_co, or e_co - e_ct for one-vs-one).
        batch_size: inputs per traced call (default 256).
    Returns:
        (N, H, W, C) guided gradients (S per input unit); extras ``plain_activations``: the activations that kept
        their plain gradient, described with their Keras layers.
    Warns:
        UserWarning naming every non-ReLU-family activation on the path (its gradient stays plain).
    """
    import tensorflow as tf

    fn = score_fn.compiled(("guided_backprop",), lambda: _chunk_fn(score_fn))
    spec = [tf.TensorSpec((None,) + tuple(x.shape[1:]), tf.float32), tf.TensorSpec((None, weights.shape[1]),
                                                                                   tf.float32)]
    fn.get_concrete_function(*spec)
    findings = fn.python_function.findings
    if findings:
        warnings.warn(f"guided_backprop: the guided rule applies to {'/'.join(GUIDED_OPS)} ops only; these keep "
                      f"their plain gradient: {_describe(findings)}", UserWarning, stacklevel=3)
    out = map_batches(fn, [x, weights], batch_size or 4 * DEFAULT_BATCH, strategy=strategy, progress=progress,
                      desc="guided_backprop")
    return MethodResult(out, {"plain_activations": tuple(_describe([f]) for f in findings)})
