"""IG and EG with steps="auto" (issue 18 §1): nested rules, per-sample stopping, shrinking batches, EG's SE rule."""
import json
import warnings

import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain.attribution import adaptive
from tfx_explain.errors import ExactnessWarning, InputError


def _closed_form(rule, points):
    """(nodes, weights) of the composite rule with ``points`` nodes, written out directly."""
    if rule == "trapezoid":
        w = np.full(points, 1.0 / (points - 1))
        w[[0, -1]] /= 2
        return np.linspace(0, 1, points), w
    if rule == "midpoint":
        return (np.arange(points) + 0.5) / points, np.full(points, 1.0 / points)
    return np.arange(1, points + 1) / points, np.full(points, 1.0 / points)


@pytest.mark.parametrize("rule", adaptive.NESTED_RULES)
def test_levels_are_nested_and_sum_to_the_composite_rule(rule):
    """Brute force: level k's nodes are a subset of level k+1's, no node is evaluated twice, and the recursion
    I_k = shrink * I_{k-1} + sum weights * f(new) gives the composite rule's weights on all nodes so far."""
    weights = {}
    previous = set()
    for k in range(adaptive.levels_within(rule, 1024)):
        lv = adaptive.level(rule, k)
        new = {round(float(a), 12) for a in lv.nodes}
        assert not new & set(weights), "a node evaluated twice"
        weights = {a: lv.shrink * c for a, c in weights.items()}
        weights.update({round(float(a), 12): float(c) for a, c in zip(lv.nodes, lv.weights)})
        assert previous <= set(weights) and len(weights) == lv.points <= 1024
        previous = set(weights)
        nodes, expected = _closed_form(rule, lv.points)
        got = np.array([weights[round(float(a), 12)] for a in nodes])
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert lv.points > 1024 // 2  # the last level uses most of the budget


def _counting(integrands):
    """An ``evaluate`` callback over numpy integrands f_i(a) (one value per sample), recording every pair."""
    seen = []

    def evaluate(rows, nodes, weights):
        seen.extend((int(r), round(float(a), 12)) for r in rows for a in nodes)
        return np.array([[np.dot(weights, integrands[r](nodes))] for r in rows])

    return evaluate, seen


def test_converged_samples_drop_out_and_no_evaluation_is_wasted():
    step = lambda a: np.where(a < 1 / np.sqrt(2), 1.0, 3.0)  # piecewise constant, a ReLU net's integrand
    integrands = [lambda a: np.full_like(a, 2.0), lambda a: np.exp(3 * a), step]
    exact = np.array([2.0, (np.exp(3) - 1) / 3, 3 - 2 / np.sqrt(2)])
    evaluate, seen = _counting(integrands)
    res = adaptive.integrate_auto(evaluate, np.ones((3, 1)), exact, tolerance=0.01, max_steps=1024)
    assert len(seen) == len(set(seen)) == res.evaluations == res.steps.sum()
    per_sample = np.bincount([r for r, _ in seen], minlength=3)
    np.testing.assert_array_equal(per_sample, res.steps)
    assert res.steps[0] == adaptive.level("trapezoid", 1).points  # constant: stops at the first check
    assert res.steps[0] < res.steps[1] < res.steps[2]
    assert res.converged.all()
    assert np.all(np.abs(res.integral[:, 0] - exact) <= 0.01 * exact)


def test_unconverged_samples_keep_the_last_level_and_are_reported():
    evaluate, _ = _counting([lambda a: np.where(a < 1 / np.sqrt(2), 1.0, 3.0)])
    res = adaptive.integrate_auto(evaluate, np.ones((1, 1)), np.array([3 - 2 / np.sqrt(2)]), tolerance=1e-4,
                                  max_steps=30)
    assert not res.converged[0] and res.steps[0] == 25  # 4, 7, 13, 25 points; 49 > 30
    with pytest.warns(ExactnessWarning, match=r"1 of 1 samples did not reach tolerance=0.0001 .* max_steps=30"):
        adaptive.warn_unconverged("integrated_gradients", res.converged, res.residual, 1e-4, 30, change=res.change)


@pytest.fixture(scope="module")
def relu_model():
    """A small ReLU net with biases (its IG integrand is piecewise constant, not constant) and a softmax."""
    import keras

    inputs = keras.Input((4, 4, 1))
    hidden = keras.layers.Dense(6, activation="relu")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("which, score", [("linear", "logit"), ("linear", "probability"), ("relu", "probability"),
                                          ("relu", "logit")])
def test_auto_meets_the_tolerance_and_a_fine_fixed_reference(linear_model, relu_model, linear_inputs, which, score):
    model = linear_model if which == "linear" else relu_model
    x, b = linear_inputs
    tol = 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExactnessWarning)  # every sample converges here
        e = tx.explain_keras(model, x, baseline=b, score=score, steps="auto", tolerance=tol, progress=False)
    fine = tx.explain_keras(model, x, baseline=b, score=score, steps=4097, rule="riemann_trapezoid", progress=False)
    delta = np.abs(e.input_scores - e.baseline_scores)
    np.testing.assert_allclose(e.input_scores, fine.input_scores, rtol=1e-5)
    assert np.all(np.abs(e.convergence_delta) <= tol * delta)
    error = np.abs(e.attributions - fine.attributions).reshape(len(x), -1).sum(axis=1)
    assert np.all(error <= tol * delta), error / delta
    steps = e.extras["steps"]
    assert e.options["steps"] == "auto" and e.extras["converged"].all() and steps.min() >= 7
    if (which, score) == ("linear", "logit"):  # a constant integrand: stops at the first comparison
        assert np.all(steps == 7)
        np.testing.assert_allclose(e.convergence_delta, 0, atol=1e-4 * delta.max())
    assert e.options["path_points"] == steps.sum()


def test_fixed_steps_are_unchanged(linear_model, linear_inputs):
    """An int ``steps`` still takes the fixed right Riemann path (the extras say so; values as steps="auto" is absent)."""
    x, b = linear_inputs
    e = tx.explain_keras(linear_model, x, baseline=b, steps=16, progress=False)
    r = tx.explain_keras(linear_model, x, baseline=b, steps=16, rule="riemann_right", progress=False)
    np.testing.assert_array_equal(e.attributions, r.attributions)
    assert e.options["steps"] == 16 and e.options["rule"] == "riemann_right" and "converged" not in e.extras


def test_eg_se_rule_on_a_toy_with_known_variance():
    """Draws d ~ N(mu, sigma^2) per value: the rule stops near n* = D sigma^2 / (tol^2 ||mu||^2), and the moments
    merged across blocks equal numpy's over all draws (Chan's update is exact)."""
    rng = np.random.default_rng(0)
    d_values, tol, block = 50, 0.1, 16
    mu = np.stack([np.full(d_values, 1.0), np.full(d_values, 1.0)])
    sigma = np.array([2.0, 5.0])
    draws = mu[:, None, :] + sigma[:, None, None] * rng.standard_normal((2, 4096, d_values))
    counted = np.zeros(2, int)

    def evaluate(rows, start, stop):
        counted[rows] += stop - start
        chunk = draws[rows, start:stop]
        mean = chunk.mean(axis=1)
        return np.full(len(rows), stop - start), mean, ((chunk - mean[:, None]) ** 2).sum(axis=1)

    state, rel, converged, evaluations = adaptive.expect_auto(evaluate, 2, d_values, tolerance=tol, max_steps=4096,
                                                              block=block)
    expected = d_values * sigma ** 2 / (tol ** 2 * d_values)  # ||mu||^2 = D
    assert converged.all() and np.all(rel <= tol)
    np.testing.assert_array_equal(state.count, counted)
    assert evaluations == counted.sum()
    assert np.all(np.abs(state.count - expected) <= 0.15 * expected + block), (state.count, expected)
    for i in range(2):
        used = draws[i, : state.count[i]]
        np.testing.assert_allclose(state.mean[i], used.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(state.m2[i], used.var(axis=0) * len(used), rtol=1e-10)


def test_eg_auto_equals_fixed_eg_at_the_draws_it_used(linear_model, linear_inputs):
    x, _ = linear_inputs
    rng = np.random.default_rng(5)
    train_x = rng.random((300, 4, 4, 1)).astype(np.float32)
    train_y = np.repeat(np.arange(3), 100)
    co, ct = np.array([0, 1, 2, 1, 0]), np.array([1, 2, 0, 0, 2])
    kw = dict(method="expected_gradients", baseline="train", data=(train_x, train_y), original_class=co,
              target_class=ct, score="probability", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExactnessWarning)
        e = tx.explain_keras(linear_model, x, steps="auto", tolerance=0.05, max_steps=256, **kw)
    used = e.extras["steps"]
    assert np.all(used % 32 == 0) and used.min() >= 32 and used.max() <= 256
    rel = e.extras["relative_se"]
    assert np.all(rel[e.extras["converged"]] <= 0.05) and np.all(rel[~e.extras["converged"]] > 0.05)
    for n in np.unique(used):
        rows = np.flatnonzero(used == n)
        f = tx.explain_keras(linear_model, x, steps=int(n), **kw)
        np.testing.assert_allclose(e.attributions[rows], f.attributions[rows], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(e.baseline_scores[rows], f.baseline_scores[rows], rtol=1e-5)
        np.testing.assert_array_equal(e.extras["reference_index"][rows, :n], f.extras["reference_index"][rows])
        assert np.all(e.extras["reference_index"][rows, n:] == -1)


@pytest.mark.parametrize("options, message", [
    ({"steps": "fast"}, "steps: expected a positive integer or 'auto', got 'fast'"),
    ({"steps": 0}, "steps: expected a positive integer"),
    ({"steps": "auto", "tolerance": 0}, r"tolerance: expected a number in \(0, 1\), got 0"),
    ({"steps": "auto", "tolerance": 1.5}, r"tolerance: expected a number in \(0, 1\), got 1.5"),
    ({"steps": "auto", "max_steps": 0}, "max_steps: expected a positive integer, got 0"),
    ({"steps": "auto", "rule": "gauss_legendre"}, "rule: steps='auto' refines a nested rule"),
])
def test_bad_arguments_are_refused_before_any_work(linear_inputs, options, message):
    class NeverCalled:  # explain_keras must refuse the options before it touches the model
        def __getattr__(self, name):
            raise AssertionError("the model was used")

    with pytest.raises(InputError, match=f"^method_options: {message}"):
        tx.explain_keras(NeverCalled(), linear_inputs[0], **options)
    with pytest.raises(InputError, match=f"^{message}"):
        tx.attribution.integrated_gradients(None, None, None, None, **options)
    with pytest.raises(InputError, match="^method_options: tolerance expects a number"):
        tx.explain_keras(NeverCalled(), linear_inputs[0], steps="auto", tolerance="1%")


@pytest.fixture(scope="module")
def tiny_model_file(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(2, 3, strides=2, activation="relu")(inp)
    model = keras.Model(inp, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(h)))
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


@pytest.mark.parametrize("flags, message", [
    (["--steps", "7", "--tolerance", "0.05"], "--tolerance: applies to --steps auto only"),
    (["--steps", "auto", "--tolerance", "1.5"], r"--tolerance: expected a number in \(0, 1\), got 1.5"),
])
def test_cli_evaluate_checks_tolerance_first(tiny_model_file, tmp_path, capsys, flags, message):
    from tfx_explain.cli import main

    assert main(["evaluate", "--model", str(tiny_model_file), "--n", "2", "--out", str(tmp_path / "o")] + flags) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and __import__("re").search(message, err), err


def test_cli_explain_takes_steps_auto_through_set(tiny_model_file, tmp_path):
    from tfx_explain import scale
    from tfx_explain.cli import main

    out = tmp_path / "run"
    assert main(["explain", "--model", str(tiny_model_file), "--dataset", "digits", "--limit", "3", "--progress",
                 "none", "--set", "steps=auto", "tolerance=0.05", "--out", str(out)]) == 0
    run = scale.load_run(out)
    rows = run["rows"]
    delta = rows["input_score"] - rows["baseline_score"]
    residual = run["attributions"].reshape(len(rows), -1).sum(axis=1) - delta
    assert len(rows) == 3 and np.all(np.abs(residual) <= 0.05 * np.abs(delta) + 1e-6), (residual, delta)
    assert "auto" in json.dumps(run["config"])
