"""Fillers: what replaces removed pixels, for the methods and the metrics alike (generative_feature_removal.txt
Eq. 1). This is the one home of the fill protocol: SP, LIME and MP take it as ``filler=``; deletion, insertion,
the perturbation curve / AOPC, faithfulness / monotonicity and ROAR as ``fill=``; both resolve names through
:func:`get_filler` and the one registry ``REGISTRY``.

A removed region is replaced as ``x_tilde = x * (1 - m) + f * m`` with the mask ``m`` (1 = remove) and a
filler image ``f``. Every filler here is a callable ``(images, masks) -> filled`` returning ``x_tilde``
(numpy in, numpy out):

==============  =================================================================================
``"gray"``      a constant colour: ``gray(value)``, ``gray(data=...)`` (the dataset's mean pixel, as the
                paper's ImageNet mean), or by default each image's own mean colour
``"mean"``      the dataset's mean colour (``value=`` or ``data=``; ROAR passes the training mean): Hooker et
                al.'s ROAR fill, and the "mean gray" of the generative-removal reference code (notes §3.1-3.2)
``"blur"``      Gaussian blur of the image (MP's null image, Fong & Vedaldi): sigma 10 px at 224, scaled to the
                image height (10 H / 224); ``Blur(sigma=5.0)`` is the fixed 5 px that insertion used before
``"noise"``     uniform noise over the input range (per channel where it is), one fixed pattern per (seed, pixel);
                it needs the range (``input_range=``, or :mod:`tfx_explain.input_range` infers it)
``"zero"``      zeros (Petsiuk et al.'s deletion; DeepExplain's occlusion)
``"flip"``      low + high - x over the input range, 1 - x for [0, 1] (ganmex_appendix.txt C.1, after Bach et
                al., 2015); it needs the range like ``"noise"``
``"baseline"``  each sample's own attribution baseline (a GANMEX or MDTS image): needs ``baselines=``
``"inpaint"``   the bundled DeepFill-v1 inpainter; or pass an :class:`~tfx_explain.inpainting.Inpainter`
callable        ``(images, masks) -> fill``: its output is used inside the mask only
==============  =================================================================================

Masks may be (N, H, W), (N, H, W, 1) or (N, H, W, C), or one mask for all images. An (N, H, W, C) mask
removes single input elements (the metrics' ``granularity="element"``); the inpainter fills every pixel with
a removed element and keeps the kept elements. The inpainter needs binary masks (binarised at 0.5); the other
fillers blend soft masks.

Mask-independent fillers also give ``reference(images)``, the full replacement image f, so the metrics can
build every perturbation level inside one TensorFlow function (:func:`reference_image`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import input_range as ir
from .. import rng
from ..errors import InputError
from ..inpainting import Inpainter, check_images_masks, check_within

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    from .._typing import Data, FillerSpec, Images, Range

NAMES = ("gray", "mean", "blur", "noise", "zero", "flip", "baseline", "inpaint")


def align_masks(images: Images, masks: ArrayLike) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(float32 images (N, H, W, C), float32 masks): masks (N, H, W, 1), or (N, H, W, C) for per-element masks.

    Raises InputError (naming ``masks``) for masks that fit neither the images' size nor their count.
    """
    raw = np.asarray(masks, np.float32)
    images, pixel = check_images_masks(images, raw)
    if raw.ndim == 4 and raw.shape[-1] == images.shape[-1] > 1:
        return images, np.broadcast_to(raw, images.shape)  # one element at a time (checked by the call above)
    return images, pixel


class Filler:
    """Base class: ``__call__(images, masks) -> filled``.

    Subclasses set ``name`` and either ``fill_image`` (mask-independent fillers: gray, blur, noise, zero, flip,
    baseline; MP blends a soft mask with them) or override ``__call__`` (mask-dependent: the inpainter, user
    callables). ``tensor_fn`` is a TensorFlow version of ``__call__`` where one exists, for traced code (MP).
    """

    name = "filler"
    mask_dependent = False

    def fill_image(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        """The filler image f (N, H, W, C) for mask-independent fillers."""
        raise TypeError(f"{self.name}: this filler depends on the mask")

    def reference(self, images: NDArray[np.float32]) -> NDArray[np.float32] | None:
        """The replacement image f (N, H, W, C) when it does not depend on the mask, else None."""
        return None

    def check(self, images: NDArray[np.float32], argument: str = "filler") -> None:
        """Raise InputError (naming ``argument``) before any work when this filler cannot fill ``images``."""

    def __call__(self, images, masks):
        images, masks = align_masks(images, masks)
        fill = self.fill_image(images)
        return (images * (1.0 - masks) + fill * masks).astype(np.float32)

    tensor_fn: Callable[..., Any] | None = None

    def __repr__(self):
        return f"{type(self).__name__}()"


class MaskIndependent(Filler):
    """A filler whose image f does not depend on the mask: ``reference(images)`` is that image."""

    def reference(self, images: ArrayLike) -> NDArray[np.float32]:
        return np.asarray(self.fill_image(np.asarray(images, np.float32)), np.float32)


class Gray(MaskIndependent):
    """A constant colour per channel: ``value``, the mean pixel of ``data``, or (default) each image's mean."""

    name = "gray"

    def __init__(self, value: ArrayLike | None = None, data: Data | ArrayLike | None = None) -> None:
        if value is not None and data is not None:
            raise InputError(f"{self.name}: give value or data, not both")
        if data is not None:
            value = dataset_mean(data)
        self.value = None if value is None else np.asarray(value, np.float32).reshape(-1)

    def fill_image(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        if self.value is None:
            colour = images.mean(axis=(1, 2), keepdims=True)
        else:
            if self.value.size not in (1, images.shape[-1]):
                raise InputError(f"{self.name}: value has {self.value.size} channels, images have {images.shape[-1]}")
            colour = self.value.reshape(1, 1, 1, -1)
        return np.broadcast_to(colour, images.shape).astype(np.float32)

    def __repr__(self):
        return f"{type(self).__name__}(value={None if self.value is None else self.value.tolist()})"


class Mean(Gray):
    """The dataset's mean colour, given as ``value`` (per channel) or computed from ``data`` (required).

    ROAR's fill (Hooker et al., 2019: the training set's per-channel mean), and the "mean gray" of the
    generative-removal reference code (the ImageNet mean for SP and LIME; notes generative_attribution §3.1-3.2).
    """

    name = "mean"

    def __init__(self, value: ArrayLike | None = None, data: Data | ArrayLike | None = None) -> None:
        if value is None and data is None:
            raise InputError('filler "mean": needs the dataset\'s mean colour; pass value=... (e.g. '
                             'x_train.mean((0, 1, 2))) or data=...')
        super().__init__(value, data)


class Blur(MaskIndependent):
    """Gaussian blur over H and W (Fong & Vedaldi's null image; MP uses radius 10 at 224 px).

    ``sigma=None`` scales the reference 10 px at 224 to the image height: 10 H / 224 (2.9 px at 64, 1.25 at
    28). ``sigma`` in pixels fixes it: ``Blur(sigma=5.0)`` is the insertion metric's default before the
    fillers were unified (Petsiuk et al.'s RISE code uses sigma 5 at 224).
    """

    name = "blur"

    def __init__(self, sigma: float | None = None) -> None:
        if sigma is not None and not float(sigma) > 0:
            raise InputError(f"blur: expected sigma > 0, got {sigma}")
        self.sigma = sigma

    def fill_image(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        from ..baselines.constant import blur

        sigma = self.sigma if self.sigma is not None else 10.0 * images.shape[1] / 224.0
        return blur(images, sigma=float(sigma))

    def __repr__(self):
        return f"Blur(sigma={self.sigma})"


class Noise(MaskIndependent):
    """Uniform noise over ``input_range`` ((low, high), scalars or per channel); the value of pixel (i, j, c)
    depends only on (seed, i, j, c), so every image and mask sees the same noise (batched and one-by-one calls
    agree). Without a range, filling raises InputError asking for ``input_range``."""

    name = "noise"

    def __init__(self, seed: int = 0, input_range: Range | None = None) -> None:
        self.seed, self.input_range = int(seed), ir.normalize(input_range)

    def fill_image(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        known = ir.require(self.input_range, 'filler "noise"')
        low, high = ir.broadcastable(known, images.shape[-1])
        pattern = low + (high - low) * rng.generator(self.seed, "noise_filler").random(images.shape[1:])
        return np.broadcast_to(pattern.astype(np.float32), images.shape)

    def __repr__(self):
        return f"Noise(seed={self.seed})"


class Zero(MaskIndependent):
    """All zeros."""

    name = "zero"

    def fill_image(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.zeros_like(images)


class Flip(MaskIndependent):
    """x -> low + high - x: the flip 1 - x of ganmex_appendix.txt C.1 for the range [0, 1].

    ``input_range``: (low, high), scalars or per channel (:mod:`tfx_explain.input_range`); without it filling
    raises InputError, and :func:`get_filler` fills it in from the model's range.
    """

    name = "flip"

    def __init__(self, input_range: Range | None = None) -> None:
        self.input_range = ir.normalize(input_range)

    def fill_image(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        known = ir.require(self.input_range, 'fill "flip"')
        low, high = ir.broadcastable(known, images.shape[-1])
        return (low + high - images).astype(np.float32)

    def __repr__(self):
        return f"Flip({self.input_range})"


class Baseline(MaskIndependent):
    """Each sample's own baseline image (N, H, W, C), aligned with the images it fills."""

    name = "baseline"

    def __init__(self, baselines: ArrayLike) -> None:
        self.baselines = np.asarray(baselines, np.float32)

    def check(self, images: NDArray[np.float32], argument: str = "filler") -> None:
        if self.baselines.shape != np.shape(images):
            raise InputError(f"baselines: expected one baseline per input, shape {np.shape(images)}, got "
                             f"{self.baselines.shape}")

    def fill_image(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        self.check(images)
        return self.baselines


class Inpaint(Filler):
    """A DeepFill-v1 inpainter (generative_feature_removal.txt §3.3, f = G(m, x)); masks binarised at 0.5."""

    name = "inpaint"
    mask_dependent = True

    def __init__(self, inpainter: Inpainter | None = None, batch_size: int = 32) -> None:
        self.bundled = inpainter is None
        if inpainter is None:
            from ..inpainting import load

            inpainter = load()
        self.inpainter = inpainter
        self.batch_size = int(batch_size)
        self.tensor_fn = inpainter.inpaint_tensor

    def check(self, images: NDArray[np.float32], argument: str = "filler") -> None:
        """Grey or RGB images; for the bundled inpainter (``"inpaint"``), images of the size it was trained at,
        since it fills other sizes with what it never learned (pass an Inpainter trained at your size)."""
        shape = np.shape(images)
        if shape[-1] not in (1, 3):
            raise InputError(f"{argument}: the inpainter takes grey or RGB images, got {shape[-1]} channels")
        check_within(images, getattr(self.inpainter, "input_range", None), argument)
        trained = self.inpainter.metadata.get("config", {}).get("image_size")
        if self.bundled and trained is not None and tuple(shape[1:3]) != tuple(trained):
            raise InputError(f"{argument}: the bundled inpainter (\"inpaint\") was trained on {tuple(trained)} images, "
                             f"got {tuple(shape[1:3])}; pass an Inpainter trained at that size "
                             "(tfx_explain.inpainting.train)")

    def __call__(self, images, masks):
        check_within(images, getattr(self.inpainter, "input_range", None), "filler")  # also the metrics' fill=
        filled = self.inpainter.inpaint(images, masks, batch_size=self.batch_size)
        images, elements = align_masks(images, masks)
        if elements.shape[-1] > 1:  # per-element masks: every pixel with a removed element is inpainted,
            filled = np.where(elements > 0.5, filled, images)  # but only the removed elements are replaced
        return filled

    def __repr__(self):
        return f"Inpaint({self.inpainter!r})"


class Custom(Filler):
    """A user's ``(images, masks) -> fill``; the fill is used inside the mask only.

    A callable that declares ``mask_dependent = False`` and has ``reference(images)`` or ``fill_image(images)``
    keeps that replacement image (the metrics' fast path).
    """

    mask_dependent = True

    def __init__(self, function: Callable[[Any, Any], Any], argument: str = "filler") -> None:
        self.function, self.argument = function, argument
        self.name = getattr(function, "name", None) or getattr(function, "__name__", None) or "custom"
        self.mask_dependent = getattr(function, "mask_dependent", True) is not False or not (
            hasattr(function, "reference") or hasattr(function, "fill_image"))

    def reference(self, images: NDArray[np.float32]) -> NDArray[np.float32] | None:
        if self.mask_dependent:
            return None
        # duck-typed: a mask-independent callable has reference or fill_image (__init__ checked)
        own = getattr(self.function, "reference", None) or self.function.fill_image  # type: ignore[attr-defined]
        return np.asarray(own(np.asarray(images, np.float32)), np.float32)

    def fill_image(self, images: NDArray[np.float32]) -> NDArray[np.float32]:  # MP blends a soft mask with it where the callable declares one
        out = self.reference(images)
        return super().fill_image(images) if out is None else out

    def __call__(self, images, masks):
        images, masks = align_masks(images, masks)
        fill = np.asarray(self.function(images, masks), np.float32)
        if fill.shape != images.shape:
            raise InputError(f"{self.argument}: the callable returned shape {fill.shape}, expected {images.shape}")
        return (images * (1.0 - masks) + fill * masks).astype(np.float32)

    def __repr__(self):
        return f"Custom({getattr(self.function, '__name__', type(self.function).__name__)})"


#: The one registry of filler names, shared by the methods (``filler=``) and the metrics (``fill=``).
REGISTRY = {"gray": Gray, "mean": Mean, "blur": Blur, "noise": Noise, "zero": Zero, "flip": Flip,
            "baseline": Baseline, "inpaint": Inpaint}


def get_filler(spec: FillerSpec = "gray", input_range: Range | None = None, *, baselines: NDArray[Any] | None = None,
               dataset_mean: ArrayLike | None = None, argument: str = "filler",
               **options: Any) -> Filler:
    """A filler from a name of ``REGISTRY`` (options go to its constructor), an Inpainter, a Filler or a callable.

    Args:
        spec: the filler; see the module docstring.
        input_range: the model's input range (explain_keras and the metrics pass it): it reaches ``"noise"``
            and ``"flip"`` (InputError when they get none), and an inpainter must take that same range.
        baselines: (N, H, W, C) for ``"baseline"`` (the metrics pass theirs); other fillers ignore it.
        dataset_mean: the per-channel mean for ``"mean"`` when no ``value``/``data`` option is given (ROAR
            passes the training set's); other fillers ignore it.
        argument: the caller's name for the filler (``"filler"`` for methods, ``"fill"`` for metrics), used
            in error messages.
    Returns:
        a :class:`Filler`, a callable ``(images, masks) -> filled``.
    Raises:
        InputError: an unknown name, bad options, or a filler whose input (range, baselines, mean) is missing.
    """
    filler = _get_filler(spec, argument, baselines, dataset_mean, **options)
    rng = ir.normalize(input_range)
    if isinstance(filler, (Noise, Flip)) and filler.input_range is None:
        ir.require(rng, f'{argument} "{filler.name}"')  # before any work
        filler = Noise(filler.seed, rng) if isinstance(filler, Noise) else Flip(rng)  # the user's is left as it was
    if isinstance(filler, Inpaint) and rng is not None:
        own = ir.normalize(filler.inpainter.input_range)
        if not (np.array_equal(own.low, rng.low) and np.array_equal(own.high, rng.high)):
            raise InputError(f"{argument}: the inpainter takes images in {own}, but the model's input range is {rng}; "
                             "pass one built for that range, e.g. inpainting.Inpainter(inp.generator, inp.metadata, "
                             "inp.channel_order, input_range=(0, 255)) with inp = inpainting.load()")
    return filler


def _get_filler(spec, argument, baselines, dataset_mean, **options):
    expected = f"{argument}: expected one of {NAMES}, an Inpainter or a callable (images, masks) -> fill, got "
    if isinstance(spec, Filler):
        if options:
            raise InputError(f"{argument}: options {sorted(options)} only apply to filler names")
        return spec
    if isinstance(spec, Inpainter):
        return Inpaint(spec, **options)
    if isinstance(spec, str):
        if spec not in REGISTRY:
            raise InputError(expected + repr(spec))
        if spec == "baseline" and "baselines" not in options:
            if baselines is None:
                raise InputError(f"baselines: {argument}='baseline' replaces features by each sample's baseline; "
                                 "pass baselines=(N, H, W, C)")
            options["baselines"] = baselines
        if spec == "mean" and not {"value", "data"} & set(options) and dataset_mean is not None:
            options["value"] = dataset_mean
        try:
            return REGISTRY[spec](**options)
        except TypeError as err:
            raise InputError(f"{argument}: bad options {sorted(options)} for {spec!r} ({err})") from None
    if callable(spec):
        return Custom(spec, argument)
    raise InputError(expected + type(spec).__name__)


def reference_image(filler: Any, images: NDArray[np.float32]) -> NDArray[np.float32] | None:
    """The replacement image (N, H, W, C) of a mask-independent filler, or None where it depends on the mask.

    Fillers give it as ``reference(images)``; duck-typed objects with ``fill_image`` and
    ``mask_dependent = False`` are read the same way.
    """
    if isinstance(filler, Filler):
        out = filler.reference(images)
    elif callable(getattr(filler, "reference", None)):
        out = filler.reference(images)
    elif hasattr(filler, "fill_image") and getattr(filler, "mask_dependent", True) is False:
        out = filler.fill_image(np.asarray(images, np.float32))
    else:
        return None
    return None if out is None else np.asarray(out, np.float32)


def filler_name(filler: Any) -> str:
    """The name a result records for a filler (its ``name``, else the callable's name)."""
    # the fillers' name and the callables' __name__ are str; mypy reads getattr(..., None) as possibly None
    return getattr(filler, "name", None) or getattr(filler, "__name__", type(filler).__name__)  # type: ignore[return-value]


def dataset_mean(data: Data | ArrayLike) -> NDArray[np.float32]:
    """Per-channel mean pixel of a dataset name (train split), an (images, labels) pair or an image array."""
    from .. import data as data_mod
    from ..data import as_images

    if isinstance(data, str):
        data = data_mod.load_named(data, "train")
    images = data[0] if isinstance(data, (tuple, list)) else data
    return as_images(images, "data", allow_single=False).mean(axis=(0, 1, 2))


def compare_fillers(images: Images, masks: ArrayLike, fillers: Sequence[FillerSpec] = ("inpaint", "gray",
                    "blur")) -> dict[str, dict[str, float]]:
    """{name: :func:`~tfx_explain.inpainting.hole_quality`} of each filler on the same holes (``"inpaint"`` = the bundled inpainter;
    Inpainter objects and other filler specs are accepted), plus ``"known_pixel_blur"``
    (:func:`~tfx_explain.inpainting.known_pixel_blur`, the only entry besides the inpainter that never sees the hole's content)."""
    from ..inpainting import hole_quality, known_pixel_blur

    out = {}
    for spec in fillers:
        fill = get_filler(spec)
        out[spec if isinstance(spec, str) else fill.name] = hole_quality(images, fill(images, masks), masks)
    out["known_pixel_blur"] = hole_quality(images, known_pixel_blur(images, masks), masks)
    return out


gray, mean, blur, noise, zero, flip, baseline, inpaint = Gray, Mean, Blur, Noise, Zero, Flip, Baseline, Inpaint
