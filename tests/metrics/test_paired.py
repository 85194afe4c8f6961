import numpy as np
import pytest

from tfx_explain import metrics
from tfx_explain.errors import InputError


def test_mcnemar_exact_on_discordant_pairs():
    a = np.array([1] * 10 + [0] * 20 + [1] * 5, float)  # a fails alone on 10 images, both fail on 5
    b = np.array([0] * 10 + [0] * 20 + [1] * 5, float)
    out = metrics.paired_difference(a, b)
    assert out["mcnemar"]["a_only"] == 10 and out["mcnemar"]["b_only"] == 0
    np.testing.assert_allclose(out["mcnemar"]["p_value"], 2 * 0.5 ** 10)  # exact binomial, two-sided
    np.testing.assert_allclose(out["difference"], 10 / 35)
    assert out["excludes_zero"] and out["ci"][0] > 0


def test_identical_methods_show_no_difference_and_a_constant_shift_is_exact():
    a = np.random.default_rng(0).random(50)
    same = metrics.paired_difference(a, a)
    assert same["difference"] == 0 and same["ci"] == [0.0, 0.0] and not same["excludes_zero"]
    shift = metrics.paired_difference(a, a + 0.25)
    np.testing.assert_allclose(shift["ci"], [-0.25, -0.25], atol=1e-12)
    assert shift["excludes_zero"] and "mcnemar" not in shift


def test_bootstrap_interval_matches_the_t_interval_for_normal_differences():
    from scipy import stats

    rng = np.random.default_rng(1)
    base = rng.random(400)
    d = rng.normal(0.3, 1.0, 400)
    out = metrics.paired_difference(base + d, base, n_resamples=4000)
    t_low, t_high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    np.testing.assert_allclose(out["ci"], [t_low, t_high], atol=0.02)  # the image-level spread of base cancels


def test_paired_difference_rejects_bad_input():
    with pytest.raises(InputError, match="a, b"):
        metrics.paired_difference([1, 0], [1, 0, 1])
    with pytest.raises(InputError, match="finite"):
        metrics.paired_difference([np.nan, 1], [0, np.nan])


@pytest.mark.parametrize("options", [{"confidence": 95}, {"confidence": 0}, {"confidence": 1.0},
                                     {"n_resamples": 0}, {"n_resamples": 2.5}])
def test_a_bad_confidence_or_resample_count_is_named(options):
    # confidence=95 gave ci [nan, nan] and excludes_zero False silently; n_resamples=0 a scipy traceback
    a = np.arange(10.0)
    with pytest.raises(InputError, match=next(iter(options))):
        metrics.paired_difference(a, 1.1 * a + 1, **options)
