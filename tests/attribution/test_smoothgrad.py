"""SmoothGrad / VarGrad / SquareGrad, the noise_samples option and guided backprop: closed forms on a linear
model, brute force against a per-copy loop with the same noise, and parity with xplique 2.0.2."""
import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.attribution.smoothgrad import noise_draw, noise_seeds
from tfx_explain.errors import InputError

RANGE = (np.array([0.0, -1.0, 0.0], np.float32), np.array([1.0, 1.0, 255.0], np.float32))  # per channel


def _cnn(activation="relu", seed=0, classes=4):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(6, 3, activation=activation)(inputs)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(8, name="hidden")(h)
    h = keras.layers.ReLU()(h) if activation == "relu" else keras.layers.Activation(activation, name="act")(h)
    return keras.Model(inputs, keras.layers.Dense(classes, name="head")(h))  # logits


@pytest.fixture(scope="module")
def relu_cnn():
    return _cnn("relu")


@pytest.fixture(scope="module")
def tanh_cnn():
    return _cnn("tanh", seed=1)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(5).random((3, 8, 8, 3)).astype(np.float32)


def _gradient(model, x, w):
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.reduce_sum(model(x) * w, axis=-1)
    return tape.gradient(out, x).numpy()


def _explain(model, x, method, **kw):
    kw.setdefault("input_range", (0, 1))
    return tx.explain_keras(model, x, method=method, score="logit", head="logits", **kw)


@pytest.mark.parametrize("seed", [0, 7])
def test_linear_model_closed_forms(linear_model, linear_inputs, seed):
    """S_w = (A_co - A_ct) . x + c: every noisy gradient is the same vector, so SmoothGrad = w, VarGrad = 0,
    SquareGrad = w^2 exactly, whatever the noise."""
    from .conftest import linear_parts

    x, _ = linear_inputs
    kernel, _ = linear_parts(linear_model)
    co, ct = np.array([0, 1, 2, 0, 1]), np.array([1, 2, 0, 2, 0])
    w = (kernel[:, co] - kernel[:, ct]).T.reshape(x.shape)
    common = dict(original_class=co, target_class=ct, score="logit", seed=seed, samples=9, input_range=(0, 1),
                  batch_size=4)  # 4 copies per traced call: 3 blocks per image, the last one padded
    smooth = tx.explain_keras(linear_model, x, method="smoothgrad", **common)
    np.testing.assert_allclose(smooth.attributions, w, rtol=1e-5, atol=1e-6)
    var = tx.explain_keras(linear_model, x, method="vargrad", **common)
    np.testing.assert_allclose(var.attributions, 0.0, atol=1e-10)
    square = tx.explain_keras(linear_model, x, method="squaregrad", **common)
    np.testing.assert_allclose(square.attributions, w ** 2, rtol=1e-5, atol=1e-6)


def test_batched_noise_equals_a_per_copy_loop(tanh_cnn, images):
    """Each statistic against a loop over the copies, same noise, per-channel sigma; chunking changes nothing."""
    x = images * (RANGE[1] - RANGE[0]) + RANGE[0]
    co, ct, n, seed = np.array([0, 1, 2]), np.array([3, 3, 0]), 6, 11
    w = np.eye(4, dtype=np.float32)[co] - np.eye(4, dtype=np.float32)[ct]
    sigma = 0.15 * (RANGE[1] - RANGE[0])
    noise = np.asarray(noise_draw(noise_seeds(seed, np.arange(3)), n, x.shape[1:]))
    grads = np.stack([_gradient(tanh_cnn, x + sigma * noise[:, s], w) for s in range(n)], axis=1)  # (N, n, ...)
    expected = {"smoothgrad": grads.mean(1), "vargrad": grads.var(1, ddof=1), "squaregrad": (grads ** 2).mean(1)}
    for method, value in expected.items():
        for batch_size in (None, 4):  # 4: one image per call, copies in two blocks of 3 (Chan's combination)
            e = _explain(tanh_cnn, x, method, original_class=co, target_class=ct, samples=n, noise_std=0.15,
                         seed=seed, input_range=RANGE, batch_size=batch_size)
            np.testing.assert_allclose(e.attributions, value, rtol=2e-4, atol=1e-6 * np.abs(value).max())
    # the noise option on the signed gradient is SmoothGrad itself (one draw for both)
    sal = _explain(tanh_cnn, x, "saliency", absolute=False, original_class=co, target_class=ct, noise_samples=n,
                   noise_std=0.15, seed=seed, input_range=RANGE)
    np.testing.assert_allclose(sal.attributions, expected["smoothgrad"], rtol=2e-4, atol=1e-7)
    assert (sal.options["noise_samples"], sal.options["noise_std"]) == (n, 0.15)


def test_noise_option_keeps_the_clean_baselines(tanh_cnn, images):
    """IG + noise = mean over copies of IG(x + e_s, b(x)), b computed once from the clean x; the average sums
    to mean_s S(x + e_s) - S(b) (reported as noisy_input_scores)."""
    calls = []

    def baseline(x, target_class):
        calls.append(np.array(x))
        return 0.5 * x

    co, ct, n, seed = np.array([0, 1, 2]), np.array([1, 2, 3]), 4, 3
    e = _explain(tanh_cnn, images, "integrated_gradients", baseline=baseline, original_class=co, target_class=ct,
                 noise_samples=n, noise_std=0.1, seed=seed, steps=64, rule="gauss_legendre")
    assert len(calls) == 1 and np.array_equal(calls[0], images)  # the clean inputs, once
    b = 0.5 * images
    noise = np.asarray(noise_draw(noise_seeds(seed, np.arange(3)), n, images.shape[1:]))
    from tfx_explain.targets import class_weights, score_function

    score_fn = score_function(tanh_cnn, "logit", probe=images[:1], one_vs_one=True, head="logits")
    w = class_weights(co, ct, 4)
    loop = np.mean([tx.attribution.integrated_gradients(score_fn, images + 0.1 * noise[:, s], w, b, steps=64,
                                                        rule="gauss_legendre").attributions for s in range(n)], 0)
    np.testing.assert_allclose(e.attributions, loop, rtol=1e-4, atol=1e-7)
    total = e.attributions.reshape(3, -1).sum(1)
    noisy_residual = np.abs(total - (e.extras["noisy_input_scores"] - e.baseline_scores))
    assert noisy_residual.max() < 1e-3  # IG's quadrature error (max pooling's kinks)
    assert np.abs(total - (e.input_scores - e.baseline_scores)).max() > 10 * noisy_residual.max()  # the clean delta is not the sum


def test_noise_option_keeps_expected_gradients_references(tanh_cnn, images, monkeypatch):
    """Every noisy copy of input i draws input i's references; groups of images (memory) change nothing."""
    from tfx_explain.attribution import noise

    data = (np.random.default_rng(1).random((12, 8, 8, 3)).astype(np.float32), np.arange(12) % 4)
    common = dict(baseline="train", data=data, original_class=[0, 1, 2], target_class=[1, 2, 3], steps=8)
    plain = _explain(tanh_cnn, images, "expected_gradients", **common)
    noisy = _explain(tanh_cnn, images, "expected_gradients", noise_samples=3, **common)
    np.testing.assert_array_equal(noisy.extras["reference_index"], plain.extras["reference_index"])
    assert not np.allclose(noisy.attributions, plain.attributions)
    monkeypatch.setattr(noise, "GROUP_BYTES", 1)  # one image per group
    grouped = _explain(tanh_cnn, images, "expected_gradients", noise_samples=3, **common)
    np.testing.assert_array_equal(grouped.extras["reference_index"], plain.extras["reference_index"])
    np.testing.assert_allclose(grouped.attributions, noisy.attributions, rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def xplique_noise(monkeypatch_module):
    """xplique draws its noise with tf.random.normal; its hook _perturb_samples is replaced by ours."""
    import tensorflow as tf
    from xplique.attributions.gradient_statistics.gradient_statistic import GradientStatistic

    state = {}

    def perturb(inputs, nb_perturbations, noise):
        return tf.repeat(inputs, nb_perturbations, axis=0) + state["noise"]

    monkeypatch_module.setattr(GradientStatistic, "_perturb_samples", staticmethod(perturb))
    return state


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.mark.parametrize("ours, theirs", [("smoothgrad", "SmoothGrad"), ("vargrad", "VarGrad"),
                                          ("squaregrad", "SquareGrad")])
def test_parity_with_xplique_matched_noise(relu_cnn, images, xplique_noise, ours, theirs):
    import xplique.attributions as xa

    n, seed, co = 8, 2, np.array([1, 0, 3])
    noise = np.asarray(noise_draw(noise_seeds(seed, np.arange(3)), n, images.shape[1:]))
    xplique_noise["noise"] = (0.2 * noise).reshape((-1,) + images.shape[1:])  # row i * n + s, as tf.repeat
    explainer = getattr(xa, theirs)(relu_cnn, nb_samples=n, noise=0.2, reducer=None, batch_size=3 * n)
    expected = np.asarray(explainer.explain(images, np.eye(4, dtype=np.float32)[co]))
    e = _explain(relu_cnn, images, ours, original_class=co, samples=n, noise_std=0.2, seed=seed)
    np.testing.assert_allclose(e.attributions, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_guided_backprop_parity_with_xplique(relu_cnn, images):
    """Same ReLU CNN (a relu Conv2D activation, a ReLU layer), one-vs-all and one-vs-one weights."""
    from xplique.attributions import GuidedBackprop

    co, ct = np.array([1, 0, 3]), np.array([2, 2, 0])
    explainer = GuidedBackprop(relu_cnn, reducer=None)
    eye = np.eye(4, dtype=np.float32)
    for target, weights in ((None, eye[co]), (ct, eye[co] - eye[ct])):
        expected = np.asarray(explainer.explain(images, weights))
        e = _explain(relu_cnn, images, "guided_backprop", original_class=co, target_class=target)
        np.testing.assert_allclose(e.attributions, expected, rtol=1e-5, atol=1e-7)
        plain = _gradient(relu_cnn, images, weights)
        assert np.abs(plain - e.attributions).max() > 1e-3 * np.abs(plain).max()  # the rule did change it


def test_guided_backprop_warns_about_swish():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(3, 3, activation="swish", name="conv_swish")(inputs)
    h = keras.layers.Dense(4, activation="relu", name="dense_relu")(keras.layers.Flatten()(h))
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(h))
    x = np.random.default_rng(0).random((2, 6, 6, 1)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"guided_backprop: .* keep their plain gradient: .*swish.* in layer 'conv_swish'$") as rec:
        e = tx.explain_keras(model, x, method="guided_backprop", score="logit", head="logits")
    assert not any("dense_relu" in str(r.message) for r in rec)
    assert "conv_swish" in e.options["plain_activations"][0]


@pytest.mark.parametrize("method, options, match", [
    ("smoothgrad", dict(noise_std=-0.1), r"^noise_std: expected a finite number >= 0"),
    ("smoothgrad", dict(samples=0), r"^method_options: samples: expected a positive integer"),
    ("vargrad", dict(samples=1), r"^samples: expected an integer >= 2"),
    ("occlusion", dict(noise_samples=4), r"^noise_samples: method 'occlusion' takes no noise averaging"),
    ("vargrad", dict(noise_samples=4), r"^noise_samples: method 'vargrad' is noise averaging itself; pass samples="),
    ("saliency", dict(noise_samples=0), r"^noise_samples: expected a positive integer"),
    ("saliency", dict(noise_std=0.1), r"^noise_std: given without noise_samples"),
    ("saliency", dict(noise_samples=3, noise_std=float("nan")), r"^noise_std: expected a finite number"),
])
def test_bad_inputs_raise_one_line(relu_cnn, images, method, options, match):
    with pytest.raises(InputError, match=match) as info:
        _explain(relu_cnn, images, method, **options)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("method, options, feature", [("smoothgrad", {}, 'method "smoothgrad"'),
                                                      ("deeplift", dict(noise_samples=4), "noise_samples")])
def test_unknown_input_range_is_asked_for(relu_cnn, images, method, options, feature):
    with pytest.raises(InputError, match=rf"^input_range: {feature} needs the model's input range"):
        tx.explain_keras(relu_cnn, images, method=method, score="logit", head="logits", **options)


def test_method_check_of_runs_and_cli_accepts_noise_options():
    """scale.explain_dataset and the CLI's --set check options with api._check_method before any work."""
    from tfx_explain.api import _check_method

    options = {"noise_samples": 4, "noise_std": 0.1, "steps": 16}
    assert _check_method("integrated_gradients", options)[1] == options  # kept whole for explain_keras
    with pytest.raises(InputError, match=r"^noise_samples: method 'occlusion'"):
        _check_method("occlusion", {"noise_samples": 4})
    with pytest.raises(InputError, match=r"^method_options: \['noise'\] are not options"):
        _check_method("saliency", {"noise": 4})


@pytest.mark.parametrize("layer", ["relu", "relu6", "leaky_relu", "elu"])
def test_guided_rule_closed_form_on_one_hidden_layer(layer):
    """x -> u = A x + a -> f(u) -> B f(u): guided gradient = A ([u > 0] [u < 6 for relu6] max(B w, 0))."""
    import keras

    keras.utils.set_random_seed(2)
    make = {"relu": lambda: keras.layers.ReLU(), "relu6": lambda: keras.layers.ReLU(max_value=6.0),
            "leaky_relu": lambda: keras.layers.LeakyReLU(negative_slope=0.2), "elu": lambda: keras.layers.ELU()}
    inputs = keras.Input((3, 3, 1))
    hidden = keras.layers.Dense(16, name="hidden", kernel_initializer=keras.initializers.RandomNormal(stddev=3.0))
    head = keras.layers.Dense(3, name="head")
    model = keras.Model(inputs, head(make[layer]()(hidden(keras.layers.Flatten()(inputs)))))
    x = np.random.default_rng(3).normal(size=(4, 3, 3, 1)).astype(np.float32)
    co, ct = np.array([0, 1, 2, 0]), np.array([1, 2, 0, 2])
    (a, bias), (b, _) = hidden.get_weights(), head.get_weights()
    u = x.reshape(4, -1) @ a + bias
    gate = (u > 0) & ((u < 6) if layer == "relu6" else True)
    assert gate.any() and (~gate).any() and (layer != "relu6" or (u >= 6).any())
    upstream = (b[:, co] - b[:, ct]).T  # (N, 16)
    expected = (gate * np.maximum(upstream, 0)) @ a.T
    e = _explain(model, x, "guided_backprop", original_class=co, target_class=ct, input_range=(-4, 4))
    np.testing.assert_allclose(e.attributions.reshape(4, -1), expected, rtol=1e-5, atol=1e-6)
