"""A faster input gradient of few-channel convolutions, for the path methods' many gradient evaluations.

TensorFlow's CPU kernel for the input gradient of a ``Conv2D`` whose input has one to four channels (the first
layer of a grayscale or RGB classifier) runs far below the machine's rate: on mnist_cnn's first layer (6x6,
stride 2, 1 -> 32 channels) it took 145 ms of CPU per 2048 path points, 4.7 GFLOP/s, half of IG's time
(bench/ig_throughput.json, ``profile_2048_points``). The same gradient as one matrix product
dY (B, Ho, Wo, Co) @ K^T -> patches (B, Ho, Wo, kh, kw, Ci), then an overlap-add of the patches onto the input
grid (col2im, a few pads and adds per kernel tap group), is the same sum in another order, about 2.5x faster.

:func:`fast_input_gradients` routes the ``Conv2D`` ops traced inside it to this gradient (TensorFlow's public
gradient override, as DeepLIFT's rules use); other convolutions (NCHW, dilated, grouped, more channels) keep
TensorFlow's own gradient, and the filter gradient is always TensorFlow's. :data:`ENABLED` ``"auto"`` applies it
only where no GPU is visible (measured on CPUs only; cuDNN has its own kernels); ``True`` / ``False`` force it.
"""
from __future__ import annotations

import contextlib

MAX_CHANNELS = 4  # input channels up to which the overlap-add gradient replaces TensorFlow's
ENABLED = "auto"  # "auto": where no GPU is visible; True / False: always / never (read when a function is traced)
_NAME = "TfxExplainConv2DFewChannels"
_registered = False


def _same_padding(size, out, stride, kernel):
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2


def _overlap_add_gradient(op, grad):
    """d(input), d(filter) of a Conv2D; d(input) by matmul + col2im when the op qualifies."""
    import tensorflow as tf
    from tensorflow.python.ops import nn_grad

    x, k = op.inputs
    strides = op.get_attr("strides")
    padding = op.get_attr("padding")
    padding = padding.decode() if isinstance(padding, bytes) else padding
    data_format = op.get_attr("data_format")
    data_format = data_format.decode() if isinstance(data_format, bytes) else data_format
    kh, kw, ci, co = k.shape
    qualifies = (data_format == "NHWC" and padding in ("VALID", "SAME") and list(op.get_attr("dilations")) == [1] * 4
                 and x.shape.rank == 4 and x.shape[1:].is_fully_defined() and k.shape.is_fully_defined()
                 and x.shape[-1] == ci and ci <= MAX_CHANNELS and grad.shape[1:].is_fully_defined())
    if not qualifies:
        return nn_grad._Conv2DGrad(op, grad)
    _, h, w, _ = x.shape
    _, ho, wo, _ = grad.shape
    sh, sw = strides[1], strides[2]
    qh, qw = -(-kh // sh), -(-kw // sw)
    patches = tf.reshape(tf.reshape(grad, (-1, co)) @ tf.transpose(tf.reshape(k, (kh * kw * ci, co))),
                         (-1, ho, wo, kh, kw, ci))
    # taps u = sh*q + r: pad the kernel axes to whole strides, split each into (q, r)
    patches = tf.pad(patches, [[0, 0], [0, 0], [0, 0], [0, qh * sh - kh], [0, qw * sw - kw], [0, 0]])
    patches = tf.reshape(patches, (-1, ho, wo, qh, sh, qw, sw, ci))
    canvas = 0
    for q in range(qh):
        for p in range(qw):  # tap group (q, p) lands on canvas rows y + q, columns x + p
            canvas += tf.pad(patches[:, :, :, q, :, p, :, :],
                             [[0, 0], [q, qh - 1 - q], [p, qw - 1 - p], [0, 0], [0, 0], [0, 0]])
    canvas = tf.reshape(tf.transpose(canvas, (0, 1, 3, 2, 4, 5)), (-1, (ho + qh - 1) * sh, (wo + qw - 1) * sw, ci))
    top = _same_padding(h, ho, sh, kh) if padding == "SAME" else 0
    left = _same_padding(w, wo, sw, kw) if padding == "SAME" else 0
    # VALID convolutions may leave the last rows / columns untouched (zero gradient): pad the canvas to cover them
    canvas = tf.pad(canvas, [[0, 0], [0, max(0, top + h - (ho + qh - 1) * sh)],
                             [0, max(0, left + w - (wo + qw - 1) * sw)], [0, 0]])
    dx = canvas[:, top : top + h, left : left + w, :]
    dk = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(k), out_backprop=grad, strides=strides,
                                         padding=padding, data_format=data_format,
                                         dilations=op.get_attr("dilations"))
    return dx, dk


def _register():
    global _registered
    import tensorflow as tf

    if not _registered:
        try:
            tf.RegisterGradient(_NAME)(_overlap_add_gradient)
        except KeyError:
            pass  # already registered (module reloaded)
        _registered = True


@contextlib.contextmanager
def fast_input_gradients():
    """Conv2D ops traced inside get :func:`_overlap_add_gradient`. Only while tracing a ``tf.function``."""
    import tensorflow as tf

    enabled = ENABLED if ENABLED != "auto" else not tf.config.list_logical_devices("GPU")
    if not enabled:
        yield
        return
    _register()
    with tf.compat.v1.get_default_graph().gradient_override_map({"Conv2D": _NAME}):
        yield
