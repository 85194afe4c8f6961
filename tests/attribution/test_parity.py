"""Batched code against brute force, and our DeepLIFT against shap's DeepExplainer."""
import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.attribution.occlusion import window_corners
from tfx_explain.distribute import mirrored


def _explained(model, x, co, ct):
    p = np.asarray(model(x, training=False))  # a direct call: predict() costs ~50 ms per call in the loops below
    return p[np.arange(len(x)), co] - p[np.arange(len(x)), ct]


@pytest.mark.parametrize("window, stride", [(1, None), ((3, 3), (2, 2)), ((4, 5, 1), (4, 3, 1))])
def test_occlusion_equals_a_brute_force_loop(digits_model, digit_batch, window, stride):
    x, co, ct = digit_batch
    x, co, ct = x[:2], co[:2], ct[:2]
    b = np.full_like(x, 0.25)
    e = tx.explain_keras(digits_model, x, method="occlusion", baseline=b, original_class=co, target_class=ct,
                         window=window, stride=stride)
    win = (window, window, 1) if isinstance(window, int) else tuple(window) + (1,) * (3 - len(window))
    st = win if stride is None else tuple(stride) + (1,) * (3 - len(stride))
    heat, count = np.zeros_like(x), np.zeros(x.shape[1:], np.float32)
    base = _explained(digits_model, x, co, ct)
    for h, w, c in window_corners(x.shape[1:], win, st):  # the reference loop: one window at a time
        occluded = x.copy()
        occluded[:, h : h + win[0], w : w + win[1], c : c + win[2]] = b[:, h : h + win[0], w : w + win[1],
                                                                         c : c + win[2]]
        delta = base - _explained(digits_model, occluded, co, ct)
        heat[:, h : h + win[0], w : w + win[1], c : c + win[2]] += delta[:, None, None, None]
        count[h : h + win[0], w : w + win[1], c : c + win[2]] += np.prod(win)
    np.testing.assert_allclose(e.attributions, heat / count, atol=2e-6)


def test_mdts_equals_brute_force_numpy_search(digits):
    (xt, yt), (x, y) = digits
    x, co = x[:40], y[:40]
    ct = (co + 1 + np.arange(40) % 9) % 10
    values, index = tx.baselines.mdts(x, co, ct, xt, yt)
    for i in range(40):  # brute force, float64
        pool = np.flatnonzero(yt == ct[i])
        d = ((xt[pool].astype(np.float64) - x[i].astype(np.float64)) ** 2).reshape(len(pool), -1).sum(1)
        assert index[i] == pool[np.argmin(d)]
    np.testing.assert_array_equal(values, xt[index])
    _, index_all = tx.baselines.mdts(x, co, None, xt, yt)  # one-vs-all: nearest of any other class
    assert np.all(yt[index_all] != co)


def test_mdts_ties_go_to_the_lowest_index():
    train = np.zeros((4, 2, 2, 1), np.float32)
    train[[1, 3]] = 0.5  # two identical nearest neighbours of class 1
    labels = np.array([0, 1, 1, 1])
    train[2] = 1.0
    _, index = tx.baselines.mdts(np.full((1, 2, 2, 1), 0.5, np.float32), np.array([0]), np.array([1]), train,
                                 labels)
    assert index.tolist() == [1]


def test_deeplift_equals_shap_deepexplainer_with_one_reference(digits, digits_model, digit_batch):
    """Rescale rule on a ReLU CNN: our native DeepLIFT and shap's DeepExplainer agree (logit scores)."""
    import shap

    from tfx_explain.models import introspect

    (xt, yt), _ = digits
    x, co, ct = digit_batch
    ref = xt[:1]
    ours = tx.explain_keras(digits_model, x, method="deeplift", baseline=ref[0], original_class=co,
                            target_class=ct, score="logit")
    logits = introspect.logits_model(digits_model)
    values = np.asarray(shap.DeepExplainer(logits, ref).shap_values(x, check_additivity=False))  # (N,H,W,C,K)
    expected = values[np.arange(len(x)), ..., co] - values[np.arange(len(x)), ..., ct]
    np.testing.assert_allclose(ours.attributions, expected, atol=1e-5)
    via_engine = tx.explain_keras(digits_model, x, method="deepshap", baseline=ref[0], original_class=co,
                                  target_class=ct, score="logit", engine="shap")
    np.testing.assert_allclose(via_engine.attributions, expected, atol=1e-5)


def test_deepshap_engines_agree_on_probability_scores_with_train_background(digits, digits_model, digit_batch):
    """Both engines sum to S_w(x) - mean S_w(background) (summation-to-delta of DeepSHAP)."""
    (xt, yt), _ = digits
    x, co, ct = digit_batch
    for engine in ("shap", "native"):
        e = tx.explain_keras(digits_model, x[:4], method="deepshap", baseline="train", data=(xt, yt),
                             original_class=co[:4], target_class=ct[:4], engine=engine, background_size=10)
        np.testing.assert_allclose(e.convergence_delta, 0.0, atol=1e-4)


@pytest.mark.parametrize("method, options", [
    ("integrated_gradients", {"steps": 30}), ("deeplift", {}), ("occlusion", {"window": 2}),
    ("expected_gradients", {"steps": 12}), ("saliency", {}),
])
def test_batched_equals_one_by_one(digits, digits_model, digit_batch, method, options):
    (xt, yt), _ = digits
    x, co, ct = digit_batch
    base = {"baseline": "train", "data": (xt, yt)} if method == "expected_gradients" else {"baseline": "mdts",
                                                                                          "data": (xt, yt)}
    batched = tx.explain_keras(digits_model, x, method=method, original_class=co, target_class=ct, **base,
                               **options)
    chunked_by_one = tx.explain_keras(digits_model, x, method=method, original_class=co, target_class=ct,
                                      batch_size=1, **base, **options)
    np.testing.assert_allclose(batched.attributions, chunked_by_one.attributions, atol=1e-5)
    if method == "expected_gradients":
        return  # its draws depend on (seed, position in the call): a lone image is position 0
    single = np.concatenate([
        tx.explain_keras(digits_model, x[i : i + 1], method=method, original_class=co[i : i + 1],
                         target_class=ct[i : i + 1], **base, **options).attributions
        for i in range(0, len(x), 3)])
    np.testing.assert_allclose(batched.attributions[::3], single, atol=1e-5)


@pytest.mark.parametrize("method, options", [
    ("integrated_gradients", {"steps": 20}), ("deeplift", {}), ("occlusion", {}), ("expected_gradients", {"steps": 8}),
])
def test_mirrored_strategy_equals_single_device(digits, digits_model, digit_batch, logical_cpus, method, options):

    (xt, yt), _ = digits
    x, co, ct = digit_batch
    base = {"baseline": "train", "data": (xt, yt)} if method == "expected_gradients" else {"baseline": "zero"}
    one = tx.explain_keras(digits_model, x, method=method, original_class=co, target_class=ct, **base, **options)
    two = tx.explain_keras(digits_model, x, method=method, original_class=co, target_class=ct, batch_size=6,
                           strategy=mirrored(logical_cpus), **base, **options)
    np.testing.assert_allclose(one.attributions, two.attributions, atol=1e-6)


def _tanh_cnn(seed=10):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((10, 10, 2))
    h = keras.layers.Conv2D(6, 3, activation="tanh", bias_initializer="random_normal")(inputs)
    h = keras.layers.Conv2D(6, 3, activation="relu", bias_initializer="random_normal")(h)
    return keras.Model(inputs, keras.layers.Dense(3, bias_initializer="random_normal")(keras.layers.Flatten()(h)))


def test_integrated_gradients_equals_xplique_at_equal_steps_and_rule():
    """xplique integrates with the trapezoid rule over linspace(0, 1, steps): our rule="riemann_trapezoid"."""
    from xplique.attributions import IntegratedGradients

    model = _tanh_cnn()
    x = np.random.default_rng(11).uniform(0, 1, (4, 10, 10, 2)).astype(np.float32)
    co = np.array([0, 1, 2, 0])
    ours = tx.explain_keras(model, x, method="integrated_gradients", baseline=np.full_like(x, 0.3), score="logit",
                            original_class=co, steps=32, rule="riemann_trapezoid").attributions
    theirs = np.asarray(IntegratedGradients(model, steps=32, reducer=None, baseline_value=0.3, batch_size=64)
                        .explain(x, np.eye(3, dtype=np.float32)[co]))
    assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max()


def test_integrated_gradients_residual_falls_as_the_steps_double():
    """Completeness at a fixed step count is a property of the model; on a smooth one the residual shrinks."""
    model = _tanh_cnn()
    x = np.random.default_rng(12).uniform(0, 1, (6, 10, 10, 2)).astype(np.float32)
    residuals = []
    for steps in (8, 16, 32, 64):
        e = tx.explain_keras(model, x, method="integrated_gradients", baseline="zero", score="logit",
                             original_class=0, steps=steps, rule="riemann_trapezoid")
        residuals.append(float(np.abs(e.convergence_delta).max()))
    print("IG residual at 8/16/32/64 steps:", residuals)
    assert all(later < earlier for earlier, later in zip(residuals, residuals[1:])), residuals
