"""Grad-CAM and Grad-CAM++: parity with xplique 2.0.2, the CAM closed form of a GAP + Dense head, nested and
tf_keras models, one-vs-one, and the layer argument's errors."""
import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.errors import InputError, ModelError
from tfx_explain.perturbation._common import resize_maps, stretch_centres


def _cnn(keras, size=12, classes=4, seed=0):
    """conv(ReLU) -> conv(ReLU, 'last') -> GAP -> Dense logits: Grad-CAM's alpha_k is W[k, c] / (h w)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3))
    h = keras.layers.Conv2D(5, 3, activation="relu", name="first")(inputs)
    h = keras.layers.Conv2D(6, 3, activation="relu", name="last")(h)
    out = keras.layers.Dense(classes, name="logits")(keras.layers.GlobalAveragePooling2D()(h))
    return keras.Model(inputs, out)


@pytest.fixture(scope="module")
def cnn():
    import keras

    return _cnn(keras)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    return rng.random((6, 12, 12, 3)).astype(np.float32), np.array([0, 1, 2, 3, 0, 1])


def _xplique(model, x, targets, plus=False, layer="last"):
    from xplique.attributions import GradCAM, GradCAMPP

    cls = GradCAMPP if plus else GradCAM
    explainer = cls(model, conv_layer=layer if isinstance(layer, str) else 0)
    if not isinstance(layer, str):  # a layer inside a nested model: xplique's lookup only sees the top level
        explainer.conv_layer = layer
    try:
        return explainer.explain(x, targets.astype(np.float32)).numpy()[..., 0]
    finally:  # xplique leaves its undecorated bound method as an instance attribute: drop it
        explainer.conv_layer.__dict__.pop("call", None)


def _close(ours, ref):
    scale = np.abs(ref).max()
    assert scale > 0
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("method", ["gradcam", "gradcam_pp"])
def test_parity_with_xplique(cnn, images, method):
    x, co = images
    options = {"variant": "xplique"} if method == "gradcam_pp" else {}
    e = tx.explain_keras(cnn, x, method=method, original_class=co, score="logit", interpolation="bicubic",
                         batch_size=4, **options)
    _close(e.heatmaps(), _xplique(cnn, x, np.eye(4)[co], plus=method == "gradcam_pp"))
    assert e.attributions.shape == x.shape and e.options["layer"] == "last"
    np.testing.assert_allclose(e.attributions[..., 0] * 3, e.heatmaps(), rtol=1e-6)  # L / C in each channel
    np.testing.assert_allclose(e.input_scores, cnn(x).numpy()[np.arange(len(x)), co], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["gradcam", "gradcam_pp"])
def test_one_vs_one_is_the_map_of_the_score_delta(cnn, images, method):
    x, co = images
    ct = (co + 1) % 4
    options = {"variant": "xplique"} if method == "gradcam_pp" else {}
    e = tx.explain_keras(cnn, x, method=method, original_class=co, target_class=ct, score="logit",
                         interpolation="bicubic", **options)
    delta = np.eye(4)[co] - np.eye(4)[ct]  # xplique explains sum_k targets_k S_k: here S_co - S_ct
    _close(e.heatmaps(), _xplique(cnn, x, delta, plus=method == "gradcam_pp"))


def test_cam_closed_form_of_a_gap_dense_head(cnn, images):
    """With GAP + Dense logits, dS_c/dA_kij = W[k, c] / hw: Grad-CAM is Zhou et al.'s CAM / hw and Grad-CAM++
    (Eq. 19) is ReLU(sum_k hw ReLU(g_k) / (2 + g_k sum_ab A_kab) A_k) with g_k = W[k, c] / hw."""
    import keras

    x, co = images
    feats = keras.Model(cnn.inputs, cnn.get_layer("last").output).predict(x, verbose=0).astype(np.float64)
    kernel = cnn.get_layer("logits").get_weights()[0].astype(np.float64)[:, co].T  # (N, K)
    hw = feats.shape[1] * feats.shape[2]
    cam = np.maximum(np.einsum("nijk,nk->nij", feats, kernel) / hw, 0)
    e = tx.explain_keras(cnn, x, method="gradcam", original_class=co, score="logit")
    np.testing.assert_allclose(e.extras["cam"], cam, rtol=1e-5, atol=1e-6 * cam.max())
    centres = stretch_centres(feats.shape[1], x.shape[1])  # bilinear, half-pixel centres: an independent resize
    np.testing.assert_allclose(e.heatmaps(), resize_maps(cam, centres, centres, x.shape[1:3]), rtol=1e-5,
                               atol=1e-6 * cam.max())

    g = kernel / hw
    weights = hw * np.maximum(g, 0) / (2 + g * feats.sum(axis=(1, 2)))
    cam_pp = np.maximum(np.einsum("nijk,nk->nij", feats, weights), 0)
    e = tx.explain_keras(cnn, x, method="gradcam_pp", original_class=co, score="logit")
    np.testing.assert_allclose(e.extras["cam"], cam_pp, rtol=1e-5, atol=1e-6 * cam_pp.max())


def test_default_layer_inside_a_nested_model_matches_xplique(images):
    """A functional backbone (pooled inside) nested in a Sequential: the default is its last 4-D layer."""
    import keras

    keras.utils.set_random_seed(2)
    inner_in = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(5, 3, activation="relu", name="inner_a")(inner_in)
    h = keras.layers.Conv2D(6, 3, activation="relu", name="inner_b")(h)
    backbone = keras.Model(inner_in, keras.layers.GlobalAveragePooling2D()(h), name="backbone")
    model = keras.Sequential([keras.Input((12, 12, 3)), backbone, keras.layers.Dense(4), keras.layers.Softmax()])
    x, co = images
    for method in ("gradcam", "gradcam_pp"):
        options = {"variant": "xplique"} if method == "gradcam_pp" else {}
        e = tx.explain_keras(model, x, method=method, original_class=co, interpolation="bicubic", **options)
        assert e.options["layer"] == "inner_b"
        _close(e.heatmaps(), _xplique(model, x, np.eye(4)[co], method == "gradcam_pp",
                                      backbone.get_layer("inner_b")))
    assert all("call" not in layer.__dict__ for layer in backbone.layers)  # the hooks are gone


def test_default_layer_inside_a_keras_applications_backbone():
    import keras

    from tfx_explain.attribution.gradcam import find_layer

    backbone = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), include_top=False,
                                              pooling="avg", alpha=0.35)
    model = keras.Sequential([keras.Input((32, 32, 3)), backbone, keras.layers.Dense(3)])
    assert find_layer(model, (32, 32, 3)).name == "out_relu"
    assert find_layer(model, (32, 32, 3), "block_16_project").name == "block_16_project"


def test_tf_keras_model_gives_the_cam_closed_form(images):
    tf_keras = pytest.importorskip("tf_keras")
    x, co = images
    model = _cnn(tf_keras, seed=3)
    feats = tf_keras.Model(model.inputs, model.get_layer("last").output)(x).numpy().astype(np.float64)
    kernel = model.get_layer("logits").get_weights()[0].astype(np.float64)[:, co].T
    cam = np.maximum(np.einsum("nijk,nk->nij", feats, kernel) / 64, 0)
    e = tx.explain_keras(model, x, method="gradcam", original_class=co, score="logit")
    np.testing.assert_allclose(e.extras["cam"], cam, rtol=1e-5, atol=1e-6 * cam.max())
    assert e.options["layer"] == "last" and "call" not in model.get_layer("last").__dict__


@pytest.mark.parametrize("layer, words", [
    ("nope", ["layer:", "'nope'", "'first'", "'last'"]),
    ("logits", ["layer:", "'logits'", "not 4-D", "'last'"]),
    (3, ["layer:", "expected a layer name"]),
])
def test_bad_layer_is_one_line_listing_candidates(cnn, images, layer, words):
    with pytest.raises(InputError) as err:
        tx.explain_keras(cnn, images[0][:1], method="gradcam", layer=layer)
    message = str(err.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_naming_a_nested_model_points_to_its_inner_layers(images):
    """A nested backbone is not hooked itself: the error names its last 4-D layer, not a false 'not 4-D'."""
    import keras

    backbone = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(4, 3, name="inner_a"),
                                 keras.layers.Conv2D(4, 3, name="inner_b")], name="backbone")
    model = keras.Sequential([keras.Input((12, 12, 3)), backbone, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3)])
    with pytest.raises(InputError) as err:
        tx.explain_keras(model, images[0][:1], method="gradcam", layer="backbone")
    message = str(err.value)
    assert "nested model" in message and "'inner_b'" in message and "not 4-D" not in message, message


def test_bad_options_raise(cnn, images):
    with pytest.raises(InputError, match="interpolation"):
        tx.explain_keras(cnn, images[0][:1], method="gradcam", interpolation="nearest")
    with pytest.raises(InputError, match="variant"):
        tx.explain_keras(cnn, images[0][:1], method="gradcam_pp", variant="nope")


def test_a_layer_called_twice_is_refused_and_unhooked():
    import keras

    shared = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="shared")
    inputs = keras.Input((8, 8, 3))
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(shared(shared(inputs))))
    model = keras.Model(inputs, out)
    with pytest.raises(ModelError, match="called 2 times"):
        tx.explain_keras(model, np.ones((1, 8, 8, 3), np.float32), method="gradcam", layer="shared")
    assert "call" not in shared.__dict__


def test_a_layer_off_the_gradient_path_is_refused():
    import keras

    inputs = keras.Input((8, 8, 3))
    side = keras.layers.Conv2D(2, 3, name="side")(inputs)
    frozen = keras.layers.Lambda(lambda t: keras.ops.stop_gradient(t))(keras.layers.GlobalAveragePooling2D()(side))
    out = keras.layers.Dense(2)(keras.layers.Concatenate()([frozen, keras.layers.Flatten()(inputs)]))
    model = keras.Model(inputs, out)
    for _ in range(2):  # the second call reuses the traced function and must refuse too
        with pytest.raises(ModelError, match="does not depend differentiably on 'side'"):
            tx.explain_keras(model, np.ones((1, 8, 8, 3), np.float32), method="gradcam", layer="side")


def test_binary_sigmoid_head_scores_and_one_vs_one():
    """One sigmoid unit p: class 1 is p, class 0 is 1 - p, so 1 vs 0 explains 2p - 1 and its map is twice p's."""
    import keras

    keras.utils.set_random_seed(4)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(3, 3, activation="relu", name="conv")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(h)))
    x = np.random.default_rng(5).random((3, 8, 8, 1)).astype(np.float32)
    p = model(x).numpy()[:, 0]
    one = tx.explain_keras(model, x, method="gradcam", original_class=1)
    two = tx.explain_keras(model, x, method="gradcam", original_class=1, target_class=0)
    np.testing.assert_allclose(one.input_scores, p, rtol=1e-5)
    np.testing.assert_allclose(two.input_scores, 2 * p - 1, rtol=1e-5, atol=1e-6)
    assert one.heatmaps().max() > 0
    np.testing.assert_allclose(two.heatmaps(), 2 * one.heatmaps(), rtol=1e-5, atol=1e-7)
