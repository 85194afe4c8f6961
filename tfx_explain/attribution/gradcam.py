"""Grad-CAM (Selvaraju et al., 2017) and Grad-CAM++ (Chattopadhyay et al., 2018): class activation maps of one
convolutional layer, weighted by the gradient of the explained scalar S_w.

Both explain S_w = sum_k w_k S_k (see :mod:`tfx_explain.targets`), so one-vs-one uses the gradient of the score
delta S_co - S_ct. For a layer output A (N, h, w, K) and g = dS_w/dA:

- Grad-CAM (Eq. 1-2): alpha_k = (1/hw) sum_ij g_kij;  L = ReLU(sum_k alpha_k A_k).
- Grad-CAM++ (Eq. 19 with Y = exp(S), Eq. 10):
  a_kij = g^2 / (2 g^2 + sum_ab A_kab g^3);  w_k = sum_ij a_kij ReLU(g_kij);  L = ReLU(sum_k w_k A_k).
  The paper's w_k carries a positive factor exp(S) per sample (dY/dA = exp(S) g); it is left out, as xplique
  and pytorch-grad-cam do (a per-sample scale that overflows for large logits).
  ``variant="xplique"`` reproduces xplique 2.0.2's GradCAMPP, which uses the spatial *mean* of A in the
  denominator and the mean over ij for w_k: its map is not a rescaling of the paper's.

The map L (h, w) is upsampled to the input size with ``tf.image.resize`` (half-pixel centres, no antialias):
bilinear by default, as the Grad-CAM paper (Sec. 3, Guided Grad-CAM); ``interpolation="bicubic"`` is what
xplique 2.0.2 does (bicubic may undershoot below 0 beside sharp edges). It is returned as (N, H, W, C)
attributions L / C in each channel, so that their channel sum (``Explanation.heatmaps()``) is L, as the
perturbation methods return per-pixel maps; the low-resolution L is ``extras["cam"]`` (N, h, w).

The layer is found by name anywhere in the model, nested models included (a keras.applications backbone in a
wrapper): Keras 3 cannot build a sub-model up to a layer inside a nested model, so its output is recorded by
wrapping the layer's ``call`` while the traced function is built, and restored right after, even on error.
The paper's score is the pre-softmax y^c: pass ``score="logit"`` to explain_keras for it.
"""
from __future__ import annotations

import contextlib
import functools
import weakref
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..batching import map_batches
from ..errors import InputError, ModelError
from ..models import introspect
from ._common import DEFAULT_BATCH, MethodResult

if TYPE_CHECKING:
    from .._typing import Float32, Progress, Strategy
    from ..targets import ScoreFunction

INTERPOLATIONS = ("bilinear", "bicubic")
VARIANTS = ("paper", "xplique")
EPSILON = 1e-4  # xplique's: stands in for a zero Grad-CAM++ denominator, where the numerator g^2 is 0 too


def gradcam(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None = None, *,
            layer: str | None = None, interpolation: Literal["bilinear", "bicubic"] = "bilinear",
            batch_size: int | None = None, strategy: Strategy | None = None,
            progress: Progress = False) -> MethodResult:
    """Grad-CAM (Selvaraju et al., 2017, Eq. 1-2) of S_w at ``layer``, upsampled to the input size.

    Args:
        score_fn: a :class:`~tfx_explain.targets.ScoreFunction`.
        x: (N, H, W, C) float32 images.
        weights: (N, K) output weights w (e_co, or e_co - e_ct).
        baselines: ignored (Grad-CAM needs none).
        layer: name of a layer with a 4-D (N, h, w, k) output, anywhere in the model (nested models too);
            default the last such layer called in the forward pass.
        interpolation: "bilinear" (the paper) or "bicubic" (xplique 2.0.2).
        batch_size: images per traced call (default 64).

    Returns:
        MethodResult: attributions (N, H, W, C), L / C per channel (channel sum = the map L >= 0, in units of
        S_w times the layer's activations); extras ``cam`` (N, h, w), the map before upsampling, ``layer`` (its
        name) and ``input_scores`` (N,), S_w(x) from the same forward pass.

    Raises:
        InputError: ``layer`` names no layer with a 4-D output, or a bad ``interpolation``.
        ModelError: the layer is called more than once per forward pass, or S_w does not depend on it.
    """
    return _cam(score_fn, x, weights, "gradcam", layer, interpolation, "paper", batch_size, strategy, progress)


def gradcam_pp(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None = None, *,
               layer: str | None = None, interpolation: Literal["bilinear", "bicubic"] = "bilinear",
               variant: Literal["paper", "xplique"] = "paper", batch_size: int | None = None,
               strategy: Strategy | None = None, progress: Progress = False) -> MethodResult:
    """Grad-CAM++ (Chattopadhyay et al., 2018, Eq. 19 and 10, with Y = exp(S_w)) at ``layer``, upsampled.

    ``variant="paper"`` uses sum_ab A_ab in the denominator of a_kij and w_k = sum_ij (the paper, its code and
    pytorch-grad-cam, without the per-sample factor exp(S_w)); ``"xplique"`` uses spatial means in both places,
    as xplique 2.0.2's GradCAMPP. Other arguments, the result and the errors are those of :func:`gradcam`.
    """
    if variant not in VARIANTS:
        raise InputError(f"variant: expected one of {VARIANTS}, got {variant!r}")
    return _cam(score_fn, x, weights, "gradcam_pp", layer, interpolation, variant, batch_size, strategy, progress)


def _cam(score_fn, x, weights, method, layer, interpolation, variant, batch_size, strategy, progress):
    import tensorflow as tf

    if interpolation not in INTERPOLATIONS:
        raise InputError(f"interpolation: expected one of {INTERPOLATIONS}, got {interpolation!r}")
    target = find_layer(score_fn.model, x.shape[1:], layer)
    key = (method, variant, interpolation, id(target), target.name)
    fn = score_fn.compiled(key, lambda: _chunk_function(score_fn, target, method, variant, interpolation))
    # traced here for any batch size, so a layer the score does not depend on is refused before the work
    fn.get_concrete_function(tf.TensorSpec((None,) + tuple(x.shape[1:]), tf.float32),
                             tf.TensorSpec((None, weights.shape[1]), tf.float32))
    if fn.python_function.status.get("disconnected"):
        raise ModelError(f"layer: the explained score does not depend differentiably on {target.name!r}; "
                         "pass a layer on the path to the output")
    maps, cams, scores = map_batches(fn, [x, weights], batch_size or DEFAULT_BATCH, strategy=strategy,
                                     progress=progress, desc=method)
    # S_w(x) comes from the same forward pass: explain_keras need not run the model again for input_scores
    return MethodResult(maps, {"cam": cams, "layer": target.name, "input_scores": scores})


def _chunk_function(score_fn, layer, method, variant, interpolation):
    import tensorflow as tf

    status = {}  # set while tracing; read by _cam

    def chunk(xc, wc):
        explained, activation, grad = layer_gradient(score_fn, layer, xc, wc)
        if grad is None:  # raised by _cam after tracing (an error raised while tracing reaches users wrapped)
            status["disconnected"] = True
            grad = tf.zeros_like(activation)
        a, g = tf.cast(activation, tf.float32), tf.cast(grad, tf.float32)
        alpha = gradcam_weights(g) if method == "gradcam" else gradcam_pp_weights(g, a, variant)
        cam = tf.nn.relu(tf.reduce_sum(alpha * a, axis=-1, keepdims=True))  # (N, h, w, 1)
        size, channels = tf.shape(xc)[1:3], tf.shape(xc)[-1]
        up = tf.image.resize(cam, size, method=interpolation)
        return tf.tile(up / tf.cast(channels, tf.float32), [1, 1, 1, channels]), cam[..., 0], explained

    chunk.status = status
    return chunk


def layer_gradient(score_fn, layer, xc, wc):
    """(S_w(x), A, dS_w/dA) for a chunk: the layer's output A recorded through a call hook (Keras 3 cannot cut a
    nested model at an inner layer) and watched by the tape. The layer is called once per pass (find_layer
    checked it); dS_w/dA is None where the score does not depend on A."""
    import tensorflow as tf

    recorded = []
    with tf.GradientTape() as tape:
        def record(_, out):
            tape.watch(out)
            recorded.append(out)
            return out

        with hooked([layer], record):
            explained = score_fn.explained(xc, wc)
    return explained, recorded[-1], tape.gradient(explained, recorded[-1])


def gradcam_weights(g):
    """Grad-CAM's alpha_k (Eq. 1): the spatial mean of dS/dA_k; (N, h, w, K) -> (N, 1, 1, K)."""
    import tensorflow as tf

    return tf.reduce_mean(g, axis=(1, 2), keepdims=True)


def gradcam_pp_weights(g, a, variant="paper"):
    """Grad-CAM++'s w_k (Eq. 19 and 10 with Y = exp(S), without exp(S)); (N, h, w, K) -> (N, 1, 1, K)."""
    import tensorflow as tf

    reduce = tf.reduce_sum if variant == "paper" else tf.reduce_mean
    g2 = tf.square(g)
    denominator = 2.0 * g2 + g2 * g * reduce(a, axis=(1, 2), keepdims=True)
    denominator += tf.cast(denominator == 0, tf.float32) * EPSILON
    return reduce(g2 / denominator * tf.nn.relu(g), axis=(1, 2), keepdims=True)


@contextlib.contextmanager
def hooked(layers, on_output):
    """Within the block, each layer's ``call`` returns ``on_output(layer, output)``; restored on exit, even on error.

    The wrapper is an instance attribute shadowing the class's ``call`` (Keras 3 and tf_keras both call
    ``self.call``); on exit it is deleted, or the layer's own instance attribute put back.
    """
    saved = []
    try:
        for layer in layers:
            saved.append((layer, layer.__dict__.get("call", _MISSING)))
            layer.call = _wrap(layer, layer.call, on_output)
        yield
    finally:
        for layer, own in reversed(saved):
            if own is _MISSING:
                del layer.call
            else:
                layer.call = own


_MISSING = object()


def _wrap(layer, call, on_output):
    @functools.wraps(call)
    def wrapper(*args, **kwargs):
        return on_output(layer, call(*args, **kwargs))

    return wrapper


def all_layers(model):
    """Every layer of ``model``, nested models' layers included, depth first in each model's order."""
    out = []
    for layer in getattr(model, "layers", None) or []:
        out.append(layer)
        out.extend(all_layers(layer))
    return out


_CALLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {image shape: [(layer, output rank)] in call order}


def called_layers(model, image_shape):
    """[(layer, output rank)] of the model's leaf layers in the order one forward pass calls them.

    Found once per model and image shape by calling the model on one zero image with every leaf layer hooked
    (so subclassed and nested models work too; a layer never called, such as an InputLayer, is absent).
    """
    shape = tuple(int(d) for d in image_shape)
    try:
        per_model = _CALLED.setdefault(model, {})
    except TypeError:
        per_model = {}
    if shape not in per_model:
        leaves = [layer for layer in all_layers(model) if not getattr(layer, "layers", None)]
        order = []

        def record(layer, out):
            order.append((layer, len(getattr(out, "shape", ()))))
            return out

        with hooked(leaves, record):
            introspect.call_model(model, np.zeros((1,) + shape, np.float32))
        per_model[shape] = order
    return per_model[shape]


def find_layer(model, image_shape, name=None):
    """The layer Grad-CAM weighs: the one named ``name``, or the last leaf layer called with a 4-D output.

    Raises InputError (one line, listing candidate names) when ``name`` is not a str or names no layer called
    with a 4-D output; ModelError when the model has no such layer at all.
    """
    if name is not None and not isinstance(name, str):
        raise InputError(f"layer: expected a layer name (str) or None, got {type(name).__name__} {name!r}")
    spatial, calls = [], {}
    for layer, rank in called_layers(model, image_shape):
        calls[id(layer)] = calls.get(id(layer), 0) + 1
        if rank == 4 and layer not in spatial:
            spatial.append(layer)
    if not spatial:
        raise ModelError("model: no layer has a 4-D (N, h, w, k) output; Grad-CAM needs a convolutional feature map")
    matches = [spatial[-1]] if name is None else [layer for layer in spatial if layer.name == name]
    if len(matches) == 1:
        if calls[id(matches[0])] > 1:  # a shared layer has one output per call: which one is meant is unclear
            raise ModelError(f"layer: {matches[0].name!r} is called {calls[id(matches[0])]} times per forward "
                             "pass; Grad-CAM needs the feature map of a layer called once (pass another layer=)")
        return matches[0]
    names = [layer.name for layer in spatial]
    shown = ", ".join(repr(n) for n in names[-8:])
    which = f"the last 8 of {len(names)}" if len(names) > 8 else "they"
    if matches:
        raise InputError(f"layer: {len(matches)} layers with a 4-D output are named {name!r}; rename one")
    other = _why_not(model, name, spatial)
    raise InputError(f"layer: no layer with a 4-D (N, h, w, k) output is named {name!r}{other}; {which} are "
                     f"{shown}")


def _why_not(model, name, spatial):
    """Why an existing layer ``name`` is no candidate: a nested model (its inner layers are the candidates:
    name one of them) or a layer whose output is not 4-D; "" when no layer has that name."""
    named = [layer for layer in all_layers(model) if layer.name == name]
    if not named:
        return ""
    inner = {id(layer) for layer in all_layers(named[0])}
    if inner:
        last = [layer.name for layer in spatial if id(layer) in inner][-1:]
        hint = f", e.g. its last with a 4-D output, {last[0]!r}" if last else ""
        return f" (it is a nested model: name a layer inside it{hint})"
    return " (it exists, but its output is not 4-D)"
