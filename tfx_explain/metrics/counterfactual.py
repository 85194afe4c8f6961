"""Metrics of the counterfactual explainers (explaingan.txt §5.4-5.5, progressive_exaggeration.txt §4).

- :func:`aospc`: area over the segment perturbation curve (ExplainGAN Eq. 17) at thresholds 0.5/0.7/0.9.
- :func:`substitutability` and :func:`substitution_set`: retrain on boundary-crossing images (§5.5).
- :func:`mask_sparsity`: the share of non-zero mask elements (§5.5, "localized").
- :func:`compatibility` and :func:`compatibility_plot`: requested f(x) + delta against achieved f(x_delta)
  (PE §4.1, Fig. 3).
- :func:`frechet_distance`, :func:`fid`, :func:`train_feature_extractor`: FID on the features of a
  classifier trained here (Inception weights cannot be downloaded offline, so the numbers are a
  domain FID, comparable only with each other at equal sample sizes).
- :func:`latent_space_closeness`: PE Eq. 10.
- :func:`confound_by_colour`, :func:`colour_attribute`, :func:`confounding`: the bias test of PE §4.4
  (Table 3) on a dataset whose colour is correlated with the label.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import input_range as ir
from ..errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import keras
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike, NDArray

    from .._typing import Classes, Data, Images, Model, PathLike, Range

# --------------------------------------------------------------------------- AOSPC


def normalized_maps(saliency: ArrayLike) -> NDArray[np.float64]:
    """(N, H, W[, C]) -> (N, H, W) in [0, 1]: |saliency| summed over channels, min-max per image (§5.4)."""
    s = np.abs(np.asarray(saliency, np.float64))
    if s.ndim == 4:
        s = s.sum(axis=-1)
    if s.ndim != 3:
        raise InputError(f"saliency: expected (N, H, W) or (N, H, W, C) maps, got shape {np.shape(saliency)}")
    lo = s.min(axis=(1, 2), keepdims=True)
    span = s.max(axis=(1, 2), keepdims=True) - lo
    return np.where(span > 0, (s - lo) / np.where(span > 0, span, 1.0), 0.0)


def segment_ranks(maps: NDArray[Any], threshold: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per pixel, the perturbation order of its segment: the connected components (8-connectivity) of
    ``maps >= threshold``, ranked per image by their mean map value, highest first (§5.4 and its footnote
    3); pixels outside every segment get a rank larger than any step. Returns (ranks (N, H, W), counts (N,))."""
    from scipy import ndimage

    structure = np.zeros((3, 3, 3), bool)
    structure[1] = True  # connect within an image, never across the batch axis
    labels, n_segments = ndimage.label(maps >= threshold, structure=structure)
    never = np.iinfo(np.int32).max
    if n_segments == 0:
        return np.full(maps.shape, never, np.int64), np.zeros(len(maps), np.int64)
    ids = np.arange(1, n_segments + 1)
    means = np.asarray(ndimage.mean(maps, labels, ids))
    image_of = np.asarray(ndimage.minimum(np.broadcast_to(np.arange(len(maps))[:, None, None], maps.shape),
                                          labels, ids)).astype(np.int64)
    order = np.lexsort((-means, image_of))  # by image, then by decreasing mean
    first = np.searchsorted(image_of[order], np.arange(len(maps)))
    rank = np.empty(n_segments, np.int64)
    rank[order] = np.arange(n_segments) - first[image_of[order]]
    lookup = np.concatenate([[never], rank])
    return lookup[labels], np.bincount(image_of, minlength=len(maps))


def aospc(model: Model, x: Images, saliency: ArrayLike, *, class_index: Classes | None = None,
          thresholds: Sequence[float] = (0.5, 0.7, 0.9), steps: int = 10, value_range: Range | None = None,
          seed: int = 0, batch_size: int = 32) -> dict[str, Any]:
    """Area over the segment perturbation curve (ExplainGAN Eq. 17), one value per threshold.

    Maps are normalised to [0, 1] and thresholded; the segments (connected components) are perturbed one
    more per step, in decreasing order of their mean map value, by replacing their pixels with uniform
    noise in ``value_range`` ("the range of the pixel values": the model's input range, per channel where it
    is; default inferred from the model, :mod:`tfx_explain.input_range`; InputError when unknown). With x^(k)
    the image with k segments perturbed, AOSPC = 1/(K+1) < sum_{k=0..K} f(x^(0)) - f(x^(k)) > over images,
    where f is the probability of ``class_index`` (default: the predicted class) and K = ``steps`` (10 in
    Table 1).
    Images with fewer than k segments keep all of them perturbed for the remaining steps. The paper's
    Table 1 values are on another, unstated scale; compare methods with each other, not with it.

    Returns a dict: ``aospc`` {threshold: value}, ``curves`` {threshold: (K+1,) mean f(x^(k))},
    ``segments`` {threshold: mean number of segments}, ``area`` {threshold: mean perturbed fraction at K}.
    Raises InputError naming the argument, before the perturbations: maps of another shape, steps < 1, no
    threshold or one outside [0, 1] (the maps are normalised to [0, 1]), a class index outside [0, K) or a
    list of them not one per image.
    """
    from ..batching import map_batches

    x = np.asarray(x, np.float32)
    maps = normalized_maps(saliency)
    if maps.shape != x.shape[:3]:
        raise InputError(f"saliency: expected maps of shape {x.shape[:3]} (one per image), got {np.shape(saliency)}")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"steps: expected a positive int, got {steps!r}")
    rng = ir.resolve(value_range, model, channels=x.shape[-1], name="value_range")
    ir.check(x, rng, "x")
    ir.require(rng, "aospc's uniform noise", "value_range")
    lo, hi = rng.low, rng.high
    noise = (lo + (hi - lo) * np.random.default_rng(seed).random(x.shape)).astype(np.float32)
    thresholds = _check_thresholds(thresholds)
    from ..targets import _as_class_array

    predicted = np.asarray(model.predict(x if class_index is None else x[:1], batch_size=256, verbose=0))
    class_index = (predicted.argmax(axis=1).astype(np.int64) if class_index is None
                   else _as_class_array(class_index, len(x), predicted.shape[-1], "class_index"))
    k_steps = np.arange(steps + 1)
    ranked = [segment_ranks(maps, t) for t in thresholds]
    ranks = np.stack([r for r, _ in ranked], axis=1)  # (N, T, H, W): one model pass for every threshold

    def curves(xc, noise_c, ranks_c, cls_c):
        import tensorflow as tf

        shape = tf.shape(ranks_c)
        perturbed = tf.cast(ranks_c[:, :, None] < k_steps[None, None, :, None, None], xc.dtype)[..., None]
        images = xc[:, None, None] * (1.0 - perturbed) + noise_c[:, None, None] * perturbed  # (c, T, K+1, H, W, C)
        flat = tf.reshape(images, tf.concat([[-1], tf.shape(xc)[1:]], 0))
        probs = tf.reshape(model(flat, training=False), (shape[0], shape[1] * (steps + 1), -1))
        return tf.reshape(tf.gather(probs, cls_c, axis=2, batch_dims=1), (shape[0], shape[1], steps + 1))

    scores = map_batches(curves, [x, noise, ranks, class_index], batch_size, desc="aospc")  # (N, T, K+1)
    result: dict[str, Any] = {"aospc": {}, "curves": {}, "segments": {}, "area": {}}
    for i, t in enumerate(thresholds):
        drops = scores[:, i, :1] - scores[:, i]
        result["aospc"][t] = float(drops.mean())
        result["curves"][t] = scores[:, i].mean(axis=0)
        result["segments"][t] = float(ranked[i][1].mean())
        result["area"][t] = float((ranked[i][0] < steps).mean())
    return result


def _check_thresholds(thresholds):
    """Thresholds of the normalised maps: at least one, each in [0, 1] (above 1 no pixel is a segment, so the
    AOSPC would be 0 whatever the map)."""
    values = np.atleast_1d(np.asarray(thresholds, np.float64)) if np.size(thresholds) else np.zeros(0)
    if values.ndim != 1 or not len(values) or not np.all((values >= 0) & (values <= 1)):
        raise InputError(f"thresholds: expected one or more numbers in [0, 1] (the maps are normalised to [0, 1]), "
                         f"got {thresholds!r}")
    return [float(t) for t in values]


# --------------------------------------------------------------------------- substitutability, sparsity


def substitution_set(real_images: ArrayLike, real_labels: NDArray[Any], generated_images: ArrayLike,
                     generated_labels: NDArray[Any], replace: Sequence[int] = (0, 1)) -> tuple[NDArray[Any],
                     NDArray[np.int64]]:
    """The training set with the samples of the classes in ``replace`` swapped for generated ones.

    ExplainGAN Tables 2-3: "Composite 0" replaces the class-0 training samples with the composites C_0 made
    from class-1 inputs (labelled 0); ``replace=(0, 1)`` ("both") keeps generated images only.
    """
    real_labels, generated_labels = np.asarray(real_labels), np.asarray(generated_labels)
    keep = ~np.isin(real_labels, replace)
    take = np.isin(generated_labels, replace)
    images = np.concatenate([np.asarray(real_images)[keep], np.asarray(generated_images)[take]])
    return images, np.concatenate([real_labels[keep], generated_labels[take]]).astype(np.int64)


def accuracy(model: Model, images: ArrayLike, labels: ArrayLike, batch_size: int = 256) -> float:
    return float((np.asarray(model.predict(images, batch_size=batch_size, verbose=0)).argmax(axis=1)
                  == np.asarray(labels)).mean())


def substitutability(train_fn: Callable[[NDArray[Any], NDArray[Any]], Model], training_set: tuple[NDArray[Any],
                     NDArray[Any]], test: tuple[NDArray[Any], NDArray[Any]], *, ceiling: float) -> dict[str, Any]:
    """R% substitutability (ExplainGAN §5.5): a classifier of the original architecture and settings is
    retrained by ``train_fn(images, labels) -> keras model`` on ``training_set`` (generated boundary-crossing
    images, see :func:`substitution_set`) and tested on the real ``test`` = (images, labels);
    R = 100 * accuracy / ``ceiling`` (the original classifier's test accuracy)."""
    if not 0 < ceiling <= 1:
        raise InputError(f"ceiling: expected the original test accuracy in (0, 1], got {ceiling}")
    model = train_fn(*training_set)
    acc = accuracy(model, *test)
    return {"accuracy": acc, "ceiling": float(ceiling), "percent": 100.0 * acc / ceiling,
            "train_size": int(len(training_set[0]))}


def mask_sparsity(masks: NDArray[Any] | Sequence[Any], threshold: float = 0.5) -> dict[str, Any]:
    """Localisation of ExplainGAN masks (§5.5: "the number of non-zero elements of the mask"), as fractions
    of the image: ``nonzero`` (mask > threshold, per image) and ``l1`` (mean mask value, per image)."""
    m = np.asarray(masks, np.float64).reshape(len(masks), -1)
    nonzero, l1 = (m > threshold).mean(axis=1), m.mean(axis=1)
    return {"nonzero": nonzero, "l1": l1, "mean_nonzero": float(nonzero.mean()), "mean_l1": float(l1.mean())}


# --------------------------------------------------------------------------- compatibility with f


def compatibility(requested: ArrayLike, achieved: ArrayLike, bins: int | None = None) -> dict[str, float]:
    """Compatibility with the classifier (PE §4.1, Fig. 3): requested f(x) + delta against achieved f(x_delta).

    Returns Pearson and Spearman correlations, the MSE, the mean Bernoulli KL(requested || achieved)
    (infinite terms, e.g. requested 0 and achieved 0 exactly, are skipped) and, with ``bins``, the share of
    explanations whose achieved value falls in the bin of the requested value.

    With (images, bins) arrays (one series per row) it also says how the pooled numbers fall short:
    ``per_image_pearson`` (median over images of each series' own correlation: does every series move f
    in step?) and ``offset_share`` (the share of the residual variance achieved - mean achieved per bin
    that a constant per image explains: series that move in step but start from the query's own score).
    """
    from scipy import stats

    p_in, q_in = np.asarray(requested, np.float64), np.asarray(achieved, np.float64)
    p, q = p_in.ravel(), q_in.ravel()
    if p.shape != q.shape or len(p) < 2:
        raise InputError(f"achieved: expected as many values as requested (at least 2), got {len(q)} and {len(p)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
        kl = np.where(p == 0, -np.log(1 - q), np.where(p == 1, -np.log(q), kl))
    out = {"pearson": float(stats.pearsonr(p, q)[0]), "spearman": float(stats.spearmanr(p, q)[0]),
           "mse": float(np.mean((p - q) ** 2)), "kl": float(np.nanmean(np.where(np.isfinite(kl), kl, np.nan)))}
    if bins is not None:
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
            raise InputError(f"bins: expected a positive int (the explainer's bins) or None, got {bins!r}")
        to_bin = lambda v: np.clip(np.floor(v * bins + 1e-9), 0, bins - 1)  # noqa: E731
        out["in_bin"] = float(np.mean(to_bin(p) == to_bin(q)))
    if q_in.ndim == 2 and p_in.shape == q_in.shape and q_in.shape[1] > 2:  # one series per row
        out.update(_series_statistics(p_in, q_in))
    return out


def _series_statistics(p, q):
    """Per-image correlation of a series with its request, and the share of residuals that is an offset."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pc, qc = p - p.mean(1, keepdims=True), q - q.mean(1, keepdims=True)
        per_image = (pc * qc).sum(1) / np.sqrt((pc ** 2).sum(1) * (qc ** 2).sum(1))
    residual = q - q.mean(0)
    total = np.var(residual)
    within = np.var(residual - residual.mean(1, keepdims=True))
    return {"per_image_pearson": float(np.nanmedian(per_image)) if np.isfinite(per_image).any() else float("nan"),
            "offset_share": float(1.0 - within / total) if total > 0 else 0.0}


def compatibility_plot(requested: ArrayLike, achieved: ArrayLike, path: PathLike | None = None,
                       title: str | None = None) -> Figure:
    """Box plots of achieved f(x_delta) per requested value, with the identity line (PE Fig. 3)."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    p, q = np.asarray(requested, np.float64).ravel(), np.asarray(achieved, np.float64).ravel()
    levels = np.unique(p)
    width = 0.6 * (np.min(np.diff(levels)) if len(levels) > 1 else 0.1)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.boxplot([q[p == v] for v in levels], positions=levels, widths=width, manage_ticks=False, showfliers=False)
    ax.plot([0, 1], [0, 1], "--", color="gray", lw=1)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("requested f(x) + delta")
    ax.set_ylabel("achieved f(x_delta)")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    if path is not None:
        from ..plots import save_figure

        save_figure(fig, path)
    return fig


# --------------------------------------------------------------------------- FID on our own features


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) (Heusel et al., 2017), in float64, with the usual
    safeguards of TTUR's fid.py: eps * I added when the square root is not finite, and a negligible
    imaginary part dropped (a large one raises)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s1)) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"frechet_distance: imaginary component {np.max(np.abs(covmean.imag))} in sqrtm")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def feature_statistics(features: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    f = np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def fid(features_fn: Callable[[NDArray[Any]], ArrayLike], real: ArrayLike, generated: ArrayLike,
        batch_size: int = 256) -> float:
    """Frechet distance between the feature statistics of ``real`` and ``generated`` images, with
    ``features_fn`` e.g. from :func:`train_feature_extractor`. Biased by the sample size: compare at equal N."""
    from ..batching import map_batches

    stats = [feature_statistics(map_batches(features_fn, [np.asarray(v, np.float32)], batch_size, desc="features"))
             for v in (real, generated)]
    return frechet_distance(*stats[0], *stats[1])


def train_feature_extractor(data: Data, *, dim: int = 64, epochs: int = 5, batch_size: int = 64, seed: int = 0,
                            verbose: int = 0) -> keras.Model:
    """A small CNN trained here on every class of ``data`` (a name or (images, labels)); returns the Keras
    model from its input to the ``dim``-unit penultimate layer, the FID feature space."""
    import keras
    from keras import layers

    from .. import data as data_mod
    from ..models import train_classifier

    images, labels = data_mod.resolve(data, "train")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(images.shape[1:])
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)
    h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Flatten()(h)
    features = layers.Dense(dim, activation="relu", name="features")(h)
    outputs = layers.Activation("softmax")(layers.Dense(int(labels.max()) + 1)(features))
    model = keras.Model(inputs, outputs, name="fid_features")
    train_classifier(model, (images, labels), epochs=epochs, batch_size=batch_size, seed=seed, test_data=None,
                     verbose=verbose)
    return keras.Model(inputs, features, name="fid_feature_extractor")


# --------------------------------------------------------------------------- latent space closeness


def latent_space_closeness(real_embeddings: ArrayLike, explanation_embeddings: ArrayLike) -> float:
    """PE Eq. 10: the share of queries x whose explanation x_delta is closer to x in the embedding space,
    ||E(x) - E(x_delta)||, than to every other query's explanation at the same delta,
    min_{m != x} ||E(x_delta) - E(m)||. ``explanation_embeddings`` is (N, d) or (D, N, d) for D deltas
    (averaged over them)."""
    z = np.asarray(real_embeddings, np.float64)
    zd = np.asarray(explanation_embeddings, np.float64)
    zd = zd[None] if zd.ndim == 2 else zd
    if zd.shape[1:] != z.shape or len(z) < 2:
        raise InputError(f"explanation_embeddings: expected shape {z.shape} or (D,) + {z.shape}, got {zd.shape}")
    hits = []
    for e in zd:
        own = np.linalg.norm(z - e, axis=1)
        sq = (e * e).sum(axis=1)
        others = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * e @ e.T, 0.0))
        np.fill_diagonal(others, np.inf)
        hits.append(own < others.min(axis=1))
    return float(np.mean(hits))


# --------------------------------------------------------------------------- bias detection (PE §4.4)


def confound_by_colour(images: ArrayLike, labels: ArrayLike, correlation: float,
                       seed: int = 0) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Colour grey images (N, H, W, 1) red or green so that the colour agrees with the binary label with
    probability ``correlation``: label 1 is red (label 0 green) for that share, the other colour otherwise.
    ``correlation=1`` gives a fully confounded set, 0.5 an unconfounded one. Returns (images (N, H, W, 3),
    colour (N,): 0 red, 1 green)."""
    images, labels = np.asarray(images, np.float32), np.asarray(labels)
    if images.ndim != 4 or images.shape[-1] != 1:
        raise InputError(f"images: expected grey images (N, H, W, 1), got {images.shape}")
    if not 0.0 <= correlation <= 1.0:
        raise InputError(f"correlation: expected a probability in [0, 1], got {correlation}")
    agree = np.random.default_rng(seed).random(len(images)) < correlation
    colour = np.where(agree, 1 - (labels == 1), labels == 1).astype(np.int64)  # 0 red, 1 green
    out = np.zeros(images.shape[:3] + (3,), np.float32)
    out[np.arange(len(images)), :, :, colour] = images[..., 0]
    return out, colour


def colour_attribute(images: ArrayLike) -> NDArray[np.int64]:
    """The oracle of the confounder: the channel (0 red, 1 green, 2 blue) holding most of the intensity."""
    return np.asarray(images, np.float64).sum(axis=(1, 2)).argmax(axis=1).astype(np.int64)


def confounding(query_attribute: ArrayLike, present_attribute: ArrayLike, absent_attribute: ArrayLike,
                names: Sequence[str] = ("red", "green")) -> dict[str, Any]:
    """PE Table 3: for explanations asked to show the target (f(x) + delta > 0.9, ``present``) and to hide it
    (< 0.1, ``absent``), the share of each attribute value among them, and ``overall``, the share whose
    attribute differs from the query's, E[1(g(x_delta) != a)]."""
    a = np.asarray(query_attribute)
    out = {}
    for key, attr in (("present", present_attribute), ("absent", absent_attribute)):
        attr = np.asarray(attr)
        out[key] = {name: float(np.mean(attr == i)) for i, name in enumerate(names)}
        out[key]["overall"] = float(np.mean(attr != a))
    return out
