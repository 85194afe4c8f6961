"""GANMEX: architecture, losses, frozen classifier, resume, distribution, saving and mismatch."""
import json

import numpy as np
import pytest
import tensorflow as tf

import tfx_explain as tx
from tfx_explain import ganmex
from tfx_explain.errors import InputError, MismatchError
from tfx_explain.generative.stargan import GanmexGAN, build_discriminator, build_generator, trunk_sizes

TINY = dict(width=4, res_blocks=1, d_width=4, checkpoint_every=2, sample_every=0, log_every=1, batch_per_class=2)


@pytest.fixture(scope="module")
def tiny_data():
    x, y = tx.data.load("digits", "train", image_size=8)
    return x[:200], y[:200]


def _tiny_classifier(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10), keras.layers.Softmax()])


@pytest.fixture(scope="module")
def tiny_classifier(tiny_data):
    model = _tiny_classifier()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(*tiny_data, epochs=2, verbose=0)
    return model


def test_reference_generator_has_8_4_million_parameters():
    g = build_generator((28, 28, 1), 10)
    # 7x7x11x64 + 4x4x64x128 + 4x4x128x256 + 6 x 2 x 3x3x256x256 + 4x4x256x128 + 4x4x128x64 + 7x7x64x1
    # convolutions (no bias) + instance-norm scales and offsets (64+128 + 12x256 + 128+64, times 2)
    convs = 34_496 + 131_072 + 524_288 + 12 * 589_824 + 524_288 + 131_072 + 3_136
    norms = 2 * (64 + 128 + 12 * 256 + 128 + 64)
    assert g.count_params() == convs + norms == 8_433_152
    out = g([np.zeros((2, 28, 28, 1), np.float32), np.eye(10, dtype=np.float32)[:2]])
    assert tuple(out.shape) == (2, 28, 28, 1)
    assert not any(l.name == "down2_in" for l in g.layers)  # the reference drops this IN + ReLU
    assert any(l.name == "down2_in" for l in build_generator((28, 28, 1), 10, 8, 1, reference_quirks=False).layers)


@pytest.mark.parametrize("size, sizes", [(28, [14, 7, 3, 1]), (32, [16, 8, 4, 2]), (128, [64, 32, 16, 8, 4, 2])])
def test_critic_stops_downsampling_below_three_pixels(size, sizes):
    assert trunk_sizes((size, size, 3)) == sizes
    d = build_discriminator((size, size, 3))
    assert tuple(d(np.zeros((2, size, size, 3), np.float32)).shape) == (2,)
    assert d.get_layer(f"trunk{len(sizes) - 1}").filters == 64 * 2 ** (len(sizes) - 1)


def test_generator_loss_is_the_weighted_sum_of_eq9(tiny_classifier, tiny_data):
    """One generator step reports L_G = adv + 1000 CE + 100 L1 (+ lambda_rec L1), recomputed by hand."""
    from tfx_explain.generative import losses
    from tfx_explain.generative.training import adam

    x = (tiny_data[0][:6] * 2 - 1).astype(np.float32)
    logits = tx.models.introspect.logits_function(tiny_classifier)
    gan = GanmexGAN((8, 8, 1), 10, lambda v: logits(v, training=False), width=4, res_blocks=1, d_width=4,
                    lambda_rec=10.0)
    gan.compile(adam(0.0, 0.9, 0.999), adam(0.0, 0.9, 0.999))  # lr 0: the step only measures
    source, target = np.arange(6) % 10, (np.arange(6) + 3) % 10
    out = gan._generator_step(tf.constant(x), tf.constant(source), tf.constant(target))
    fake = gan.generator([x, np.eye(10, dtype=np.float32)[target]])
    back = gan.generator([fake, tf.constant(np.eye(10, dtype=np.float32)[source])])
    ce = -np.log(tiny_classifier.predict((np.asarray(fake) + 1) / 2, verbose=0)[np.arange(6), target])
    adv = -np.asarray(gan.discriminator(fake))
    sim = np.abs(x - fake).mean(axis=(1, 2, 3))
    rec = np.abs(x - back).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(float(out["g_cls"]), ce.mean(), rtol=1e-4)
    np.testing.assert_allclose(float(out["g_sim"]), sim.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(out["g_rec"]), rec.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(out["g_loss"]), (adv + 1000 * ce + 100 * sim + 10 * rec).mean(), rtol=1e-4)
    assert float(losses.l1_loss(tf.constant(x), fake)[0]) == pytest.approx(sim[0], rel=1e-5)


def test_training_keeps_the_classifier_frozen_and_outputs_in_range(tiny_classifier, tiny_data):
    before = [w.copy() for w in tiny_classifier.get_weights()]
    gen = ganmex.train(tiny_classifier, tiny_data, steps=3, verbose=0, **TINY)
    for a, b in zip(before, tiny_classifier.get_weights()):
        np.testing.assert_array_equal(a, b)
    out = gen.generate(tiny_data[0][:5], target_class=[1, 2, 3, 4, 5])
    assert out.shape == (5, 8, 8, 1) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert gen.generate_all(tiny_data[0][:2]).shape == (2, 10, 8, 8, 1)


def test_resume_continues_exactly_like_an_uninterrupted_run(tiny_classifier, tiny_data, tmp_path):
    full = ganmex.train(tiny_classifier, tiny_data, steps=4, out_dir=tmp_path / "full", verbose=0, **TINY)
    ganmex.train(tiny_classifier, tiny_data, steps=2, out_dir=tmp_path / "resumed", verbose=0, **TINY)
    resumed = ganmex.train(tiny_classifier, tiny_data, steps=4, out_dir=tmp_path / "resumed", verbose=0, **TINY)
    for a, b in zip(full.generator.get_weights(), resumed.generator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").glob("ckpt-*.index")) == [
        "ckpt-2.index", "ckpt-4.index"]


def test_run_directory_with_another_configuration_is_refused(tiny_classifier, tiny_data, tmp_path):
    ganmex.train(tiny_classifier, tiny_data, steps=1, out_dir=tmp_path, verbose=0, **TINY)
    with pytest.raises(MismatchError, match="lambda_sim"):
        ganmex.train(tiny_classifier, tiny_data, steps=2, out_dir=tmp_path, verbose=0, **dict(TINY, lambda_sim=5.0))


def test_mirrored_strategy_equals_single_device(tiny_classifier, tiny_data, logical_cpus):
    """Two replicas, each on half the global batch, train the same model as one device.

    Adam's epsilon is raised for this test: with the default 1e-8 Adam turns gradients of ~1e-9, whose
    last bits depend on the summation order across replicas, into full +-lr steps."""
    config = dict(TINY, epsilon=1e-2)
    one = ganmex.train(tiny_classifier, tiny_data, steps=3, verbose=0, **config)
    two = ganmex.train(tiny_classifier, tiny_data, steps=3, verbose=0,
                       strategy=tf.distribute.MirroredStrategy(logical_cpus), **config)
    for a, b in zip(one.generator.get_weights() + one.gan.discriminator.get_weights(),
                    two.generator.get_weights() + two.gan.discriminator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_save_load_metadata_and_mismatch(tiny_classifier, tiny_data, tmp_path):
    gen = ganmex.train(tiny_classifier, tiny_data, steps=1, out_dir=tmp_path / "run", verbose=0, **TINY)
    loaded = ganmex.load(tmp_path / "run")  # a run directory resolves to its generator/
    meta = json.loads((tmp_path / "run" / "generator" / "metadata.json").read_text())
    assert meta["num_classes"] == 10 and meta["image_shape"] == [8, 8, 1] and meta["input_range"] == [0.0, 1.0]
    assert meta["classifier_fingerprint"] == tx.models.weights_fingerprint(tiny_classifier)
    x = tiny_data[0][:3]
    np.testing.assert_allclose(loaded.generate(x, 4), gen.generate(x, 4), atol=1e-6)
    e = tx.explain_keras(tiny_classifier, x, method="integrated_gradients", baseline=tmp_path / "run",
                         target_class=4, original_class=[0, 1, 2], steps=10)
    np.testing.assert_allclose(e.baselines, gen.generate(x, 4), atol=1e-6)
    other = _tiny_classifier(seed=1)
    with pytest.raises(MismatchError, match="allow_mismatch=True"):
        tx.explain_keras(other, x, method="integrated_gradients", baseline=loaded, target_class=4)
    tx.explain_keras(other, x, method="integrated_gradients", baseline=loaded, target_class=4, allow_mismatch=True,
                     steps=5)
    with pytest.raises(InputError, match="class-targeted"):
        tx.explain_keras(tiny_classifier, x, method="integrated_gradients", baseline=loaded)


@pytest.mark.parametrize("ablation", [{"classifier_as_discriminator": False}, {"lambda_sim": 0.0},
                                      {"lambda_rec": 0.0}])
def test_ablations_train(tiny_classifier, tiny_data, ablation):
    gen = ganmex.train(tiny_classifier, tiny_data, steps=2, verbose=0, **dict(TINY, **ablation))
    assert np.all(np.isfinite(gen.generate(tiny_data[0][:2], 3)))
    if "classifier_as_discriminator" in ablation:
        assert len(gen.gan.discriminator.outputs) == 2  # D_src and the jointly trained D_cls head


@pytest.mark.parametrize("kwargs, match", [
    ({"preset": "huge"}, "preset"), ({"lambda_sm": 1.0}, "unknown GANMEX options"), ({"steps": 0}, "steps"),
])
def test_bad_training_input(tiny_classifier, tiny_data, kwargs, match):
    kwargs = dict({"steps": 1}, **kwargs)
    with pytest.raises(InputError, match=match):
        ganmex.train(tiny_classifier, tiny_data, verbose=0, **dict(TINY, **kwargs))


def test_bad_generate_input(tiny_classifier, tiny_data):
    gen = ganmex.train(tiny_classifier, tiny_data, steps=1, verbose=0, **TINY)
    with pytest.raises(InputError, match="target_class: expected ints in"):
        gen.generate(tiny_data[0][:2], 10)
    with pytest.raises(InputError, match="x: expected images of shape"):
        gen.generate(np.zeros((2, 28, 28, 1)), 1)
