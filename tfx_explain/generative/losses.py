"""Loss functions as pure functions, one per equation, in the style of TF-GAN's ``losses_impl``.

Each returns per-example values (shape (B,)), so that callers reduce them over the *global* batch with
:func:`global_mean` and one replica and several replicas train the same model.
"""
from __future__ import annotations

import tensorflow as tf


def global_mean(per_example):
    """Mean over the global batch under any tf.distribute strategy (``tf.nn.compute_average_loss``).

    Each replica returns sum(per_example) / global_batch; gradients are summed across replicas by the
    optimizer, so the update equals the single-device one.
    """
    return tf.nn.compute_average_loss(per_example)


def per_example_mean(x):
    """Mean over all axes but the first: (B, ...) -> (B,)."""
    return tf.reduce_mean(tf.reshape(x, (tf.shape(x)[0], -1)), axis=1)


def wasserstein_generator_loss(fake_scores):
    """L_G^adv = -E[D(G(x))] (WGAN, Arjovsky et al., 2017; TF-GAN ``wasserstein_generator_loss``)."""
    return -fake_scores


def wasserstein_discriminator_loss(real_scores, fake_scores):
    """L_D^adv = E[D(G(x))] - E[D(x)] (WGAN; TF-GAN ``wasserstein_discriminator_loss``)."""
    return fake_scores - real_scores


def gradient_penalty(critic, real, fake, alpha, epsilon=1e-10, target=1.0, mask=None):
    """WGAN-GP (Gulrajani et al., 2017, Eq. 3), as TF-GAN's ``wasserstein_gradient_penalty``:
    (sqrt(sum_pixels (dD(x_hat)/dx_hat)^2 + epsilon) / target - 1)^2 at x_hat = real + alpha (fake - real),
    alpha ~ U(0, 1) per sample (shape (B, 1, 1, 1)), epsilon 1e-10 inside the square root (ganmex.md §1.6).

    ``mask`` (broadcastable to the images) weights the squared gradient before the sum: DeepFill-v1's
    "modified WGAN-GP" penalises the gradient on the hole only (neuralgym ``gradients_penalty``).
    """
    x_hat = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat, training=True)
    grads = tape.gradient(scores, x_hat)
    squared = tf.square(grads) if mask is None else tf.square(grads) * mask
    norm = tf.sqrt(tf.reduce_sum(tf.reshape(squared, (tf.shape(grads)[0], -1)), axis=1) + epsilon)
    return tf.square(norm / target - 1.0)


def hinge_discriminator_loss(real_scores, fake_scores):
    """L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] (hinge loss; Lim & Ye, 2017)."""
    return tf.nn.relu(1.0 - real_scores) + tf.nn.relu(1.0 + fake_scores)


def hinge_generator_loss(fake_scores):
    """L_G = -E[D(G(z))] (hinge loss generator side; Miyato et al., 2018)."""
    return -fake_scores


def l1_loss(a, b):
    """Per-example mean |a - b| over all pixels (TF1 ``losses.absolute_difference`` once batch-averaged)."""
    return per_example_mean(tf.abs(a - b))


def softmax_cross_entropy(labels_onehot, logits):
    """Per-example -sum_k y_k log softmax(logits)_k (TF1 ``losses.softmax_cross_entropy`` per sample)."""
    return tf.nn.softmax_cross_entropy_with_logits(labels=labels_onehot, logits=logits)
