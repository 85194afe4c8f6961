"""Pieces shared by the attribution methods: the result type and the gradient of the explained scalar."""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

DEFAULT_BATCH = 64
EVALUATIONS_PER_CALL = 2048  # model evaluations per traced call for path methods (memory bound)


@dataclass
class MethodResult:
    """What a method returns to explain_keras: attributions plus method-specific extras."""

    attributions: np.ndarray
    extras: dict = field(default_factory=dict)


def explained_gradient(score_fn, x, weights):
    """(S_w(x), dS_w/dx) for a chunk: one forward and one backward pass; TF tensors."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        out = score_fn.explained(x, weights)
    return out, tape.gradient(out, x)


def check_differentiable(score_fn, x, weights, name):
    """Raise before the real work when the model gives no gradient (e.g. it rounds or argmaxes)."""
    import tensorflow as tf

    from ..errors import ModelError

    # traced, and reused on the same model: an eager gradient of a large backbone costs about a second per call
    gradient = score_fn.compiled(("checked_gradient",), lambda: lambda v, w: explained_gradient(score_fn, v, w)[1])
    grad = gradient(tf.constant(x[:1]), tf.constant(weights[:1]))
    if grad is None:
        raise ModelError(f"model: method {name!r} needs gradients, but the model's output does not depend "
                         "differentiably on its input")


def steps_per_block(chunk, steps, points=EVALUATIONS_PER_CALL):
    """Path steps evaluated per loop iteration for a chunk of images, within ``points`` model evaluations.

    The blocks are balanced: as few as fit, then as even as possible, so the zero-weight steps that pad the
    last block (see :func:`blocked`) stay below one per block. The largest block that fits would pad 200 steps
    in blocks of 32 to 224 model evaluations (12% wasted); balanced, 7 blocks of 29 evaluate 203.
    """
    largest = int(max(1, min(steps, points // max(1, chunk))))
    n_blocks = -(-int(steps) // largest)
    return -(-int(steps) // n_blocks)


ACTIVATION_BUDGET = 1 << 30  # bytes of forward and backward tensors per traced call of a path method
_POINT_BYTES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # ScoreFunction -> {(image shape, K): bytes per path point}


def path_points_per_call(score_fn, image_shape, num_weights, batch_size):
    """Model evaluations (path points) per traced call of IG / EG.

    ``batch_size`` given: that many (memory is bounded by it). ``None``: as many as fit in
    :data:`ACTIVATION_BUDGET` (about 1 GB), from the bytes one point needs, measured once per model and shape by
    a probe trace of the gradient for one point (every float tensor of the traced forward and backward pass
    whose leading axis is the batch: an upper bound, as not all are alive at once); at most EVALUATIONS_PER_CALL.
    """
    if batch_size is not None:
        return int(batch_size)
    key = (tuple(int(d) for d in image_shape), int(num_weights))
    table = _POINT_BYTES.setdefault(score_fn, {})
    if key not in table:
        table[key] = _probe_point_bytes(score_fn, *key)
    return int(max(1, min(EVALUATIONS_PER_CALL, ACTIVATION_BUDGET // table[key])))


def _probe_point_bytes(score_fn, image_shape, num_weights):
    import tensorflow as tf

    def gradient(points, weights):
        with tf.GradientTape() as tape:
            tape.watch(points)
            out = score_fn.explained(points, weights)
        return tape.gradient(out, points)

    graph = tf.function(gradient).get_concrete_function(
        tf.TensorSpec((1,) + image_shape, tf.float32), tf.TensorSpec((1, num_weights), tf.float32)).graph
    total = 0
    for op in graph.get_operations():
        for t in op.outputs:
            if t.dtype.is_floating and t.shape.rank and t.shape.is_fully_defined() and t.shape[0] == 1:
                total += t.shape.num_elements() * t.dtype.size
    # a floor of the input itself, its gradient and the path point, should the model hide its ops in a call
    return max(total, 3 * 4 * int(np.prod(image_shape)))


def blocked(values, block):
    """Pad a (steps, ...) array with zeros to whole blocks and reshape it to (n_blocks, block, ...)."""
    steps = len(values)
    n_blocks = -(-steps // block)
    pad = n_blocks * block - steps
    padded = np.concatenate([values, np.zeros((pad,) + values.shape[1:], values.dtype)]) if pad else values
    return padded.reshape((n_blocks, block) + values.shape[1:])
