"""Every method on a linear model, where the answers are known in closed form (score="logit")."""
import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.targets import class_weights

from .conftest import linear_parts


def _direction(model, co, ct):
    kernel, _ = linear_parts(model)
    w = class_weights(co, ct, 3)
    return (w @ kernel.T).reshape(-1, 4, 4, 1)  # dS_w/dx for each sample


@pytest.mark.parametrize("target", [None, 2])
def test_gradient_methods(linear_model, linear_inputs, target):
    x, _ = linear_inputs
    co = np.array([0, 1, 0, 1, 0])
    ct = None if target is None else np.full(5, target)
    g = _direction(linear_model, co, ct)
    sal = tx.explain_keras(linear_model, x, method="saliency", original_class=co, target_class=ct, score="logit")
    np.testing.assert_allclose(sal.attributions, np.abs(g), rtol=1e-5, atol=1e-6)
    gi = tx.explain_keras(linear_model, x, method="gradient_input", original_class=co, target_class=ct,
                          score="logit")
    np.testing.assert_allclose(gi.attributions, x * g, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method, options", [
    ("integrated_gradients", {"steps": 7}),
    ("deeplift", {}),
    ("occlusion", {}),
    ("deepshap", {"engine": "native"}),
    ("deepshap", {"engine": "shap"}),
])
def test_baseline_methods_equal_difference_times_gradient(linear_model, linear_inputs, method, options):
    x, b = linear_inputs
    co, ct = np.array([0, 1, 2, 1, 0]), np.array([1, 2, 0, 0, 2])
    e = tx.explain_keras(linear_model, x, method=method, baseline=b, original_class=co, target_class=ct,
                         score="logit", **options)
    np.testing.assert_allclose(e.attributions, (x - b) * _direction(linear_model, co, ct), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e.convergence_delta, 0.0, atol=1e-4)


def test_expected_gradients_is_difference_to_the_mean_reference(linear_model, linear_inputs):
    x, _ = linear_inputs
    rng = np.random.default_rng(5)
    train_x = rng.random((60, 4, 4, 1)).astype(np.float32)
    train_y = np.repeat(np.arange(3), 20)
    co, ct = np.array([0, 1, 2, 1, 0]), np.array([1, 2, 0, 0, 2])
    e = tx.explain_keras(linear_model, x, method="expected_gradients", baseline="train", data=(train_x, train_y),
                         original_class=co, target_class=ct, score="logit", steps=16)
    refs = train_x[e.extras["reference_index"]]  # (N, 16, H, W, C), all from the target class
    assert np.all(train_y[e.extras["reference_index"]] == ct[:, None])
    assert all(len(set(row)) == 16 for row in e.extras["reference_index"])  # without replacement
    expected = (x - refs.mean(axis=1)) * _direction(linear_model, co, ct)
    np.testing.assert_allclose(e.attributions, expected, rtol=1e-4, atol=1e-5)


def test_logit_score_bypasses_the_softmax(linear_model, linear_inputs):
    x, b = linear_inputs
    kernel, bias = linear_parts(linear_model)
    e = tx.explain_keras(linear_model, x, method="integrated_gradients", baseline=b, original_class=1,
                         score="logit", steps=3)
    np.testing.assert_allclose(e.input_scores, x.reshape(5, -1) @ kernel[:, 1] + bias[1], rtol=1e-5)
