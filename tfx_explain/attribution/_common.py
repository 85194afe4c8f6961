"""Pieces shared by the attribution methods: the result type and the gradient of the explained scalar."""
from __future__ import annotations

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

    probe = tf.constant(x[:1])
    _, grad = explained_gradient(score_fn, probe, tf.constant(weights[:1]))
    if grad is None:
        raise ModelError(f"model: method {name!r} needs gradients, but the model's output does not depend "
                         "differentiably on its input")


def steps_per_block(chunk, steps):
    """Path steps evaluated per traced call for a chunk of images, within EVALUATIONS_PER_CALL."""
    return int(max(1, min(steps, EVALUATIONS_PER_CALL // max(1, chunk))))


def blocked(values, block):
    """Pad a (steps, ...) array with zeros to whole blocks and reshape it to (n_blocks, block, ...)."""
    steps = len(values)
    n_blocks = -(-steps // block)
    pad = n_blocks * block - steps
    padded = np.concatenate([values, np.zeros((pad,) + values.shape[1:], values.dtype)]) if pad else values
    return padded.reshape((n_blocks, block) + values.shape[1:])
