"""One fill protocol: the methods (filler=) and the metrics (fill=) resolve names through one registry into the
same filler classes; per-element masks, the flip, and the blur sigma the metrics used before."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from tfx_explain import metrics, perturbation
from tfx_explain.errors import InputError
from tfx_explain.perturbation import fillers
from tfx_explain.perturbation.lime import lime
from tfx_explain.perturbation.sliding_patch import sliding_patch


def test_metrics_and_methods_build_their_fills_from_one_registry(digits_model, score, monkeypatch):
    assert metrics.fillers is perturbation.fillers and metrics.get_filler is perturbation.get_filler
    made = []

    class SpyZero(fillers.Zero):  # the registry entry both sides must go through
        def __init__(self):
            made.append(self)

    monkeypatch.setitem(fillers.REGISTRY, "zero", SpyZero)
    score_fn, x, weights = score
    classes = weights.argmax(axis=1)
    attr = np.random.default_rng(0).normal(size=x.shape).astype(np.float32)
    sliding_patch(score_fn, x, weights, None, patch=14, stride=14, filler="zero")
    lime(score_fn, x, weights, None, n_segments=4, num_samples=8, filler="zero")
    metrics.deletion(digits_model, x, attr, classes, steps=4, fill="zero")
    metrics.aopc(digits_model, x, attr, classes, L=3, fill="zero")
    metrics.remove_features(x, attr, 0.5, fillers.get_filler("zero"))
    assert len(made) == 5 and all(type(f) is SpyZero for f in made)
    # and a metric's fill is the filler a method would get, filling the same way
    for name in ("gray", "blur", "zero", "flip", "noise"):
        ours = metrics._common.resolve_fill(name, x, input_range=(0.0, 1.0))
        theirs = fillers.get_filler(name, input_range=(0.0, 1.0))
        assert type(ours) is type(theirs)
        masks = np.zeros(x.shape, np.float32)
        masks[:, 5:20, 3:9] = 1.0
        np.testing.assert_array_equal(ours(x, masks), theirs(x, masks))


def test_per_element_masks_replace_only_their_elements(rng, random_inpainter):
    images = rng.uniform(size=(2, 8, 8, 3)).astype(np.float32)
    masks = np.zeros_like(images)
    masks[:, 2, 3, 1] = 1.0  # one element: channel 1 of pixel (2, 3)
    changed = np.zeros(images.shape, bool)
    changed[:, 2, 3, 1] = True
    for filler in (fillers.Gray(), fillers.Flip((0.0, 1.0)), fillers.Blur(), fillers.Inpaint(random_inpainter)):
        out = filler(images, masks)
        np.testing.assert_array_equal(out[~changed], images[~changed])
    np.testing.assert_allclose(fillers.Flip((0.0, 1.0))(images, masks)[changed], 1.0 - images[changed])
    per_channel = fillers.Flip(([0.0, -1.0, 0.0], [1.0, 1.0, 255.0]))  # low + high - x, channel by channel
    np.testing.assert_allclose(per_channel.reference(images), np.array([1.0, 0.0, 255.0]) - images, rtol=1e-6)


def test_insertion_blur_default_and_the_previous_sigma(digits_model, score):
    """insertion's default blur is the fillers' 10 H / 224; Blur(sigma=5.0) gives the metric's previous numbers.
    Oracle: scipy's Gaussian filter (nearest border) as a plain callable fill."""
    _, x, weights = score
    classes = weights.argmax(axis=1)
    attr = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)

    def scipy_blur(sigma):
        return lambda im, m: gaussian_filter(im, sigma=(0, sigma, sigma, 0), mode="nearest")

    def auc(fill=None):
        options = {} if fill is None else {"fill": fill}
        return metrics.insertion(digits_model, x, attr, classes, steps=6, **options).values

    default, previous = auc(), auc(fillers.Blur(sigma=5.0))
    np.testing.assert_allclose(default, auc(scipy_blur(10.0 * x.shape[1] / 224.0)), atol=1e-5)
    np.testing.assert_allclose(previous, auc(scipy_blur(5.0)), atol=1e-5)
    assert not np.allclose(default, previous, atol=1e-3)


def test_fills_that_need_an_input_are_refused_before_any_work(score):
    _, x, _ = score
    with pytest.raises(InputError, match='fill "flip" needs'):
        metrics._common.resolve_fill("flip", x)
    with pytest.raises(InputError, match="baselines"):
        metrics._common.resolve_fill("baseline", x)
    with pytest.raises(InputError, match='filler "mean": needs'):
        fillers.get_filler("mean")
    with pytest.raises(InputError, match=r"baselines: expected one baseline per input"):
        metrics._common.resolve_fill("baseline", x, baselines=x[:1])
    np.testing.assert_allclose(fillers.get_filler("mean", dataset_mean=[0.25]).reference(x), 0.25)


def test_a_declared_mask_independent_callable_blends_in_mp_like_the_builtin(score):
    """A user's object with ``mask_dependent = False`` and ``fill_image`` is MP's soft blend, as Gray(0.5)."""
    from tfx_explain.perturbation.meaningful_perturbation import meaningful_perturbation

    class Half:
        mask_dependent = False

        def fill_image(self, images):
            return np.full_like(images, 0.5)

        def __call__(self, images, masks):
            return images * (1 - masks) + 0.5 * masks

    score_fn, x, weights = score
    ours = meaningful_perturbation(score_fn, x, weights, None, filler=Half(), steps=3, learning_rate=0.5)
    builtin = meaningful_perturbation(score_fn, x, weights, None, filler=fillers.Gray(0.5), steps=3, learning_rate=0.5)
    np.testing.assert_allclose(ours.extras["mask"], builtin.extras["mask"], atol=1e-6)
