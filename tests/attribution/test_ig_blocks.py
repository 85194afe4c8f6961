"""IG's path-point blocking (issue 18 §1, equal-step throughput): balanced blocks waste fewer than one padded step
per block, and however the steps are blocked and the images chunked, the map equals a brute-force sum of the
gradients at every path point (one gradient call per point, no blocking, float64 accumulation)."""
import contextlib

import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.attribution._common import steps_per_block


@pytest.mark.parametrize("chunk, steps, points", [(64, 200, 2048), (1, 7, 3), (3, 200, 5), (10, 1, 2048),
                                                  (2048, 50, 2048), (5, 97, 64), (1, 1024, 2048)])
def test_blocks_fit_the_budget_are_fewest_and_nearly_even(chunk, steps, points):
    block = steps_per_block(chunk, steps, points)
    n_blocks = -(-steps // block)
    largest = max(1, min(steps, points // chunk))
    assert block <= largest  # within the points per call (or one step when a chunk alone exceeds it)
    assert n_blocks == -(-steps // largest)  # no more loop iterations than the largest block needs
    assert n_blocks * block - steps < n_blocks  # padding: under one zero-weight step per block


def _brute_force(model, x, baseline, weights, steps):
    import tensorflow as tf

    from tfx_explain.targets import score_function

    score_fn = score_function(model, "probability", probe=x[:1], one_vs_one=True)
    total = np.zeros(x.shape, np.float64)
    for k in range(1, steps + 1):  # DeepExplain's right Riemann sum, a_k = k/m
        points = tf.constant(baseline + (k / steps) * (x - baseline))
        with tf.GradientTape() as tape:
            tape.watch(points)
            out = score_fn.explained(points, tf.constant(weights))
        total += tape.gradient(out, points).numpy()
    return (total / steps * (x - baseline)).astype(np.float32)


def test_ig_equals_the_unblocked_sum_for_every_chunking(digits_model, digit_batch):
    x, co, ct = digit_batch
    x = x[:5]
    baseline = np.zeros_like(x)
    weights = np.zeros((len(x), 10), np.float32)
    weights[np.arange(len(x)), co[:5]], weights[np.arange(len(x)), ct[:5]] = 1.0, -1.0
    expected = _brute_force(digits_model, x, baseline, weights, 23)
    scale = np.abs(expected).max()
    for batch_size in (None, 1, 7, 12, 115):  # blocks of 23, 1, 4 (6 blocks of 4 for 23 steps), 6, 23
        e = tx.explain_keras(digits_model, x, method="integrated_gradients", steps=23, baseline="zero",
                             original_class=co[:5], target_class=ct[:5], batch_size=batch_size, progress=False)
        np.testing.assert_allclose(e.attributions, expected, rtol=0, atol=2e-6 * scale, err_msg=str(batch_size))


CONVS = [((28, 28, 1), (6, 6, 32), (2, 2), "VALID"), ((13, 11, 3), (3, 4, 5), (2, 3), "SAME"),
         ((9, 9, 2), (3, 3, 4), (1, 1), "SAME"), ((10, 10, 4), (5, 5, 3), (3, 3), "VALID"),
         ((8, 7, 1), (2, 2, 2), (2, 2), "SAME"),
         # strides larger than the kernel: taps never overlap and some rows / columns get no gradient
         ((7, 9, 1), (1, 1, 3), (2, 1), "SAME"), ((11, 10, 3), (2, 3, 4), (3, 3), "VALID")]


@pytest.mark.parametrize("image, kernel, strides, padding", CONVS)
def test_overlap_add_input_gradient_equals_tensorflows(image, kernel, strides, padding):
    """The few-channel Conv2D input gradient (matmul + col2im) against TensorFlow's kernel: the same sum in
    another order; (10, 10) at stride 3 with a 5x5 VALID kernel leaves the last row and column untouched."""
    import tensorflow as tf

    from tfx_explain.attribution.input_gradient import fast_input_gradients

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3,) + image).astype(np.float32))
    k = tf.constant(rng.normal(size=kernel[:2] + (image[2], kernel[2])).astype(np.float32))

    def gradient(fast):
        @tf.function
        def g(v):
            with fast_input_gradients() if fast else contextlib.nullcontext():
                y = tf.nn.conv2d(v, k, strides, padding)
            return tf.gradients(tf.reduce_sum(tf.sin(y)), [v, k])
        return g

    (dx, dk), (fx, fk) = gradient(False)(x), gradient(True)(x)
    np.testing.assert_allclose(fx.numpy(), dx.numpy(), rtol=0, atol=1e-6 * np.abs(dx.numpy()).max())
    np.testing.assert_array_equal(fk.numpy(), dk.numpy())  # the filter gradient stays TensorFlow's
    ops = {op.type for op in gradient(True).get_concrete_function(x).graph.get_operations()}
    assert "Conv2DBackpropInput" not in ops and "MatMul" in ops  # it really took the overlap-add route


def test_many_channel_convolutions_keep_tensorflows_gradient():
    import tensorflow as tf

    from tfx_explain.attribution.input_gradient import fast_input_gradients

    k = tf.ones((3, 3, 8, 2))

    @tf.function
    def g(v):
        with fast_input_gradients():
            y = tf.nn.conv2d(v, k, 1, "SAME")
        return tf.gradients(tf.reduce_sum(y), v)[0]

    ops = {op.type for op in g.get_concrete_function(tf.zeros((1, 5, 5, 8))).graph.get_operations()}
    assert "Conv2DBackpropInput" in ops
