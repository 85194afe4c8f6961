"""Cascading randomization sanity check (Adebayo et al., 2018; ganmex_main.txt §4.1 "Sanity checks", Fig. 3).

The layers of the classifier are randomized from the output down, cumulatively: at step k the k top-most
layers with weights are random. "Layer by layer we replace the model weights with Gaussian random
variables scaled to have the same norm" (§4.1): every trainable weight tensor W of the layer (kernel and
bias alike) becomes G ||W||_F / ||G||_F with G ~ N(0, 1) of W's shape (a zero tensor stays zero).
Non-trainable state (batch-norm moving statistics) is kept, so a randomized layer still runs in inference.

At every step the baselines and attributions are computed again on the randomized classifier, with the
same classes as the original explanation. A class-targeted generator (GANMEX) must be regenerated against
the randomized classifier to pass the check; pass ``regenerate_baseline(randomized_model) -> baseline``
(e.g. retraining GANMEX); without it the original baseline is reused (the "stand-alone GAN" ablation of
Fig. 5A). Names such as ``"mdts"`` are resolved again at each step; they do not depend on the model.

Similarity of each step's map to the original map, per sample, on channel-summed maps (Adebayo et al. §3):
* ``spearman``: Spearman rank correlation of |map| (``absolute=False`` ranks the signed maps);
* ``ssim``: SSIM of the maps scaled to [0, 1] by their |max| (Gaussian window sigma 1.5, as skimage's
  ``structural_similarity(gaussian_weights=True, use_sample_covariance=False, data_range=1)``), batched;
* ``hog``: Pearson correlation of the HOG features (scikit-image ``hog``) of the scaled |maps|.
A method that passes the check loses similarity as more layers are randomized.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..errors import InputError, ModelError
from ..models import introspect
from ._common import pearson_rows, spearman_rows, summarize
from ._common import ssim as ssim_rows

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import keras
    from matplotlib.figure import Figure

    from .._typing import Baseline, Classes, Data, Images, Model, PathLike, Progress, Score

MEASURES = ("spearman", "ssim", "hog")
HOG_OPTIONS = {"orientations": 9, "pixels_per_cell": (4, 4), "cells_per_block": (2, 2)}


@dataclass
class SanityResult:
    """Maps and similarities of a cascading randomization run.

    Attributes:
        steps: ["original", <layer randomized at step 1>, ...] (output layer first).
        maps: (S, N, H, W) channel-summed attribution maps per step (step 0 = the original model).
        baselines: (S, N, H, W, C) the baseline of each step, or None for baseline-free methods.
        similarity: {measure: (S, N)} similarity of each step's map to the original (row 0 is 1).
    """

    steps: list
    maps: np.ndarray
    baselines: np.ndarray | None
    similarity: dict
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict[str, list[dict[str, Any]]]:
        """{measure: [{"step", **summary}]} per randomization step."""
        return {m: [{"step": s, **summarize(v)} for s, v in zip(self.steps, values)]
                for m, values in self.similarity.items()}

    def plot(self, indices: Sequence[int] | None = None, path: PathLike | None = None,
             title: str | None = None) -> Figure:
        """Fig. 3 style: one row per sample, the original map then each cumulative randomization step."""
        return plot_cascades({title or self.settings.get("label", "attribution"): self}, indices, path)


def randomizable_layers(model):
    """The model's top-level layers with trainable weights, from the output down to the input."""
    return [layer for layer in reversed(model.layers) if layer.trainable_weights]


def clone(model):
    """A copy of ``model`` with the same weights (the user's model is never modified)."""
    km = introspect.keras_module(model)
    try:
        copy = km.models.clone_model(model)
    except (ValueError, TypeError) as err:
        raise ModelError(f"model: cascading randomization clones the model, which failed ({err}); pass a "
                         "functional or Sequential Keras model") from err
    copy.set_weights(model.get_weights())
    return copy


def randomize_layer(layer: keras.layers.Layer, rng: np.random.Generator) -> None:
    """Replace each trainable weight W of ``layer`` by G ||W|| / ||G||, G ~ N(0, 1) (same Frobenius norm)."""
    for weight in layer.trainable_weights:
        value = np.asarray(weight.numpy(), np.float64)
        g = rng.standard_normal(value.shape)
        norm_g = np.linalg.norm(g)
        scaled = g * (np.linalg.norm(value) / norm_g) if norm_g > 0 else np.zeros_like(value)
        weight.assign(scaled.astype(value.dtype if value.dtype != np.float64 else np.float32))


def cascade(model, layers=None, seed=0):
    """Yield (layer name, classifier) for each cumulative step; each classifier is a fresh clone."""
    names = [l.name for l in randomizable_layers(model)] if layers is None else list(layers)
    available = {l.name for l in model.layers if l.trainable_weights}
    unknown = [n for n in names if n not in available]
    if unknown:
        raise InputError(f"layers: {unknown} are not layers of the model with trainable weights; expected names "
                         f"from {sorted(available)}")
    current = clone(model)
    for step, name in enumerate(names, start=1):
        randomize_layer(current.get_layer(name), np.random.default_rng([seed, step]))
        yield name, current
        current = clone(current)  # the next step starts from this one; what was yielded stays as it is


def cascading_randomization(model: Model, x: Images, *, method: str = "integrated_gradients",
                            baseline: Baseline = "zero", original_class: Classes | None = None,
                            target_class: Classes | None = None, data: Data | None = None,
                            regenerate_baseline: Callable[[Model], Baseline] | None = None,
                            layers: Sequence[str] | None = None, seed: int = 0,
                            score: Score = "probability", measures: Sequence[str] = MEASURES, absolute: bool = True,
                            batch_size: int | None = None, progress: Progress = False,
                            label: str | None = None, **method_options: Any) -> SanityResult:
    """Run the cascading randomization check for one method and baseline (§4.1, Fig. 3).

    Args:
        model: as in :func:`tfx_explain.explain_keras`.
        x: as in :func:`tfx_explain.explain_keras`.
        method: as in :func:`tfx_explain.explain_keras`.
        baseline: as in :func:`tfx_explain.explain_keras`.
        original_class: as in :func:`tfx_explain.explain_keras`; the classes are fixed from the original model.
        target_class: as in :func:`tfx_explain.explain_keras`.
        data: as in :func:`tfx_explain.explain_keras`.
        score: as in :func:`tfx_explain.explain_keras`.
        seed: as in :func:`tfx_explain.explain_keras`.
        **method_options: as in :func:`tfx_explain.explain_keras`.
        regenerate_baseline: optional ``f(randomized_model) -> baseline`` called at every step (retrain
            GANMEX against the randomized classifier); default: keep ``baseline``.
        layers: names of the layers to randomize, in order; default all with weights, output first.
        measures: similarity measures from ``MEASURES``.
    Returns:
        :class:`SanityResult`.
    """
    from ..api import explain_keras

    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise InputError(f"measures: expected a subset of {MEASURES}, got {unknown}")
    options = dict(method=method, target_class=target_class, data=data, seed=seed, score=score,
                   batch_size=batch_size, progress=progress, **method_options)
    first = explain_keras(model, x, baseline=baseline, original_class=original_class, **options)
    options["original_class"] = first.original_class
    explanations = [first]
    steps = ["original"]
    for name, randomized in cascade(model, layers, seed):
        step_baseline = regenerate_baseline(randomized) if regenerate_baseline is not None else baseline
        explanations.append(explain_keras(randomized, x, baseline=step_baseline,
                                          allow_mismatch=regenerate_baseline is None, **options))
        steps.append(name)
    maps = np.stack([e.attributions.sum(axis=-1) for e in explanations])
    # every step's explanation has baselines when the first has (same method and baseline kind)
    baselines = None if first.baselines is None else np.stack([e.baselines for e in explanations])  # type: ignore[misc]
    similarity = {m: np.stack([similarity_to(maps[0], maps[s], m, absolute) for s in range(len(steps))])
                  for m in measures}
    settings = {"method": method, "baseline": first.options.get("baseline"), "seed": seed, "score": score,
                "absolute": absolute, "regenerated": regenerate_baseline is not None,
                "label": label or f"{method}+{first.options.get('baseline')}"}
    return SanityResult(steps, maps, baselines, similarity, settings)


def similarity_to(reference, maps, measure, absolute=True):
    """(N,) similarity of each map (N, H, W) to the reference map of the same sample."""
    if measure == "spearman":
        f = np.abs if absolute else (lambda v: v)
        return spearman_rows(f(reference).reshape(len(maps), -1), f(maps).reshape(len(maps), -1))
    a, b = scaled_abs(reference), scaled_abs(maps)
    if measure == "ssim":
        return ssim(a, b)
    if measure == "hog":
        return pearson_rows(hog_features(a), hog_features(b))
    raise InputError(f"measure: expected one of {MEASURES}, got {measure!r}")


def scaled_abs(maps):
    """|map| / max |map| per sample, in [0, 1] (all-zero maps stay zero)."""
    a = np.abs(np.asarray(maps, np.float64))
    peak = a.reshape(len(a), -1).max(axis=1).reshape((-1,) + (1,) * (a.ndim - 1))
    return a / np.where(peak > 0, peak, 1.0)


def ssim(a, b, data_range=1.0, sigma=1.5):
    """(N,) mean SSIM of 2-D maps (N, H, W) with the Gaussian window of Adebayo et al.: :func:`._common.ssim`."""
    return ssim_rows(a, b, data_range, gaussian_sigma=sigma)


def hog_features(maps):
    """(N, F) HOG descriptors of 2-D maps (scikit-image; a loop over maps, no model calls)."""
    from skimage.feature import hog

    return np.stack([hog(m, feature_vector=True, **HOG_OPTIONS) for m in np.asarray(maps)])


def plot_cascades(results: Mapping[str, SanityResult], indices: Sequence[int] | None = None,
                  path: PathLike | None = None, max_rows: int = 4) -> Figure:
    """One block per labelled :class:`SanityResult`: rows = samples, columns = original then each step.

    Blue is positive and red negative (the paper's colours); the first column shows the original
    baseline when the method has one.
    """
    from .. import plots

    rows, titles, col_titles = [], [], None
    for label, result in results.items():
        idx = list(range(min(result.maps.shape[1], max_rows))) if indices is None else list(indices)
        for i in idx:
            limits = plots.symmetric_limit(result.maps[:, i])  # each map on its own scale, as Adebayo et al.
            row = [("saliency", result.maps[s, i], limits[s]) for s in range(len(result.steps))]
            rows.append([("image", result.baselines[0, i]) if result.baselines is not None else None] + row)
            titles.append(f"{label} #{i}")
        col_titles = col_titles or ["baseline", "orig"] + list(result.steps[1:])
    return plots.grid(rows, row_titles=titles, col_titles=col_titles, path=path)
