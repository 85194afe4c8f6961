import numpy as np
import pytest

from tfx_explain import metrics
from tfx_explain.distribute import mirrored
from tfx_explain.errors import InputError

from .metric_oracles import flip_deltas, linear_model

UNIT = (0.0, 1.0)  # the linear fixtures take inputs in [0, 1]; the flip fill needs the range
CO = np.array([0, 1, 2, 0, 1, 2])
CT = np.array([1, 2, 0, 2, 0, 1])


def closed_form_curve(deltas, order):
    """S(x^(0)) - S(x^(k)) for a linear model: the flip deltas of the first k features in ``order``."""
    picked = np.take_along_axis(deltas, order, axis=1)
    return np.concatenate([np.zeros((len(deltas), 1)), np.cumsum(picked, axis=1)], axis=1)


def test_aopc_of_a_linear_model_matches_the_closed_form(linear):
    model, w, x = linear
    d = flip_deltas(w, x, CO, CT)
    rng = np.random.default_rng(0)
    attr = rng.normal(size=x.shape).astype(np.float32)
    result = metrics.aopc(model, x, attr, CO, CT, L=10, score="logit", input_range=UNIT)
    drop = closed_form_curve(d, np.argsort(-attr.reshape(6, -1), axis=1, kind="stable"))[:, :11]
    np.testing.assert_allclose(result.extras["drop"], drop, atol=1e-4)
    np.testing.assert_allclose(result.values, drop.mean(axis=1), atol=1e-5)
    assert result.name == "aopc_10" and result.higher_is_better


def test_perfect_attribution_maximises_aopc_and_beats_random(linear):
    """Ordering by the true flip effect is the greedy optimum for an additive model: AOPC_L is maximal."""
    model, w, x = linear
    d = flip_deltas(w, x, CO, CT)
    perfect = metrics.aopc_all(model, x, d.reshape(x.shape), CO, CT, score="logit", input_range=UNIT)
    rng = np.random.default_rng(3)
    for _ in range(5):
        random = metrics.aopc_all(model, x, rng.normal(size=x.shape), CO, CT, score="logit", input_range=UNIT)
        assert np.all(perfect.values >= random.values - 1e-6)
    # at L = all, every feature is flipped: the curve ends at S(1 - x)
    np.testing.assert_allclose(perfect.extras["drop"][:, -1], d.sum(axis=1), atol=1e-4)


def test_ranking_metrics_are_invariant_to_positive_scaling(linear):
    model, w, x = linear
    attr = np.random.default_rng(2).normal(size=x.shape).astype(np.float32)
    for fn in (metrics.aopc_all, metrics.deletion, metrics.insertion, metrics.faithfulness, metrics.monotonicity):
        a = fn(model, x, attr, CO, CT, score="logit", input_range=UNIT).values
        b = fn(model, x, 7.5 * attr, CO, CT, score="logit", input_range=UNIT).values
        np.testing.assert_allclose(a, b, atol=1e-6, err_msg=fn.__name__)
    np.testing.assert_allclose(metrics.gini(attr), metrics.gini(7.5 * attr), atol=1e-12)


def test_batched_equals_a_per_sample_loop(linear):
    model, w, x = linear
    attr = np.random.default_rng(4).normal(size=x.shape).astype(np.float32)
    batched = metrics.perturbation_curve(model, x, attr, CO, CT, max_features=12, score="logit",
                                         input_range=UNIT, batch_size=4)
    for i in range(len(x)):
        one = metrics.perturbation_curve(model, x[i : i + 1], attr[i : i + 1], CO[i], CT[i], max_features=12,
                                         score="logit", input_range=UNIT)
        np.testing.assert_allclose(batched.extras["scores"][i], one.extras["scores"][0], atol=1e-5)


def test_a_callable_fill_gives_the_same_curves_as_the_built_in_one(linear):
    model, w, x = linear
    attr = np.random.default_rng(5).normal(size=x.shape).astype(np.float32)

    def flip(images, masks):  # no .reference: goes through the mask-dependent path
        return images * (1 - masks) + (1 - images) * masks

    for kwargs in ({"max_features": 9}, {"max_features": None, "step": 3}):
        built_in = metrics.perturbation_curve(model, x, attr, CO, CT, score="logit", input_range=UNIT, **kwargs)
        generic = metrics.perturbation_curve(model, x, attr, CO, CT, score="logit",
                                             input_range=UNIT, fill=flip, **kwargs)
        np.testing.assert_allclose(built_in.extras["scores"], generic.extras["scores"], atol=1e-5)
        np.testing.assert_array_equal(built_in.extras["levels"], generic.extras["levels"])
    ins = metrics.insertion(model, x, attr, CO, CT, score="logit", fill="zero", steps=8)
    ins_callable = metrics.insertion(model, x, attr, CO, CT, score="logit", steps=8,
                                     fill=lambda im, m: im * (1 - m))
    np.testing.assert_allclose(ins.values, ins_callable.values, atol=1e-5)


def test_deletion_and_insertion_closed_form_with_zero_fill(linear):
    """Zero fill on a linear model: deleting pixel i lowers S by v_i x_i; the area is a trapezoid sum."""
    model, w, x = linear
    v = w[:, CO].T - w[:, CT].T
    contrib = v * x.reshape(6, -1)  # S(x) = sum contrib (zero bias)
    attr = contrib.reshape(x.shape)
    order = np.argsort(-contrib, axis=1, kind="stable")
    curve = contrib.sum(axis=1, keepdims=True) - closed_form_curve(contrib, order)  # S after k deletions
    fractions = np.arange(17) / 16
    dele = metrics.deletion(model, x, attr, CO, CT, score="logit", steps=16)
    np.testing.assert_allclose(dele.extras["scores"], curve, atol=1e-4)
    np.testing.assert_allclose(dele.values, np.trapezoid(curve, fractions, axis=1), atol=1e-4)
    ins = metrics.insertion(model, x, attr, CO, CT, score="logit", steps=16, fill="zero")
    np.testing.assert_allclose(ins.extras["scores"], contrib.sum(axis=1, keepdims=True) - curve, atol=1e-4)
    assert not dele.higher_is_better and ins.higher_is_better


def test_pixel_granularity_removes_all_channels_by_the_summed_attribution():
    rng = np.random.default_rng(6)
    w = rng.normal(size=(12, 2)).astype(np.float32)
    model = linear_model(w, shape=(2, 2, 3))
    x = rng.random((3, 2, 2, 3)).astype(np.float32)
    attr = rng.normal(size=x.shape).astype(np.float32)
    result = metrics.deletion(model, x, attr, 0, 1, score="logit", steps=4)
    v = (w[:, 0] - w[:, 1]).reshape(2, 2, 3)
    order = np.argsort(-attr.sum(-1).reshape(3, 4), axis=1, kind="stable")
    per_pixel = (v * x).reshape(3, 4, 3).sum(-1)
    expected = per_pixel.sum(1, keepdims=True) - closed_form_curve(per_pixel, order)
    np.testing.assert_allclose(result.extras["scores"], expected, atol=1e-5)


def test_two_replicas_give_the_same_curves(linear, logical_cpus):

    model, w, x = linear
    attr = np.random.default_rng(7).normal(size=x.shape).astype(np.float32)
    one = metrics.aopc(model, x, attr, CO, CT, L=5, score="logit", input_range=UNIT)
    two = metrics.aopc(model, x, attr, CO, CT, L=5, score="logit", input_range=UNIT,
                       strategy=mirrored(logical_cpus))
    np.testing.assert_allclose(one.values, two.values, atol=1e-5)


def test_one_vs_all_probability_and_predicted_class_default(linear):
    model, w, x = linear
    attr = np.ones_like(x)
    result = metrics.aopc(model, x, attr, L=3, input_range=UNIT)  # class = predicted, S = softmax probability
    logits = x.reshape(6, -1) @ w
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(result.extras["scores"][:, 0], p.max(axis=1), atol=1e-5)


def test_bad_arguments_are_named(linear):
    model, w, x = linear
    with pytest.raises(InputError, match="attributions"):
        metrics.aopc(model, x, np.ones((6, 4, 4, 2)), CO, CT)
    with pytest.raises(InputError, match="max_features"):
        metrics.perturbation_curve(model, x, np.ones_like(x), CO, CT, max_features=17)
    with pytest.raises(InputError, match="fill"):
        metrics.deletion(model, x, np.ones_like(x), CO, CT, fill="inpaint")
    with pytest.raises(InputError, match="baselines"):
        metrics.deletion(model, x, np.ones_like(x), CO, CT, fill="baseline")
    with pytest.raises(InputError, match="target_class"):
        metrics.aopc(model, x, np.ones_like(x), CO, CO, L=3, input_range=UNIT)


def test_a_filler_with_a_mask_independent_fill_image_takes_the_fast_path(linear):
    """The perturbation fillers expose ``fill_image`` and ``mask_dependent = False``; they match a plain callable."""
    model, w, x = linear
    attr = np.random.default_rng(9).normal(size=x.shape).astype(np.float32)

    class Half:
        mask_dependent = False
        calls = 0

        def fill_image(self, images):
            return np.full_like(images, 0.5)

        def __call__(self, images, masks):
            Half.calls += 1
            return images * (1 - masks) + 0.5 * masks

    fast = metrics.deletion(model, x, attr, CO, CT, score="logit", steps=6, fill=Half())
    assert Half.calls == 0  # built in one graph from fill_image
    slow = metrics.deletion(model, x, attr, CO, CT, score="logit", steps=6, fill=lambda im, m: Half()(im, m))
    np.testing.assert_allclose(fast.values, slow.values, atol=1e-5)
