"""Counterfactual metrics against brute force (AOSPC with scikit-image segments), closed forms (FID,
KL, latent closeness) and hand-made cases."""
import keras
import numpy as np
import pytest

from tfx_explain.errors import InputError
from tfx_explain.metrics import counterfactual as M


@pytest.fixture(scope="module")
def linear_model():
    """softmax([sum(W x), 0]): a differentiable toy classifier with a known answer."""
    w = np.random.default_rng(5).normal(size=(6 * 6, 1)).astype(np.float32)
    inputs = keras.Input((6, 6, 1))
    z = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(w))(
        keras.layers.Flatten()(inputs))
    logits = keras.layers.Concatenate()([z, keras.ops.zeros_like(z)])
    return keras.Model(inputs, keras.layers.Activation("softmax")(logits))


def _aospc_brute_force(model, x, maps, noise, threshold, steps):
    """One image at a time, segments from scikit-image, perturbed in a Python loop."""
    from skimage.measure import label

    drops = []
    for xi, mi, ni in zip(x, maps, noise):
        span = mi.max() - mi.min()
        m = (mi - mi.min()) / span if span > 0 else np.zeros_like(mi)
        seg = label(m >= threshold, connectivity=2)
        ids = [s for s in range(1, seg.max() + 1)]
        ids.sort(key=lambda s: -m[seg == s].mean())
        f = lambda v: np.asarray(model(v[None]))[0]  # noqa: E731
        cls = int(np.argmax(f(xi)))
        f0 = f(xi)[cls]
        curve = []
        for k in range(steps + 1):
            xk = xi.copy()
            for s in ids[:k]:
                xk[seg == s] = ni[seg == s]
            curve.append(f0 - f(xk)[cls])
        drops.append(np.mean(curve))
    return float(np.mean(drops))


def test_aospc_equals_brute_force(linear_model, rng):
    x = rng.random((5, 6, 6, 1)).astype(np.float32)
    maps = rng.random((5, 6, 6)) ** 3
    maps[0] = 0.0  # a flat map: no segment
    noise = (rng.random(x.shape)).astype(np.float32)
    got = M.aospc(linear_model, x, maps, thresholds=(0.5, 0.7), steps=3, seed=11, value_range=(0.0, 1.0))
    noise = (0.0 + 1.0 * np.random.default_rng(11).random(x.shape)).astype(np.float32)  # the metric's draw
    for t in (0.5, 0.7):
        assert got["aospc"][t] == pytest.approx(_aospc_brute_force(linear_model, x, maps, noise, t, 3), abs=1e-5)
    assert got["curves"][0.5].shape == (4,)


def test_segment_ranks_match_scikit_image(rng):
    from skimage.measure import label

    maps = M.normalized_maps(rng.random((3, 9, 9)) ** 2)
    ranks, counts = M.segment_ranks(maps, 0.5)
    for m, r, n in zip(maps, ranks, counts):
        seg = label(m >= 0.5, connectivity=2)
        assert seg.max() == n
        means = sorted(((m[seg == s].mean(), s) for s in range(1, n + 1)), reverse=True)
        for rank, (_, s) in enumerate(means):
            assert np.all(r[seg == s] == rank)
        assert np.all(r[seg == 0] > 10 ** 6)


def test_aospc_rejects_mismatched_maps(linear_model):
    with pytest.raises(InputError, match="saliency"):
        M.aospc(linear_model, np.zeros((2, 6, 6, 1), np.float32), np.zeros((3, 6, 6)))


def test_frechet_distance_closed_forms(rng):
    # 1-D Gaussians: (m1 - m2)^2 + (s1 - s2)^2
    assert M.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)
    a = rng.normal(size=(5, 5))
    b = rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + np.eye(5), b @ b.T + np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    # independent route: Tr((S1 S2)^1/2) = Tr((S1^1/2 S2 S1^1/2)^1/2), via symmetric eigendecompositions
    w, v = np.linalg.eigh(s1)
    root1 = v @ np.diag(np.sqrt(w)) @ v.T
    inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(inner))
    assert M.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert M.frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-6)


def test_fid_of_a_set_with_itself_is_zero(rng):
    images = rng.random((50, 4, 4, 1)).astype(np.float32)
    flatten = lambda v: keras.ops.reshape(v, (-1, 16))[:, :6]  # noqa: E731
    assert M.fid(flatten, images, images) == pytest.approx(0.0, abs=1e-6)
    assert M.fid(flatten, images, images + 0.5) == pytest.approx(6 * 0.25, rel=1e-4)  # a pure mean shift


def test_compatibility_statistics():
    requested = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    achieved = np.array([0.1, 0.2, 0.55, 0.7, 0.9])
    c = M.compatibility(requested, achieved, bins=4)
    assert c["pearson"] == pytest.approx(np.corrcoef(requested, achieved)[0, 1])
    assert c["spearman"] == pytest.approx(1.0)
    assert c["mse"] == pytest.approx(np.mean((requested - achieved) ** 2))
    p, q = requested, achieved
    kl = [-np.log(0.9), 0.25 * np.log(0.25 / 0.2) + 0.75 * np.log(0.75 / 0.8),
          0.5 * np.log(0.5 / 0.55) + 0.5 * np.log(0.5 / 0.45), 0.75 * np.log(0.75 / 0.7) + 0.25 * np.log(0.25 / 0.3),
          -np.log(0.9)]
    assert c["kl"] == pytest.approx(np.mean(kl))
    assert c["in_bin"] == pytest.approx(3 / 5)  # bins (0, 1, 2, 3, 3) requested vs (0, 0, 2, 2, 3) achieved
    with pytest.raises(InputError, match="achieved"):
        M.compatibility(p, q[:3])


def test_compatibility_separates_per_image_offsets_from_noise():
    requested = np.tile(np.linspace(0.1, 0.8, 8), (4, 1))
    offsets = np.array([[-0.05], [0.0], [0.05], [0.1]])
    shifted = M.compatibility(requested, requested + offsets, bins=10)
    # every series moves in step with its request; what the pooled Pearson misses is one constant per image
    assert shifted["per_image_pearson"] == pytest.approx(1.0)
    # pooled: var(p) / sqrt(var(p) (var(p) + var(offsets)))
    var_p, var_o = np.var(requested), np.var(offsets)
    assert shifted["pearson"] == pytest.approx(np.sqrt(var_p / (var_p + var_o)))
    assert shifted["offset_share"] == pytest.approx(1.0)
    noise = np.random.default_rng(0).normal(0, 0.1, requested.shape)
    noisy = M.compatibility(requested, requested + noise - noise.mean(1, keepdims=True))
    assert noisy["offset_share"] == pytest.approx(0.0, abs=1e-9)  # no offsets at all
    assert noisy["per_image_pearson"] < 1.0
    assert "offset_share" not in M.compatibility(requested.ravel(), requested.ravel() + noise.ravel())
    assert "offset_share" not in M.compatibility(requested.ravel(), requested + noise)  # not one series per row


def test_compatibility_plot_writes_a_png(tmp_path):
    requested = np.repeat([0.0, 0.5, 1.0], 4)
    M.compatibility_plot(requested, requested * 0.9, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_latent_space_closeness_on_hand_made_embeddings():
    z = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    near = z + 1.0  # every explanation stays next to its query
    assert M.latent_space_closeness(z, near) == 1.0
    collapsed = np.array([[0.1, 0.1], [5.0, 5.0], [5.1, 5.0]])  # two explanations far from their queries
    # query 0: own 0.14 < 7.0; query 1: own 7.07 > 0.1 to explanation 2; query 2: likewise
    assert M.latent_space_closeness(z, collapsed) == pytest.approx(1 / 3)
    assert M.latent_space_closeness(z, np.stack([near, collapsed])) == pytest.approx(2 / 3)


def test_mask_sparsity_and_substitution_sets():
    masks = np.zeros((2, 2, 2, 1))
    masks[0, 0, 0] = 0.9
    masks[1] = 0.6
    s = M.mask_sparsity(masks)
    np.testing.assert_allclose(s["nonzero"], [0.25, 1.0])
    np.testing.assert_allclose(s["l1"], [0.225, 0.6])
    real, labels = np.arange(6)[:, None], np.array([0, 0, 1, 1, 1, 0])
    generated, generated_labels = 100 + np.arange(6)[:, None], 1 - labels
    x, y = M.substitution_set(real, labels, generated, generated_labels, replace=(0,))
    np.testing.assert_array_equal(x.ravel(), [2, 3, 4, 102, 103, 104])  # real 1s, composites C_0 of the 1s
    np.testing.assert_array_equal(y, [1, 1, 1, 0, 0, 0])
    x, y = M.substitution_set(real, labels, generated, generated_labels, replace=(0, 1))
    assert x.min() >= 100 and len(x) == 6


def test_substitutability_is_accuracy_over_the_ceiling(linear_model):
    x = np.random.default_rng(0).random((20, 6, 6, 1)).astype(np.float32)
    y = linear_model.predict(x, verbose=0).argmax(1)
    y[:5] = 1 - y[:5]  # the retrained model will be right on 15 of 20
    seen = {}
    result = M.substitutability(lambda a, b: seen.setdefault("n", len(a)) and linear_model, (x[:7], y[:7]),
                                (x, y), ceiling=0.8)
    assert result["accuracy"] == pytest.approx(0.75) and result["percent"] == pytest.approx(75 / 0.8)
    assert seen["n"] == 7 and result["train_size"] == 7


def test_colour_confound_and_table():
    images = np.ones((1000, 2, 2, 1), np.float32)
    labels = np.arange(1000) % 2
    coloured, colour = M.confound_by_colour(images, labels, 1.0)
    np.testing.assert_array_equal(colour, 1 - labels)  # label 1 red (0), label 0 green (1)
    np.testing.assert_array_equal(M.colour_attribute(coloured), colour)
    _, colour = M.confound_by_colour(images, labels, 0.5, seed=1)
    assert abs(np.mean(colour == 1 - labels) - 0.5) < 0.05
    table = M.confounding(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1]), np.array([1, 1, 1, 1]))
    assert table["present"] == {"red": 0.75, "green": 0.25, "overall": 0.25}
    assert table["absent"] == {"red": 0.0, "green": 1.0, "overall": 0.5}


@pytest.mark.parametrize("options, name", [({"class_index": 7}, "class_index"), ({"class_index": [0, 1, 0]}, "class_index"),
                                           ({"thresholds": ()}, "thresholds"), ({"thresholds": (5.0,)}, "thresholds")])
def test_aospc_names_a_bad_class_or_threshold(linear_model, options, name):
    # a class index out of range was a TensorFlow graph error, a list of the wrong length a numpy broadcast
    # error, no threshold a numpy stack error, and a threshold above 1 an AOSPC of 0 whatever the map
    x = np.zeros((2, 6, 6, 1), np.float32)
    with pytest.raises(InputError, match=name):
        M.aospc(linear_model, x, np.ones((2, 6, 6)), steps=2, value_range=(0.0, 1.0), **options)


@pytest.mark.parametrize("bins", [0, -3, 2.5])
def test_compatibility_names_bad_bins(bins):
    # bins=0 gave in_bin = 1.0 whatever the values (every value clipped to bin -1)
    p = np.linspace(0.05, 0.95, 10)
    with pytest.raises(InputError, match="bins"):
        M.compatibility(p, p[::-1], bins=bins)
