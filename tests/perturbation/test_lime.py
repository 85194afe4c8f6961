"""LIME: parity with the lime package (gray filler, same segments and seed), the ridge against its closed form."""
import numpy as np
import pytest
from lime import lime_image

from tfx_explain.errors import InputError
from tfx_explain.perturbation.lime import lime, slic_segments, weighted_ridge


def test_weighted_ridge_solves_the_weighted_normal_equations(rng):
    """Closed form: centre X and y at their weighted means, then (Xc' W Xc + alpha I) b = Xc' W yc."""
    features = rng.integers(0, 2, size=(60, 7)).astype(np.float64)
    targets, weights, alpha = rng.normal(size=60), rng.uniform(size=60), 1.5
    coef, intercept = weighted_ridge(features, targets, weights, alpha=alpha)
    x_mean, y_mean = np.average(features, axis=0, weights=weights), np.average(targets, weights=weights)
    xc, yc = features - x_mean, targets - y_mean
    expected = np.linalg.solve(xc.T @ (weights[:, None] * xc) + alpha * np.eye(7), xc.T @ (weights * yc))
    np.testing.assert_allclose(coef, expected, rtol=1e-8, atol=1e-12)
    assert intercept == pytest.approx(y_mean - x_mean @ expected, rel=1e-8)


def test_lime_reproduces_the_lime_package(score, digits_model):
    score_fn, x, weights = score
    segments = slic_segments(x, n_segments=20, compactness=0.3, sigma=1.0)
    label = int(weights[0].argmax())
    ours = lime(score_fn, x[:1], weights[:1], None, segments=segments[:1], num_samples=120, filler="gray", seed=7)
    explainer = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=7)
    theirs = explainer.explain_instance(x[0], lambda b: np.asarray(digits_model(b)), labels=(label,),
                                        hide_color=x[0].mean(axis=(0, 1)), top_labels=None, num_features=100000,
                                        num_samples=120, batch_size=10, segmentation_fn=lambda _: segments[0],
                                        random_seed=0)
    n = int(ours.extras["n_features"][0])
    assert n == len(np.unique(segments[0])) > 5
    expected = np.zeros(n)
    for feature, weight in theirs.local_exp[label]:
        expected[feature] = weight
    np.testing.assert_allclose(ours.extras["coefficients"][0, :n], expected, rtol=1e-4, atol=1e-6)
    assert ours.extras["intercept"][0] == pytest.approx(theirs.intercept[label], rel=1e-4, abs=1e-6)
    np.testing.assert_allclose(ours.attributions[0, ..., 0], expected[segments[0]], rtol=1e-4, atol=1e-6)


def test_lime_g_runs_with_an_inpainter_and_shared_segments(score, random_inpainter):
    score_fn, x, weights = score
    grid = np.repeat(np.repeat(np.arange(16).reshape(4, 4), 7, axis=0), 7, axis=1)  # one (H, W) map for all
    result = lime(score_fn, x, weights, None, segments=grid, num_samples=40, filler=random_inpainter)
    assert result.attributions.shape == x.shape and result.extras["n_features"].tolist() == [16, 16]
    heat = result.attributions[..., 0]
    np.testing.assert_allclose(heat[:, ::7, ::7], result.extras["coefficients"].reshape(2, 4, 4), rtol=1e-6)


def test_lime_refuses_bad_segments(score):
    score_fn, x, weights = score
    with pytest.raises(InputError, match="segments"):
        lime(score_fn, x, weights, None, segments=np.zeros((5, 5), np.int64))
    with pytest.raises(InputError, match="num_samples"):
        lime(score_fn, x, weights, None, num_samples=0)
