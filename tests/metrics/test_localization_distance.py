import numpy as np
import pytest

from tfx_explain import metrics
from tfx_explain.data.composite import distinguishing_mask
from tfx_explain.errors import InputError

N_SCENES = 2  # composite classes: object * 2 + scene


def _masks(n, rng):
    masks = np.zeros((n, 8, 8, 1), np.float32)
    for i in range(n):
        top, left = rng.integers(0, 5, size=2)
        masks[i, top : top + 3, left : left + 3] = 1.0
    return masks


def test_inverse_localization_oracles_on_composite_pairs():
    rng = np.random.default_rng(0)
    masks = _masks(6, rng)
    co = np.array([0, 0, 0, 3, 3, 3])
    ct = np.array([2, 1, 3, 1, 2, 0])  # other object, other scene, both, other object, other scene, both
    s_d = distinguishing_mask(masks, co, ct, N_SCENES)
    perfect = np.repeat(s_d * rng.random(masks.shape), 3, axis=-1)  # attribution only on S_d, RGB
    result = metrics.inverse_localization(perfect, co, ct, masks, N_SCENES)
    np.testing.assert_allclose(result.values[[0, 1, 3, 4]], 0.0)
    assert np.all(np.isnan(result.values[[2, 5]]))  # both differ: no common set, left out
    assert list(result.extras["pair_kind"][:3]) == ["different object", "different scene", "both differ"]
    uniform = metrics.inverse_localization(np.full((6, 8, 8, 3), -2.0), co, ct, masks, N_SCENES)
    np.testing.assert_allclose(uniform.values[[0, 1, 3, 4]], 1.0)
    inverse = metrics.inverse_localization(1.0 - s_d, co, ct, masks, N_SCENES)
    assert np.all(np.isinf(inverse.values[[0, 1, 3, 4]]))
    assert inverse.summary()["undefined"] == 6 and not result.higher_is_better


def test_inverse_localization_is_the_ratio_of_set_means_and_scale_invariant():
    rng = np.random.default_rng(1)
    masks = _masks(4, rng)
    co, ct = np.array([0, 1, 2, 3]), np.array([2, 3, 3, 2])  # other object; other scene for the last two
    a = rng.normal(size=(4, 8, 8, 1))
    s_d = distinguishing_mask(masks, co, ct, N_SCENES)[..., 0] > 0
    expected = [np.abs(a[i, ~s_d[i], 0]).mean() / np.abs(a[i, s_d[i], 0]).mean() for i in range(4)]
    values = metrics.inverse_localization(a, co, ct, masks, N_SCENES).values
    np.testing.assert_allclose(values, expected, rtol=1e-10)
    np.testing.assert_allclose(metrics.inverse_localization(3 * a, co, ct, masks, N_SCENES).values, values)
    by_kind = metrics.inverse_localization(a, co, ct, masks, N_SCENES).extras["by_kind"]
    np.testing.assert_allclose(by_kind["different object"]["mean"], np.mean(expected[:2]))
    np.testing.assert_allclose(by_kind["overall"]["mean"], np.mean(expected))


def test_edge_center_localization():
    edge, center = metrics.edge_center_masks((32, 32), 0.25)
    assert edge[:, :8].all() and edge[:, 24:].all() and not edge[:, 8:24].any()
    a = np.zeros((2, 32, 32, 3))
    a[0, :, 8:24] = 1.0  # all in the center
    a[1] = 1.0  # uniform
    values = metrics.edge_center_localization(a).values
    np.testing.assert_allclose(values, [0.0, 1.0])
    with pytest.raises(InputError, match="edge_fraction"):
        metrics.edge_center_masks((32, 32), 0.6)


def test_class_distances_equal_a_brute_force_loop():
    rng = np.random.default_rng(2)
    x = rng.random((30, 4, 4, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=30)
    got = metrics.class_distances(x, y)
    intra, inter = [], []
    for i in range(30):
        for j in range(30):
            if i != j:
                d = np.linalg.norm(x[i].astype(np.float64) - x[j])
                (intra if y[i] == y[j] else inter).append(d)
    np.testing.assert_allclose(got["d_intra"], np.mean(intra), rtol=1e-9)
    np.testing.assert_allclose(got["d_inter"], np.mean(inter), rtol=1e-9)
    capped = metrics.class_distances(x, y, max_samples=10)
    assert capped["n"] == 10


def test_baseline_distance_and_table():
    rng = np.random.default_rng(3)
    x = rng.random((5, 4, 4, 1)).astype(np.float32)
    zero = metrics.baseline_distance(x, np.zeros_like(x))
    np.testing.assert_allclose(zero.values, np.sqrt((x.astype(np.float64) ** 2).reshape(5, -1).sum(1)), rtol=1e-6)
    row = metrics.distance_table(x, np.arange(5) % 2, {"Zero": (x, np.zeros_like(x)), "Self": (x, x)})
    assert row["Self"] == 0.0 and np.isclose(row["Zero"], zero.values.mean())
    with pytest.raises(InputError, match="baselines"):
        metrics.baseline_distance(x, np.zeros((5, 4, 4, 2)))


def test_inverse_localization_refuses_a_pair_of_one_class():
    # c_t = c_o was labelled "both differ" and left out as NaN, silently
    masks = np.zeros((2, 8, 8, 1))
    masks[:, 2:5, 2:5] = 1
    with pytest.raises(InputError, match="target_class.*both are 0 at index 1"):
        metrics.inverse_localization(np.ones((2, 8, 8, 3)), [1, 0], [3, 0], masks, 2)
