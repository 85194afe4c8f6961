"""Remove And Retrain for one-vs-one attributions (Hooker et al., 2019; ganmex_appendix.txt C.2).

The classes are divided into pairs (c_i, c'_i). A sample x of class c_i has its features removed by
A_{c_i -> c'_i}(x), a sample of c'_i by A_{c'_i -> c_i}(x'). For each removed fraction t, a binary
classifier is trained from scratch on the pair's modified training images and tested on its modified test
images; the ROAR curve is its test accuracy acc(t). The score of a pair is the area over the curve,

    AORoarC = 1/(t_max - t_min) integral (acc(t_min) - acc(t)) dt       (trapezoid over ``fractions``),

which equals the plain area over [0, 1] for the default fractions 0, 0.1, 0.3, 0.5, 0.7, 0.9, 1 (Hooker et
al.'s 0.1..0.9 plus both ends). Higher is better: good attributions remove what the classes differ by.

Choices the papers leave open, made here: features are removed in descending order of the signed
attribution (as the perturbation curve, C.1; the one-vs-one map is signed towards c_o); a feature is one
input element; removed features take the training set's per-channel mean (Hooker et al.'s fill, the
``"mean"`` filler; any filler of :mod:`tfx_explain.perturbation.fillers` plugs in); pairs default to (0, 1), (2, 3), ...; the retrained classifier is the paper's
``mnist_cnn`` with the presets below. Values are per pair (not per sample).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..data import as_images, as_labels
from ..errors import InputError
from ..perturbation.fillers import filler_name
from ._common import MetricResult, check_granularity, descending_ranks, feature_scores, resolve_fill, trapezoid

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    from .._typing import FillerSpec, Granularity, Images, PathLike, Progress
    from ..perturbation.fillers import Filler

FRACTIONS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)
PRESETS = {
    # the paper's classifier training (A.1: 50 epochs); GPU-sized
    "paper": {"architecture": "mnist_cnn", "epochs": 50, "batch_size": 32, "learning_rate": 1e-3,
              "max_train_per_class": None},
    # a 2-core CPU: the same architecture, fewer epochs and at most 300 training images per class
    "cpu": {"architecture": "mnist_cnn", "epochs": 5, "batch_size": 32, "learning_rate": 1e-3,
            "max_train_per_class": 300},
    # tests and notebooks: seconds per retraining
    "tiny": {"architecture": "mnist_cnn", "epochs": 2, "batch_size": 32, "learning_rate": 1e-3,
             "max_train_per_class": 60},
}


def default_pairs(num_classes: int) -> list[tuple[int, int]]:
    """(0, 1), (2, 3), ...: every class in one pair (the last class is left out when K is odd)."""
    return [(c, c + 1) for c in range(0, int(num_classes) - 1, 2)]


def pair_partners(labels: ArrayLike, pairs: Sequence[tuple[int, int]]) -> NDArray[np.int64]:
    """(N,) the partner class of each sample's class in ``pairs`` (-1 for classes in no pair).

    The one-vs-one target of ROAR: explain a sample of c_i against c'_i and vice versa.
    """
    labels = np.asarray(labels).reshape(-1)
    partner = np.full(len(labels), -1, np.int64)
    for a, b in _check_pairs(pairs):
        partner[labels == a] = b
        partner[labels == b] = a
    return partner


def _check_pairs(pairs):
    pairs = [tuple(int(c) for c in p) for p in pairs]
    seen = [c for p in pairs for c in p]
    if any(len(p) != 2 or p[0] == p[1] for p in pairs) or len(seen) != len(set(seen)):
        raise InputError(f"pairs: expected disjoint pairs of two different classes, got {pairs}")
    return pairs


def remove_features(x: NDArray[Any], attributions: NDArray[Any], fraction: float, fill: Filler,
                    granularity: Granularity = "element") -> NDArray[np.float32]:
    """x with the top ``fraction`` of its features (by descending attribution) replaced by the fill."""
    n_features = feature_scores(attributions[:1], granularity).shape[1]
    k = int(round(float(fraction) * n_features))
    ranks = descending_ranks(feature_scores(attributions, granularity))
    mask_shape = x.shape[1:3] + ((1,) if granularity == "pixel" else x.shape[3:])
    masks = (ranks < k).reshape((len(x),) + mask_shape).astype(np.float32)
    return np.asarray(fill(x, masks), np.float32)


def roar(x_train: Images, y_train: ArrayLike, attributions_train: ArrayLike, x_test: Images, y_test: ArrayLike,
         attributions_test: ArrayLike, *, pairs: Sequence[tuple[int, int]] | None = None,
         fractions: Sequence[float] = FRACTIONS, fill: FillerSpec = "mean", preset: Literal["paper", "cpu",
         "tiny"] = "cpu", granularity: Granularity = "element", seed: int = 0, progress: Progress = False,
         checkpoint: PathLike | None = None, **train_options: Any) -> MetricResult:
    """One-vs-one ROAR (C.2): retrain a binary classifier per class pair and removed fraction.

    Args:
        x_train: training images.
        y_train: their labels.
        attributions_train: their one-vs-one maps against the pair partner (see :func:`pair_partners`).
        x_test: test images.
        y_test: their labels.
        attributions_test: their one-vs-one maps against the pair partner.
        pairs: class pairs; default :func:`default_pairs`.
        fractions: removed fractions t, increasing, in [0, 1].
        fill: what replaces removed features (default the training set's per-channel mean).
        preset: ``"paper"``, ``"cpu"`` or ``"tiny"`` (architecture, epochs, batch size, training cap);
            ``train_options`` override its entries; ``architecture`` may be a name of
            :mod:`tfx_explain.models` or a builder ``(input_shape, num_classes) -> keras.Model``.
        checkpoint: a JSON file path (or None): each retraining's test accuracy is written there, atomically,
            as soon as it is known, keyed by (pair, fraction), with the settings. A later call with the same
            file skips what is done, so a long run resumes where it stopped; a file written under other
            settings (preset, fill, seed, ...) raises InputError rather than mixing runs.
    Returns:
        :class:`MetricResult` with one AORoarC per pair (higher is better) and extras ``pairs``,
        ``fractions`` and ``accuracy`` (P, T), the ROAR curves.
    """
    x_train, x_test = as_images(x_train, "x_train"), as_images(x_test, "x_test")
    y_train = as_labels(y_train, len(x_train), name="y_train")
    y_test = as_labels(y_test, len(x_test), name="y_test")
    a_train = _check_attr(attributions_train, x_train, "attributions_train")
    a_test = _check_attr(attributions_test, x_test, "attributions_test")
    check_granularity(granularity)
    if preset not in PRESETS:
        raise InputError(f"preset: expected one of {tuple(PRESETS)}, got {preset!r}")
    settings = {**PRESETS[preset], **train_options}
    fractions = np.asarray(fractions, np.float64)
    if fractions.ndim != 1 or len(fractions) < 2 or np.any(np.diff(fractions) <= 0) or fractions[0] < 0 or \
            fractions[-1] > 1:
        raise InputError(f"fractions: expected at least two increasing fractions in [0, 1], got {fractions.tolist()}")
    pairs = _check_pairs(pairs if pairs is not None else default_pairs(int(max(y_train.max(), y_test.max())) + 1))
    fill_fn = resolve_fill(fill, x_train, dataset_mean=x_train.mean(axis=(0, 1, 2)))
    record = {"preset": preset, **{k: getattr(v, "__qualname__", v) for k, v in settings.items()},
              "fill": filler_name(fill_fn),
              "granularity": granularity, "seed": seed}
    done = _load_checkpoint(checkpoint, record)
    accuracy = np.empty((len(pairs), len(fractions)))
    for p, pair in enumerate(pairs):  # a handful of pairs; each trains len(fractions) classifiers
        train = _pair_subset(x_train, y_train, a_train, pair, settings["max_train_per_class"], seed)
        test = _pair_subset(x_test, y_test, a_test, pair, None, seed)
        for t, fraction in enumerate(fractions):
            key = f"pair={pair[0]}-{pair[1]} fraction={fraction:g}"
            if key not in done:
                done[key] = _retrain(train, test, fraction, fill_fn, granularity, settings, seed + 1000 * p + t)
                _save_checkpoint(checkpoint, record, done)
            accuracy[p, t] = done[key]
    drop = accuracy[:, :1] - accuracy
    area = trapezoid(drop, fractions, axis=1) / (fractions[-1] - fractions[0])
    return MetricResult("aoroarc", area, True, {
        "pairs": np.asarray(pairs), "fractions": fractions, "accuracy": accuracy, "settings": record})


def _load_checkpoint(path, record):
    """{(pair, fraction) key: accuracy} finished under the same settings (empty without a checkpoint)."""
    from pathlib import Path

    if path is None or not Path(path).exists():
        return {}
    saved = json.loads(Path(path).read_text())
    if saved.get("settings") != json.loads(json.dumps(record, default=str)):
        raise InputError(f"checkpoint: {path} was written under other settings ({saved.get('settings')}); "
                         "pass another file or remove it")
    return {k: float(v) for k, v in saved["accuracy"].items()}


def _save_checkpoint(path, record, done):
    if path is None:
        return
    from .._io import write_json

    write_json(path, {"settings": json.loads(json.dumps(record, default=str)), "accuracy": done})


def _check_attr(a, x, name):
    a = np.asarray(a, np.float32)
    if a.shape != x.shape:
        raise InputError(f"{name}: expected the images' shape {x.shape}, got {a.shape}")
    return a


def _pair_subset(x, y, a, pair, cap, seed):
    """The pair's samples with binary labels (0 for pair[0], 1 for pair[1]), at most ``cap`` per class."""
    keep = []
    for cls in pair:
        idx = np.flatnonzero(y == cls)
        if len(idx) == 0:
            raise InputError(f"pairs: class {cls} has no samples in the given data")
        if cap is not None and len(idx) > cap:
            idx = np.sort(np.random.default_rng([seed, cls]).permutation(idx)[:cap])
        keep.append(idx)
    idx = np.concatenate(keep)
    return x[idx], (y[idx] == pair[1]).astype(np.int64), a[idx]


def _retrain(train, test, fraction, fill, granularity, settings, seed):
    from ..models import train_classifier

    x_tr, y_tr, a_tr = train
    x_te, y_te, a_te = test
    x_tr = remove_features(x_tr, a_tr, fraction, fill, granularity)
    x_te = remove_features(x_te, a_te, fraction, fill, granularity)
    architecture = settings["architecture"]
    if callable(architecture):  # a builder (input_shape, num_classes) -> uncompiled Keras model
        import keras

        keras.utils.set_random_seed(seed)
        architecture = architecture(x_tr.shape[1:], 2)
    result = train_classifier(architecture, (x_tr, y_tr), epochs=settings["epochs"],
                              batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                              test_data=(x_te, y_te), seed=seed, verbose=0)
    return result.test_accuracy
