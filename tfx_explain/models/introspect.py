"""What tfx_explain needs to know about a user's model, found without modifying it.

Works for Keras 3 models (Sequential, functional, subclassed) and tf_keras (Keras 2) models.
"""
from __future__ import annotations

import hashlib
import weakref

import numpy as np

from ..errors import ModelError


def is_model(obj):
    """True for Keras 3 and tf_keras models (duck-typed: callable with weights).

    Looked up on the class: reading ``weights`` of an unbuilt tf_keras Sequential (no Input, never called)
    raises ValueError, and such a model is built by its first call like a Keras 3 one.
    """
    return callable(obj) and hasattr(type(obj), "weights") and hasattr(type(obj), "layers")


def check_model(model, name="model"):
    if not is_model(model):
        raise ModelError(f"{name}: expected a Keras model (keras.Model or tf_keras.Model), got "
                         f"{type(model).__name__}")
    _check_channels_last(model, name)


def _check_channels_last(model, name):
    """A channels-first model is refused here: otherwise NCHW images are refused as channels-first and NHWC ones
    as the wrong shape, and neither message says why. Only a model whose own input is (C, H, W) (a few channels
    first, a wider last axis) is refused; one that permutes NHWC inputs for a channels-first inner model is not."""
    try:
        shape = input_shape(model)
    except ModelError:
        return
    if not shape or len(shape) != 3 or shape[0] is None or shape[2] is None or not shape[0] <= 4 < shape[2]:
        return
    flatten = getattr(model, "_flatten_layers", None)
    layers = flatten(include_self=False) if flatten is not None else getattr(model, "layers", [])
    first = next((layer for layer in layers if getattr(layer, "data_format", None) == "channels_first"), None)
    if first is not None:
        raise ModelError(f"{name}: layer {first.name!r} is channels_first; tfx_explain explains channels-last "
                         f"(N, H, W, C) images: give the model NHWC inputs, e.g. keras.Sequential([keras.Input((H, W, "
                         f"C)), keras.layers.Permute((3, 1, 2)), model])")


def keras_module(model):
    """The Keras package a model belongs to: ``tf_keras`` for Keras 2 models, else ``keras``."""
    if type(model).__module__.startswith("tf_keras"):
        import tf_keras

        return tf_keras
    import keras

    return keras


def input_shape(model):
    """(H, W, C) the model expects, with None for free sizes, or None when unknown (unbuilt subclass)."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError, RuntimeError):
        return None
    if isinstance(shape, list):
        if len(shape) != 1:
            raise ModelError(f"model: expected a single image input, got {len(shape)} inputs")
        shape = shape[0]
    return tuple(shape[1:]) if shape is not None else None


def check_input_shape(model, x):
    """Raise InputError unless images ``x`` (N, H, W, C) fit the model's (H, W, C) input (None: any size)."""
    from ..errors import InputError

    expected = input_shape(model)
    if expected is None:
        return
    if len(expected) != 3:
        raise InputError(f"model: expected an image model with (H, W, C) inputs, its input shape is {expected}")
    for got, want, axis in zip(x.shape[1:], expected, ("height", "width", "channels")):
        if want is not None and got != want:
            # a 3-D (N, H, W) stack of grey images is read as one (H, W, C) image: say so, not "(1, N, H, W)"
            grey_stack = (len(x) == 1 and expected[2] == 1 and all(e is None or e == g for e, g in
                                                                    zip(expected[:2], x.shape[2:4])))
            hint = ("; a 3-D array is read as one (H, W, C) image: for N grey images (N, H, W) add the channel "
                    "axis, x[..., None]") if grey_stack else ""
            raise InputError(f"x: expected images of shape (N, {', '.join(str(e) for e in expected)}) for this "
                             f"model, got {x.shape} (the {axis} differs){hint}")


def _activation_name(layer):
    act = getattr(layer, "activation", None)
    return getattr(act, "__name__", None)


def final_softmax(model):
    """How the model's final softmax can be bypassed, without touching the model.

    Returns ``(kind, layer)``: ``("layer", L)`` when the last layer is a separate softmax (Activation or
    Softmax layer, the papers' classifiers), ``("dense", L)`` when the last layer is a Dense with
    ``activation="softmax"``, or ``(None, None)`` when no final softmax can be seen (subclassed models,
    models that output logits).
    """
    layers = getattr(model, "layers", None)
    if not layers:
        return None, None
    last = layers[-1]
    cls = type(last).__name__
    if cls == "Softmax" or (cls == "Activation" and _activation_name(last) == "softmax"):
        return "layer", last
    if cls == "Dense" and _activation_name(last) == "softmax":
        return "dense", last
    return None, None


def logits_model(model):
    """A Keras sub-model from the inputs to the final softmax's input (a separate softmax layer), or None."""
    kind, last = final_softmax(model)
    if kind != "layer":
        return None
    try:
        return keras_module(model).Model(model.inputs, last.input)
    except (AttributeError, ValueError, TypeError):
        return None


def logits_function(model):
    """A callable ``f(x, training=False) -> logits`` that stops before the model's final softmax or sigmoid.

    The activation is found in the traced graph (:func:`pre_activation`), so a separate softmax layer, a
    Dense with ``activation="softmax"``, a nested model and a subclassed model all work; the model is not
    modified. Returns None when no final softmax or sigmoid can be seen.
    """
    import tensorflow as tf

    kind, _ = final_softmax(model)
    traced = {}

    def graph_logits(x, training=False):
        out = call_model(model, x, training)
        return pre_activation(out)

    def logits(x, training=False):
        if not tf.executing_eagerly():
            return graph_logits(x, training)
        if training not in traced:
            traced[training] = tf.function(lambda v: graph_logits(v, training), reduce_retracing=True)
        return traced[training](x)

    if kind is not None:
        return logits
    try:
        found = _final_activation_type(model, None)
    except Exception:  # noqa: BLE001 - a model we cannot trace has no visible activation
        return None
    return logits if found is not None else None


#: ops that carry the output unchanged between the final activation and the model's output tensor
_PASS_THROUGH = ("Identity", "Snapshot", "EnsureShape", "Cast", "CheckNumerics")
ACTIVATIONS = ("Softmax", "Sigmoid")


def _activation_op(out):
    """The Softmax or Sigmoid op whose output reaches ``out`` unchanged (graph tensors), or None."""
    t = out
    while True:
        op = t.op
        if op.type in ACTIVATIONS:
            return op
        if op.type in _PASS_THROUGH:
            t = op.inputs[0]
        elif op.type == "IdentityN" and "_gradient_op_type" not in op.node_def.attr:
            t = op.inputs[list(op.outputs).index(t)]
        else:
            return None


def pre_activation(out):
    """The input z of the final Softmax or Sigmoid op that produced ``out`` (a graph tensor, in a tf.function).

    Works wherever the op is in the traced graph: a separate layer, fused into a Dense, inside a nested
    or subclassed model. Raises ModelError when there is none.
    """
    op = _activation_op(out)
    if op is None:
        raise ModelError("model: no final softmax or sigmoid op found in its traced graph")
    return op.inputs[0]


def call_model(model, x, training=False):
    """``model(x, training=training)``, for models whose ``call`` takes no ``training`` argument too.

    A functional model built on a one-element list of inputs gets a one-element list, so Keras sees the
    structure it was built with (and warns of no mismatch).
    """
    struct = getattr(model, "_inputs_struct", None)  # Keras 3 functional: the structure it was built with
    if isinstance(struct, (list, tuple)) and len(struct) == 1 and not isinstance(x, (list, tuple)):
        x = type(struct)([x])
    try:
        return model(x, training=training)
    except TypeError:
        return model(x)


def _final_activation_type(model, shape):
    """"Softmax", "Sigmoid" or None: the op that produces the model's output, from one traced call."""
    import tensorflow as tf

    shape = shape if shape is not None else input_shape(model)
    if shape is None or any(d is None for d in shape):
        raise ModelError("model: its input shape is unknown")
    found = {}

    def forward(x):
        out = call_model(model, x)
        op = _activation_op(out) if hasattr(out, "op") else None
        found["type"] = op.type if op is not None else None
        return out

    tf.function(forward).get_concrete_function(tf.TensorSpec((None,) + tuple(shape), tf.float32))
    return found["type"]


HEADS = ("auto", "softmax", "logits", "sigmoid")
_ACTIVATIONS_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {input shape: final activation op type}


def _cached_activation_type(model, shape):
    """:func:`_final_activation_type`, traced once per (model, input shape); None for an untraceable model."""
    try:
        per_model = _ACTIVATIONS_SEEN.setdefault(model, {})
    except TypeError:
        per_model = {}
    if shape not in per_model:
        try:
            per_model[shape] = _final_activation_type(model, shape)
        except Exception:  # noqa: BLE001 - an untraceable model: the head is decided from its outputs alone
            per_model[shape] = None
    return per_model[shape]


def output_head(model, probe, outputs, head="auto"):
    """What the model outputs: ``(head, activation_visible)`` with head "softmax", "logits" or "sigmoid".

    ``"auto"`` reads the final activation op from the traced graph (Softmax -> "softmax", Sigmoid -> "sigmoid").
    Without one, the output is taken for logits, with a warning when it does not look like logits (rows that
    are non-negative and sum to 1 are taken for softmax probabilities; a single unit is taken for a binary
    logit). A sigmoid hidden from the graph (behind a ``TFSMLayer``) cannot be told from logits in [0, 1]:
    declare it with ``head="sigmoid"``. An explicit ``head`` is trusted; the flag says whether the
    activation's input can be reached in the graph.
    """
    import warnings

    if head not in HEADS:
        raise ModelError(f"head: expected one of {HEADS}, got {head!r}")
    visible = _cached_activation_type(model, tuple(np.shape(probe)[1:]))
    units = int(outputs.shape[1])
    if head != "auto":
        if head == "softmax" and units == 1:
            raise ModelError("head: 'softmax' over a single output unit is constant; a one-unit model is "
                             "head='sigmoid' (a probability) or head='logits' (a binary logit)")
        want = {"softmax": "Softmax", "sigmoid": "Sigmoid"}.get(head)
        return head, visible is not None and visible == want
    if visible == "Softmax":
        return "softmax", True
    if visible == "Sigmoid":
        return "sigmoid", True
    if units == 1:
        warnings.warn("model: a single output unit with no sigmoid op in its graph is taken for a binary logit z "
                      "(class 1 = sigmoid(z)); pass head='sigmoid' if it already is a probability", stacklevel=4)
        return "logits", False
    if looks_like_probabilities(outputs):
        warnings.warn("model: no softmax op produces its output (ops after a softmax hide it), but its outputs are "
                      "non-negative and sum to 1: taken for "
                      "softmax probabilities; pass head='softmax' or head='logits' to say what they are",
                      stacklevel=4)
        return "softmax", False
    if looks_like_log_probabilities(outputs):
        # log p = z - logsumexp(z) are logits too: softmax(log p) = p and log p_co - log p_ct = z_co - z_ct are
        # exact; only a one-vs-all logit differs, by the per-input constant logsumexp(z)
        warnings.warn("model: its outputs are log-probabilities (a final log_softmax: non-positive, exp sums to 1): "
                      "taken for logits, which is exact for score='probability' and for one-vs-one logit deltas; "
                      "a one-vs-all score='logit' explains log p_k = z_k - logsumexp(z), not z_k", stacklevel=4)
    return "logits", False


def weights_fingerprint(model):
    """SHA-256 over the shapes and float32 values of a model's weights, in order.

    Identifies "the classifier a generator was trained against": saving and reloading a model keeps
    it, any retraining changes it.
    """
    h = hashlib.sha256()
    for w in model.weights:
        value = np.asarray(w.numpy() if hasattr(w, "numpy") else w, dtype=np.float32)
        h.update(str(value.shape).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def probe_outputs(model, x, call=None):
    """Run the model on a small probe batch and check that it returns class scores (N, K).

    K = 1 is a binary head (see :func:`output_head`). ``call``: a traced ``x -> model(x)`` to use instead of an
    eager call."""
    try:
        out = call(x) if call is not None else call_model(model, x)
    except Exception as err:
        raise ModelError(f"model: calling it on inputs of shape {tuple(x.shape)} failed "
                         f"({type(err).__name__}: {err})") from err
    if isinstance(out, (list, tuple, dict)):
        pick = "outputs[i]" if isinstance(out, (list, tuple)) else "output['name']"  # a functional model's own
        raise ModelError(f"model: expected one output of class scores (N, K), got a {type(out).__name__} of "
                         f"{len(out)}; explain one of them: keras.Model(model.inputs, model.{pick})")
    out = np.asarray(out)
    if out.ndim != 2 or out.shape[1] < 1:
        raise ModelError(f"model: expected an output of class scores with shape (N, K) (K = 1 for a binary "
                         f"head), got {out.shape}")
    return out


def looks_like_probabilities(outputs, atol=1e-3):
    outputs = np.asarray(outputs)
    return bool(np.all(outputs >= -atol) and np.allclose(outputs.sum(axis=1), 1.0, atol=atol))


def looks_like_log_probabilities(outputs, atol=1e-3):
    """Rows that are non-positive and whose exponentials sum to 1 (the output of a log_softmax)."""
    outputs = np.asarray(outputs, np.float64)
    if outputs.shape[1] < 2 or np.any(outputs > atol):
        return False
    top = outputs.max(axis=1, keepdims=True)
    logsumexp = top[:, 0] + np.log(np.exp(outputs - top).sum(axis=1))
    return bool(np.allclose(logsumexp, 0.0, atol=atol))
