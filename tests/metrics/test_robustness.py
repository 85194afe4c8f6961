"""Robustness metrics (generative_feature_removal.txt §4.3): identical maps score 1; each score equals the
scikit-image / scipy computation it names; pairs are averaged per image."""
import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from skimage.feature import hog
from skimage.metrics import structural_similarity

from tfx_explain.errors import InputError
from tfx_explain.metrics.robustness import robustness


@pytest.fixture
def maps(rng):
    return rng.normal(size=(3, 2, 32, 32))


def test_identical_maps_score_one(maps):
    same = np.stack([maps[0], maps[0]])
    result = robustness(same)
    for name in ("ssim", "hog_pearson", "spearman"):
        np.testing.assert_array_equal(result[name], 1.0)
    constant = np.ones((2, 1, 16, 16))  # identical even where a correlation is undefined
    assert robustness(constant)["spearman"][0] == 1.0


def test_scores_equal_the_libraries_and_average_over_pairs(maps):
    result = robustness(maps, pixels_per_cell=8)
    norm = maps / np.abs(maps).max(axis=(2, 3), keepdims=True)
    pairs = [(0, 1), (0, 2), (1, 2)]
    options = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(3, 3), block_norm="L2-Hys")
    for i in range(2):
        ssim = np.mean([structural_similarity(norm[p, i], norm[q, i], data_range=2.0, win_size=5) for p, q in pairs])
        hogs = np.mean([pearsonr(hog(norm[p, i], **options), hog(norm[q, i], **options))[0] for p, q in pairs])
        rank = np.mean([spearmanr(norm[p, i].ravel(), norm[q, i].ravel())[0] for p, q in pairs])
        assert result["ssim"][i] == pytest.approx(ssim, rel=1e-10)
        assert result["hog_pearson"][i] == pytest.approx(hogs, rel=1e-10)
        assert result["spearman"][i] == pytest.approx(rank, rel=1e-10)
    assert result["pairs"] == 3 and result["summary"]["ssim"]["n"] == 2


def test_rescaling_and_monotone_maps(maps):
    scaled = np.stack([maps[0], 3.0 * maps[0]])
    result = robustness(scaled)
    assert result["ssim"] == pytest.approx(1.0) and result["spearman"] == pytest.approx(1.0)
    monotone = np.stack([maps[0], np.exp(maps[0])])
    assert robustness(monotone, metrics=("spearman",), normalize=None)["spearman"] == pytest.approx(1.0)


def test_bad_inputs_are_refused(maps):
    with pytest.raises(InputError, match="heatmaps"):
        robustness(maps[:1])
    with pytest.raises(InputError, match="metrics"):
        robustness(maps, metrics=("lpips",))


@pytest.mark.parametrize("win_size", [3, 7])
def test_one_ssim_matches_scikit_image_for_any_window(win_size):
    from tfx_explain.metrics._common import ssim

    rng = np.random.default_rng(win_size)
    a = rng.normal(size=(2, 12, 15))
    b = a + 0.5 * rng.normal(size=a.shape)
    got = ssim(a, b, data_range=4.0, win_size=win_size)
    expected = [structural_similarity(a[i], b[i], data_range=4.0, win_size=win_size) for i in range(2)]
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    with pytest.raises(InputError, match="maps: SSIM"):
        ssim(a[:, :win_size - 1], b[:, :win_size - 1], data_range=4.0, win_size=win_size)
