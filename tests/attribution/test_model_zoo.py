"""DeepLIFT and DeepSHAP on the models users own: exact where every op has a rule, flagged or refused elsewhere.

The zoo (:mod:`tfx_explain.models.zoo`) makes the test able to fail: batch-norm statistics from an input batch,
head biases and random non-zero baselines, so plain gradient x input does not sum to the delta.
"""
import warnings

import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.errors import ExactnessWarning, ModelError
from tfx_explain.models import zoo

RELATIVE = 1e-3  # max |sum(A) - (S(x) - S(b))| / max |S(x) - S(b)| (float32 rounding in deep nets: ~1e-4)


def _pair(shape, n=2, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n,) + shape).astype("float32"), rng.uniform(0, 1, (n,) + shape).astype("float32")


def _relative_residual(e):
    delta = e.input_scores - e.baseline_scores
    assert np.abs(delta).max() > 1e-3, "the test needs a delta well above float32 rounding"
    return np.abs(e.convergence_delta).max() / np.abs(delta).max()


@pytest.mark.parametrize("name", list(zoo.ARCHITECTURES))
def test_deeplift_and_native_deepshap_sum_to_delta_on_the_zoo(name):
    # Untrained ConvNeXtTiny rounds to ~1e-3 of the delta in float32 (its blocks add 1e-6-scaled updates to
    # large features); in float64 its residual is ~0 (scripts/model_zoo_table.py), so it is tested there.
    model = zoo.build(name, dtype="float64" if name == "convnexttiny" else None)
    x, b = _pair(model.input_shape[1:])
    refs = np.concatenate([b, _pair(model.input_shape[1:], seed=2)[1]])  # 2 references per input for DeepSHAP
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExactnessWarning)
        dl = tx.explain_keras(model, x, method="deeplift", baseline=b, score="logit", original_class=0,
                              target_class=1, strict=True)
        ds = tx.explain_keras(model, x, method="deepshap", engine="native", baseline="train",
                              data=(refs, np.ones(len(refs), np.int64)), background_size=2, score="logit",
                              original_class=0, target_class=1, strict=True)
    assert dl.options["uncovered_ops"] == () and ds.options["uncovered_ops"] == ()
    assert _relative_residual(dl) < RELATIVE
    assert _relative_residual(ds) < RELATIVE
    if name == "convnexttiny":
        return  # untrained, its blocks are scaled by 1e-6: nearly affine, so the check below cannot bite here;
        # test_convnext_block_ops_sum_to_delta covers its ops at O(1) scales
    plain = (x - b) * _gradient(model, x)  # the test can fail: gradient x (x - b) is far from the delta
    assert np.abs(plain.reshape(len(x), -1).sum(1) - (dl.input_scores - dl.baseline_scores)).max() > 0.05 * np.abs(
        dl.input_scores - dl.baseline_scores).max()


def _gradient(model, x):
    import tensorflow as tf

    from tfx_explain.models.introspect import logits_function

    v = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(v)
        z = logits_function(model)(v)
        s = z[:, 0] - z[:, 1]
    return tape.gradient(s, v).numpy()


def _convnext_block_model():
    """A ConvNeXt-like stack (grouped 7x7 conv, LayerNormalization, GELU, layer scale) with O(1) scales:
    the untrained keras ConvNeXtTiny scales its blocks by 1e-6, so the zoo test barely reaches these ops."""
    import keras

    L = keras.layers
    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 3))
    h = L.Conv2D(32, 2, strides=2)(inputs)
    for _ in range(2):
        r = h
        h = L.Conv2D(32, 7, groups=32, padding="same")(h)
        h = L.LayerNormalization(epsilon=1e-6)(h)
        h = L.Activation("gelu")(L.Dense(64)(h))
        h = L.Add()([r, L.Dense(32)(h) * 0.5])
    return keras.Model(inputs, L.Dense(4, bias_initializer="random_normal")(L.GlobalAveragePooling2D()(h)))


def test_convnext_block_ops_sum_to_delta():
    model = _convnext_block_model()
    x, b = _pair((16, 16, 3), n=3)
    e = tx.explain_keras(model, x, method="deeplift", baseline=b, score="logit", original_class=0, target_class=1,
                         strict=True)
    assert _relative_residual(e) < 1e-4


def _small_cnn(keras, softmax="layer", pool="max"):
    L = keras.layers
    inputs = keras.Input((12, 12, 3))
    h = L.Conv2D(8, 3, activation="relu", bias_initializer="random_normal")(inputs)
    h = (L.MaxPooling2D(2) if pool == "max" else L.AveragePooling2D(2))(h)
    h = L.Conv2D(8, 3, activation="relu", bias_initializer="random_normal")(h)
    h = L.Flatten()(h)
    if softmax == "fused":
        return keras.Model(inputs, L.Dense(4, activation="softmax", bias_initializer="random_normal")(h))
    z = L.Dense(4, bias_initializer="random_normal", name="logits")(h)
    return keras.Model(inputs, L.Softmax()(z) if softmax == "layer" else z)


def test_nested_subclassed_and_tf_keras_models_are_exact():
    import keras
    import tf_keras

    keras.utils.set_random_seed(4)
    inner = _small_cnn(keras)
    outer_in = keras.Input((12, 12, 3))
    nested = keras.Model(outer_in, inner(outer_in))

    class Subclassed(keras.Model):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def call(self, x):
            return self.body(x)

    subclassed = Subclassed(inner)
    tf_keras.utils.set_random_seed(4)
    legacy = _small_cnn(tf_keras)
    x, b = _pair((12, 12, 3), n=3)
    for model in (nested, subclassed, legacy):
        for score in ("logit", "probability"):
            e = tx.explain_keras(model, x, method="deeplift", baseline=b, score=score, original_class=0,
                                 target_class=2, strict=True)
            assert _relative_residual(e) < 1e-4, (type(model).__name__, score)


def test_mixed_precision_model_is_explained_through_a_float32_clone():
    import keras

    from tfx_explain.precision import dtype_policy

    keras.utils.set_random_seed(5)
    with dtype_policy("mixed_float16"):
        mixed = _small_cnn(keras)
    twin = keras.models.clone_model(_small_cnn(keras))
    twin.set_weights(mixed.get_weights())
    x, b = _pair((12, 12, 3), n=3)
    e = tx.explain_keras(mixed, x, method="deeplift", baseline=b, score="logit", original_class=0, target_class=1)
    t = tx.explain_keras(twin, x, method="deeplift", baseline=b, score="logit", original_class=0, target_class=1)
    assert _relative_residual(e) < 1e-4
    np.testing.assert_allclose(e.attributions, t.attributions, atol=1e-6)


@pytest.mark.parametrize("softmax", ["layer", "fused", "nested", "subclassed"])
def test_logit_maps_equal_the_logit_twins_maps(softmax):
    """score='logit' finds the softmax wherever it is: maps equal, not only sums."""
    import keras

    keras.utils.set_random_seed(6)
    twin = _small_cnn(keras, softmax="none")
    if softmax == "fused":
        model = _small_cnn(keras, softmax="fused")
        model.set_weights(twin.get_weights())
    elif softmax == "layer":
        model = keras.Model(twin.inputs, keras.layers.Softmax()(twin.outputs[0]))
    elif softmax == "nested":
        inner = keras.Model(twin.inputs, keras.layers.Softmax()(twin.outputs[0]))
        inputs = keras.Input((12, 12, 3))
        model = keras.Model(inputs, inner(inputs))
    else:
        class WithSoftmax(keras.Model):
            def call(self, x):
                return keras.ops.softmax(twin(x))

        model = WithSoftmax()
    x, b = _pair((12, 12, 3), n=3)
    for method, options in (("deeplift", {}), ("integrated_gradients", {"steps": 16})):
        got = tx.explain_keras(model, x, method=method, baseline=b, score="logit", original_class=0, **options)
        want = tx.explain_keras(twin, x, method=method, baseline=b, score="logit", original_class=0, **options)
        np.testing.assert_allclose(got.attributions, want.attributions, atol=1e-5)


def _py_function_model():
    import keras
    import tensorflow as tf

    class PyClip(keras.layers.Layer):
        def call(self, h):
            out = tf.py_function(lambda v: tf.clip_by_value(v, -1.0, 1.0), [h], tf.float32)
            out.set_shape(h.shape)
            return out

        def compute_output_shape(self, shape):
            return shape

    keras.utils.set_random_seed(7)
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, bias_initializer="random_normal")(inputs)
    h = PyClip(name="py_clip")(h)
    h = keras.layers.Reshape((6 * 6 * 4,))(h)
    return keras.Model(inputs, keras.layers.Dense(3, bias_initializer="random_normal")(h))


def test_an_op_without_a_rule_is_named_with_its_layer_and_residual():
    model = _py_function_model()
    x, b = _pair((8, 8, 3), n=2)
    with pytest.warns(ExactnessWarning, match=r"EagerPyFunc in layer 'py_clip'.*measured max \|sum\(A\)"):
        e = tx.explain_keras(model, x, method="deeplift", baseline=b, score="logit", original_class=0)
    assert e.options["uncovered_ops"]
    with pytest.raises(ModelError, match=r"strict=True refuses.*EagerPyFunc|EagerPyFunc.*strict=True refuses"):
        tx.explain_keras(model, x, method="deeplift", baseline=b, score="logit", original_class=0, strict=True)
    with pytest.raises(ModelError, match="EagerPyFunc"):
        tx.explain_keras(model, x, method="deepshap", engine="native", baseline=b, score="logit",
                         original_class=0, strict=True)


def test_a_tfsmlayer_model_is_refused_with_a_pointer_to_ig(tmp_path):
    import keras

    keras.utils.set_random_seed(8)
    inner = _small_cnn(keras, softmax="none")
    inner.export(str(tmp_path / "saved"), verbose=False)
    inputs = keras.Input((12, 12, 3))
    model = keras.Model(inputs, keras.layers.TFSMLayer(str(tmp_path / "saved"), call_endpoint="serve")(inputs))
    x, b = _pair((12, 12, 3), n=2)
    with pytest.raises(ModelError, match="function call.*integrated_gradients"):
        tx.explain_keras(model, x, method="deeplift", baseline=b, score="logit", original_class=0)
    ig = tx.explain_keras(model, x, method="integrated_gradients", baseline=b, score="logit", original_class=0,
                         steps=8)
    assert np.isfinite(ig.attributions).all()


def test_native_deepshap_equals_shap_on_relu_maxpool_dense_logits():
    """Where both use the same rules (ReLU, max pooling, dense, logits), native DeepSHAP (the mean of our DeepLIFT
    over the references) equals shap's DeepExplainer; elsewhere it is another estimator."""
    import keras
    import shap

    keras.utils.set_random_seed(9)
    model = _small_cnn(keras, softmax="none")
    x, _ = _pair((12, 12, 3), n=3)
    background = _pair((12, 12, 3), n=4, seed=5)[1]
    ours = tx.explain_keras(model, x, method="deepshap", engine="native", baseline="train",
                            data=(background, np.ones(4, np.int64)), background_size=4, score="logit",
                            original_class=0, target_class=1)
    values = np.asarray(shap.DeepExplainer(model, background).shap_values(x, check_additivity=False))
    np.testing.assert_allclose(ours.attributions, values[..., 0] - values[..., 1], atol=1e-5)


def test_attention_products_and_softmax_sum_to_delta():
    """Multi-head attention: query-key and weight-value products of two input-dependent tensors (the
    bilinear rule) and a softmax over keys of any rank (the path rule)."""
    import keras

    L = keras.layers
    keras.utils.set_random_seed(12)
    inputs = keras.Input((8, 8, 3))
    h = L.Reshape((16, 12))(L.Conv2D(12, 2, strides=2)(inputs))
    h = L.LayerNormalization()(h + L.MultiHeadAttention(num_heads=2, key_dim=4)(h, h))
    model = keras.Model(inputs, L.Dense(3, bias_initializer="random_normal")(L.Flatten()(h)))
    x, b = _pair((8, 8, 3), n=3)
    for score in ("logit", "probability"):
        e = tx.explain_keras(model, x, method="deeplift", baseline=b, score=score, original_class=0,
                             target_class=1, strict=True)
        assert _relative_residual(e) < 1e-4
