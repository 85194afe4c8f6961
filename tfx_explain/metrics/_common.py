"""Pieces every metric shares: the result type, the explained score, argument checks, feature orderings."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..data import as_images
from ..errors import InputError
from ..models import introspect
from ..targets import ScoreFunction, class_weights, resolve_classes

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

GRANULARITIES = ("element", "pixel")
# np.trapezoid is NumPy >= 2.0; np.trapz is the same rule under its older name (removed in NumPy 2.x).
def _pick_trapezoid(numpy):
    return getattr(numpy, "trapezoid", None) or numpy.trapz


trapezoid = _pick_trapezoid(np)
EVALUATIONS_PER_CALL = 2048  # perturbed images per traced model call (memory bound, as the attribution methods)


@dataclass
class MetricResult:
    """Per-sample values of one metric plus what it needs to be read.

    Attributes:
        name: the metric, e.g. ``"aopc_100"``.
        values: (N,) float64 per-sample values (NaN where the metric is undefined for a sample, e.g. a
            correlation with a constant map; ROAR gives one value per class pair instead).
        higher_is_better: the direction of a good attribution.
        extras: arrays for plots and tables (curves, breakdowns), JSON-able settings under ``"settings"``.
    """

    name: str
    values: np.ndarray
    higher_is_better: bool
    extras: dict = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        """Mean, standard deviation, standard error and count over the finite per-sample values."""
        return summarize(self.values)

    @property
    def mean(self) -> float:
        return self.summary()["mean"]

    def __repr__(self):
        s = self.summary()
        return (f"MetricResult({self.name}: mean={s['mean']:.4g} std={s['std']:.4g} n={s['n']}"
                f"{' undefined=' + str(s['undefined']) if s['undefined'] else ''})")


def summarize(values: ArrayLike) -> dict[str, float]:
    """{"mean", "std", "sem", "median", "n", "undefined"} over the finite entries of ``values``; std (ddof 1) and
    sem are NaN for fewer than 2 finite values (one sample has no spread to estimate, which is not a spread of 0)."""
    values = np.asarray(values, np.float64).reshape(-1)
    finite = values[np.isfinite(values)]
    n = int(len(finite))
    if n == 0:
        return {"mean": float("nan"), "std": float("nan"), "sem": float("nan"), "median": float("nan"), "n": 0,
                "undefined": int(len(values))}
    std = float(finite.std(ddof=1)) if n > 1 else float("nan")
    return {"mean": float(finite.mean()), "std": std, "sem": std / np.sqrt(n), "median": float(np.median(finite)),
            "n": n, "undefined": int(len(values) - n)}


@dataclass
class Target:
    """The explained scalar S_w = sum_k w_k S_k of a model, resolved once per metric call."""

    score_fn: ScoreFunction
    weights: np.ndarray  # (N, K)
    original_class: np.ndarray
    target_class: np.ndarray | None


def resolve_target(model, x, original_class, target_class, score):
    """Check the model and classes; return the :class:`Target` whose score S_co (or S_co - S_ct) is tracked.

    ``original_class=None`` uses the model's predicted class, as :func:`tfx_explain.explain_keras` does.
    """
    introspect.check_model(model)
    score_fn = ScoreFunction(model, score, probe=x[:1], one_vs_one=target_class is not None)
    predicted = None
    if original_class is None:
        from ..api import predict_scores

        predicted = predict_scores(score_fn, x).argmax(axis=1)
    co, ct = resolve_classes(original_class, target_class, len(x), score_fn.num_classes, predicted)
    return Target(score_fn, class_weights(co, ct, score_fn.num_classes), co, ct)


def metric_range(model, x, input_range):
    """The model's input range for a metric (``input_range`` if given, else inferred from the model, else
    None), with x checked against it (:mod:`tfx_explain.input_range`)."""
    from .. import input_range as ir

    rng = ir.resolve(input_range, model, channels=x.shape[-1])
    ir.check(x, rng, "x")
    return rng


def resolve_fill(fill, x, *, input_range=None, baselines=None, dataset_mean=None):
    """A metric's ``fill=`` -> a filler of :mod:`tfx_explain.perturbation.fillers` (the one fill protocol and
    registry the methods use too), checked against the inputs ``x`` before any work (InputError naming ``fill``)."""
    from ..perturbation.fillers import get_filler

    filler = get_filler(fill, input_range, baselines=baselines, dataset_mean=dataset_mean, argument="fill")
    filler.check(x, "fill")
    return filler


def check_inputs(x, attributions, name="attributions"):
    """Validate images and attributions of the same shape; return float32 arrays."""
    x = as_images(x.numpy() if hasattr(x, "numpy") else x, "x")
    a = np.asarray(attributions.numpy() if hasattr(attributions, "numpy") else attributions)
    if a.shape != x.shape:
        raise InputError(f"{name}: expected the inputs' shape {x.shape}, got {a.shape}")
    a = a.astype(np.float32)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name}: expected finite values, got NaN or Inf")
    return x, a


def check_granularity(granularity):
    if granularity not in GRANULARITIES:
        raise InputError(f"granularity: expected one of {GRANULARITIES}, got {granularity!r}")
    return granularity


def feature_scores(attributions, granularity):
    """(N, D) the attribution of each feature: every input element, or every pixel (channels summed)."""
    n = len(attributions)
    if granularity == "pixel":
        return attributions.sum(axis=-1).reshape(n, -1)
    return attributions.reshape(n, -1)


def descending_ranks(scores):
    """(N, D) int32 rank of each feature in descending order of score: rank 0 is perturbed first.

    Ties keep the lower feature index first (a stable sort), so the order is deterministic.
    """
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(scores.shape[1])[None], axis=1)
    return ranks.astype(np.int32)


def rank_rows(values):
    """Average ranks along axis 1 (ties share their mean rank), as scipy.stats.rankdata, vectorised."""
    from scipy.stats import rankdata

    return rankdata(values, axis=1)


def pearson_rows(a, b):
    """Pearson correlation of each row of a with the same row of b; NaN where a row is constant."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=1) / np.where(denom > 0, denom, 1.0), np.nan)


def spearman_rows(a, b):
    """Spearman rank correlation per row (Pearson of the average ranks); NaN where a row is constant."""
    return pearson_rows(rank_rows(a), rank_rows(b))


def check_positive_int(value, name):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise InputError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def ssim(a, b, data_range, win_size=7, gaussian_sigma=None, k1=0.01, k2=0.03):
    """(N,) mean SSIM of each pair of 2-D maps (N, H, W), Wang et al. (2004), batched over N.

    The one SSIM of the package, with the window as a parameter. It matches scikit-image's
    ``structural_similarity`` on each pair: with ``gaussian_sigma=None`` a uniform ``win_size`` window and the
    sample covariance (skimage's default); with ``gaussian_sigma`` a Gaussian window truncated at 3.5 sigma and
    the population covariance (``gaussian_weights=True, use_sample_covariance=False``; ``win_size`` is then
    ``2 * int(3.5 sigma + 0.5) + 1``). Borders are reflected and the mean is over the interior skimage keeps
    (a border of the window's radius cropped). Raises InputError when the maps are not larger than the window.
    """
    from scipy.ndimage import gaussian_filter, uniform_filter

    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if gaussian_sigma is not None:
        win_size = 2 * int(3.5 * gaussian_sigma + 0.5) + 1

        def filt(v):
            return gaussian_filter(v, sigma=(0, gaussian_sigma, gaussian_sigma), truncate=3.5, mode="reflect")
        cov_norm = 1.0
    else:
        def filt(v):
            return uniform_filter(v, size=(1, win_size, win_size), mode="reflect")
        cov_norm = win_size ** 2 / (win_size ** 2 - 1.0)  # sample covariance, as skimage by default
    pad = (win_size - 1) // 2
    if a.ndim != 3 or a.shape != b.shape or min(a.shape[1:]) < win_size:
        raise InputError(f"maps: SSIM needs two (N, H, W) stacks of one shape, at least {win_size} px wide "
                         f"(window {win_size}), got {a.shape} and {b.shape}")
    mu_a, mu_b = filt(a), filt(b)
    var_a = cov_norm * (filt(a * a) - mu_a ** 2)
    var_b = cov_norm * (filt(b * b) - mu_b ** 2)
    cov = cov_norm * (filt(a * b) - mu_a * mu_b)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s[:, pad:s.shape[1] - pad, pad:s.shape[2] - pad].reshape(len(s), -1).mean(axis=1)
