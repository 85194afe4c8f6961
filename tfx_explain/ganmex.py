"""GANMEX: class-targeted baselines from a StarGAN that has the explained classifier inside it.

The user's door to GANMEX (ganmex_main.txt §3; ganmex_appendix.txt A.2):

    gen = tfx_explain.ganmex.train(classifier, "digits", steps=2000, preset="cpu", out_dir="runs/g")
    baselines = gen.generate(x, target_class=3)          # x in the classifier's input space
    explain_keras(classifier, x, baseline=gen, target_class=3, method="integrated_gradients")
    gen = tfx_explain.ganmex.load("runs/g/generator")

Presets live in :data:`PRESETS`, the one place for per-dataset settings. ``"reference"`` holds the
authors' final defaults (ganmex.md §1.7 and §5: lambda_cls 1000, lambda_sim 100, lambda_rec 0, Adam
2e-5 / 1e-4 with betas 0.9 / 0.999 and epsilon 1e-8, one generator and one critic update per step,
6 images per class per update, the 8.4M-parameter generator); the GPU dataset presets add the paper's
step counts (A.2: 100k MNIST, 300k SVHN, 400k CIFAR-10). ``"cpu"`` is a small preset for demos, notebooks
and tests: it departs from the reference in ways a short run needs (a generator initialised as the identity
through a skip connection, three critic updates per step as upstream TF-GAN, Adam betas 0.5 / 0.9 as in
WGAN-GP, lambda_cls 10, lambda_sim 20, lambda_rec 10); every such choice is an option of the reference
preset too. Every reported number names its preset and device. ``precision`` ("mixed_float16" or
"mixed_bfloat16") and ``jit_compile`` are the GPU speed switches of :mod:`tfx_explain.precision`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import data as data_mod
from ._checks import option_types, positive_int
from ._io import write_json
from .batching import map_batches
from .data import stream
from .distribute import get_strategy, worker_info
from . import input_range as ir
from .errors import InputError, MismatchError
from .models import introspect
from .precision import check_precision, dtype_policy, training_optimizer
if TYPE_CHECKING:
    from collections.abc import Sequence

    import keras
    import tensorflow as tf
    from numpy.typing import NDArray

    from ._typing import Classes, Data, Images, Model, PathLike, Strategy

REFERENCE = dict(width=64, res_blocks=6, d_width=64, d_max_layers=6, lambda_cls=1000.0, lambda_sim=100.0,
                 lambda_rec=0.0, lambda_gp=10.0, g_lr=2e-5, d_lr=1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-8, d_steps=1,
                 batch_per_class=6, reference_quirks=True, input_skip=False, classifier_as_discriminator=True,
                 input_range=None, seed=0, checkpoint_every=2000, sample_every=2000, log_every=100,
                 precision="float32", jit_compile=False)

PRESETS = {
    "reference": dict(REFERENCE),
    # Dataset presets for GPUs: the paper's step counts (A.2). The MNIST loss weights are the run-directory
    # hint "mnist_vx_cw100_sw20_rw10" of the reference scripts (ganmex.md §1.7): a hint, not a record.
    "mnist": dict(REFERENCE, lambda_cls=100.0, lambda_sim=20.0, lambda_rec=10.0, steps=100_000),
    "svhn": dict(REFERENCE, steps=300_000),
    "cifar10": dict(REFERENCE, steps=400_000),
    # Small enough for a 2-core CPU (see the module docstring): a quarter of the width, two residual blocks,
    # a generator that starts as the identity, three critic updates per generator update, WGAN-GP's Adam
    # betas, and balanced loss weights, so that about a thousand steps give usable baselines.
    "cpu": dict(REFERENCE, width=16, res_blocks=2, d_width=32, input_skip=True, d_steps=3, lambda_cls=10.0,
                lambda_sim=20.0, lambda_rec=10.0, g_lr=1e-4, d_lr=2e-4, beta_1=0.5, beta_2=0.9,
                checkpoint_every=250, sample_every=250, log_every=50),
}
# Fig. 5B's ablation (L_sim holds the input's colour) needs a generator that does not hold it by construction:
# the "cpu" preset's identity skip and its cycle loss (lambda_rec 10) both pull G(x) towards x, so here they
# are off, as in the reference (no skip, lambda_rec 0). Train it with and without lambda_sim and compare
# metrics.baseline_quality.colour_preservation (scripts/ganmex_outcomes.py --preset cpu_fig5b).
PRESETS["cpu_fig5b"] = dict(PRESETS["cpu"], input_skip=False, lambda_rec=0.0)


def _config(preset, overrides):
    if preset not in PRESETS:
        raise InputError(f"preset: expected one of {tuple(PRESETS)}, got {preset!r}")
    config = dict(PRESETS[preset])
    unknown = sorted(set(overrides) - set(config) - {"steps"})
    if unknown:
        raise InputError(f"config: unknown GANMEX options {unknown}; expected some of {sorted(config)}")
    option_types(overrides, config, "config")
    for key in ("seed",):
        if key in overrides and overrides[key] < 0:
            raise InputError(f"config: seed expects a non-negative integer, got {overrides[key]!r}")
    for key in ("width", "res_blocks", "d_width", "d_max_layers", "d_steps", "batch_per_class"):  # 0 of *_every: never
        if key in overrides:
            positive_int(overrides[key], f"config: {key}")
    config.update(overrides)
    config.pop("steps", None)
    return config


class Ganmex:
    """A trained GANMEX generator with its metadata; ``generate`` gives class-targeted baselines."""

    def __init__(self, generator: Model, metadata: dict[str, Any], gan: keras.Model | None = None) -> None:
        self.generator = generator
        self.metadata = metadata
        self.gan = gan  # the full GanmexGAN when trained in this session (continue training, inspect D)
        self._forward = None

    def _traced_forward(self):
        """G(x, onehot) traced once per generator: a new tf.function per ``generate`` call retraced every time
        (an explanation loop calls ``generate`` per batch)."""
        import tensorflow as tf

        if self._forward is None:
            generator = self.generator
            self._forward = tf.function(lambda xc, tc: generator([xc, tc], training=False), reduce_retracing=True)
        return self._forward

    @property
    def num_classes(self) -> int:
        return int(self.metadata["num_classes"])

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.metadata["image_shape"])

    def check_classifier(self, classifier: Model, allow_mismatch: bool = False) -> None:
        """Raise MismatchError when ``classifier`` is not the one this generator was trained against."""
        from .generative.saving import check_fingerprint

        check_fingerprint(self.metadata, classifier, allow_mismatch, what="GANMEX generator")

    def generate(self, x: Images, target_class: Classes, batch_size: int = 256) -> NDArray[np.float32]:
        """G(x, c_t) mapped back to the classifier's input space: (N, H, W, C) float32.

        Args:
            x: (N, H, W, C) or (H, W, C) images in the classifier's input space.
            target_class: an int or one per sample.
        """
        x = data_mod.as_images(x, "x")
        if x.shape[1:] != self.image_shape:
            raise InputError(f"x: expected images of shape (N, {', '.join(map(str, self.image_shape))}) for this "
                             f"generator, got {x.shape}")
        targets = np.asarray(target_class).reshape(-1)
        if len(targets) == 1:
            targets = np.full(len(x), targets[0])
        if len(targets) != len(x) or not np.issubdtype(targets.dtype, np.integer):
            raise InputError(f"target_class: expected an int or {len(x)} ints, got {np.asarray(target_class)!r}")
        bad = np.flatnonzero((targets < 0) | (targets >= self.num_classes))
        if len(bad):
            raise InputError(f"target_class: expected ints in [0, {self.num_classes}), got {int(targets[bad[0]])} "
                             f"at index {int(bad[0])}")
        rng = ir.normalize(self.metadata["input_range"], "metadata input_range")
        ir.check(x, rng, "x")
        low, high = rng.low, rng.high
        onehot = np.eye(self.num_classes, dtype=np.float32)[targets]
        gan_x = (2.0 * (x - low) / (high - low) - 1.0).astype(np.float32)
        out = map_batches(self._traced_forward(), [gan_x, onehot], batch_size, desc="ganmex")
        return (low + (out + 1.0) * 0.5 * (high - low)).astype(np.float32)

    def generate_all(self, x: Images, batch_size: int = 256) -> NDArray[np.float32]:
        """Baselines toward every class: (N, K, H, W, C) (the row of ganmex_appendix Fig. 9)."""
        x = data_mod.as_images(x, "x")
        k = self.num_classes
        flat = self.generate(np.repeat(x, k, axis=0), np.tile(np.arange(k), len(x)), batch_size)
        return flat.reshape((len(x), k) + x.shape[1:])

    def save(self, path: PathLike) -> Path:
        """Write ``generator.keras`` and ``metadata.json`` into directory ``path`` (atomic)."""
        from .generative.saving import save_models

        return save_models(path, {"generator": self.generator}, self.metadata)


BUNDLED = {"composite": Path(__file__).parent / "assets" / "ganmex_composite"}


def load(path: PathLike | Literal["composite"]) -> Ganmex:
    """Load a saved GANMEX generator (safe mode: no pickle, only the package's registered layers).

    ``path``: a directory written by :meth:`Ganmex.save` or :func:`train`, or ``"composite"``: the small
    generator shipped with the package (preset ``cpu``, composite_fashion_mnist at 64x64), trained against the
    classifier :func:`bundled_classifier` returns (scripts/train_composite_ganmex.py; its metadata holds the
    steps, device and measured target-class success)."""
    from .generative.saving import load_models

    if isinstance(path, str) and path in BUNDLED:
        path = BUNDLED[path]
    path = Path(path)
    if not path.exists():
        raise InputError(f"path: no saved GANMEX generator at {path}")
    if (path / "generator").is_dir() and not (path / "metadata.json").exists():
        path = path / "generator"  # a training run directory
    metadata, models = load_models(path, ["generator"])
    if metadata.get("kind") != "ganmex" or "generator" not in models:
        raise InputError(f"path: {path} does not hold a GANMEX generator")
    return Ganmex(models["generator"], metadata)


def bundled_classifier(name: Literal["composite"] = "composite") -> keras.Model:
    """The classifier a bundled generator (:data:`BUNDLED`) explains: a Keras model, loaded in safe mode."""
    from .models import load_model

    if name not in BUNDLED:
        raise InputError(f"name: expected one of {sorted(BUNDLED)}, got {name!r}")
    return load_model(BUNDLED[name] / "classifier.keras")


def _classifier_logits(classifier, probe):
    """The classifier's logits as a function, without modifying it (ganmex.md §1.5: layers[-2] output)."""
    import tensorflow as tf

    logits = introspect.logits_function(classifier)
    if logits is not None:
        return lambda x: logits(x, training=False)
    outputs = introspect.probe_outputs(classifier, probe)
    if introspect.looks_like_probabilities(outputs):  # softmax inside a subclassed model: log p has the same CE
        return lambda x: tf.math.log(tf.maximum(classifier(x, training=False), 1e-30))
    return lambda x: classifier(x, training=False)


def _check_channels(data, probe_shape):
    """A dataset name whose channel count is known cheaply must match the classifier's, before it loads."""
    if not isinstance(data, str) or probe_shape is None or probe_shape[-1] is None:
        return
    try:
        data_mod._check_name(data)
    except InputError as err:  # data.load's argument is "name"; here it is "data"
        raise InputError(f"data: {str(err).partition(': ')[2]}") from None
    have = data_mod.channels(data)
    if have is not None and have != probe_shape[-1]:
        raise InputError(f"data: the classifier takes {probe_shape[-1]}-channel images of shape "
                         f"{tuple(probe_shape)}, dataset {data!r} has {have} channels")


def _training_arrays(data, num_classes):
    images, labels = data
    labels = data_mod.as_labels(labels, len(images), num_classes, "data labels")
    return images, labels


class _ArraySource:
    """Training images in memory: step-indexed batches drawn from (seed, step), exactly as always."""

    def __init__(self, images, labels, num_classes):
        self.range_images = images  # in its own dtype: uint8 images mean [0, 255]
        self.images, self.labels, self.num_classes = images.astype(np.float32, copy=False), labels, num_classes
        self.image_shape = tuple(int(d) for d in images.shape[1:])
        self.samples = _sample_inputs(self.images, labels, num_classes)

    def batches(self, low, high, per_class, seed, d_steps, strategy):
        from .generative.stargan import class_balanced_batches

        gan_images = (2.0 * (self.images - low) / (high - low) - 1.0).astype(np.float32)
        return class_balanced_batches(gan_images, self.labels, self.num_classes, per_class, seed, d_steps)


class _StreamSource:
    """A tf.data.Dataset, never materialised: one survey pass (counts, ranges, samples), then streamed
    class-balanced batches (:func:`tfx_explain.generative.stargan.streamed_class_balanced_batches`)."""

    def __init__(self, ds, num_classes, probe_shape, classifier):
        self.ds, _ = stream.training_stream(ds, "data")
        self.image_shape = tuple(int(d) for d in self.ds.element_spec[0].shape)
        _check_shape(probe_shape, self.image_shape)
        self.num_classes = num_classes or int(introspect.probe_outputs(
            classifier, np.zeros((1,) + self.image_shape, np.float32)).shape[1])
        found = stream.survey(self.ds, self.num_classes, "data")  # labels in [0, K), every class present
        self.range_images = found.extremes
        self.samples = found.firsts.astype(np.float32)
        self.count = found.count

    def batches(self, low, high, per_class, seed, d_steps, strategy):
        import tensorflow as tf

        from .generative.stargan import streamed_class_balanced_batches

        low_t, span_t = tf.constant(low, tf.float32), tf.constant(np.asarray(high) - np.asarray(low), tf.float32)
        return streamed_class_balanced_batches(self.ds, self.num_classes, per_class, seed, d_steps,
                                               lambda x: 2.0 * (x - low_t) / span_t - 1.0, strategy)


def _check_shape(probe_shape, image_shape):
    if probe_shape is not None and any(w is not None and w != g for w, g in zip(probe_shape, image_shape)):
        raise InputError(f"data: the classifier takes images of shape {tuple(probe_shape)}, the data's are "
                         f"{tuple(image_shape)}")


def _training_source(data, num_classes, probe_shape, classifier):
    """The training data as an in-memory or a streamed source (a tf.data.Dataset is never read into memory)."""
    resolved = data_mod.resolve(data, "train")
    if stream.is_dataset(resolved):
        return _StreamSource(resolved, num_classes, probe_shape, classifier)
    images, labels = resolved
    _check_shape(probe_shape, images.shape[1:])
    num_classes = num_classes or introspect.probe_outputs(classifier, images[:1]).shape[1]
    images, labels = _training_arrays((images, labels), num_classes)
    return _ArraySource(images, labels, num_classes)


def _check_run_dir(out_dir, record, write=True):
    """Refuse to resume a run directory that was started with another configuration (only the chief writes)."""
    path = Path(out_dir) / "ganmex_config.json"
    record = json.loads(json.dumps(record))  # tuples -> lists, as stored
    if path.exists():
        previous = json.loads(path.read_text())
        if previous != record:
            changed = sorted(k for k in set(previous) | set(record) if previous.get(k) != record.get(k))
            raise MismatchError(f"out_dir: {out_dir} holds a GANMEX run with another configuration (differs in "
                                f"{changed}); use a new out_dir or the same settings to resume")
    elif write:
        write_json(path, record)


def introspect_classes(classifier: Model) -> int | None:
    """K from the classifier's static output shape, without calling it (None when unknown)."""
    try:
        k = classifier.output_shape[-1]
    except (AttributeError, TypeError, IndexError, ValueError):
        return None
    return k if isinstance(k, int) else None


def train(classifier: Model, data: Data | tf.data.Dataset, *, steps: int, out_dir: PathLike | None = None,
          strategy: Strategy | None = None, preset: str = "reference", verbose: bool | int | Literal["auto"] = "auto",
          class_names: Sequence[str] | None = None, **config: Any) -> Ganmex:
    """Train GANMEX against ``classifier`` on ``data`` and return a :class:`Ganmex`.

    Args:
        classifier: the Keras model to explain (Keras 3 or tf_keras); it stays frozen.
        data: a dataset name, an (images, labels) pair in the classifier's input space, or a tf.data
            dataset of (image, label) (batched or not; labels int or one-hot); the train split is used (A.2).
            A tf.data.Dataset is streamed, never read into memory: one pass counts the classes and checks
            labels and the input range, then every step takes the next ``batch_per_class`` images of each
            class from per-class streams (:func:`tfx_explain.data.stream.class_blocks`). A killed run resumes
            exactly when the pipeline is deterministic (the iterator is checkpointed, or replayed with
            ``skip``), approximately with a warning otherwise (:class:`tfx_explain.data.stream.ResumableBatches`).
        steps: global training steps (one generator and one critic update each).
        out_dir: run directory: checkpoints (resumed automatically), TensorBoard logs, sample grids,
            and the final ``generator/``.
        strategy: a tf.distribute strategy or its name ("mirrored", "multiworker", "cpu:N"); the global
            batch (batch_per_class x K per update) is split across replicas. Under "multiworker" every
            worker runs this same call (TF_CONFIG tells them apart); ``out_dir`` must be shared, and only
            the chief writes into it.
        preset: a key of :data:`PRESETS`; ``**config`` overrides any of its entries. ``input_range``:
            (low, high) of the classifier's input, scalars or per channel; default (None) inferred from the
            classifier (a Rescaling / Normalization layer at its input), else from ``data``
            (:mod:`tfx_explain.input_range`). The images must lie in it (InputError otherwise); it maps to
            the generator's [-1, 1].
    """
    import keras

    from .generative.stargan import GanmexGAN
    from .generative.training import adam, train_loop

    introspect.check_model(classifier, "classifier")
    positive_int(steps, "steps")
    cfg = _config(preset, config)
    probe_shape = introspect.input_shape(classifier)
    num_classes = introspect_classes(classifier)
    if num_classes is None and probe_shape is not None and None not in probe_shape:
        num_classes = introspect.probe_outputs(classifier, np.zeros((1,) + probe_shape, np.float32)).shape[1]
    _check_channels(data, probe_shape)
    source = _training_source(data, num_classes, probe_shape, classifier)
    num_classes = source.num_classes
    rng = ir.resolve(cfg["input_range"], classifier, source.range_images, channels=source.image_shape[-1])
    ir.check(source.range_images, rng, "data")
    cfg["input_range"] = rng.as_tuple()
    low, high = rng.low, rng.high
    image_shape = source.image_shape
    fingerprint = introspect.weights_fingerprint(classifier)
    record = {"preset": preset, **cfg, "image_shape": image_shape, "num_classes": int(num_classes),
              "classifier_fingerprint": fingerprint}
    check_precision(cfg["precision"], "config precision")
    strategy = get_strategy(strategy)
    chief = worker_info(strategy).is_chief
    if out_dir is not None:
        _check_run_dir(out_dir, record, write=chief)
    keras.utils.set_random_seed(int(cfg["seed"]))
    logits = None if not cfg["classifier_as_discriminator"] else _classifier_logits(classifier, source.samples[:1])
    with strategy.scope(), dtype_policy(cfg["precision"]):
        gan = GanmexGAN(image_shape, num_classes, logits, width=cfg["width"], res_blocks=cfg["res_blocks"],
                        d_width=cfg["d_width"], d_max_layers=cfg["d_max_layers"], lambda_cls=cfg["lambda_cls"],
                        lambda_sim=cfg["lambda_sim"], lambda_rec=cfg["lambda_rec"], lambda_gp=cfg["lambda_gp"],
                        input_range=cfg["input_range"], reference_quirks=cfg["reference_quirks"],
                        input_skip=cfg["input_skip"], d_steps=cfg["d_steps"])
        optimizers = [training_optimizer(adam(cfg[lr], cfg["beta_1"], cfg["beta_2"], cfg["epsilon"]), cfg["precision"])
                      for lr in ("g_lr", "d_lr")]
        gan.compile(*optimizers, jit_compile=bool(cfg["jit_compile"]))
    make_dataset = source.batches(low, high, int(cfg["batch_per_class"]), int(cfg["seed"]), int(cfg["d_steps"]),
                                  strategy)
    metadata = {"kind": "ganmex", "num_classes": int(num_classes), "image_shape": list(image_shape),
                "input_range": list(cfg["input_range"]), "gan_range": [-1.0, 1.0], "preset": preset,
                "config": cfg, "classifier_fingerprint": fingerprint, "class_names": class_names,
                "trained_steps": int(steps)}
    generator = Ganmex(gan.generator, metadata, gan=gan)
    samples = source.samples
    start = time.time()
    history = train_loop(gan, make_dataset, steps=steps, strategy=strategy, out_dir=out_dir,
                         checkpoint_every=cfg["checkpoint_every"], sample_every=cfg["sample_every"],
                         log_every=cfg["log_every"], sample_fn=lambda: sample_grid(generator, samples),
                         verbose=verbose)
    metadata["seconds"] = round(time.time() - start, 2)
    metadata["final_losses"] = {k: float(v[-1]) for k, v in (history or {}).items()}
    if out_dir is not None and chief:
        generator.save(Path(out_dir) / "generator")
    return generator


def _sample_inputs(images, labels, num_classes):
    """One training image per class (the first of each), for the sample grids."""
    return images[[int(np.flatnonzero(labels == k)[0]) for k in range(num_classes)]]


def sample_grid(generator: Ganmex, inputs: NDArray[np.floating[Any]]) -> NDArray[np.floating[Any]]:
    """A grid image: row i is input i followed by its baselines toward every class (values in [0, 1])."""
    baselines = generator.generate_all(inputs)  # (n, K, H, W, C)
    low, high = (np.asarray(v, np.float32) for v in generator.metadata["input_range"])
    rows = np.concatenate([inputs[:, None], baselines], axis=1)
    rows = (rows - low) / (high - low)
    n, k1, h, w, c = rows.shape
    return rows.transpose(0, 2, 1, 3, 4).reshape(n * h, k1 * w, c)
