import numpy as np
import pytest
from scipy.stats import spearmanr

from tfx_explain import metrics
from tfx_explain.errors import InputError

from .metric_oracles import flip_deltas

UNIT = (0.0, 1.0)  # the linear fixtures take inputs in [0, 1]; the flip fill needs the range
CO = np.array([0, 1, 2, 0, 1, 2])
CT = np.array([1, 2, 0, 2, 0, 1])


# --- Gini (sparsity) -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 7, 784])
def test_gini_of_a_one_hot_map_is_one_minus_one_over_n_and_of_a_constant_map_zero(n):
    one_hot = np.zeros((1, n))
    one_hot[0, n // 2] = -3.0  # |A| is used: the sign does not matter
    np.testing.assert_allclose(metrics.gini(one_hot), [1 - 1 / n], atol=1e-12)
    np.testing.assert_allclose(metrics.gini(np.full((2, n), 0.4)), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(metrics.gini(np.zeros((1, n))), [0.0])


def test_gini_equals_the_mean_absolute_difference_form_and_a_per_sample_loop():
    """Hurley & Rickard's sorted form equals sum_ij |a_i - a_j| / (2 n sum a) (the Gini coefficient)."""
    a = np.random.default_rng(0).normal(size=(5, 6, 6, 2))
    batched = metrics.gini(a)
    for i in range(5):
        v = np.abs(a[i]).reshape(-1)
        pairwise = np.abs(v[:, None] - v[None]).sum() / (2 * len(v) * v.sum())
        np.testing.assert_allclose(batched[i], pairwise, atol=1e-12)
        np.testing.assert_allclose(metrics.gini(a[i : i + 1]), batched[i : i + 1], atol=1e-12)
    assert metrics.sparsity(a).summary()["n"] == 5
    pixel = metrics.gini(a, granularity="pixel")
    np.testing.assert_allclose(pixel, metrics.gini(np.abs(a).sum(-1)), atol=1e-12)
    with pytest.raises(InputError, match="attributions"):
        metrics.gini(np.array([1.0, np.nan]).reshape(1, 2))


def _copied_snippet_gini(v):
    """The widely copied Gini snippet, line by line, fed |A| (its min-shift is then a no-op)."""
    v = np.array(v, np.float64).flatten()
    if np.amin(v) < 0:
        v -= np.amin(v)
    v += 0.0000001
    v = np.sort(v)
    index = np.arange(1, v.shape[0] + 1)
    n = v.shape[0]
    return np.sum((2 * index - n - 1) * v) / (n * np.sum(v))


def test_eps_gini_hand_computed_values():
    """G(|A| + eps) with eps = 1e-7 (the probable paper computation, ganmex_appendix.txt C.3).

    n = 4, sum_k (2k - 5) a_(k) / (4 sum a):
      [0, 0, 0, 1]:     (3 (1 + e) - 3e) / (4 (1 + 4e)) = 0.75 / (1 + 4e);  exact G = 0.75
      [0, 0, 0, 1e-7]:  a + e = [e, e, e, 2e] -> 3e / 20e = 0.15;           exact G = 0.75 (scale-free)
      [0, 0, 0, 0]:     a constant map -> 0
    """
    e = metrics.PAPER_EPS
    assert e == 1e-7
    maps = np.array([[0, 0, 0, 1.0], [0, 0, -1e-7, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(metrics.gini(maps, eps=e), [0.75 / (1 + 4e-7), 0.15, 0.0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(metrics.gini(maps), [0.75, 0.75, 0.0], atol=1e-12)
    result = metrics.sparsity(maps, eps=e)
    assert result.name == "sparsity_eps" and result.extras["settings"]["eps"] == e
    with pytest.raises(InputError, match="eps"):
        metrics.gini(maps, eps=-1e-7)


def test_eps_gini_equals_the_copied_snippet_and_shrinks_with_the_map_scale():
    a = np.random.default_rng(1).normal(size=(3, 5, 5, 1)) * (np.random.default_rng(2).random((3, 5, 5, 1)) > 0.8)
    for scale in (1.0, 1e-6, 1e-9):
        got = metrics.gini(a * scale, eps=metrics.PAPER_EPS)
        np.testing.assert_allclose(got, [_copied_snippet_gini(np.abs(m * scale)) for m in a], rtol=1e-9)
    zero_share = (a.reshape(3, -1) == 0).mean(axis=1)
    assert np.all(metrics.gini(a) >= zero_share - 1e-12)  # G(|A|) is never below the share of exact zeros
    assert np.all(metrics.gini(a * 1e-9, eps=metrics.PAPER_EPS) < 0.05)  # eps dominates tiny maps


# --- faithfulness and monotonicity ----------------------------------------------------------------------

def test_single_feature_deltas_of_a_linear_model_are_closed_form(linear):
    model, w, x = linear
    deltas = metrics.single_feature_deltas(model, x, CO, CT, score="logit", input_range=UNIT)
    np.testing.assert_allclose(deltas, flip_deltas(w, x, CO, CT), atol=1e-5)
    # a mask-dependent fill (no .reference) gives the same deltas through the generic engine
    generic = metrics.single_feature_deltas(model, x, CO, CT, score="logit", input_range=UNIT,
                                            fill=lambda im, m: im * (1 - m) + (1 - im) * m)
    np.testing.assert_allclose(generic, deltas, atol=1e-5)


def test_perfect_attributions_score_one_and_reversed_ones_minus_one(linear):
    model, w, x = linear
    d = flip_deltas(w, x, CO, CT)
    perfect = d.reshape(x.shape)
    np.testing.assert_allclose(metrics.faithfulness(model, x, perfect, CO, CT, score="logit",
                                                    input_range=UNIT).values, 1.0, atol=1e-5)
    np.testing.assert_allclose(metrics.faithfulness(model, x, -perfect, CO, CT, score="logit",
                                                    input_range=UNIT).values, -1.0, atol=1e-5)
    # monotonicity ranks |A| against delta^2: the sign of A does not matter, its magnitude does
    np.testing.assert_allclose(metrics.monotonicity(model, x, -perfect, CO, CT, score="logit",
                                                    input_range=UNIT).values, 1.0, atol=1e-9)
    inverse = (1.0 / (np.abs(d) + 1e-3)).reshape(x.shape)
    np.testing.assert_allclose(metrics.monotonicity(model, x, inverse, CO, CT, score="logit",
                                                    input_range=UNIT).values, -1.0, atol=1e-9)


def test_faithfulness_matches_the_aix360_loop_and_monotonicity_scipy(linear):
    """AIX360 faithfulness_metric: -corrcoef(A, p(x with x_i := base_i)), one feature at a time."""
    model, w, x = linear
    rng = np.random.default_rng(8)
    attr = rng.normal(size=x.shape).astype(np.float32)
    base = rng.random(x.shape).astype(np.float32)
    faith = metrics.faithfulness(model, x, attr, CO, CT, score="logit", fill="baseline", baselines=base).values
    mono = metrics.monotonicity(model, x, attr, CO, CT, score="logit", fill="baseline", baselines=base).values
    v = w[:, CO].T - w[:, CT].T
    for i in range(len(x)):
        flat, b = x[i].reshape(-1), base[i].reshape(-1)
        scores = []
        for j in range(len(flat)):  # the oracle loop, feature by feature
            altered = flat.copy()
            altered[j] = b[j]
            scores.append(altered @ v[i])
        expected = -np.corrcoef(attr[i].reshape(-1), scores)[0, 1]
        np.testing.assert_allclose(faith[i], expected, atol=1e-5)
        delta = flat @ v[i] - np.asarray(scores)
        np.testing.assert_allclose(mono[i], spearmanr(np.abs(attr[i].reshape(-1)), delta ** 2)[0], atol=1e-6)


def test_random_attributions_are_uncorrelated_on_average():
    from .metric_oracles import linear_model

    rng = np.random.default_rng(9)
    w = rng.normal(size=(256, 2)).astype(np.float32)
    model = linear_model(w)
    x = rng.random((40, 16, 16, 1)).astype(np.float32)
    deltas = metrics.single_feature_deltas(model, x, 0, 1, score="logit", input_range=UNIT)
    values = metrics.faithfulness(model, x, rng.normal(size=x.shape), 0, 1, deltas=deltas).values
    assert abs(values.mean()) < 3 * values.std() / np.sqrt(len(values)) + 0.02
    assert abs(values.mean()) < 0.05


def test_constant_maps_are_undefined_not_zero(linear):
    model, w, x = linear
    result = metrics.faithfulness(model, x, np.ones_like(x), CO, CT, score="logit", input_range=UNIT)
    assert np.all(np.isnan(result.values))
    assert result.summary()["undefined"] == len(x) and result.summary()["n"] == 0
    with pytest.raises(InputError, match="deltas"):
        metrics.monotonicity(model, x, np.ones_like(x), CO, CT, deltas=np.zeros((6, 3)))


def test_summary_of_one_defined_value_has_no_spread():
    # one finite value (the other map constant, so its correlation undefined) had std = sem = 0: "0.035 ± 0.000"
    one = metrics.MetricResult("faithfulness", np.array([np.nan, 0.25]), True).summary()
    assert one["n"] == 1 and one["undefined"] == 1 and one["mean"] == 0.25
    assert np.isnan(one["std"]) and np.isnan(one["sem"])
    two = metrics.summarize([0.25, 0.75])
    assert two["std"] == pytest.approx(np.std([0.25, 0.75], ddof=1)) and two["sem"] == pytest.approx(0.25)
