"""Input range, one source of truth: inference from the model, uint8 inputs, per-channel ranges, and every
range-dependent feature (max / uniform baselines, noise filler, the metrics' flip, GANMEX) using it or raising."""
import warnings

import keras
import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain import input_range as ir
from tfx_explain import metrics
from tfx_explain.baselines import uniform
from tfx_explain.errors import InputError
from tfx_explain.perturbation import get_filler

L = keras.layers


def _trunk(seed=0):
    """The shared network after the rescaling: conv, ReLU, dense, softmax on 8x8x3 inputs in [0, 1]."""
    keras.utils.set_random_seed(seed)
    return [L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(3), L.Softmax()]


@pytest.fixture(scope="module")
def twins():
    """(model_255, model_01, x_u8): the same network, with Rescaling(1/255) inside or moved out of it."""
    inside = keras.Sequential([keras.Input((8, 8, 3)), L.Rescaling(1 / 255.0)] + _trunk())
    outside = keras.Sequential([keras.Input((8, 8, 3))] + _trunk())
    outside.set_weights(inside.get_weights())
    x_u8 = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)).astype(np.uint8)
    return inside, outside, x_u8


@pytest.fixture(scope="module")
def resnet50():
    """keras.applications ResNet50, untrained (no downloads), at the smallest input it takes."""
    keras.utils.set_random_seed(0)
    return keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=3)


def _range(rng):
    return None if rng is None else rng.as_tuple()


def test_inferred_from_rescaling_and_normalization_at_the_input():
    def model(*first):
        return keras.Sequential([keras.Input((4, 4, 3)), *first, L.Flatten(), L.Dense(2)])

    assert _range(ir.from_model(model(L.Rescaling(1 / 255.0)))) == (0.0, 255.0)
    assert _range(ir.from_model(model(L.Rescaling(1 / 127.5, offset=-1.0)))) == (0.0, 255.0)
    assert _range(ir.from_model(model(L.Rescaling(2.0, offset=-1.0)))) == (0.0, 1.0)
    assert ir.from_model(model(L.Rescaling(0.5, offset=0.3))) is None  # neither [0, 1] nor [-1, 1] after it
    assert ir.from_model(model(L.Conv2D(2, 1))) is None
    per_channel = ir.from_model(model(L.Rescaling([1 / 255.0, 1 / 255.0, 0.01])))
    np.testing.assert_allclose(per_channel.high, [255.0, 255.0, 100.0], rtol=1e-6)
    # nested: a sub-model at the input, past a Resizing layer
    inner = keras.Sequential([keras.Input((4, 4, 3)), L.Rescaling(1 / 255.0), L.Conv2D(2, 1)])
    outer = keras.Sequential([keras.Input((6, 6, 3)), L.Resizing(4, 4), inner, L.Flatten(), L.Dense(2)])
    assert _range(ir.from_model(outer)) == (0.0, 255.0)
    # Normalization: the pixel scale of its statistics; unadapted (mean 0, variance 1) says nothing
    rng = np.random.default_rng(0)
    for scale in (1.0, 255.0):
        norm = L.Normalization()
        norm.adapt(scale * rng.random((16, 4, 4, 3)).astype(np.float32))
        assert _range(ir.from_model(model(norm))) == (0.0, scale)
    assert ir.from_model(model(L.Normalization(mean=0.0, variance=1.0))) is None

    class Subclassed(keras.Model):  # its layer list is creation order, not call order: nothing is inferred
        def __init__(self):
            super().__init__()
            self.scale, self.dense = L.Rescaling(1 / 255.0), L.Dense(2)

        def call(self, x):
            return self.dense(self.scale(keras.ops.reshape(x, (-1, 48))))

    assert ir.from_model(Subclassed()) is None
    import tf_keras  # Keras 2 models too

    k2 = tf_keras.Sequential([tf_keras.Input((4, 4, 3)), tf_keras.layers.Rescaling(1 / 255.0),
                              tf_keras.layers.Flatten(), tf_keras.layers.Dense(2)])
    assert _range(ir.from_model(k2)) == (0.0, 255.0)


def test_keras_applications_inferred_or_not(resnet50):
    apps = keras.applications
    assert ir.from_model(resnet50) is None
    for build in (apps.EfficientNetB0, apps.ConvNeXtTiny):  # built-in preprocessing: raw [0, 255] pixels
        assert _range(ir.from_model(build(weights=None, include_top=False, input_shape=(32, 32, 3)))) == (0.0, 255.0)
    for build, size in ((apps.VGG16, 32), (apps.DenseNet121, 32), (apps.MobileNetV2, 32),
                        (apps.Xception, 71)):  # external preprocess_input: nothing to infer
        assert ir.from_model(build(weights=None, include_top=False, input_shape=(size, size, 3))) is None


def test_caffe_range_is_preprocess_input_of_0_and_255():
    from keras.applications import resnet50, vgg16

    low, high = ir.caffe_range()
    for module in (resnet50, vgg16):
        np.testing.assert_allclose(module.preprocess_input(np.zeros((1, 1, 1, 3))).ravel(), low, rtol=1e-6)
        np.testing.assert_allclose(module.preprocess_input(np.full((1, 1, 1, 3), 255.0)).ravel(), high, rtol=1e-6)


def test_caffe_resnet50_gets_per_channel_max_and_uniform_baselines(resnet50):
    from keras.applications.resnet50 import preprocess_input

    model = resnet50
    x = preprocess_input(np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32))
    low, high = ir.caffe_range()
    with pytest.raises(InputError, match="input_range"):  # ResNet50 does not say its range
        tx.explain_keras(model, x, method="integrated_gradients", baseline="max", steps=2)
    # occlusion of the whole image: the baseline is used, and only forward passes are needed (fast)
    whole = {"method": "occlusion", "window": (32, 32, 3), "input_range": (low, high), "original_class": 0}
    e_max = tx.explain_keras(model, x, baseline="max", **whole)
    np.testing.assert_allclose(e_max.baselines, np.broadcast_to(high, x.shape), rtol=1e-6)
    e_uni = tx.explain_keras(model, x, baseline="uniform", seed=3, **whole)
    unit = uniform(x, (0.0, 1.0), seed=3)  # the same seeded draw on [0, 1], mapped per channel
    np.testing.assert_allclose(e_uni.baselines, low + (high - low) * unit, rtol=1e-5, atol=1e-3)
    assert e_max.options["input_range"] == [low.tolist(), high.tolist()]


@pytest.mark.parametrize("method, baseline, options", [
    ("integrated_gradients", "zero", {"steps": 16}), ("integrated_gradients", "max", {"steps": 16}),
    ("integrated_gradients", "uniform", {"steps": 16}), ("gradient_input", "zero", {}),
    ("occlusion", "max", {}), ("sliding_patch", "zero", {"filler": "noise", "patch": 3, "stride": 3}),
])
def test_uint8_and_255_models_give_the_maps_of_their_01_twins(twins, method, baseline, options):
    inside, outside, x_u8 = twins
    reference = tx.explain_keras(outside, x_u8 / 255.0, method=method, baseline=baseline, input_range=(0, 1),
                                 original_class=0, target_class=1, **options)
    for x in (x_u8, x_u8.astype(np.float32)):  # uint8 pixels, and the same pixels as floats
        got = tx.explain_keras(inside, x, method=method, baseline=baseline, original_class=0, target_class=1,
                               **options)
        assert got.options["input_range"] == [0.0, 255.0]
        scale = np.abs(reference.attributions).max()
        np.testing.assert_allclose(got.attributions, reference.attributions, atol=1e-4 * scale, rtol=1e-3)
        np.testing.assert_allclose(got.input_scores, reference.input_scores, rtol=1e-5)
        if reference.baselines is not None:
            np.testing.assert_allclose(got.baselines, 255.0 * reference.baselines, rtol=1e-5, atol=1e-4)


def test_the_metrics_flip_uses_the_models_range(twins):
    inside, outside, x_u8 = twins
    x = x_u8.astype(np.float32)
    attr = np.random.default_rng(2).normal(size=x.shape).astype(np.float32)
    ours = metrics.aopc(inside, x, attr, 0, 1, L=20)  # the flip 255 - x, from Rescaling(1/255)
    theirs = metrics.aopc(outside, x / 255.0, attr, 0, 1, L=20, input_range=(0, 1))
    np.testing.assert_allclose(ours.extras["scores"], theirs.extras["scores"], atol=1e-5)
    deltas = metrics.single_feature_deltas(inside, x[:2], 0, 1)
    np.testing.assert_allclose(deltas, metrics.single_feature_deltas(outside, x[:2] / 255.0, 0, 1, input_range=(0, 1)),
                               atol=1e-5)
    maps = np.abs(attr).sum(-1)
    np.testing.assert_allclose(metrics.counterfactual.aospc(inside, x, maps, steps=3)["curves"][0.5],
                               metrics.counterfactual.aospc(outside, x / 255.0, maps, steps=3,
                                                            value_range=(0, 1))["curves"][0.5], atol=1e-5)
    grid = metrics.evaluate_grid(inside, x, 0, 1, methods=["gradient_input"], metrics=["aopc_100"],
                                 metric_options={"aopc_100": {"L": 20}}, keep_explanations=True)
    attr = grid.explanations[("gradient_input", "zero")].attributions
    np.testing.assert_allclose(grid.results[("gradient_input", "zero", "aopc_100")].values,
                               metrics.aopc(outside, x / 255.0, attr, 0, 1, L=20, input_range=(0, 1)).values, atol=1e-5)


def test_range_dependent_features_raise_when_the_range_is_unknown(twins):
    _, outside, x_u8 = twins  # no Rescaling: the model does not say its range
    x = x_u8 / 255.0
    for baseline in ("max", "uniform"):
        with pytest.raises(InputError, match=f'input_range: baseline "{baseline}" needs'):
            tx.explain_keras(outside, x, method="integrated_gradients", baseline=baseline, steps=4)
    with pytest.raises(InputError, match='input_range: filler "noise" needs'):
        tx.explain_keras(outside, x, method="sliding_patch", filler="noise", patch=3, stride=3)
    attr = np.ones_like(x)
    for fn in (metrics.aopc_all, metrics.faithfulness, metrics.monotonicity, metrics.single_feature_deltas):
        args = (outside, x, attr, 0, 1) if fn is not metrics.single_feature_deltas else (outside, x, 0, 1)
        with pytest.raises(InputError, match='input_range: fill "flip" needs'):
            fn(*args)
    with pytest.raises(InputError, match="value_range: aospc's uniform noise needs"):
        metrics.counterfactual.aospc(outside, x, np.ones(x.shape[:3]), steps=2)
    with pytest.raises(InputError, match="input_range"):
        get_filler("noise")
    with pytest.raises(InputError, match="input_range"):
        tx.perturbation.fillers.Noise()(x, np.ones_like(x))
    with pytest.raises(InputError, match=r"x: uint8 images .* pass input_range=\(0, 255\)"):
        tx.explain_keras(outside, x_u8, method="saliency")
    # what needs no range runs unchanged
    tx.explain_keras(outside, x, method="integrated_gradients", baseline="zero", steps=4)
    tx.explain_keras(outside, x, method="saliency")
    metrics.deletion(outside, x, attr, 0, 1, steps=4)
    metrics.aopc(outside, x, attr, 0, 1, L=4, fill="zero")


def test_x_outside_a_known_range_is_one_clear_error(twins):
    inside, outside, x_u8 = twins
    with pytest.raises(InputError, match=r"x: values in \[300, 300\] leave the model's input range \[0.0, 255.0\]"):
        tx.explain_keras(inside, np.full((1, 8, 8, 3), 300.0, np.float32), method="saliency")
    with pytest.raises(InputError, match=r"x: values in .* leave the model's input range \[0.0, 1.0\]"):
        tx.explain_keras(outside, x_u8.astype(np.float32), method="saliency", input_range=(0, 1))
    with pytest.raises(InputError, match=r"x: uint8 images .* outside the model's input range \[0.0, 1.0\]"):
        tx.explain_keras(outside, x_u8, method="saliency", input_range=(0, 1))
    with pytest.raises(InputError, match="x: values"):
        metrics.aopc(inside, np.full((1, 8, 8, 3), -5.0, np.float32), np.ones((1, 8, 8, 3)), 0, 1, L=2)
    with pytest.raises(InputError, match="input_range: expected finite low < high"):
        tx.explain_keras(outside, x_u8 / 255.0, method="saliency", input_range=(1, 0))
    with pytest.raises(InputError, match="input_range: expected 3 per-channel values"):
        tx.explain_keras(outside, x_u8 / 255.0, method="saliency", input_range=([0, 0], [1, 1]))



def test_unit_scale_images_for_an_inferred_pixel_range_warn(twins):
    # [0, 1] images fed to a Rescaling(1/255) model run in range but explain almost black images.
    inside, _, x_u8 = twins
    x01 = x_u8 / 255.0
    with pytest.warns(UserWarning, match=r"x: every value lies in \[0, 1\], but the model's input range is "
                                         r"\[0.0, 255.0\] \(from model"):
        tx.explain_keras(inside, x01, method="saliency")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tx.explain_keras(inside, x_u8, method="saliency")                      # pixels: no warning
        tx.explain_keras(inside, x_u8.astype(np.float32), method="saliency")
        tx.explain_keras(inside, x01, method="saliency", input_range=(0, 255))  # the caller's word is taken


def test_a_baseline_outside_a_known_range_is_one_clear_error(twins):
    inside, _, x_u8 = twins
    x = x_u8.astype(np.float32)
    for baseline in [np.full((8, 8, 3), -50.0, np.float32), lambda images, target: images * 2.0]:
        with pytest.raises(InputError, match=r"^baseline: values in .* leave the model's input range \[0.0, 255.0\]"):
            tx.explain_keras(inside, x, method="integrated_gradients", baseline=baseline, steps=4)
    with pytest.warns(UserWarning, match=r"^baseline: every value lies in \[0, 1\]"):  # MDTS from [0, 1] data
        tx.explain_keras(inside, x, method="integrated_gradients", baseline="mdts", steps=4, original_class=0,
                         target_class=1, data=(x / 255.0, np.arange(4) % 3))
    e = tx.explain_keras(inside, x, method="integrated_gradients", baseline=np.full((8, 8, 3), 255.0), steps=4)
    assert np.all(e.baselines == 255.0)


def test_a_range_read_off_the_datas_min_and_max_does_not_bound_the_baselines(twins):
    _, outside, _ = twins  # a model without a range of its own: the range comes from data=
    rng = np.random.default_rng(4)
    train = (rng.uniform(-3, 7, (12, 8, 8, 3)).astype(np.float32), np.arange(12) % 3)  # no standard range holds it
    assert not ir.from_data(train[0]).bound and ir.normalize((0, 1)).bound
    x = train[0][:2]
    e = tx.explain_keras(outside, x, method="integrated_gradients", baseline=np.full((8, 8, 3), -9.0, np.float32),
                         data=train, steps=4)  # below the data's minimum -3: taken, as before the baseline check
    assert e.options["input_range_source"] == "data (per-channel min and max)" and np.all(e.baselines == -9.0)
    with pytest.raises(InputError, match=r"^baseline: values in .* leave the model's input range"):
        tx.explain_keras(outside, x, method="integrated_gradients", baseline=np.full((8, 8, 3), -9.0, np.float32),
                         input_range=(-3, 7), steps=4)  # the caller's range is a bound

def test_range_from_data_and_the_deprecated_baseline_option(twins):
    _, outside, x_u8 = twins
    x = x_u8 / 255.0
    train = (np.random.default_rng(3).random((12, 8, 8, 3)).astype(np.float32), np.arange(12) % 3)
    e = tx.explain_keras(outside, x, method="integrated_gradients", baseline="max", data=train, steps=4)
    assert np.all(e.baselines == 1.0) and e.options["input_range_source"].startswith("data")
    assert _range(ir.from_data(np.zeros((2, 2, 2, 1), np.uint8))) == (0.0, 255.0)
    assert _range(ir.from_data(np.array([-0.5, 0.9]))) == (-1.0, 1.0)
    assert _range(ir.from_data(np.array([3.0, 200.0]))) == (0.0, 255.0)
    caffe = ir.from_data(np.stack([np.full((2, 2), -100.0), np.full((2, 2), 140.0)])[..., None] + [0, 1, 2])
    np.testing.assert_allclose(caffe.low, [-100, -99, -98])
    np.testing.assert_allclose(caffe.high, [140, 141, 142])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = tx.explain_keras(outside, x, method="integrated_gradients", baseline="max", steps=4,
                               baseline_options={"input_range": (0, 2)})
    assert np.all(old.baselines == 2.0)
    assert any(issubclass(w.category, DeprecationWarning) and "input_range=" in str(w.message) for w in caught)


def test_noise_filler_is_per_channel():
    low, high = np.array([0.0, -1.0, 10.0]), np.array([1.0, 1.0, 20.0])
    images = np.zeros((2, 6, 6, 3), np.float32)
    noise = get_filler("noise", input_range=(low, high))(images, np.ones((2, 6, 6, 1), np.float32))
    unit = get_filler("noise", input_range=(0, 1))(images, np.ones((2, 6, 6, 1), np.float32))
    np.testing.assert_allclose(noise, low + (high - low) * unit, rtol=1e-5, atol=1e-6)


def test_ganmex_takes_the_classifiers_range_and_checks_its_data():
    from tfx_explain import ganmex

    images, labels = tx.data.load("digits", "train", image_size=8)
    images, labels = images[:60], labels[:60]
    keras.utils.set_random_seed(0)
    clf = keras.Sequential([keras.Input((8, 8, 1)), L.Rescaling(1 / 255.0), L.Flatten(), L.Dense(10), L.Softmax()])
    tiny = dict(width=4, res_blocks=1, d_width=4, sample_every=0, log_every=1, batch_per_class=2)
    with pytest.raises(InputError, match=r"data: values in .* leave the model's input range \[0.0, 1.0\]"):
        ganmex.train(clf, (images * 255, labels), steps=1, verbose=0, input_range=(0, 1), **tiny)
    gen = ganmex.train(clf, (np.round(images * 255).astype(np.uint8), labels), steps=1, verbose=0, **tiny)
    assert gen.metadata["input_range"] == [0.0, 255.0]
    out = gen.generate(images[:2] * 255, 3)
    assert out.min() >= 0.0 and out.max() <= 255.0 + 1e-3


def test_cli_baselines_take_the_datasets_range(tmp_path):
    from tfx_explain.cli import main
    from tfx_explain.models import save_model

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(10), L.Softmax()])
    path = save_model(model, tmp_path / "model.keras")
    out = tmp_path / "max"
    assert main(["baselines", "--model", str(path), "--dataset", "digits", "--kind", "max",
                 "--limit", "2", "--out", str(out)]) == 0
    assert np.all(np.load(out / "baselines.npz")["baselines"] == 1.0)  # digits images are in [0, 1]


def test_dataset_runs_and_the_cli_pass_the_range_on(tmp_path):
    from tfx_explain import scale
    from tfx_explain.cli import main
    from tfx_explain.models import save_model

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(10), L.Softmax()])
    images, labels = tx.data.load("digits", "test")
    data = (images[:4], labels[:4])
    with pytest.raises(InputError, match='input_range: baseline "max" needs'):
        scale.explain_dataset(model, data, tmp_path / "none", method="integrated_gradients", baseline="max",
                              steps=2, progress=False)
    scale.explain_dataset(model, data, tmp_path / "run", method="integrated_gradients", baseline="max", steps=2,
                          progress=False, input_range=(0, 2))
    assert np.all(scale.load_run(tmp_path / "run")["baselines"] == 2.0)
    path = save_model(model, tmp_path / "model.keras")
    assert main(["explain", "--model", str(path), "--dataset", "digits", "--limit", "2", "--baseline", "uniform",
                 "--input-range", "0,2", "--set", "steps=2", "--progress", "none", "--out", str(tmp_path / "cli")]) == 0
    baselines = scale.load_run(tmp_path / "cli")["baselines"]
    assert baselines.max() > 1.0 and baselines.min() >= 0.0


def test_an_inpainter_of_another_range_is_refused(twins):
    from tfx_explain.generative.deepfill import build_generator
    from tfx_explain.inpainting import Inpainter

    inside, _, x_u8 = twins
    inpainter = Inpainter(build_generator(4))  # takes [0, 1] images; the model takes [0, 255]
    with pytest.raises(InputError, match=r"filler: the inpainter takes images in \[0.0, 1.0\].*\[0.0, 255.0\]"):
        tx.explain_keras(inside, x_u8, method="sliding_patch", filler=inpainter, patch=3, stride=3)
    fill = get_filler(Inpainter(build_generator(4), input_range=(0, 255)), input_range=(0, 255))
    assert fill.inpainter.input_range == (0.0, 255.0)
