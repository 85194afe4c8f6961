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



def test_expected_gradients_reference_mode_explains_s_co_with_target_class_references(linear_model, linear_inputs):
    """The reference harness's one-vs-one EG (ganmex.md §3.3-3.4): S_co alone, references from class c_t.

    On logits z = A x + c, EG of z_co is A[:, co] (x - mean_k b_k) exactly, whatever the path points."""
    x, _ = linear_inputs
    rng = np.random.default_rng(6)
    train_x = rng.random((60, 4, 4, 1)).astype(np.float32)
    train_y = np.repeat(np.arange(3), 20)
    co, ct = np.array([0, 1, 2, 1, 0]), np.array([1, 2, 0, 0, 2])
    kernel, bias = linear_parts(linear_model)
    e = tx.explain_keras(linear_model, x, method="expected_gradients", baseline="train", data=(train_x, train_y),
                         original_class=co, target_class=ct, score="logit", steps=16, one_vs_one="reference")
    assert np.all(train_y[e.extras["reference_index"]] == ct[:, None])
    refs = train_x[e.extras["reference_index"]]
    expected = (x - refs.mean(axis=1)) * _direction(linear_model, co, None)
    np.testing.assert_allclose(e.attributions, expected, rtol=1e-4, atol=1e-5)
    z = lambda v: v.reshape(len(v), -1) @ kernel + bias
    np.testing.assert_allclose(e.input_scores, z(x)[np.arange(5), co], rtol=1e-5)  # S_co, not S_co - S_ct
    np.testing.assert_allclose(e.baseline_scores, z(refs.reshape(-1, 4, 4, 1)).reshape(5, 16, 3)[
        np.arange(5), :, co].mean(axis=1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e.convergence_delta, 0.0, atol=1e-4)
    assert e.options["one_vs_one"] == "reference"
    one_vs_all = tx.explain_keras(linear_model, x, method="expected_gradients", baseline="train",
                                  data=(train_x, train_y), original_class=co, score="logit", steps=4)
    same = tx.explain_keras(linear_model, x, method="expected_gradients", baseline="train", data=(train_x, train_y),
                            original_class=co, score="logit", steps=4, one_vs_one="reference")
    np.testing.assert_array_equal(one_vs_all.attributions, same.attributions)  # one-vs-all: modes coincide
    with pytest.raises(tx.errors.InputError, match="one_vs_one"):
        tx.explain_keras(linear_model, x, method="expected_gradients", baseline="train", data=(train_x, train_y),
                         original_class=co, target_class=ct, one_vs_one="harness")


def test_deeplift_gradient_softmax_rule_is_the_softmax_jacobian_at_the_input(linear_model, linear_inputs):
    """DeepExplain's DeepLIFT on the probability output (the paper's Table 3 column; ganmex.md §3.1, §3.3):
    no rule at the softmax, so its gradient is taken at the input's logits. On z = A x + c:
    A_map = (x - b) * A (diag(p(x)) - p(x) p(x)^T) w, with w = e_co - e_ct (hand-derived)."""
    x, b = linear_inputs
    kernel, bias = linear_parts(linear_model)
    co, ct = np.array([0, 1, 2, 1, 0]), np.array([1, 2, 0, 0, 2])
    z = x.reshape(5, -1) @ kernel + bias
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    w = class_weights(co, ct, 3)
    jw = p * w - p * (p * w).sum(1, keepdims=True)  # (diag(p) - p p^T) w, row by row
    expected = (x - b) * (jw @ kernel.T).reshape(5, 4, 4, 1)
    e = tx.explain_keras(linear_model, x, method="deeplift", baseline=b, original_class=co, target_class=ct,
                         softmax_rule="gradient")
    np.testing.assert_allclose(e.attributions, expected, rtol=1e-4, atol=1e-6)


def test_logit_score_bypasses_the_softmax(linear_model, linear_inputs):
    x, b = linear_inputs
    kernel, bias = linear_parts(linear_model)
    e = tx.explain_keras(linear_model, x, method="integrated_gradients", baseline=b, original_class=1,
                         score="logit", steps=3)
    np.testing.assert_allclose(e.input_scores, x.reshape(5, -1) @ kernel[:, 1] + bias[1], rtol=1e-5)
