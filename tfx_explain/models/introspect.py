"""What tfx_explain needs to know about a user's model, found without modifying it.

Works for Keras 3 models (Sequential, functional, subclassed) and tf_keras (Keras 2) models.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..errors import ModelError


def is_model(obj):
    """True for Keras 3 and tf_keras models (duck-typed: callable with weights)."""
    return callable(obj) and hasattr(obj, "weights") and hasattr(obj, "layers")


def check_model(model, name="model"):
    if not is_model(model):
        raise ModelError(f"{name}: expected a Keras model (keras.Model or tf_keras.Model), got "
                         f"{type(model).__name__}")


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
    """A callable ``f(x, training=False) -> logits`` that stops before the final softmax, or None.

    For a separate softmax layer this is a sub-model ending at the layer's input; for a Dense with a
    softmax activation it is the sub-model up to that Dense followed by its affine part.
    """
    kind, last = final_softmax(model)
    if kind is None:
        return None
    km = keras_module(model)
    try:
        hidden = km.Model(model.inputs, last.input)
    except (AttributeError, ValueError, TypeError):
        return None  # subclassed or not built as a graph of layers
    if kind == "layer":
        return lambda x, training=False: hidden(x, training=training)

    import tensorflow as tf

    def affine(x, training=False):
        h = hidden(x, training=training)
        out = tf.matmul(h, last.kernel)
        return out + last.bias if last.use_bias else out

    return affine


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


def probe_outputs(model, x):
    """Run the model on a small probe batch and check that it returns class scores (N, K), K >= 2."""
    try:
        out = model(x, training=False)
    except TypeError:
        out = model(x)
    except Exception as err:
        raise ModelError(f"model: calling it on inputs of shape {tuple(x.shape)} failed "
                         f"({type(err).__name__}: {err})") from err
    if isinstance(out, (list, tuple, dict)):
        raise ModelError(f"model: expected one output of class scores (N, K), got a {type(out).__name__}")
    out = np.asarray(out)
    if out.ndim != 2 or out.shape[1] < 2:
        raise ModelError(f"model: expected an output of class scores with shape (N, K), K >= 2, got {out.shape}")
    return out


def looks_like_probabilities(outputs, atol=1e-3):
    outputs = np.asarray(outputs)
    return bool(np.all(outputs >= -atol) and np.allclose(outputs.sum(axis=1), 1.0, atol=atol))
