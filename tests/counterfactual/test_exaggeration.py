"""Progressive Exaggeration (progressive_exaggeration.txt): bins, the hinge and KL losses on tiny tensors,
networks, the classifier-gradient flag, bin-balanced sampling, and a few training steps on a fixed batch."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_explain.errors import InputError
from tfx_explain.generative import exaggeration as pe
from tfx_explain.generative.losses import hinge_discriminator_loss, hinge_generator_loss


def test_bin_assignment_and_targets():
    p = np.array([0.0, 0.0999, 0.1, 0.55, 0.9, 0.95, 1.0])
    np.testing.assert_array_equal(pe.bin_index(p, 10), [0, 0, 1, 5, 9, 9, 9])  # p = 1 in the last bin
    np.testing.assert_array_equal(pe.bin_index(p, 3), [0, 0, 0, 1, 2, 2, 2])
    c = np.arange(5)
    np.testing.assert_allclose(pe.bin_target(c, 5, "lower_edge"), [0, 0.2, 0.4, 0.6, 0.8])
    np.testing.assert_allclose(pe.bin_target(c, 5, "center"), [0.1, 0.3, 0.5, 0.7, 0.9])
    np.testing.assert_allclose(pe.bin_target(c, 5, "dissect"), [0, 0.25, 0.5, 0.75, 1.0])
    assert np.all(pe.bin_index(pe.bin_target(c, 5, "center"), 5) == c)


def test_hinge_losses_on_tiny_tensors():
    """Eq. 7-8: L_D = E[max(0, 1 - D(x, c))] + E[max(0, 1 + D(G, c))], L_G = -E[D(G, c)]."""
    real = tf.constant([2.0, 0.5, -1.0])
    fake = tf.constant([-2.0, 0.0, 0.5])
    np.testing.assert_allclose(hinge_discriminator_loss(real, fake), [0 + 0, 0.5 + 1.0, 2.0 + 1.5])
    np.testing.assert_allclose(hinge_generator_loss(fake), [2.0, 0.0, -0.5])


def test_bernoulli_kl_on_tiny_tensors():
    p = np.array([0.0, 0.3, 0.3, 1.0, 0.8], np.float32)
    q = np.array([0.2, 0.3, 0.6, 0.9, 0.1], np.float32)
    logit = np.log(q / (1 - q))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.nan_to_num(p * np.log(p / q)) + np.nan_to_num((1 - p) * np.log((1 - p) / (1 - q)))
    np.testing.assert_allclose(pe.bernoulli_kl(tf.constant(p), tf.constant(logit)), expected, rtol=1e-5, atol=1e-6)
    assert abs(float(pe.bernoulli_kl(tf.constant(0.3), tf.constant(np.log(0.3 / 0.7), tf.float32)))) < 1e-6


@pytest.mark.parametrize("bins", [2, 4, 10])
def test_generator_keeps_the_image_shape_for_every_number_of_bins(bins):
    cfg = pe.make_config("tiny", bins=bins)
    g = pe.build_generator((28, 28, 1), cfg)
    x = np.random.default_rng(0).random((bins, 28, 28, 1)).astype(np.float32)
    out, embedding = g([x, np.arange(bins, dtype=np.int32)])
    assert out.shape == x.shape and embedding.shape == (bins, 14, 14, 16)
    d = pe.build_discriminator((28, 28, 1), cfg)
    assert d([x, np.arange(bins, dtype=np.int32)]).shape == (bins,)


def test_the_condition_changes_the_explanation():
    keras.utils.set_random_seed(1)
    cfg = pe.make_config("tiny", bins=3)
    g = pe.build_generator((8, 8, 3), cfg)
    g.get_layer("dec0_cbn1").gamma.assign(np.random.default_rng(0).normal(size=(3, 16)))
    x = np.random.default_rng(1).random((1, 8, 8, 3)).astype(np.float32)
    outs = [g([x, np.array([c], np.int32)])[0].numpy() for c in range(3)]
    assert not np.allclose(outs[0], outs[2])


def _toy_setup(stop_gradient):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    logit_layer = keras.layers.Dense(1)
    logit = keras.layers.Reshape(())(logit_layer(keras.layers.Flatten()(inputs)))
    classifier_logit = keras.Model(inputs, logit)
    cfg = pe.make_config("tiny", bins=4, stop_classifier_gradient=stop_gradient)
    model = pe.build_model((8, 8, 1), cfg, classifier_logit)
    return model, cfg


@pytest.mark.parametrize("stop_gradient", [False, True])
def test_classifier_gradient_flag(stop_gradient, rng):
    """Default: the KL term trains G through the frozen classifier; the official stop_gradient makes it inert."""
    model, _ = _toy_setup(stop_gradient)
    x = tf.constant(rng.random((4, 8, 8, 1)).astype(np.float32))
    source, target = tf.constant([0, 1, 2, 3]), tf.constant([3, 2, 1, 0])
    with tf.GradientTape() as tape:
        _, terms, _ = model.generator_losses(x, source, target)
        kl = terms["kl"]
    grads = tape.gradient(kl, model.generator.trainable_variables)
    total = sum(float(tf.reduce_sum(tf.abs(g))) for g in grads if g is not None)
    assert (total == 0.0) if stop_gradient else (total > 0.0)


def test_bin_balanced_sampling_and_layout(rng):
    images = rng.random((40, 4, 4, 1)).astype(np.float32)
    source = np.array([0] * 34 + [2] * 5 + [3] * 1)  # bin 1 empty
    cfg = pe.make_config("tiny", bins=4, batch_size=50, n_critic=3)
    batches = list(pe.bin_dataset(images, source, cfg, seed=0)(0).take(4).as_numpy_iterator())
    b = batches[0]
    assert b["x"].shape == (50, 3, 4, 4, 1) and b["source"].shape == (50, 3) and b["target"].shape == (50, 3)
    drawn = np.concatenate([x["source"].ravel() for x in batches])
    freq = np.bincount(drawn, minlength=4) / len(drawn)
    np.testing.assert_allclose(freq, [1 / 3, 0, 1 / 3, 1 / 3], atol=0.06)  # each non-empty bin alike
    targets = np.concatenate([x["target"].ravel() for x in batches])
    np.testing.assert_allclose(np.bincount(targets, minlength=4) / len(targets), 0.25, atol=0.06)
    # the image and its source bin travel together
    lookup = {images[i].tobytes(): source[i] for i in range(40)}
    assert all(lookup[x.tobytes()] == s for x, s in zip(b["x"].reshape(-1, 4, 4, 1), b["source"].ravel()))
    again = list(pe.bin_dataset(images, source, cfg, seed=0)(3).take(1).as_numpy_iterator())[0]
    np.testing.assert_array_equal(again["x"], batches[3]["x"])


def test_config_validation():
    with pytest.raises(InputError, match="projection"):
        pe.make_config("tiny", projection="nope")
    with pytest.raises(InputError, match="target"):
        pe.make_config("tiny", target="middle")
    with pytest.raises(InputError, match="unknown Progressive Exaggeration settings"):
        pe.make_config("tiny", lambda_rec=3)
    cfg = pe.make_config("paper")
    assert (cfg.bins, cfg.cgan_weight, cfg.f_weight, cfg.rec_weight, cfg.n_critic) == (10, 1.0, 1.0, 100.0, 5)
    assert pe.ExaggerationConfig.from_dict(cfg.to_dict()) == cfg


def test_training_steps_lower_the_losses_on_a_fixed_batch(rng):
    model, cfg = _toy_setup(False)
    x = rng.random((8, 8, 8, 1)).astype(np.float32)
    batch = {"x": tf.constant(x[:, None]), "source": tf.constant(np.zeros((8, 1), np.int32)),
             "target": tf.constant(np.tile([[0], [1], [2], [3]], (2, 1)).astype(np.int32))}
    model.g_optimizer.learning_rate.assign(1e-3)
    step = tf.function(model.train_step)
    first = {k: float(v) for k, v in step(batch).items()}
    for _ in range(25):
        model.reset_metrics()
        last = {k: float(v) for k, v in step(batch).items()}
    assert last["rec"] < 0.8 * first["rec"] and last["cyc"] < 0.8 * first["cyc"]
    assert last["kl"] < first["kl"]
