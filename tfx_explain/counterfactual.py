"""Counterfactual explainers, trained once per classifier and then used through ``explain_keras``.

- :func:`train_explaingan` (ExplainGAN, explaingan.txt): for a binary decision between two classes of a
  Keras classifier, a transformed image of the other class, a mask of what changed, and their composite.
- :func:`train_exaggeration` (Progressive Exaggeration, progressive_exaggeration.txt): a series of images
  whose classifier output walks bin by bin from 0 to 1 for one class.
- :func:`load` reads either back (``.keras`` files in safe mode + ``metadata.json``, no pickle).

``explain_keras(model, x, method="explaingan", explainer=e)`` returns the mask as attributions and the
transformed image, composite and mask in ``extras``; ``method="exaggeration"`` returns the saliency
|x_(f=1) - x_(f=0)| (§4.3) and the series over the bins. Both refuse a classifier other than the one the
explainer was trained against (weights fingerprint) unless ``allow_mismatch=True``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .attribution import MethodResult, register
from .errors import InputError
if TYPE_CHECKING:
    import tensorflow as tf
    from numpy.typing import ArrayLike, NDArray

    from ._typing import Data, Float32, Images, Model, PathLike, Progress, Strategy
    from .targets import ScoreFunction

KINDS = ("explaingan", "exaggeration")
_NAMES = {"explaingan": ("explainer", "discriminator"), "exaggeration": ("generator", "discriminator")}


# --------------------------------------------------------------------------- classifier outputs


class _ClassifierLogits:
    """Binary logits of a frozen Keras classifier, as differentiable TF functions of its input.

    Logits are reached by bypassing a final softmax (:class:`~tfx_explain.targets.ScoreFunction`); if the
    softmax is hidden, log-probabilities serve, since every quantity below is a difference of them.
    """

    def __init__(self, classifier, probe):
        import warnings

        from .targets import score_function

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.scores = score_function(classifier, "logit", probe=probe, one_vs_one=True)
        self.num_classes = self.scores.num_classes

    def pair(self, a, b):
        """x -> log F/(1 - F) with F = p_b / (p_a + p_b): class b against class a."""
        def logit(x):
            s = self.scores.scores(x)
            return s[:, b] - s[:, a]

        return logit

    def one_vs_rest(self, t):
        """x -> log f/(1 - f) with f = p_t: z_t - logsumexp_{k != t} z_k."""
        import tensorflow as tf

        others = [k for k in range(self.num_classes) if k != t]

        def logit(x):
            s = self.scores.scores(x)
            return s[:, t] - tf.reduce_logsumexp(tf.gather(s, others, axis=1), axis=1)

        return logit


def _evaluate(fn, x, batch_size=256):
    from .batching import map_batches

    return map_batches(fn, [x], batch_size, desc="classifier")


# --------------------------------------------------------------------------- inputs


def _images_and_labels(data):
    """(images, labels or None) from a name, an (images, labels) pair, images alone, or a tf.data.Dataset."""
    import tensorflow as tf

    from . import data as data_mod

    if isinstance(data, np.ndarray):
        return data_mod.as_images(data, "data", allow_single=False), None
    resolved = data_mod.resolve(data, "train")
    if isinstance(resolved, tf.data.Dataset):
        xs, ys = [], []
        for item in resolved.as_numpy_iterator():
            x, y = item if isinstance(item, tuple) else (item, None)
            batched = np.ndim(x) == 4
            xs.append(x if batched else x[None])
            if y is not None:
                ys.append(np.reshape(y, -1))
        images = data_mod.as_images(np.concatenate(xs), "data", allow_single=False)
        return images, (np.concatenate(ys).astype(np.int64) if ys else None)
    return resolved[0], resolved[1]


def _check_common(classifier, images, steps, value_range, *, values=True):
    from .models.introspect import check_input_shape as _check_input_shape
    from .models import introspect

    introspect.check_model(classifier, "classifier")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"steps: expected a positive int, got {steps!r}")
    if len(images) == 0:
        raise InputError("data: expected at least one image, got none")
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise InputError(f"value_range: expected (low, high) with low < high, got {value_range}")
    # the networks map value_range to [-1, 1]: [0, 255] pixels under the default (0, 1) would train silently
    # on inputs up to 509 against tanh outputs in [-1, 1]
    pixels = np.asarray(images) if values else np.zeros(0)  # a stream's probe is zeros, not its pixels
    tol = 1e-5 * (hi - lo)
    if pixels.size and (float(pixels.min()) < lo - tol or float(pixels.max()) > hi + tol):
        raise InputError(f"data: values in [{float(pixels.min()):.4g}, {float(pixels.max()):.4g}] leave value_range "
                         f"({lo:g}, {hi:g}); pass the classifier's pixel range as value_range (e.g. (0, 255)) or "
                         "scale the images to it")
    try:
        _check_input_shape(classifier, images)
    except InputError as err:
        raise InputError(str(err).replace("x:", "data:", 1)) from None


def _num_classes(classifier, probe):
    from .models import introspect

    return int(introspect.probe_outputs(classifier, probe).shape[1])


def _check_class(value, k, name):
    if not isinstance(value, (int, np.integer)) or not 0 <= int(value) < k:
        raise InputError(f"{name}: expected an int in [0, {k}), got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- training


def train_explaingan(classifier: Model, data: Data | ArrayLike | tf.data.Dataset, classes: tuple[int, int], *,
                     steps: int, preset: Literal["paper", "cpu", "tiny"] = "cpu",
                     value_range: tuple[float, float] = (0.0, 1.0), strategy: Strategy | None = None,
                     out_dir: PathLike | None = None, checkpoint_every: int = 500, sample_every: int | None = None,
                     seed: int = 0, verbose: bool | int | Literal["auto"] = "auto", **config: Any) -> ExplainGAN:
    """Train ExplainGAN for the decision between ``classes = (a, b)`` of ``classifier``.

    Args:
        classifier: the Keras classifier to explain (frozen: its weights are never changed).
        data: the explainer's training images: a dataset name (its train split), an (images, labels) pair
            (only images labelled a or b are kept), images alone, or a tf.data.Dataset. They are split by
            the classifier's decision between a and b (S_0 = predicted a, S_1 = predicted b, §3.1).
        classes: (a, b); class b is "1" of the binary decision F.
        steps: training steps (one D and one G update each, on a class-balanced batch).
        preset: "paper" (DCGAN widths, §5.2), "cpu" (reproduction runs) or "tiny" (tests, notebooks).
        value_range: the classifier's pixel range (the networks work in [-1, 1] inside).
        strategy: a tf.distribute strategy or its name.
        out_dir: checkpoints (resumed when present), TensorBoard logs, sample grids and the saved explainer
            (``out_dir/explainer``).
        **config: any :class:`~tfx_explain.generative.explaingan.ExplainGANConfig` field (loss weights,
            kappa, widths, batch_size, ...).
    Returns:
        An :class:`ExplainGAN`.
    """
    from .generative import explaingan as eg

    if _is_stream(data):
        return _train_explaingan_streamed(classifier, data, classes, steps=steps, preset=preset,
                                          value_range=value_range, strategy=strategy, out_dir=out_dir,
                                          checkpoint_every=checkpoint_every, sample_every=sample_every, seed=seed,
                                          verbose=verbose, **config)
    images, labels = _images_and_labels(data)
    _check_common(classifier, images, steps, value_range)
    k = _num_classes(classifier, images[:1])
    a, b = _check_pair(classes, k)
    cfg = eg.make_config(preset, **config)
    if labels is not None:
        keep = (labels == a) | (labels == b)
        if not keep.any():
            raise InputError(f"data: no image is labelled {a} or {b}")
        images = images[keep]
    logits = _ClassifierLogits(classifier, images[:1])
    pair_logit = logits.pair(a, b)
    predicted = (_evaluate(pair_logit, images) > 0).astype(np.int64)
    for j, c in enumerate((a, b)):
        if not (predicted == j).any():
            raise InputError(f"data: the classifier predicts class {c} for none of the {len(images)} images; "
                             "ExplainGAN needs images on both sides of the decision")
    metadata = _metadata("explaingan", classifier, images.shape[1:], value_range, cfg, seed,
                         classes=[a, b], train_images=[int((predicted == j).sum()) for j in (0, 1)])
    make_dataset = eg.balanced_dataset(images, predicted, cfg.batch_size, seed)
    grid_inputs = np.concatenate([images[predicted == j][:4] for j in (0, 1)])
    build = lambda: eg.build_model(images.shape[1:], cfg, pair_logit, value_range)  # noqa: E731
    grid = lambda m: eg.sample_grid(m, grid_inputs, pair_logit)  # noqa: E731
    return _train(build, make_dataset, steps, strategy, out_dir, checkpoint_every,
                  sample_every, verbose, seed, grid, metadata, ExplainGAN)


def train_exaggeration(classifier: Model, data: Data | ArrayLike | tf.data.Dataset, *, target_class: int,
                       bins: int = 10, steps: int, preset: Literal["paper", "cpu", "tiny"] = "cpu",
                       value_range: tuple[float, float] = (0.0, 1.0), strategy: Strategy | None = None,
                       out_dir: PathLike | None = None, checkpoint_every: int = 500, sample_every: int | None = None,
                       seed: int = 0, verbose: bool | int | Literal["auto"] = "auto",
                       **config: Any) -> Exaggeration:
    """Train Progressive Exaggeration for ``f(x) = P(target_class | x)`` of ``classifier``.

    Args:
        classifier: the Keras classifier to explain (frozen).
        data: training images (a dataset name, (images, labels), images, or tf.data); every image is used.
            Each gets the source bin of f(x) once, before training (official pipeline, §2.2).
        target_class: the class whose posterior is exaggerated.
        bins: N = 1/delta bins of [0, 1] (official: 10).
        steps: generator steps (each preceded by ``n_critic`` discriminator steps).
        preset: "paper" (official 128-pixel widths, n_critic 5), "cpu" or "tiny".
        **config: any :class:`~tfx_explain.generative.exaggeration.ExaggerationConfig` field.
    Returns:
        An :class:`Exaggeration`.
    """
    from scipy.special import expit

    from .generative import exaggeration as pe

    if _is_stream(data):
        return _train_exaggeration_streamed(classifier, data, target_class=target_class, bins=bins, steps=steps,
                                            preset=preset, value_range=value_range, strategy=strategy,
                                            out_dir=out_dir, checkpoint_every=checkpoint_every,
                                            sample_every=sample_every, seed=seed, verbose=verbose, **config)
    images, _ = _images_and_labels(data)
    _check_common(classifier, images, steps, value_range)
    target_class = _check_class(target_class, _num_classes(classifier, images[:1]), "target_class")
    if not isinstance(bins, (int, np.integer)) or bins < 2:
        raise InputError(f"bins: expected an int >= 2, got {bins!r}")
    cfg = pe.make_config(preset, bins=int(bins), **config)
    target_logit = _ClassifierLogits(classifier, images[:1]).one_vs_rest(target_class)
    source = pe.bin_index(expit(_evaluate(target_logit, images)), cfg.bins)
    metadata = _metadata("exaggeration", classifier, images.shape[1:], value_range, cfg, seed,
                         target_class=target_class, source_bin_counts=np.bincount(source, minlength=cfg.bins))
    make_dataset = pe.bin_dataset(images, source, cfg, seed)
    grid_inputs = images[np.argsort(source)[np.linspace(0, len(images) - 1, 6).astype(int)]]
    build = lambda: pe.build_model(images.shape[1:], cfg, target_logit, value_range)  # noqa: E731
    return _train(build, make_dataset, steps, strategy, out_dir, checkpoint_every,
                  sample_every, verbose, seed, lambda m: pe.sample_grid(m, grid_inputs),
                  metadata, Exaggeration)


# --------------------------------------------------------------------------- streamed training data


def _is_stream(data):
    from .data import stream

    return stream.is_dataset(data)


def _stream_and_probe(classifier, data, steps, value_range):
    """(unbatched stream of (image float32, label int64 or -1), a zero probe image batch): the checks of
    :func:`_check_common` made on the element spec, before any image is read."""
    import tensorflow as tf

    from .data import stream

    ds, has_labels = stream.training_stream(data, "data", labels="optional")
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y)) if has_labels else \
        ds.map(lambda x: (tf.cast(x, tf.float32), tf.constant(-1, tf.int64)))
    probe = np.zeros((1,) + tuple(int(d) for d in ds.element_spec[0].shape), np.float32)
    _check_common(classifier, probe, steps, value_range, values=False)
    return ds, probe, has_labels


def _classified(ds, fn, batch_size=256):
    """(image, class) elements: ``fn`` (the frozen classifier's verdict) applied in batches inside the stream,
    so no per-image class is kept in memory and any order the pipeline has is labelled correctly."""
    return ds.batch(batch_size).map(lambda x, y: (x, fn(x))).unbatch()


def _train_explaingan_streamed(classifier, data, classes, *, steps, preset, value_range, strategy, out_dir,
                               checkpoint_every, sample_every, seed, verbose, **config):
    """:func:`train_explaingan` on a tf.data.Dataset, never materialised: the pair logit labels the images
    inside the stream; batches alternate the two predicted classes, taken in stream order from per-class
    streams (:func:`tfx_explain.data.stream.class_blocks`); one counting pass checks both sides exist."""
    import tensorflow as tf

    from .data import stream
    from .generative import explaingan as eg

    ds, probe, has_labels = _stream_and_probe(classifier, data, steps, value_range)
    k = _num_classes(classifier, probe)
    a, b = _check_pair(classes, k)
    cfg = eg.make_config(preset, **config)
    if has_labels:
        ds = ds.filter(lambda x, y: tf.logical_or(tf.equal(y, a), tf.equal(y, b)))
    pair_logit = _ClassifierLogits(classifier, probe).pair(a, b)
    predicted = _classified(ds, lambda x: tf.cast(pair_logit(x) > 0, tf.int64))
    found = stream.survey(predicted, 2, "data (classes the classifier predicts)")  # both sides must occur
    metadata = _metadata("explaingan", classifier, probe.shape[1:], value_range, cfg, seed,
                         classes=[a, b], train_images=[int(c) for c in found.counts])
    half = cfg.batch_size // 2

    def batch_fn(step, blocks):  # blocks (2, half, ...): sample i of class i % 2, as in memory
        x = tf.transpose(blocks, tf.concat([[1, 0], tf.range(2, tf.rank(blocks))], 0))
        return {"x": tf.reshape(x, tf.concat([[2 * half], tf.shape(blocks)[2:]], 0)),
                "y": tf.tile(tf.constant([0.0, 1.0]), [half])}

    batches = stream.stepped(stream.class_blocks(predicted, 2, half), batch_fn)
    make_dataset = stream.ResumableBatches(batches, *stream.resume_mode(batches, strategy))
    grid_inputs = found.firsts.astype(np.float32)
    build = lambda: eg.build_model(probe.shape[1:], cfg, pair_logit, value_range)  # noqa: E731
    grid = lambda m: eg.sample_grid(m, grid_inputs, pair_logit)  # noqa: E731
    return _train(build, make_dataset, steps, strategy, out_dir, checkpoint_every,
                  sample_every, verbose, seed, grid, metadata, ExplainGAN)


def _train_exaggeration_streamed(classifier, data, *, target_class, bins, steps, preset, value_range, strategy,
                                 out_dir, checkpoint_every, sample_every, seed, verbose, **config):
    """:func:`train_exaggeration` on a tf.data.Dataset, never materialised: the source bin of f(x) is computed
    inside the stream; ``sampling="balanced"`` picks each image's bin by (seed, position) among the non-empty
    bins (counted in one pass) and takes that bin's next image (``choose_from_datasets`` over per-bin streams)."""
    import tensorflow as tf

    from .data import stream
    from .generative import exaggeration as pe
    from .generative.training import stateless_ints

    ds, probe, _ = _stream_and_probe(classifier, data, steps, value_range)
    target_class = _check_class(target_class, _num_classes(classifier, probe), "target_class")
    if not isinstance(bins, (int, np.integer)) or bins < 2:
        raise InputError(f"bins: expected an int >= 2, got {bins!r}")
    cfg = pe.make_config(preset, bins=int(bins), **config)
    target_logit = _ClassifierLogits(classifier, probe).one_vs_rest(target_class)
    def source_bin(x):  # pe.bin_index of expit(logit) in float64, as in memory
        p = tf.sigmoid(tf.cast(target_logit(x), tf.float64))
        return tf.cast(tf.clip_by_value(tf.floor(p * cfg.bins), 0, cfg.bins - 1), tf.int64)

    binned = _classified(ds, source_bin)
    found = stream.survey(binned, cfg.bins, "data", allow_empty_classes=True)
    metadata = _metadata("exaggeration", classifier, probe.shape[1:], value_range, cfg, seed,
                         target_class=target_class, source_bin_counts=found.counts)
    per_step = cfg.batch_size * cfg.n_critic
    if cfg.sampling == "balanced":
        present = np.flatnonzero(found.counts)
        streams = [binned.repeat().filter(lambda x, y, k=int(k): tf.equal(y, k)) for k in present]
        choice = tf.data.Dataset.range(2 ** 62).map(lambda i: stateless_ints((), seed, i, 0, len(present)))
        elements = tf.data.Dataset.choose_from_datasets(streams, choice)
    else:
        elements = binned.repeat()
    shape = (cfg.batch_size, cfg.n_critic)

    def batch_fn(step, block):
        x, source = block
        return {"x": tf.reshape(x, tf.concat([shape, tf.shape(x)[1:]], 0)),
                "source": tf.reshape(tf.cast(source, tf.int32), shape),
                "target": tf.cast(stateless_ints(shape, seed, step, 2, cfg.bins), tf.int32)}

    batches = stream.stepped(elements.batch(per_step, drop_remainder=True), batch_fn)
    make_dataset = stream.ResumableBatches(batches, *stream.resume_mode(batches, strategy))
    grid_inputs = found.firsts[np.flatnonzero(found.counts)][:6].astype(np.float32)
    build = lambda: pe.build_model(probe.shape[1:], cfg, target_logit, value_range)  # noqa: E731
    return _train(build, make_dataset, steps, strategy, out_dir, checkpoint_every,
                  sample_every, verbose, seed, lambda m: pe.sample_grid(m, grid_inputs),
                  metadata, Exaggeration)


def _metadata(kind, classifier, image_shape, value_range, cfg, seed, **extra):
    from . import __version__
    from .models.introspect import weights_fingerprint

    return {"kind": kind, "image_shape": [int(v) for v in image_shape],
            "value_range": [float(v) for v in value_range], "config": cfg.to_dict(), "seed": int(seed),
            "classifier_fingerprint": weights_fingerprint(classifier), "tfx_explain": __version__, **extra}


def _check_resumable(out_dir, metadata):
    """A run directory resumes only the training it started: same kind, settings, classifier and seed."""
    from ._io import write_json
    from .errors import MismatchError

    keys = ("kind", "config", "classifier_fingerprint", "seed", "image_shape", "value_range", "classes",
            "target_class")
    started = {k: metadata.get(k) for k in keys}
    record = out_dir / "training.json"
    if record.exists():
        previous = json.loads(record.read_text())
        changed = sorted(k for k in keys if json.dumps(previous.get(k), sort_keys=True)
                         != json.dumps(started[k], sort_keys=True, default=str))
        if changed:
            raise MismatchError(f"out_dir: {out_dir} holds a run started with other {changed}; resuming it "
                                "would mix two trainings. Use a new out_dir or delete this one")
    else:
        write_json(record, started)


def _check_pair(classes, num_classes):
    """ExplainGAN's two classes (a, b): two different valid class indices, or InputError naming ``classes``."""
    if not isinstance(classes, (tuple, list)) or len(classes) != 2:
        raise InputError(f"classes: expected two class indices (a, b), got {classes!r}")
    a, b = (_check_class(c, num_classes, "classes") for c in classes)
    if a == b:
        raise InputError(f"classes: expected two different classes, got ({a}, {b})")
    return a, b


def _train(build, make_dataset, steps, strategy, out_dir, checkpoint_every, sample_every, verbose, seed, grid,
           metadata, explainer_class):
    """Train the model ``build()`` makes (resuming from ``out_dir``), wrap it in ``explainer_class`` with the run's
    metadata and history, save it under ``out_dir/explainer`` and return it; one home for both explainers and for
    in-memory and streamed data."""
    import keras

    from .distribute import get_strategy
    from .generative.training import train_loop

    strategy = get_strategy(strategy)
    if out_dir is not None:
        _check_resumable(Path(out_dir), metadata)
    keras.utils.set_random_seed(int(seed))
    with strategy.scope():
        model = build()
    start = time.time()
    history = train_loop(model, make_dataset, steps=int(steps), strategy=strategy, out_dir=out_dir,
                         checkpoint_every=checkpoint_every, sample_fn=lambda: grid(model),
                         sample_every=sample_every, verbose=verbose)
    history = {k: [float(v) for v in vals] for k, vals in history.items()}
    explainer = explainer_class(model.generator, {**metadata, "steps": int(steps), "seconds": round(time.time() - start, 2)},
                                model.discriminator, history)
    if out_dir is not None:
        explainer.save(Path(out_dir) / "explainer")
    return explainer


# --------------------------------------------------------------------------- explainers and loading


class _Explainer:
    """What both explainers share: metadata, the classifier check, saving and batching."""

    kind: str = ""

    def __init__(self, model: Model, metadata: dict[str, Any], discriminator: Model | None = None,
                 history: dict[str, Any] | None = None) -> None:
        self.model = model
        self.metadata = dict(metadata)
        self.discriminator = discriminator
        self.history = history or {}
        self.image_shape = tuple(metadata["image_shape"])
        self.value_range = tuple(metadata["value_range"])
        self._functions: dict[str, Any] = {}  # key -> traced tf.function

    @property
    def config(self) -> Any:
        from .generative import exaggeration, explaingan

        module = explaingan if self.kind == "explaingan" else exaggeration
        cls = module.ExplainGANConfig if self.kind == "explaingan" else module.ExaggerationConfig
        return cls.from_dict(self.metadata["config"])

    def check(self, classifier: Model, allow_mismatch: bool = False) -> None:
        """Refuse ``classifier`` if it is not the one this explainer was trained against (weights fingerprint)."""
        from .generative.saving import check_fingerprint

        check_fingerprint(self.metadata, classifier, allow_mismatch, what=f"{self.kind} explainer")

    def save(self, path: PathLike) -> Path:
        """Write ``path/`` with the networks (.keras) and metadata.json, atomically."""
        from .generative.saving import save_models

        models = {_NAMES[self.kind][0]: self.model}
        if self.discriminator is not None:
            models["discriminator"] = self.discriminator
        return save_models(path, models, self.metadata)

    def _traced(self, key, fn):
        """``tf.function(fn)``, traced once per explainer and reused by later calls (explain_keras calls it often)."""
        import tensorflow as tf

        if key not in self._functions:
            self._functions[key] = tf.function(fn, reduce_retracing=True)
        return self._functions[key]

    def _images(self, x):
        from . import data as data_mod

        x = data_mod.as_images(x, "x")
        if x.shape[1:] != self.image_shape:
            raise InputError(f"x: expected images of shape (N, {', '.join(map(str, self.image_shape))}) for this "
                             f"explainer, got {x.shape}")
        return x

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} steps={self.metadata.get('steps')}>"


class ExplainGAN(_Explainer):
    """A trained ExplainGAN: :meth:`explain` gives reconstruction, transformation, mask and composite."""

    kind = "explaingan"

    @property
    def classes(self) -> tuple[int, int]:
        return tuple(self.metadata["classes"])

    def predict(self, classifier: Model, x: NDArray[np.floating[Any]], batch_size: int = 256) -> NDArray[np.int64]:
        """F's side of the decision for each image: 0 (class a) or 1 (class b)."""
        logits = _ClassifierLogits(classifier, x[:1]).pair(*self.classes)
        return (_evaluate(logits, x, batch_size) > 0).astype(np.int64)

    def explain(self, x: Images, predicted: ArrayLike | None = None, *, classifier: Model | None = None,
                allow_mismatch: bool = False, batch_size: int = 256, strategy: Strategy | None = None,
                progress: Progress = False) -> dict[str, NDArray[Any]]:
        """Eq. 4-5 for each image: z = E_y(x); returns a dict of arrays ``reconstruction`` G_y(z),
        ``transformed`` G_{1-y}(z), ``mask`` G_m(z) (N, H, W, 1), ``composite`` C_{1-y}(x), ``predicted`` y.

        ``predicted`` (0/1 per image, the side of the decision) is computed with ``classifier`` if omitted;
        a classifier other than the one trained against is refused unless ``allow_mismatch``.
        """
        from .batching import map_batches
        from .generative.explaingan import composite
        from .generative.layers_counterfactual import select_by_class

        x = self._images(x)
        if classifier is not None:
            self.check(classifier, allow_mismatch)
        if predicted is None:
            if classifier is None:
                raise InputError("predicted: pass the 0/1 side of the decision per image, or classifier= to compute it")
            predicted = self.predict(classifier, x, batch_size)
        predicted = np.asarray(predicted).reshape(-1).astype(np.int64)
        if len(predicted) != len(x) or not np.isin(predicted, (0, 1)).all():
            raise InputError(f"predicted: expected {len(x)} values in {{0, 1}}, got {predicted[:5]}...")

        def fn(xc, yc):
            g0, g1, mask = self.model([xc, yc], training=False)
            t = select_by_class(g1, g0, yc)
            return select_by_class(g0, g1, yc), t, mask, composite(xc, t, mask)

        fn = self._traced("explain", fn) if strategy is None else fn
        recon, t, mask, comp = map_batches(fn, [x, predicted.astype(np.float32)], batch_size, strategy=strategy,
                                           progress=progress, desc="explaingan")
        return {"reconstruction": recon, "transformed": t, "mask": mask, "composite": comp, "predicted": predicted}


class Exaggeration(_Explainer):
    """A trained Progressive Exaggeration explainer: I_f(x, c) for bins c = 0..N-1."""

    kind = "exaggeration"

    @property
    def target_class(self) -> int:
        return int(self.metadata["target_class"])

    @property
    def bins(self) -> int:
        return int(self.metadata["config"]["bins"])

    def requested(self) -> NDArray[np.float32]:
        """(bins,) the probability f(x) + delta each bin asks for, as the training target did."""
        from .generative.exaggeration import bin_target

        return np.asarray(bin_target(np.arange(self.bins), self.bins, self.metadata["config"]["target"]), np.float32)

    def generate(self, x: Images, bins: int | ArrayLike, *, batch_size: int = 256,
                 progress: Progress = False) -> NDArray[np.float32]:
        """I_f(x, delta) = G(E(x), c) for one bin c (an int or one per image): (N, H, W, C)."""
        return self._run(x, bins, batch_size, progress)[0]

    def embed(self, x: Images, bins: int | ArrayLike, *, batch_size: int = 256) -> NDArray[np.float32]:
        """E(x) (flattened) under bin condition c (the official encoder is conditioned on it)."""
        emb = self._run(x, bins, batch_size, False)[1]
        return emb.reshape(len(emb), -1)

    def _run(self, x, bins, batch_size, progress):
        from .batching import map_batches

        x = self._images(x)
        c = np.broadcast_to(np.asarray(bins, np.int32), (len(x),)).copy()
        if c.min() < 0 or c.max() >= self.bins:
            raise InputError(f"bins: expected ints in [0, {self.bins}), got {c.min()}..{c.max()}")
        fn = self._traced("generate", lambda xc, cc: tuple(self.model([xc, cc], training=False)))
        return map_batches(fn, [x, c], batch_size,
                           progress=progress, desc="exaggeration")

    def series(self, x: Images, *, batch_size: int | None = None, progress: Progress = False) -> NDArray[np.float32]:
        """(N, bins, H, W, C): x_delta for every bin, from f = 0 to f = 1 (each image with all its bins in
        one batch, as the official test script feeds them)."""
        x = self._images(x)
        n, b = len(x), self.bins
        rows = batch_size or (b if self.metadata["config"]["batch_stats_at_inference"] else 32 * b)
        out = self.generate(np.repeat(x, b, axis=0), np.tile(np.arange(b), n), batch_size=max(b, rows // b * b),
                            progress=progress)
        return out.reshape((n, b) + x.shape[1:])

    def saliency(self, x: Images, **kwargs: Any) -> NDArray[np.float32]:
        """|I_f(x, f=1) - I_f(x, f=0)| per pixel and channel (§4.3)."""
        s = self.series(x, **kwargs)
        return np.abs(s[:, -1] - s[:, 0])


def load(path: PathLike) -> ExplainGAN | Exaggeration:
    """Load a saved ExplainGAN or Progressive Exaggeration explainer (a directory written by ``save``)."""
    from .generative.saving import load_models

    path = Path(path)
    if path.is_dir() and not (path / "metadata.json").exists() and (path / "explainer" / "metadata.json").exists():
        path = path / "explainer"  # a training run directory
    metadata, _ = load_models(path, [])
    kind = metadata.get("kind")
    if kind not in KINDS:
        raise InputError(f"path: {path} holds a {kind!r} model, not one of the counterfactual explainers {KINDS}")
    _, models = load_models(path, _NAMES[kind])
    cls = ExplainGAN if kind == "explaingan" else Exaggeration
    return cls(models[_NAMES[kind][0]], metadata, models.get("discriminator"))


# --------------------------------------------------------------------------- explain_keras methods


def _as_explainer(explainer, cls):
    if explainer is None:
        raise InputError(f"explainer: method {cls.kind!r} needs a trained explainer; pass explainer= (from "
                         f"tfx_explain.counterfactual.train_{cls.kind} or load, or a path to a saved one)")
    if isinstance(explainer, (str, Path)):
        explainer = load(explainer)
    if not isinstance(explainer, cls):
        raise InputError(f"explainer: expected a trained {cls.__name__} (from counterfactual.train_{cls.kind} "
                         f"or counterfactual.load) or a path to one, got {type(explainer).__name__}")
    return explainer


def explaingan_classes(score_fn: ScoreFunction, x: Float32, original_class: Any, target_class: Any,
                       options: dict[str, Any]) -> tuple[NDArray[np.int64], NDArray[np.int64], dict[str, Any]]:
    """The classes an ExplainGAN explains, for explain_keras: the pair (a, b) it was trained for, each image as
    the side ``original_class`` names (default: the side the classifier predicts, F's decision of §3) against
    the other one. Returns (co, ct, options with the loaded explainer and ``predicted``).

    Raises:
        InputError: an ``original_class`` outside the pair, or a ``target_class`` other than the pair's other
            class, before the explainer runs.
    """
    from .targets import _as_class_array

    explainer = _as_explainer(options.get("explainer"), ExplainGAN)
    a, b = explainer.classes
    n, k = len(x), score_fn.num_classes
    if original_class is None:
        side = explainer.predict(score_fn.model, x)
    else:
        co = _as_class_array(original_class, n, k, "original_class")
        outside = np.flatnonzero((co != a) & (co != b))
        if len(outside):
            raise InputError(f"original_class: this ExplainGAN explains the decision between classes {a} and {b}, "
                             f"got {int(co[outside[0]])} at index {int(outside[0])}")
        side = (co == b).astype(np.int64)
    co, ct = np.where(side == 1, b, a).astype(np.int64), np.where(side == 1, a, b).astype(np.int64)
    if target_class is not None:
        asked = _as_class_array(target_class, n, k, "target_class")
        wrong = np.flatnonzero(asked != ct)
        if len(wrong):
            i = int(wrong[0])
            raise InputError(f"target_class: this ExplainGAN turns class {int(co[i])} into the pair's other class "
                             f"{int(ct[i])}, got {int(asked[i])} at index {i}; leave target_class unset")
    return co, ct, {**options, "explainer": explainer, "predicted": side}


def exaggeration_classes(score_fn: ScoreFunction, x: Float32, original_class: Any, target_class: Any,
                         options: dict[str, Any]) -> tuple[NDArray[np.int64], None, dict[str, Any]]:
    """The class a Progressive Exaggeration explainer explains, for explain_keras: its ``target_class`` t,
    one-vs-all (the walk of f_t(x) from 0 to 1, §3). Returns (co = t for every image, None, options).

    Raises:
        InputError: a ``target_class`` (one-vs-one is not what it explains) or an ``original_class`` other
            than t, before the explainer runs.
    """
    from .targets import _as_class_array

    explainer = _as_explainer(options.get("explainer"), Exaggeration)
    t = explainer.target_class
    if target_class is not None:
        raise InputError(f"target_class: Progressive Exaggeration explains class {t}'s probability alone "
                         "(one-vs-all), not a contrast; leave target_class unset")
    if original_class is not None:
        co = _as_class_array(original_class, len(x), score_fn.num_classes, "original_class")
        wrong = np.flatnonzero(co != t)
        if len(wrong):
            raise InputError(f"original_class: this explainer was trained for class {t}, got "
                             f"{int(co[wrong[0]])} at index {int(wrong[0])}")
    return np.full(len(x), t, np.int64), None, {**options, "explainer": explainer}


def explaingan_method(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None, *,
                      explainer: ExplainGAN | PathLike | None = None, predicted: ArrayLike | None = None,
                      allow_mismatch: bool = False, batch_size: int | None = None, strategy: Strategy | None = None,
                      progress: Progress = False) -> MethodResult:
    """ExplainGAN through explain_keras: attributions = the mask G_m(z) on every channel (§5.4 reads the
    mask as an attribution map); extras: transformed image, composite, mask, reconstruction and
    ``counterfactual_class`` (the class the composite is generated to be). ``predicted``: the side of the
    pair per image (0/1; explain_keras sets it from ``original_class``, :func:`explaingan_classes`)."""
    explainer = _as_explainer(explainer, ExplainGAN)
    out = explainer.explain(x, predicted, classifier=score_fn.model, allow_mismatch=allow_mismatch,
                            batch_size=batch_size or 256, strategy=strategy, progress=progress)
    attributions = np.broadcast_to(out["mask"], x.shape).astype(np.float32)
    a, b = explainer.classes
    extras = {**out, "counterfactual_class": np.where(out["predicted"] == 0, b, a).astype(np.int64)}
    return MethodResult(attributions, extras)


def exaggeration_method(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32 | None, *,
                        explainer: Exaggeration | PathLike | None = None, allow_mismatch: bool = False,
                        batch_size: int | None = None, strategy: Strategy | None = None,
                        progress: Progress = False) -> MethodResult:
    """Progressive Exaggeration through explain_keras: attributions = |I_f(x, f=1) - I_f(x, f=0)| (§4.3);
    extras: ``series`` (N, bins, H, W, C), ``series_scores`` f(x_delta) (N, bins), ``requested`` (bins,)."""
    explainer = _as_explainer(explainer, Exaggeration)
    explainer.check(score_fn.model, allow_mismatch)
    series = explainer.series(x, batch_size=batch_size, progress=progress)
    t = explainer.target_class
    flat = series.reshape((-1,) + x.shape[1:])
    scores = _evaluate(lambda v: score_fn.probabilities(v)[:, t], flat).reshape(series.shape[:2])
    saliency = np.abs(series[:, -1] - series[:, 0]).astype(np.float32)
    return MethodResult(saliency, {"series": series, "series_scores": scores.astype(np.float32),
                                   "requested": explainer.requested()})


register("explaingan", explaingan_method, baseline="none", gradient=False, classes=explaingan_classes)
register("exaggeration", exaggeration_method, baseline="none", gradient=False, classes=exaggeration_classes)
