"""Each GAN loss against hand-computed values on tiny tensors (TF-GAN's losses_impl_test style)."""
import numpy as np
import tensorflow as tf

from tfx_explain.generative import losses


def test_wasserstein_losses():
    real = tf.constant([1.0, 2.0, -1.0])
    fake = tf.constant([0.5, -0.5, 3.0])
    np.testing.assert_allclose(losses.wasserstein_generator_loss(fake), [-0.5, 0.5, -3.0])
    np.testing.assert_allclose(losses.wasserstein_discriminator_loss(real, fake), [-0.5, -2.5, 4.0])
    assert float(tf.reduce_mean(losses.wasserstein_discriminator_loss(real, fake))) == np.float32(1.0 / 3.0)


def test_hinge_losses():
    real = tf.constant([2.0, 0.5, -1.0])
    fake = tf.constant([-2.0, 0.0, 1.0])
    # max(0, 1 - real) + max(0, 1 + fake) = [0 + 0, 0.5 + 1, 2 + 2]
    np.testing.assert_allclose(losses.hinge_discriminator_loss(real, fake), [0.0, 1.5, 4.0])
    np.testing.assert_allclose(losses.hinge_generator_loss(fake), [2.0, 0.0, -1.0])


def test_gradient_penalty_of_linear_critics():
    """D(x) = v.x has gradient v everywhere: penalty (sqrt(|v|^2 + 1e-10) - 1)^2 for every mixing weight."""
    rng = np.random.default_rng(0)
    real = tf.constant(rng.normal(size=(4, 3, 3, 2)), tf.float32)
    fake = tf.constant(rng.normal(size=(4, 3, 3, 2)), tf.float32)
    alpha = tf.constant(rng.random((4, 1, 1, 1)), tf.float32)
    for scale, expected in ((1.0, 0.0), (2.0, 1.0), (0.5, 0.25)):
        v = rng.normal(size=(3, 3, 2)).astype(np.float32)
        v *= scale / np.linalg.norm(v)
        critic = lambda x, training=True, v=v: tf.reduce_sum(x * v, axis=[1, 2, 3])
        np.testing.assert_allclose(losses.gradient_penalty(critic, real, fake, alpha), [expected] * 4, atol=1e-5)
    constant = lambda x, training=True: 0.0 * tf.reduce_sum(x, axis=[1, 2, 3]) + 3.0
    np.testing.assert_allclose(losses.gradient_penalty(constant, real, fake, alpha), [(1e-5 - 1) ** 2] * 4,
                               rtol=1e-6)


def test_gradient_penalty_interpolates_per_sample():
    """With D(x) = sum x^2 / 2, the gradient at x_hat is x_hat itself: check the per-sample alpha."""
    real = tf.constant(np.ones((2, 1, 1, 1)), tf.float32)
    fake = tf.constant(np.full((2, 1, 1, 1), 3.0), tf.float32)
    alpha = tf.constant([[[[0.0]]], [[[0.5]]]], tf.float32)  # x_hat = 1 and 2
    critic = lambda x, training=True: 0.5 * tf.reduce_sum(x * x, axis=[1, 2, 3])
    np.testing.assert_allclose(losses.gradient_penalty(critic, real, fake, alpha), [0.0, 1.0], atol=1e-5)


def test_l1_and_cross_entropy():
    a = tf.constant([[[[1.0], [-1.0]]], [[[0.0], [0.5]]]])  # (2, 1, 2, 1)
    b = tf.zeros_like(a)
    np.testing.assert_allclose(losses.l1_loss(a, b), [1.0, 0.25])
    logits = tf.constant([[0.0, 0.0], [np.log(3.0), 0.0]], tf.float32)
    np.testing.assert_allclose(losses.softmax_cross_entropy(tf.constant([[1.0, 0.0], [0.0, 1.0]]), logits),
                               [np.log(2.0), np.log(4.0)], rtol=1e-6)


def test_global_mean_divides_by_the_global_batch(logical_cpus):
    strategy = tf.distribute.MirroredStrategy(logical_cpus)
    values = tf.constant([1.0, 2.0, 3.0, 6.0])
    dist = strategy.experimental_distribute_values_from_function(
        lambda ctx: values[2 * ctx.replica_id_in_sync_group : 2 * ctx.replica_id_in_sync_group + 2])
    per_replica = strategy.run(losses.global_mean, args=(dist,))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
    assert float(total) == 3.0  # the mean of all four, although each replica saw two
