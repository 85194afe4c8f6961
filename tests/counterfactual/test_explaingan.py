"""ExplainGAN (explaingan.txt): networks, the composite of Eq. 5, each loss of Eq. 8-16 on hand-made
tensors, class-balanced batches, and a few training steps on a fixed batch."""
import numpy as np
import pytest
import tensorflow as tf

from tfx_explain.errors import InputError
from tfx_explain.generative import explaingan as eg

SHAPE = (28, 28, 1)


def test_networks_have_the_expected_shapes():
    cfg = eg.make_config("tiny")
    explainer = eg.build_explainer(SHAPE, cfg)
    x = np.random.default_rng(0).random((3,) + SHAPE).astype(np.float32)
    g0, g1, mask = explainer([x, np.array([0.0, 1.0, 1.0])])
    assert g0.shape == g1.shape == (3,) + SHAPE and mask.shape == (3, 28, 28, 1)
    assert 0.0 <= float(tf.reduce_min(g0)) and float(tf.reduce_max(g1)) <= 1.0  # back in the data range
    assert 0.0 <= float(tf.reduce_min(mask)) and float(tf.reduce_max(mask)) <= 1.0
    d = eg.build_discriminator((32, 32, 3), eg.make_config("tiny"))
    assert d([np.zeros((2, 32, 32, 3), np.float32), np.array([0.0, 1.0])]).shape == (2,)
    # E_0 and E_1 share their last layers and the projection to z; D_0 and D_1 share theirs (§5.2)
    names = [layer.name for layer in explainer.layers]
    assert "enc0_0" in names and "enc1_0" in names and "enc_shared1" in names and "enc_out" in names


def test_class_branches_route_by_predicted_class(rng):
    """z = E_y(x) (Eq. 4): changing y changes the outputs, and a batch mixes both routes sample by sample."""
    explainer = eg.build_explainer(SHAPE, eg.make_config("tiny"))
    x = rng.random((2,) + SHAPE).astype(np.float32)
    both0 = explainer([x, np.zeros(2)])
    both1 = explainer([x, np.ones(2)])
    mixed = explainer([x, np.array([0.0, 1.0])])
    for out0, out1, out_mixed in zip(both0, both1, mixed):
        assert not np.allclose(out0[0], out1[0])
        np.testing.assert_allclose(out_mixed[0], out0[0], atol=1e-6)
        np.testing.assert_allclose(out_mixed[1], out1[1], atol=1e-6)


def test_composite_formula():
    x = np.full((1, 2, 2, 3), 0.2, np.float32)
    t = np.full((1, 2, 2, 3), 0.9, np.float32)
    m = np.array([0.0, 1.0, 0.25, 0.5], np.float32).reshape(1, 2, 2, 1)
    c = np.asarray(eg.composite(x, t, m))
    np.testing.assert_allclose(c[0, 0, 0], 0.2)  # m = 0: the input
    np.testing.assert_allclose(c[0, 0, 1], 0.9)  # m = 1: the transformation
    np.testing.assert_allclose(c[0, 1, 0], 0.2 * 0.75 + 0.9 * 0.25, rtol=1e-6)
    np.testing.assert_allclose(c[0, 1, 1], 0.55, rtol=1e-6)


def test_prior_losses_on_hand_made_masks():
    half = np.zeros((1, 4, 4, 1), np.float32)
    half[:, :, :2] = 1.0  # left half on: one vertical edge
    np.testing.assert_allclose(eg.count_loss(half, 0.1), [0.5])
    np.testing.assert_allclose(eg.count_loss(half * 0.1, 0.1), [0.1])  # 5% area: below kappa, flat
    # TV: no vertical change; horizontally 4 of the 12 neighbour pairs differ by 1
    np.testing.assert_allclose(eg.smoothness_loss(half), [4 / 12], rtol=1e-6)
    np.testing.assert_allclose(eg.entropy_loss(half), [0.0])  # binary mask: no entropy
    np.testing.assert_allclose(eg.entropy_loss(np.full((1, 2, 2, 1), 0.7, np.float32)), [0.3], rtol=1e-6)
    x = np.full((1, 4, 4, 1), 1.0, np.float32)
    t = np.full((1, 4, 4, 1), -1.0, np.float32)
    # (1 - m) (x - t) = 2 outside the mask (half the pixels): mean of squares = 4 * 0.5
    np.testing.assert_allclose(eg.const_loss(x, t, half), [2.0])
    np.testing.assert_allclose(eg.const_loss(x, t, np.ones_like(half)), [0.0])
    np.testing.assert_allclose(eg.recon_loss(x, x * 0.5), [0.25])


def test_gan_and_classifier_losses_on_tiny_logits():
    real, fakes = np.array([2.0], np.float32), [np.array([v], np.float32) for v in (0.0, 1.0, -1.0)]
    softplus = lambda v: np.log1p(np.exp(v))  # noqa: E731
    expected_d = softplus(-2.0) + softplus(0.0) + softplus(1.0) + softplus(-1.0)  # -log D(x) - sum log(1 - D(f))
    np.testing.assert_allclose(eg.discriminator_loss(real, fakes), [expected_d], rtol=1e-6)
    np.testing.assert_allclose(eg.generator_gan_loss(fakes), [softplus(0) + softplus(-1) + softplus(1)], rtol=1e-6)
    np.testing.assert_allclose(eg.generator_gan_loss(fakes, "minimax"), [-expected_d + softplus(-2.0)], rtol=1e-6)
    # Eq. 9-10 from the binary logit d: -log F for target 1, -log(1 - F) for target 0
    d = np.array([0.5, 0.5], np.float32)
    np.testing.assert_allclose(eg.classifier_loss(d, np.array([1.0, 0.0])),
                               [-np.log(1 / (1 + np.exp(-0.5))), -np.log(1 - 1 / (1 + np.exp(-0.5)))], rtol=1e-6)
    np.testing.assert_allclose(eg.class_sum(tf.constant([1.0, 2.0, 3.0, 6.0])), 6.0)  # 2 x mean


def test_balanced_batches_alternate_classes_and_depend_only_on_the_step(rng):
    images = rng.random((10, 4, 4, 1)).astype(np.float32)
    predicted = np.array([0] * 3 + [1] * 7)
    images[predicted == 0] += 10.0  # class 0 images are recognisable
    make = eg.balanced_dataset(images, predicted, 6, seed=3)
    first = list(make(0).take(3).as_numpy_iterator())
    again = list(make(2).take(1).as_numpy_iterator())
    np.testing.assert_array_equal(first[2]["x"], again[0]["x"])  # resume at step 2 = the same batch
    for batch in first:
        np.testing.assert_array_equal(batch["y"], [0, 1] * 3)
        np.testing.assert_array_equal(batch["x"].max(axis=(1, 2, 3)) > 5, batch["y"] == 0)


def test_config_validation():
    with pytest.raises(InputError, match="preset"):
        eg.make_config("huge")
    with pytest.raises(InputError, match="unknown ExplainGAN settings"):
        eg.make_config("tiny", kapa=0.2)
    with pytest.raises(InputError, match="batch_size"):
        eg.make_config("tiny", batch_size=7)
    with pytest.raises(InputError, match="decoder_widths"):
        eg.make_config("tiny", decoder_widths=(8,))
    cfg = eg.make_config("tiny", kappa=0.05)
    assert eg.ExplainGANConfig.from_dict(cfg.to_dict()) == cfg


def test_training_steps_lower_the_losses_on_a_fixed_batch(rng):
    """A frozen toy classifier (mean brightness decides), 25 steps on one fixed batch of 8x8 images."""
    import keras

    shape = (8, 8, 1)
    inputs = keras.Input(shape)
    logit = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(40.0),
                               bias_initializer=keras.initializers.Constant(-20.0))(
        keras.layers.GlobalAveragePooling2D()(inputs))
    pair_logit = keras.Model(inputs, keras.layers.Reshape(())(logit))
    x = np.concatenate([rng.random((8,) + shape) * 0.6, 0.4 + rng.random((8,) + shape) * 0.6]).astype(np.float32)
    y = (np.asarray(pair_logit(x)) > 0).astype(np.float32)
    order = np.argsort(y, kind="stable").reshape(2, -1).T.ravel()  # alternate the classes
    keras.utils.set_random_seed(0)
    model = eg.build_model(shape, eg.make_config("tiny", learning_rate=1e-3), pair_logit)
    batch = {"x": tf.constant(x[order]), "y": tf.constant(y[order])}
    step = tf.function(model.train_step)
    first = {k: float(v) for k, v in step(batch).items()}
    for _ in range(25):
        model.reset_metrics()
        last = {k: float(v) for k, v in step(batch).items()}
    assert last["recon"] < 0.8 * first["recon"]
    assert last["classifier"] < first["classifier"]
    assert last["g_loss"] < first["g_loss"]
