"""The user's door to the DeepFill-v1 inpainter: ``train(data, ...)``, ``load(path)``, ``Inpainter.inpaint``.

``Inpainter.inpaint(images, masks)`` fills the pixels where ``masks`` is 1 and returns every other pixel
unchanged, bit for bit; it is batched (one generator call per chunk of image/mask pairs, each pair with its
own mask) and works on any H x W (padded to multiples of 8 by symmetric reflection, then cropped back).

No pretrained inpainter can be downloaded here, so the package ships a small one trained on the composite
data (``load()`` or ``load("composite")``; see docs/guide/generative-removal.md for its preset and measured quality). A released
TF1 DeepFill-v1 checkpoint (ImageNet, Places2, CelebA; generative_attribution.md §1.8) loads with
``load(<checkpoint dir or prefix>)``; its colour order is BGR, which ``inpaint`` handles.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .data import as_images
from .errors import InputError
if TYPE_CHECKING:
    import tensorflow as tf
    from numpy.typing import ArrayLike, NDArray

    from ._typing import Data, Images, Model, PathLike, Progress, Strategy

ASSETS = Path(__file__).parent / "assets"
BUNDLED = {"composite": ASSETS / "inpainter_composite"}
GENERATOR = "generator"

#: Training presets. ``deepfill_v1`` is the released configuration (inpaint.yml of v1.0.0, §1.5-1.6):
#: 256x256, cnum 32, critics of width 64, batch 16, 5 critic steps per generator step, Adam 1e-4 (0.5, 0.9),
#: a 128x128 local box (half the image) with the hole shrunk by up to 16 px per side, gamma 0.9, 1M steps.
#: ``cpu_small`` is the preset of the shipped composite inpainter (2-core CPU): 64x64, cnum 8, critics of
#: width 16, one critic step per generator step, Adam 2e-4, a 40x40 local box (objects are 40x40).
PRESETS: dict[str, dict[str, Any]] = {
    "deepfill_v1": dict(image_size=(256, 256), cnum=32, d_cnum=64, batch_size=16, n_critic=5, learning_rate=1e-4,
                        beta_1=0.5, beta_2=0.9, box_fraction=0.5, max_delta_fraction=0.25, gamma=0.9,
                        coarse_alpha=1.2, l1_alpha=1.2, ae_alpha=1.2, gan_alpha=0.001, global_wgan_alpha=1.0,
                        gp_lambda=10.0, flip=False, seed=0, checkpoint_every=10_000, sample_every=1000),
    "cpu_small": dict(image_size=(64, 64), cnum=8, d_cnum=16, batch_size=16, n_critic=1, learning_rate=2e-4,
                      beta_1=0.5, beta_2=0.9, box_fraction=0.625, max_delta_fraction=0.4, gamma=0.9,
                      coarse_alpha=1.2, l1_alpha=1.2, ae_alpha=1.2, gan_alpha=0.001, global_wgan_alpha=1.0,
                      gp_lambda=10.0, flip=True, seed=0, checkpoint_every=500, sample_every=500),
}


class Inpainter:
    """A trained DeepFill-v1 generator with the pixel conventions around it.

    Args:
        generator: the Keras model ``[x_incomplete, mask] -> [x_stage1, x_stage2]`` (images in [-1, 1]).
        metadata: JSON-able settings (training config, image size, measured quality).
        channel_order: "RGB" (models trained here) or "BGR" (the released TF1 checkpoints, fed with cv2).
        input_range: the range of the images given to :meth:`inpaint` (mapped to [-1, 1] inside).
    """

    def __init__(self, generator: Model, metadata: dict[str, Any] | None = None,
                 channel_order: Literal["RGB", "BGR"] = "RGB",
                 input_range: tuple[float, float] = (0.0, 1.0)) -> None:
        if channel_order not in ("RGB", "BGR"):
            raise InputError(f"channel_order: expected 'RGB' or 'BGR', got {channel_order!r}")
        self.generator = generator
        self.metadata = dict(metadata or {})
        self.channel_order = channel_order
        self.input_range = tuple(float(v) for v in input_range)
        self._traced: dict[int, Any] = {}  # channels -> traced inpaint_tensor

    def __repr__(self) -> str:
        size = self.metadata.get("config", {}).get("image_size")
        return f"Inpainter(cnum={self.cnum}, trained_size={size}, channel_order={self.channel_order!r})"

    @property
    def cnum(self) -> int:
        return int(self.generator.get_layer("conv1").filters)

    def inpaint_tensor(self, images: tf.Tensor | ArrayLike, masks: tf.Tensor | ArrayLike) -> tf.Tensor:
        """TF version of :meth:`inpaint` for traced code: images (B, H, W, C), masks (B, H, W, 1) in {0, 1}."""
        import tensorflow as tf

        images = tf.convert_to_tensor(images, tf.float32)
        masks = tf.cast(tf.convert_to_tensor(masks) > 0.5, tf.float32)
        height, width, channels = tf.shape(images)[1], tf.shape(images)[2], images.shape[-1]
        lo, hi = self.input_range
        x = (images - lo) / (hi - lo) * 2.0 - 1.0
        x = tf.tile(x, [1, 1, 1, 3]) if channels == 1 else x
        pad_h, pad_w = (-height) % 8, (-width) % 8
        paddings = [[0, 0], [0, pad_h], [0, pad_w], [0, 0]]
        x = tf.pad(x, paddings, mode="SYMMETRIC")
        m = tf.pad(masks, paddings)  # padded pixels are known
        if self.channel_order == "BGR":
            x = x[..., ::-1]
        _, x2 = self.generator([x * (1.0 - m), m], training=False)
        if self.channel_order == "BGR":
            x2 = x2[..., ::-1]
        x2 = x2[:, :height, :width]
        x2 = tf.reduce_mean(x2, axis=-1, keepdims=True) if channels == 1 else x2  # grey in, grey out
        generated = (x2 + 1.0) / 2.0 * (hi - lo) + lo
        return tf.where(masks > 0.5, generated, images)

    def inpaint(self, images: Images, masks: ArrayLike, batch_size: int = 32,
                progress: Progress = False) -> NDArray[np.float32]:
        """Fill ``masks == 1`` (one mask per image) and keep every other pixel exactly.

        Args:
            images: (N, H, W, C) with C in {1, 3}, values in ``input_range``; or one (H, W, C) image.
            masks: (N, H, W), (N, H, W, 1) or one (H, W[, 1]) mask broadcast to all images; 1 = remove.
                Values are binarised at 0.5 (the inpainter takes binary holes).
        Returns:
            float32 numpy array of the images' shape.
        Raises:
            InputError: masks not one per image of the images' size, images neither grey nor RGB, or values
                outside ``input_range`` (e.g. [0, 255] pixels for a [0, 1] inpainter), before any work.
        """
        import tensorflow as tf

        from .batching import progress_bar

        images, masks = check_images_masks(images, masks)
        check_within(images, self.input_range, "images")
        channels = images.shape[-1]
        if channels not in (1, 3):
            raise InputError(f"images: the inpainter takes grey or RGB images, got {channels} channels")
        if isinstance(batch_size, bool) or int(batch_size) < 1:
            raise InputError(f"batch_size: expected a positive int, got {batch_size!r}")
        if channels not in self._traced:  # traces reused across calls; the channel count must stay static
            self._traced[channels] = tf.function(self.inpaint_tensor, reduce_retracing=True)
        fn, out = self._traced[channels], np.empty_like(images)
        bar = progress_bar(len(images), "inpainting", progress, unit="img")
        for start in range(0, len(images), int(batch_size)):  # one generator call per chunk of masks
            stop = min(start + int(batch_size), len(images))
            out[start:stop] = fn(images[start:stop], masks[start:stop]).numpy()
            bar.update(stop - start)
        bar.close()
        return out

    def __call__(self, images: Images, masks: ArrayLike) -> NDArray[np.float32]:
        """The filler protocol ``(images, masks) -> filled`` (see :mod:`tfx_explain.perturbation.fillers`)."""
        return self.inpaint(images, masks)

    def save(self, path: PathLike) -> Path:
        """Write ``generator.keras`` + ``metadata.json`` into directory ``path`` (atomic; loads without pickle)."""
        from .generative.saving import save_models

        meta = dict(self.metadata, channel_order=self.channel_order, input_range=list(self.input_range),
                    kind="deepfill_v1")
        return save_models(path, {GENERATOR: self.generator}, meta)


def check_images_masks(images: Images, masks: ArrayLike) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Validate and align images (N, H, W, C) and masks -> (float32 images, float32 masks (N, H, W, 1)).

    Masks may be (N, H, W), (N, H, W, 1), (N, H, W, C) (reduced by max over channels), or one mask
    (H, W) / (H, W, 1) broadcast to every image.
    """
    images = as_images(images, "images")
    masks = np.asarray(masks, dtype=np.float32)
    size = images.shape[1:3]
    if masks.ndim == 2 or (masks.ndim == 3 and masks.shape[:2] == size and masks.shape[1:] != size):
        masks = masks.reshape((1,) + size + (-1,))
    elif masks.ndim == 3:
        masks = masks[..., None]
    if masks.ndim != 4 or masks.shape[1:3] != size:
        raise InputError(f"masks: expected (N, H, W[, 1]) with (H, W) = {size}, got {masks.shape}")
    if masks.shape[-1] != 1:
        masks = masks.max(axis=-1, keepdims=True)
    if len(masks) == 1 and len(images) > 1:
        masks = np.repeat(masks, len(images), axis=0)
    if len(masks) != len(images):
        raise InputError(f"masks: expected one mask per image ({len(images)}), got {len(masks)}")
    if not np.all(np.isfinite(masks)):
        raise InputError("masks: expected finite values")
    return images, masks


def check_within(images: ArrayLike, value_range: tuple[float, ...] | None, argument: str) -> None:
    """Refuse images outside an inpainter's range: it maps that range to [-1, 1], so [0, 255] pixels given to a
    [0, 1] inpainter would get holes filled on the [0, 1] scale beside [0, 255] known pixels, silently."""
    if value_range is None:
        return
    low, high = (float(v) for v in value_range)
    values = np.asarray(images, np.float32)
    tol = 1e-3 * (high - low)
    if values.size and (values.min() < low - tol or values.max() > high + tol):
        raise InputError(f"{argument}: the inpainter takes images in [{low:g}, {high:g}], but x holds values in "
                         f"[{values.min():g}, {values.max():g}]; scale x to its range (e.g. x / 255) or pass an "
                         "Inpainter of x's range")


# ---- training ------------------------------------------------------------------------------------------

def train(data: Data | ArrayLike | tf.data.Dataset, *, steps: int, out_dir: PathLike | None = None,
          strategy: Strategy | None = None, preset: Literal["deepfill_v1", "cpu_small"] = "deepfill_v1",
          verbose: Literal["auto", 0, 1, 2] = "auto", run_eagerly: bool = False, **config: Any) -> Inpainter:
    """Train a DeepFill-v1 inpainter (Yu et al. 2018; v1.0.0 ``train.py``) and return an :class:`Inpainter`.

    Args:
        data: a dataset name (``"composite_fashion_mnist"``, ...), an (images, labels) pair, an image array
            (N, H, W, C) in [0, 1], or a tf.data.Dataset of images or (image, label); grey images are
            repeated to RGB and everything is resized to ``image_size``. A tf.data.Dataset is streamed, never
            read into memory: one pass checks it, then each step takes the next images in stream order;
            resume is exact for a deterministic pipeline (:class:`tfx_explain.data.stream.ResumableBatches`).
        steps: generator steps (each preceded by ``n_critic`` critic steps on fresh batches).
        out_dir: run directory: checkpoints (resumed when present), TensorBoard logs, sample grids, and the
            final inpainter in ``<out_dir>/inpainter``. None trains in memory.
        strategy: a tf.distribute strategy or its name; ``batch_size`` is global.
        preset: ``"deepfill_v1"`` (the released configuration, for a GPU) or ``"cpu_small"``; see PRESETS.
        verbose: Keras' progress bar setting (``"auto"``, 0, 1, 2).
        run_eagerly: run the train step without ``tf.function`` (debugging, tiny test runs: no tracing).
        **config: overrides of the preset's keys (image_size, cnum, d_cnum, batch_size, n_critic,
            learning_rate, beta_1, beta_2, box_fraction, max_delta_fraction, gamma, coarse_alpha, l1_alpha,
            ae_alpha, gan_alpha, global_wgan_alpha, gp_lambda, flip, seed, checkpoint_every, sample_every).
    """
    import keras

    from .distribute import get_strategy
    from .generative.deepfill import DeepFillModel, batch_function, streamed_batches
    from .generative.training import adam, step_dataset, train_loop

    cfg = training_config(preset, config)
    if int(steps) < 1:
        raise InputError(f"steps: expected a positive int, got {steps}")
    streamed = _streamed_images(data, cfg["image_size"])  # a tf.data.Dataset is never read into memory
    images = training_images(data, cfg["image_size"]) if streamed is None else None
    box = tuple(max(8, int(round(cfg["box_fraction"] * s))) for s in cfg["image_size"])
    delta = tuple(int(round(cfg["max_delta_fraction"] * b)) for b in box)
    strategy = get_strategy(strategy)
    keras.utils.set_random_seed(cfg["seed"])
    with strategy.scope():
        model = DeepFillModel(cfg["image_size"], box, cnum=cfg["cnum"], d_cnum=cfg["d_cnum"],
                              n_critic=cfg["n_critic"], **{k: cfg[k] for k in _LOSS_KEYS})
        optimizer = lambda: adam(cfg["learning_rate"], cfg["beta_1"], cfg["beta_2"])  # noqa: E731
        model.compile(optimizer(), optimizer(), run_eagerly=bool(run_eagerly))
    draws = (cfg["batch_size"], cfg["n_critic"] + 1, box, delta, cfg["flip"], cfg["seed"])
    if images is not None:
        batch_fn = batch_function(images, *draws)
        make_dataset, samples, count = lambda start: step_dataset(start, batch_fn), images[:4], len(images)
    else:
        assert streamed is not None  # images is None only for a stream
        (stream_ds, samples, count) = streamed
        make_dataset = streamed_batches(stream_ds, *draws, strategy=strategy)
    train_loop(model, make_dataset, steps=int(steps), strategy=strategy,
               out_dir=out_dir, checkpoint_every=cfg["checkpoint_every"], sample_every=cfg["sample_every"],
               sample_fn=_sample_grid(model, samples, box), verbose=verbose)
    metadata = {"config": {**cfg, "preset": preset, "box_size": box, "max_delta": delta}, "steps": int(steps),
                "training_images": int(count), "data": data if isinstance(data, str) else
                ("<arrays>" if streamed is None else "<tf.data>")}
    inpainter = Inpainter(model.generator, metadata)
    if out_dir is not None:
        inpainter.save(Path(out_dir) / "inpainter")
    return inpainter


_LOSS_KEYS = ("gamma", "coarse_alpha", "l1_alpha", "ae_alpha", "gan_alpha", "global_wgan_alpha", "gp_lambda", "seed")


def training_config(preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The preset's settings with ``overrides`` applied and checked."""
    from .data._common import check_image_size

    if preset not in PRESETS:
        raise InputError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    cfg = dict(PRESETS[preset])
    unknown = sorted(set(overrides) - set(cfg))
    if unknown:
        raise InputError(f"config: unknown keys {unknown}; expected a subset of {sorted(cfg)}")
    cfg.update(overrides)
    cfg["image_size"] = check_image_size(cfg["image_size"])
    if any(s % 8 for s in cfg["image_size"]):
        raise InputError(f"image_size: expected H and W multiples of 8 (two stride-2 convs and attention at "
                         f"a further /2), got {cfg['image_size']}")
    for key in ("cnum", "d_cnum", "batch_size", "checkpoint_every", "sample_every"):
        if int(cfg[key]) < 1:
            raise InputError(f"{key}: expected a positive int, got {cfg[key]}")
    if int(cfg["cnum"]) % 2 or int(cfg["n_critic"]) < 0:
        raise InputError(f"cnum, n_critic: expected an even cnum and n_critic >= 0, got {cfg['cnum']}, "
                         f"{cfg['n_critic']}")
    if not 0 < float(cfg["box_fraction"]) <= 1 or not 0 <= float(cfg["max_delta_fraction"]) < 1:
        raise InputError("box_fraction, max_delta_fraction: expected (0, 1] and [0, 1)")
    return cfg


def _streamed_images(data, image_size):
    """A tf.data.Dataset as (uint8 RGB image stream at ``image_size``, its first 4 images, count), checked in
    one streamed pass (values in [0, 1], grey or RGB); None for other data (see :func:`training_images`)."""
    import tensorflow as tf

    from .data import stream

    if not stream.is_dataset(data):
        return None
    ds, has_labels = stream.training_stream(data, "data", labels="optional")
    if has_labels:
        ds = ds.map(lambda x, y: x)
    channels = ds.element_spec.shape[-1]
    if channels not in (1, 3):
        raise InputError(f"data: expected grey or RGB images, got {channels} channels")
    found = stream.survey(ds, name="data", has_labels=False)
    if found.extremes.min() < 0 or found.extremes.max() > 1:
        raise InputError("data: expected images in [0, 1]")

    def to_uint8(x):  # as training_images: grey to RGB, resize (bilinear, antialiased), clip, round
        x = tf.cast(x, tf.float32)
        x = tf.repeat(x, 3, axis=-1) if channels == 1 else x
        if tuple(x.shape[:2]) != tuple(image_size):
            x = tf.clip_by_value(tf.image.resize(x, image_size, method="bilinear", antialias=True), 0.0, 1.0)
        return tf.cast(tf.round(x * 255.0), tf.uint8)

    ds = ds.map(to_uint8)
    samples = np.stack(list(ds.take(4).as_numpy_iterator()))
    return ds, samples, found.count


def training_images(data: Data | ArrayLike | tf.data.Dataset, image_size: tuple[int, int]) -> NDArray[np.uint8]:
    """uint8 RGB (N, H, W, 3) training images from a name, a pair, an array or a tf.data.Dataset."""
    import tensorflow as tf

    from . import data as data_mod
    from .data._common import resize

    if isinstance(data, str):
        extra: dict[str, Any] = {"image_size": image_size} if data.startswith("composite_") else {}
        images = data_mod.load_named(data, "train", **extra)[0]
    elif isinstance(data, tf.data.Dataset):
        parts = [b[0] if isinstance(b, tuple) else b for b in data.as_numpy_iterator()]
        images = np.stack(parts) if parts and np.ndim(parts[0]) == 3 else np.concatenate(parts)
    elif isinstance(data, (tuple, list)):
        images = data[0]
    else:
        images = data
    images = as_images(images, "data (images)", allow_single=False)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if images.shape[-1] != 3:
        raise InputError(f"data: expected grey or RGB images, got {images.shape[-1]} channels")
    if images.min() < 0 or images.max() > 1:
        raise InputError("data: expected images in [0, 1]")
    images = resize(images, image_size)
    return np.round(images * 255.0).astype(np.uint8)


def _sample_grid(model, images_uint8, box):
    """Rows of (input with hole, stage 1, stage 2 completed, ground truth) for 4 fixed images, centred hole."""
    import tensorflow as tf

    from .generative.deepfill import box_masks

    h, w = images_uint8.shape[1:3]
    x = tf.constant(images_uint8, tf.float32) / 127.5 - 1.0
    tops = tf.constant([[(h - box[0]) // 2, (w - box[1]) // 2]] * len(images_uint8))
    masks = box_masks(tops, box, tf.zeros_like(tops), (h, w))

    def grid():
        x1, _, completed = model.complete(x, masks, training=False)
        rows = tf.concat([x * (1.0 - masks), x1, completed, x], axis=2)
        return (tf.concat(tf.unstack(rows), axis=0).numpy() + 1.0) / 2.0

    return grid


# ---- loading -------------------------------------------------------------------------------------------

def load(path: PathLike | None = None) -> Inpainter:
    """Load an inpainter: None or ``"composite"`` (the bundled one), a directory saved by :meth:`Inpainter.save`
    or :func:`train`, or a released TF1 DeepFill-v1 checkpoint (its directory or ``.../snap-0`` prefix)."""
    if path is None or (isinstance(path, str) and path in BUNDLED):
        path = BUNDLED["composite" if path is None else path]
    path = Path(path)
    if (path / "metadata.json").exists():
        return _load_saved(path)
    if (path / "inpainter" / "metadata.json").exists():
        return _load_saved(path / "inpainter")
    prefix = _tf1_prefix(path)
    if prefix is not None:
        return load_tf1_checkpoint(prefix)
    raise InputError(f"path: {path} is neither a saved inpainter (metadata.json), a training run directory, "
                     "nor a TF1 checkpoint (checkpoint file or .index); bundled names: "
                     f"{sorted(BUNDLED)}")


def _load_saved(path):
    from .generative import contextual_attention  # noqa: F401  - registers the generator's layers
    from .generative.saving import load_models

    metadata, models = load_models(path, [GENERATOR])
    if GENERATOR not in models:
        raise InputError(f"path: {path} has no {GENERATOR}.keras")
    return Inpainter(models[GENERATOR], metadata, metadata.get("channel_order", "RGB"),
                     metadata.get("input_range", (0.0, 1.0)))


def _tf1_prefix(path):
    import tensorflow as tf

    if path.is_dir():
        return tf.train.latest_checkpoint(str(path)) or next(
            (str(p)[: -len(".index")] for p in sorted(path.glob("*.index"))), None)
    if Path(str(path) + ".index").exists():
        return str(path)
    return None


def load_tf1_checkpoint(prefix: PathLike, scope: str = "inpaint_net") -> Inpainter:
    """Map a released TF1 DeepFill-v1 checkpoint onto the Keras generator by variable name (§1.8).

    Every kernel and bias of the generator must be present with the right shape; the width ``cnum`` is read
    from ``conv1/kernel``. Other variables (critics, optimizer slots) are ignored. Colour order is BGR.
    """
    import tensorflow as tf

    from .errors import MismatchError
    from .generative.deepfill import build_generator, tf1_variable_map

    reader = tf.train.load_checkpoint(str(prefix))
    shapes = reader.get_variable_to_shape_map()
    first = f"{scope}/conv1/kernel"
    if first not in shapes:
        raise MismatchError(f"path: {prefix} is not a DeepFill-v1 checkpoint (no {first!r})")
    generator = build_generator(cnum=shapes[first][-1])
    mapping = tf1_variable_map(generator, scope)
    missing = sorted(set(mapping) - set(shapes))
    if missing:
        raise MismatchError(f"path: the checkpoint lacks {len(missing)} generator variables, e.g. {missing[:3]}")
    for name, variable in mapping.items():
        value = reader.get_tensor(name)
        if tuple(value.shape) != tuple(variable.shape):
            raise MismatchError(f"path: {name} has shape {value.shape}, the Keras layer expects {variable.shape}")
        variable.assign(value)
    meta = {"source": "tf1_checkpoint", "checkpoint": str(prefix), "mapped_variables": len(mapping)}
    return Inpainter(generator, meta, channel_order="BGR")


# ---- quality -------------------------------------------------------------------------------------------

def random_box_masks(n: int, image_size: tuple[int, int], box_fraction: float = 0.625,
                     max_delta_fraction: float = 0.4, seed: int = 0) -> NDArray[np.float32]:
    """(n, H, W, 1) held-out hole masks drawn like the training holes: a box of ``box_fraction`` of the
    image at a uniform position, shrunk by up to ``max_delta_fraction`` / 2 of the box per side. The box is at
    least 8 px (the training holes' floor), but never larger than the image."""
    rng = np.random.default_rng(seed)
    height, width = image_size
    bh, bw = min(height, max(8, round(box_fraction * height))), min(width, max(8, round(box_fraction * width)))
    dh, dw = round(max_delta_fraction * bh) // 2, round(max_delta_fraction * bw) // 2
    masks = np.zeros((n, height, width, 1), np.float32)
    for i in range(n):  # n small boxes; a loop is clearer than index arithmetic here
        top, left = rng.integers(0, height - bh + 1), rng.integers(0, width - bw + 1)
        sh, sw = rng.integers(0, dh + 1), rng.integers(0, dw + 1)
        masks[i, top + sh : top + bh - sh, left + sw : left + bw - sw] = 1.0
    return masks


def known_pixel_blur(images: Images, masks: ArrayLike, sigma: float = 2.0) -> NDArray[np.float32]:
    """A classical fill from the known pixels only (normalised convolution): G * (x (1 - m)) / G * (1 - m).

    Unlike the ``"blur"`` filler, which blurs the image *with* its hole content (MP's null image, so the removed
    content leaks into the fill), this never sees the hole: a fair reference for inpainting quality."""
    from scipy.ndimage import gaussian_filter

    images, masks = check_images_masks(images, masks)
    known = 1.0 - masks
    spread = (0, sigma, sigma, 0)
    num = gaussian_filter(images * known, spread, mode="nearest")
    den = gaussian_filter(np.broadcast_to(known, images.shape), spread, mode="nearest")
    fill = np.where(den > 1e-6, num / np.maximum(den, 1e-6), images.mean(axis=(1, 2), keepdims=True))
    return (images * known + fill * masks).astype(np.float32)


def hole_quality(images: Images, filled: ArrayLike, masks: ArrayLike) -> dict[str, float]:
    """Mean absolute error and PSNR (dB, peak 1) over the hole pixels only; images in [0, 1], ``filled`` of
    their shape (InputError otherwise: one filled image would be compared with every original)."""
    images, masks = check_images_masks(images, masks)
    filled = np.asarray(filled, np.float32)
    if filled.shape != images.shape:
        raise InputError(f"filled: expected the images' shape {images.shape}, got {filled.shape}")
    weight = np.broadcast_to(masks, images.shape)
    count = max(float(weight.sum()), 1.0)
    l1 = float((np.abs(filled - images) * weight).sum() / count)
    mse = float((np.square(filled - images) * weight).sum() / count)
    return {"l1": l1, "psnr": float(10.0 * np.log10(1.0 / max(mse, 1e-12)))}


__all__ = ["Inpainter", "PRESETS", "train", "load", "load_tf1_checkpoint", "hole_quality",
           "random_box_masks", "check_images_masks", "training_config"]
