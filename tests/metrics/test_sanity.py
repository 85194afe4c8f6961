import numpy as np
import pytest

from tfx_explain import metrics
from tfx_explain.errors import InputError
from tfx_explain.metrics import sanity
from tfx_explain.models import build, introspect


def test_randomized_weights_keep_their_frobenius_norm_and_change():
    model = build("mnist_cnn", (28, 28, 1), 10)
    layer = model.get_layer("fc")
    before = [w.numpy().copy() for w in layer.trainable_weights]
    sanity.randomize_layer(layer, np.random.default_rng(0))
    for old, new in zip(before, [w.numpy() for w in layer.trainable_weights]):
        np.testing.assert_allclose(np.linalg.norm(new), np.linalg.norm(old), rtol=1e-5)
        if np.linalg.norm(old) > 0:
            assert np.abs(new - old).max() > 0
        else:  # a zero bias stays zero (its norm is zero)
            assert not new.any()


def test_cascade_goes_from_the_output_down_and_leaves_the_model_alone():
    model = build("mnist_cnn", (28, 28, 1), 10)
    print_before = introspect.weights_fingerprint(model)
    steps = list(sanity.cascade(model, seed=1))
    assert [name for name, _ in steps] == ["logits", "fc", "conv2", "conv1"]  # the paper's Output, FC, CNN2, CNN1
    assert introspect.weights_fingerprint(model) == print_before
    originals = {l.name: [w.numpy() for w in l.weights] for l in model.layers}
    for k, (_, randomized) in enumerate(steps):
        changed = [name for name, ws in originals.items()
                   if ws and any(np.abs(a - b.numpy()).max() > 0
                                 for a, b in zip(ws, randomized.get_layer(name).weights))]
        assert sorted(changed) == sorted(n for n, _ in steps[: k + 1])  # cumulative
    with pytest.raises(InputError, match="layers"):
        list(sanity.cascade(model, layers=["dropout"]))


def test_ssim_matches_scikit_image_and_hog_uses_it():
    from skimage.feature import hog
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(2)
    a = rng.random((3, 28, 28))
    b = np.clip(a + 0.3 * rng.normal(size=a.shape), 0, 1)
    got = sanity.ssim(a, b)
    for i in range(3):
        expected = structural_similarity(a[i], b[i], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                         data_range=1.0)
        np.testing.assert_allclose(got[i], expected, rtol=1e-7)
        np.testing.assert_allclose(sanity.hog_features(a[i : i + 1])[0], hog(a[i], **sanity.HOG_OPTIONS))
    np.testing.assert_allclose(sanity.ssim(a, a), 1.0)
    same = sanity.similarity_to(a, 5 * a, "hog")
    np.testing.assert_allclose(same, 1.0)  # maps are scaled by their maximum first
    with pytest.raises(InputError, match="measure"):
        sanity.similarity_to(a, a, "psnr")


def test_spearman_similarity_matches_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 10, 10)), rng.normal(size=(4, 10, 10))
    got = sanity.similarity_to(a, b, "spearman")
    for i in range(4):
        np.testing.assert_allclose(got[i], spearmanr(np.abs(a[i]).ravel(), np.abs(b[i]).ravel())[0], atol=1e-12)
    signed = sanity.similarity_to(a, b, "spearman", absolute=False)
    np.testing.assert_allclose(signed[0], spearmanr(a[0].ravel(), b[0].ravel())[0], atol=1e-12)


def test_cascading_randomization_recomputes_baselines_through_the_hook(digits_model, digits):
    (xt, yt), (xs, ys) = digits
    x, co = xs[:3], ys[:3]
    ct = (co + 1) % 10
    seen = []

    def regenerate(randomized):  # e.g. retrain GANMEX against the randomized classifier
        seen.append(introspect.weights_fingerprint(randomized))
        return lambda images, target: np.full_like(images, 0.1 * len(seen))

    result = metrics.cascading_randomization(digits_model, x, method="integrated_gradients", baseline="zero",
                                             original_class=co, target_class=ct, regenerate_baseline=regenerate,
                                             steps=8, layers=["logits", "fc"])
    assert result.steps == ["original", "logits", "fc"] and len(set(seen)) == 2
    assert result.maps.shape == (3, 3, 28, 28)
    np.testing.assert_allclose(result.baselines[0], 0.0)
    np.testing.assert_allclose(result.baselines[2], 0.2, rtol=1e-6)
    for measure in sanity.MEASURES:
        np.testing.assert_allclose(result.similarity[measure][0], 1.0, atol=1e-9)
        assert result.similarity[measure].shape == (3, 3)
    summary = result.summary()
    assert [row["step"] for row in summary["ssim"]] == result.steps
    fig = result.plot()
    assert len(fig.axes) == 3 * 4  # baseline + 3 steps per sample row
