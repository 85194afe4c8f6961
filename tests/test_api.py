"""explain_keras: model kinds, bad input, and the Explanation object."""
import re

import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.errors import InputError, ModelError


def _weights(rng):
    return [rng.normal(size=(3, 3, 1, 4)).astype(np.float32) * 0.5, np.zeros(4, np.float32),
            rng.normal(size=(64, 3)).astype(np.float32) * 0.3, np.zeros(3, np.float32)]


def _sequential(weights):
    import keras

    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3), keras.layers.Softmax()])
    model.set_weights(weights)
    return model


def _functional(weights):
    import keras

    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
    model.set_weights(weights)
    return model


def _subclassed(weights, head=None):
    """A subclassed CNN; ``head(z)`` maps its logits to its output (default: keras.ops.softmax)."""
    import keras

    head = head or keras.ops.softmax

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(4, 3, activation="relu")
            self.flat = keras.layers.Flatten()
            self.dense = keras.layers.Dense(3)

        def call(self, x, training=False):
            return head(self.dense(self.flat(self.conv(x))))

    model = Net()
    model(np.zeros((1, 6, 6, 1), np.float32))
    model.set_weights(weights)
    return model


def _tf_keras(weights):
    import tf_keras

    model = tf_keras.Sequential([tf_keras.layers.Conv2D(4, 3, activation="relu", input_shape=(6, 6, 1)),
                                 tf_keras.layers.Flatten(), tf_keras.layers.Dense(3),
                                 tf_keras.layers.Activation("softmax")])
    model.set_weights(weights)
    return model


BUILDERS = {"sequential": _sequential, "functional": _functional, "subclassed": _subclassed,
            "tf_keras": _tf_keras}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_every_model_kind_gives_the_same_attributions(kind):
    rng = np.random.default_rng(0)
    weights = _weights(rng)
    x = rng.random((3, 6, 6, 1)).astype(np.float32)
    reference = _functional(weights)
    model = BUILDERS[kind](weights)
    for method, options in [("integrated_gradients", {"steps": 16}), ("deeplift", {}), ("occlusion", {}),
                            ("saliency", {}), ("deepshap", {"engine": "native"})]:
        want = tx.explain_keras(reference, x, method=method, original_class=0, target_class=2, **options)
        got = tx.explain_keras(model, x, method=method, original_class=0, target_class=2, **options)
        np.testing.assert_allclose(got.attributions, want.attributions, atol=1e-5, err_msg=f"{kind} {method}")



@pytest.mark.parametrize("package", ["keras", "tf_keras"])
def test_a_sequential_without_input_never_called_is_built_by_the_explanation(package):
    # Reading `weights` of an unbuilt tf_keras Sequential raises ValueError: the model check must not.
    import importlib

    k = importlib.import_module(package)
    model = k.Sequential([k.layers.Conv2D(4, 3, activation="relu"), k.layers.Flatten(), k.layers.Dense(3),
                          k.layers.Activation("softmax")])
    x = np.random.default_rng(1).random((2, 6, 6, 1)).astype(np.float32)
    got = tx.explain_keras(model, x, method="deeplift", original_class=0, target_class=2)
    want = tx.explain_keras(_functional(model.get_weights()), x, method="deeplift", original_class=0, target_class=2)
    np.testing.assert_allclose(got.attributions, want.attributions, atol=1e-6)


def test_a_model_with_several_outputs_is_refused_with_the_way_to_pick_one():
    import keras

    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Flatten()(inputs)
    heads = [keras.layers.Dense(3, activation="softmax")(h), keras.layers.Dense(2, activation="sigmoid")(h)]
    x = np.random.default_rng(4).random((2, 6, 6, 1)).astype(np.float32)
    for model, pick in [(keras.Model(inputs, heads), "outputs[i]"),
                        (keras.Model(inputs, {"cls": heads[0], "attr": heads[1]}), "output['name']")]:
        with pytest.raises(ModelError, match=rf"^model: expected one output .* of 2; explain one of them: "
                                             rf"keras.Model\(model.inputs, model.{re.escape(pick)}\)"):
            tx.explain_keras(model, x, method="saliency")
    picked = keras.Model(inputs, keras.Model(inputs, heads).outputs[0])  # the advice works
    assert tx.explain_keras(picked, x, method="saliency").attributions.shape == x.shape


def test_a_channels_first_model_is_refused_with_the_nhwc_wrapper_that_works():
    import keras

    inputs = keras.Input((3, 8, 8))
    h = keras.layers.Conv2D(2, 3, data_format="channels_first", name="conv_cf")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(h)))
    nchw = np.random.default_rng(5).random((2, 3, 8, 8)).astype(np.float32)
    for x in (nchw, nchw.transpose(0, 2, 3, 1)):
        with pytest.raises(ModelError, match=r"^model: layer 'conv_cf' is channels_first; .* keras.layers.Permute"):
            tx.explain_keras(model, x, method="saliency")
    wrapped = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Permute((3, 1, 2)), model])
    e = tx.explain_keras(wrapped, nchw.transpose(0, 2, 3, 1), method="saliency", original_class=0)
    import tensorflow as tf

    v = tf.constant(nchw)
    with tf.GradientTape() as tape:
        tape.watch(v)
        p0 = model(v)[:, 0]
    want = np.abs(tape.gradient(p0, v).numpy()).transpose(0, 2, 3, 1)  # |dS_0/dx| of the original, as NHWC
    np.testing.assert_allclose(e.attributions, want, rtol=1e-5, atol=1e-7)

def test_logits_of_a_subclassed_softmax_model_are_found_in_its_graph():
    rng = np.random.default_rng(1)
    weights = _weights(rng)
    x = rng.random((3, 6, 6, 1)).astype(np.float32)
    for target in (1, None):
        got = tx.explain_keras(_subclassed(weights), x, method="integrated_gradients", original_class=0,
                               target_class=target, score="logit", steps=10)
        want = tx.explain_keras(_functional(weights), x, method="integrated_gradients", original_class=0,
                                target_class=target, score="logit", steps=10)
        np.testing.assert_allclose(got.attributions, want.attributions, atol=1e-5)


def _hand_softmax(weights):
    """Softmax written as exp(z) / sum(exp(z)): no Softmax op in the graph for the head finder to see."""
    import keras

    def by_hand(z):
        e = keras.ops.exp(z)
        return e / keras.ops.sum(e, axis=-1, keepdims=True)

    return _subclassed(weights, by_hand)


def test_a_softmax_hidden_from_the_graph_is_said_and_one_vs_one_logits_use_log_probabilities():
    rng = np.random.default_rng(1)
    weights = _weights(rng)
    x = rng.random((3, 6, 6, 1)).astype(np.float32)
    with pytest.warns(UserWarning, match="log-probabilities"):
        got = tx.explain_keras(_hand_softmax(weights), x, method="integrated_gradients", original_class=0,
                               target_class=1, score="logit", steps=10, head="softmax")
    want = tx.explain_keras(_functional(weights), x, method="integrated_gradients", original_class=0,
                            target_class=1, score="logit", steps=10)
    np.testing.assert_allclose(got.attributions, want.attributions, atol=1e-5)
    with pytest.warns(UserWarning, match="taken for softmax probabilities"):
        tx.explain_keras(_hand_softmax(weights), x, method="saliency")
    with pytest.raises(ModelError, match="cannot be seen"):
        tx.explain_keras(_hand_softmax(weights), x, method="saliency", score="logit", head="softmax")


def test_default_original_class_is_the_prediction_and_single_image_accepted():
    rng = np.random.default_rng(2)
    model = _functional(_weights(rng))
    x = rng.random((6, 6, 1)).astype(np.float32)
    e = tx.explain_keras(model, x, method="saliency")
    assert e.attributions.shape == (1, 6, 6, 1)
    assert e.original_class[0] == np.asarray(model(x[None])).argmax()
    assert e.target_class is None


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    return _functional(_weights(rng)), rng.random((4, 6, 6, 1)).astype(np.float32)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"x": np.zeros((6, 6))}, InputError, r"x: expected shape \(N, H, W, C\)"),
    ({"x": np.zeros((2, 7, 6, 1))}, InputError, "the height differs"),
    # (N, H, W) grey images without their channel axis are one (H, W, C) image: the error says so
    ({"x": np.zeros((4, 6, 6))}, InputError, r"for N grey images \(N, H, W\) add the channel axis, x\[\.\.\., None\]"),
    ({"x": np.full((2, 6, 6, 1), np.nan)}, InputError, "NaN or Inf"),
    ({"target_class": 3}, InputError, r"target_class: expected ints in \[0, 3\), got 3 at index 0"),
    ({"original_class": [0, 1, 2, -1]}, InputError, "original_class: expected ints"),
    ({"original_class": 1, "target_class": 1}, InputError, "must differ from original_class"),
    ({"target_class": "all"}, InputError, r"^target_class: 'all' is for whole datasets \(scale.explain_dataset"),
    ({"baseline": np.zeros((3, 6, 6, 1))}, InputError, "baseline: expected shape"),
    ({"baseline": "median"}, InputError, "baseline: expected one of"),
    ({"baseline": "mdts"}, InputError, "data: baseline 'mdts' draws from the training data"),
    ({"baseline": "mdts", "original_class": 0, "target_class": 1, "data": "digitz"}, InputError, "^data: unknown dataset 'digitz'"),
    ({"baseline": "max", "data": "digitz"}, InputError, "^data: unknown dataset 'digitz'"),
    ({"method": "lrp"}, InputError, "method: expected one of"),
    ({"steps": 0}, InputError, "steps: expected a positive int"),
    ({"windows": 2}, InputError, r"method_options: \['windows'\] are not options"),
    ({"method": "expected_gradients"}, InputError, "pass baseline='train'"),
    ({"score": "softmax"}, InputError, "score: expected one of"),
    ({"method": "occlusion", "window": 9}, InputError, "window: expected"),
])
def test_bad_input_raises_one_clear_error_before_work(small, kwargs, error, match):
    model, x = small
    kwargs = dict(kwargs)
    x = kwargs.pop("x", x)
    with pytest.raises(error, match=match):
        tx.explain_keras(model, x, **kwargs)


def test_a_model_without_gradients_is_refused_for_gradient_methods():
    import keras

    class Rounding(keras.Model):
        def call(self, x, training=False):
            import tensorflow as tf

            logits = tf.stop_gradient(tf.reshape(x, (tf.shape(x)[0], -1))[:, :3])
            return tf.nn.softmax(logits)

    model = Rounding()
    x = np.random.default_rng(0).random((2, 6, 6, 1)).astype(np.float32)
    with pytest.raises(ModelError, match="needs gradients"):
        tx.explain_keras(model, x, method="integrated_gradients")
    assert tx.explain_keras(model, x, method="occlusion").attributions.shape == x.shape  # no gradient needed


def test_not_a_model_and_not_a_class_vector():
    import keras

    with pytest.raises(ModelError, match="expected a Keras model"):
        tx.explain_keras(lambda x: x, np.zeros((1, 6, 6, 1)))
    conv = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(ModelError, match="class scores"):
        tx.explain_keras(conv, np.zeros((1, 6, 6, 1)))


def test_explanation_save_load_round_trip_and_plot(small, tmp_path):
    model, x = small
    e = tx.explain_keras(model, x, method="integrated_gradients", baseline="blur", target_class=[1, 2, 0, 1],
                         original_class=[0, 0, 1, 2], steps=8)
    path = e.save(tmp_path / "exp.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.npz"]
    back = tx.Explanation.load(path)
    for field in ("inputs", "baselines", "attributions", "original_class", "target_class", "input_scores",
                  "baseline_scores"):
        np.testing.assert_array_equal(getattr(back, field), getattr(e, field))
    assert back.method == "integrated_gradients" and back.options["steps"] == 8
    fig = back.plot(path=tmp_path / "exp.png")
    assert (tmp_path / "exp.png").stat().st_size > 1000 and len(fig.axes) == 12 + 4  # 4 x 3 panels, 4 colour bars


def _exponential_logits():
    """S_k(x) = exp(sum_i w_k x_i): smooth and convex along every path, so right-Riemann sums overshoot."""
    import keras

    inp = keras.Input((3, 3, 1))
    dense = keras.layers.Dense(2, use_bias=False)
    out = keras.layers.Activation("exponential")(dense(keras.layers.Flatten()(inp)))
    model = keras.Model(inp, out)
    dense.set_weights([np.stack([np.full(9, 0.5), np.full(9, -0.5)], axis=1).astype("float32")])
    return model


def test_fixed_step_ig_that_misses_completeness_says_so_with_the_residual():
    import warnings

    from tfx_explain.errors import ExactnessWarning

    model = _exponential_logits()
    x = np.full((2, 3, 3, 1), 0.5, np.float32)
    kw = dict(method="integrated_gradients", score="logit", original_class=0, target_class=1, baseline="zero",
              input_range=(0, 1), progress=False)
    # closed form along the path: S(a) = 2 sinh(2.25 a), delta = 9.383; right Riemann with 2 steps:
    # (4.5 cosh(1.125) + 4.5 cosh(2.25)) / 2 = 14.625, a residual of 5.24
    with pytest.warns(ExactnessWarning, match=r"steps=2, 2 of 2 maps miss completeness by more than 5%: worst "
                                              r"\|sum\(A\) - \(S\(x\) - S\(b\)\)\| = 5\.24 against "
                                              r"\|S\(x\) - S\(b\)\| = 9\.38"):
        coarse = tx.explain_keras(model, x, steps=2, **kw)
    np.testing.assert_allclose(coarse.input_scores - coarse.baseline_scores, 2 * np.sinh(2.25), rtol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExactnessWarning)
        fine = tx.explain_keras(model, x, steps=400, **kw)  # residual about 0.3%
        tx.explain_keras(model, x, steps="auto", **kw)
    assert np.abs(fine.convergence_delta).max() < 0.01 * 2 * np.sinh(2.25)
