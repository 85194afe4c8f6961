"""The input range of a model: one source of truth for every range-dependent feature.

``input_range`` is ``(low, high)``: the values the model's input takes, as scalars or as per-channel arrays of
length C (e.g. a caffe-preprocessed ResNet50). Features that depend on it ask :func:`resolve`, then
:func:`require`: the ``"max"`` and ``"uniform"`` baselines, the metrics' flip fill (x -> low + high - x), the
``"noise"`` filler, GANMEX's map to the generator's [-1, 1]. Methods that need no range never ask.

Where the range comes from, first match wins:

1. ``input_range=`` given by the user (it overrides everything else).
2. The model, where it says so (:func:`from_model`): its first layer after the input (looking inside a
   sub-model placed there, and past resizing/cropping/augmentation layers) is
   * ``Rescaling(scale, offset)``: the rest of the network is taken to see [0, 1] when ``offset = 0`` and
     [-1, 1] when ``offset = -1`` (the two conventions of Keras' Rescaling documentation); the raw range is
     that range's preimage ``((a - offset) / scale, (b - offset) / scale)``. So ``Rescaling(1/255)`` and
     ``Rescaling(1/127.5, offset=-1)`` give [0, 255]; ``Rescaling(2, offset=-1)`` gives [0, 1]. Any other
     offset is not inferred. keras.applications EfficientNet / EfficientNetV2 start with ``Rescaling(1/255)``:
     [0, 255].
   * ``Normalization(mean, variance)`` with its statistics set: its mean tells the pixel scale. All means in
     [0, 1] give [0, 1]; a mean above 1 (at most 255) gives [0, 255]; other statistics (negative means, the
     unadapted mean 0 / variance 1, ``invert=True``) are not inferred. keras.applications ConvNeXt starts
     with ImageNet statistics times 255: [0, 255].
   keras.applications ResNet50, VGG16, DenseNet121, MobileNetV2 and Xception have no such layer (they expect
   an external ``preprocess_input``): pass their range (:func:`caffe_range` for ResNet50 / VGG16).
3. Training ``data`` (:func:`from_data`): uint8 images give [0, 255]; float images the smallest of [0, 1],
   [-1, 1], [0, 255] that holds them, else their per-channel minimum and maximum.

uint8 images are what they are: pixels of a [0, 255] range. They are accepted, as float32, where the range
is known and holds [0, 255]; where nothing gives the range they raise, since a uint8 photo given to a [0, 1]
model is the commonest silent mistake. x outside a known range raises (:func:`check`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .errors import InputError

STANDARD = ((0.0, 1.0), (-1.0, 1.0), (0.0, 255.0))
# Layers that keep the value range of their input: looked past on the way to the first range-defining layer.
_RANGE_PRESERVING = {"InputLayer", "Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation",
                     "RandomTranslation", "RandomZoom"}
_ASK = ("pass input_range=(low, high), e.g. (0, 1) or (0, 255), or per-channel arrays "
        "(see tfx_explain.input_range)")


@dataclass(frozen=True)
class InputRange:
    """``low``, ``high``: float32 arrays of shape () or (C,); ``source`` says where the range came from;
    ``bound``: whether values outside it are an error (False for the per-channel min and max of some data, which
    describe those images, not every input the model takes)."""

    low: np.ndarray
    high: np.ndarray
    source: str = "input_range"
    bound: bool = True

    @property
    def per_channel(self):
        return self.low.ndim == 1

    def as_tuple(self):
        """(low, high) as floats, or lists of per-channel floats (JSON-friendly)."""
        conv = (lambda v: [float(e) for e in v]) if self.per_channel else float
        return conv(self.low), conv(self.high)

    def __str__(self):
        low, high = self.as_tuple()
        return f"[{low}, {high}] (from {self.source})"


def normalize(value, name="input_range", channels=None, source="input_range", bound=True):
    """``value`` -> :class:`InputRange` (or None for None).

    Args:
        value: None, an InputRange, or (low, high) with low and high scalars or length-C sequences.
        channels: the images' channel count C, to check per-channel values against.
    Raises:
        InputError: not a pair, non-finite values, low >= high, or per-channel values of the wrong length.
    """
    if value is None or isinstance(value, InputRange):
        if isinstance(value, InputRange) and channels is not None:
            _check_channels(value.low, channels, name)
        return value
    try:
        low, high = value
        low, high = np.broadcast_arrays(np.asarray(low, np.float32), np.asarray(high, np.float32))
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected (low, high), scalars or per-channel arrays, got {value!r}") from None
    if low.ndim > 1:
        raise InputError(f"{name}: expected (low, high), scalars or per-channel arrays, got {value!r}")
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))) or not np.all(low < high):
        raise InputError(f"{name}: expected finite low < high, got {value!r}")
    if channels is not None:
        _check_channels(low, channels, name)
    if low.ndim == 1 and np.all(low == low[0]) and np.all(high == high[0]):
        low, high = low[0], high[0]  # the same for every channel: a scalar range
    return InputRange(np.array(low, np.float32), np.array(high, np.float32), source, bound)


def _check_channels(low, channels, name):
    if low.ndim == 1 and len(low) != channels:
        raise InputError(f"{name}: expected {channels} per-channel values (one per image channel), got {len(low)}")


def from_model(model):
    """The raw input range the model states through a preprocessing layer at its input, or None.

    See the module docstring for the rules (Rescaling: preimage of [0, 1] or [-1, 1]; Normalization: the
    pixel scale of its mean).
    """
    layer = _first_layer(model)
    if layer is None:
        return None
    kind = type(layer).__name__
    if kind == "Rescaling":
        return _from_rescaling(layer)
    if kind == "Normalization":
        return _from_normalization(layer)
    return None


def _is_graph(model):
    """Sequential and functional models list their layers in call order; a subclassed model lists them in
    the order it created them, which says nothing about what it applies first."""
    return any(cls.__name__ in ("Sequential", "Functional") for cls in type(model).__mro__)


def _first_layer(model, depth=0):
    """The first layer after the input that is not range-preserving, entering a sub-model placed there."""
    if not _is_graph(model):
        return None
    for layer in getattr(model, "layers", None) or []:
        if type(layer).__name__ in _RANGE_PRESERVING:
            continue
        if getattr(layer, "layers", None) and depth < 8:  # a nested model at the input
            return _first_layer(layer, depth + 1)
        return layer
    return None


def _from_rescaling(layer):
    scale = np.asarray(layer.scale, np.float64).reshape(-1)
    offset = np.asarray(layer.offset, np.float64).reshape(-1)
    if np.any(scale == 0):
        return None
    if np.all(offset == 0):
        seen = (0.0, 1.0)
    elif np.all(offset == -1):
        seen = (-1.0, 1.0)
    else:
        return None
    ends = np.stack([(seen[0] - offset) / scale, (seen[1] - offset) / scale])
    name = f"model: Rescaling(scale={_fmt(scale)}, offset={_fmt(offset)}) at its input"
    return normalize((ends.min(axis=0), ends.max(axis=0)), source=name)


def _from_normalization(layer):
    mean, variance = _statistic(layer, "mean"), _statistic(layer, "variance")
    if getattr(layer, "invert", False) or mean is None:
        return None
    if np.all(mean == 0) and (variance is None or np.all(variance == 1)):
        return None  # unadapted statistics: the layer is the identity and says nothing
    if np.any(mean < 0) or np.any(mean > 255):
        return None
    high = 1.0 if np.all(mean <= 1) else 255.0
    return normalize((0.0, high), source=f"model: Normalization(mean={_fmt(mean)}) at its input")


def _statistic(layer, which):
    """A Normalization layer's mean or variance: given at construction (input_mean) or adapted (mean)."""
    for attr in (f"input_{which}", which):
        value = getattr(layer, attr, None)
        if value is not None:
            return np.asarray(value, np.float64).reshape(-1)
    return None


def _fmt(values):
    values = np.asarray(values).reshape(-1)
    text = [f"{v:.4g}" for v in values]
    return text[0] if len(set(text)) == 1 else "[" + ", ".join(text) + "]"


def from_data(images, name="data"):
    """The range of training images: [0, 255] for uint8, else the smallest standard range holding them
    ([0, 1], [-1, 1], [0, 255]), else their per-channel (min, max)."""
    arr = np.asarray(images)
    if arr.dtype == np.uint8:
        return normalize((0.0, 255.0), source=f"{name} (uint8)")
    lo, hi = float(arr.min()), float(arr.max())
    for low, high in STANDARD:
        if lo >= low and hi <= high:
            return normalize((low, high), source=f"{name} (values in [{lo:.3g}, {hi:.3g}])")
    axes = tuple(range(arr.ndim - 1))
    low, high = arr.min(axis=axes), arr.max(axis=axes)
    return normalize((low, np.maximum(high, low + 1e-6)), source=f"{name} (per-channel min and max)", bound=False)


def resolve(input_range=None, model=None, data=None, channels=None, name="input_range"):
    """The range to use: ``input_range`` if given, else the model's, else the data's, else None.

    ``data`` is an image array, an (images, labels) pair, or a dataset name (loaded only when needed).
    """
    given = normalize(input_range, name, channels)
    if given is not None:
        return given
    if model is not None:
        inferred = from_model(model)
        if inferred is not None:
            return normalize(inferred, name, channels)
    if data is not None:
        images = _data_images(data)
        if images is not None:
            return normalize(from_data(images), name, channels)
    return None


def _data_images(data):
    if isinstance(data, str):
        from . import data as data_mod

        data = data_mod.load_named(data, "train")
    if isinstance(data, (tuple, list)):
        data = data[0]
    if hasattr(data, "numpy"):
        data = data.numpy()
    if isinstance(data, np.ndarray) and np.issubdtype(data.dtype, np.number):
        return data
    return None  # a tf.data pipeline: not read here


def require(rng, feature, name="input_range"):
    """``rng`` itself, or one InputError naming the argument ``name`` when it is unknown.

    ``feature`` names what needs it, e.g. ``'baseline "max"'``.
    """
    if rng is None:
        raise InputError(f"{name}: {feature} needs the model's input range, which was not given and the "
                         f"model does not state (no Rescaling or Normalization layer at its input); "
                         f"{_ASK.replace('input_range=', name + '=')}")
    return rng


def check(x, rng, name="x", uint8=False):
    """Raise InputError when x (N, H, W, C) leaves the known range ``rng`` (float32 rounding tolerated).

    ``uint8=True`` says x came as uint8 pixels: then the range must be known and hold [0, 255].
    """
    if uint8 and rng is None:
        raise InputError(f"{name}: uint8 images hold pixels in [0, 255], but nothing says the model takes that "
                         f"range; pass input_range=(0, 255) if it does, or scale {name} to the model's range "
                         f"(e.g. {name} / 255 for a [0, 1] model)")
    if rng is None:
        return
    low, high = broadcastable(rng, np.shape(x)[-1])
    if uint8 and (np.any(low > 0) or np.any(high < 255)):
        raise InputError(f"{name}: uint8 images hold pixels in [0, 255], outside the model's input range {rng}; "
                         f"scale {name} to that range (e.g. {name} / 255 for [0, 1]) or pass input_range")
    tol = 1e-5 * (high - low) + 1e-6
    below = np.asarray(x) < low - tol
    above = np.asarray(x) > high + tol
    if np.any(below) or np.any(above):
        arr = np.asarray(x)
        raise InputError(f"{name}: values in [{float(arr.min()):.4g}, {float(arr.max()):.4g}] leave the model's "
                         f"input range {rng}; give {name} in that range or pass the right input_range")
    _warn_unit_scale(x, rng, low, high, name, uint8)


def _warn_unit_scale(x, rng, low, high, name, uint8):
    """Warn when a pixel-scale range that was inferred (model or data) meets images that all lie in [0, 1]: the
    mirror of the uint8 refusal ([0, 1] images fed to a Rescaling(1/255) model run, but explain almost black
    images). A range the caller gave is taken at its word."""
    if uint8 or rng.source == "input_range" or np.any(high - low < 100):
        return
    arr = np.asarray(x)
    if float(arr.min()) >= 0.0 and 0.0 < float(arr.max()) <= 1.0:
        warnings.warn(f"{name}: every value lies in [0, 1], but the model's input range is {rng}: if {name} holds "
                      f"[0, 1] images, multiply them by 255; pass input_range= to say the range yourself",
                      stacklevel=3)


def broadcastable(rng, channels):
    """(low, high) float32 arrays of shape (C,) (per channel) or () that broadcast against NHWC images."""
    _check_channels(rng.low, channels, "input_range")
    return rng.low, rng.high


def caffe_range(channels_order="BGR"):
    """The per-channel input range of keras.applications' caffe-style ``preprocess_input`` (ResNet50, VGG16):
    RGB [0, 255] pixels are turned to BGR and the ImageNet mean (103.939, 116.779, 123.68) is subtracted.

    Returns ``(low, high)`` per channel, in the model's (BGR) channel order: pass it as ``input_range``.
    """
    mean_bgr = np.array([103.939, 116.779, 123.68], np.float32)
    low, high = -mean_bgr, 255.0 - mean_bgr
    if channels_order == "RGB":
        low, high = low[::-1], high[::-1]
    elif channels_order != "BGR":
        raise InputError(f"channels_order: expected 'BGR' or 'RGB', got {channels_order!r}")
    return low, high


__all__ = ["InputRange", "normalize", "from_model", "from_data", "resolve", "require", "check", "broadcastable",
           "caffe_range", "STANDARD"]
