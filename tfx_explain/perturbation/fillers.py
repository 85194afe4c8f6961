"""Fillers: what a perturbation method puts where it removes pixels (generative_feature_removal.txt Eq. 1).

A removed region is replaced as ``x_tilde = x * (1 - m) + f * m`` with the mask ``m`` (1 = remove) and a
filler image ``f``. Every filler here is a callable ``(images, masks) -> filled`` returning ``x_tilde``
(numpy in, numpy out), so it plugs into SP, LIME and MP (``filler=``) and into the deletion/insertion
metrics (``fill=``) alike:

==============  =================================================================================
``"gray"``      a constant colour: ``gray(value)``, ``gray(data=...)`` (the dataset's mean pixel, as the
                paper's ImageNet mean), or by default each image's own mean colour
``"blur"``      Gaussian blur of the image (MP's null image); default sigma 10 px at 224, scaled to H
``"noise"``     uniform noise over the input range (per channel where it is), one fixed pattern per (seed, pixel);
                it needs the range (``input_range=``, or :mod:`tfx_explain.input_range` infers it)
``"zero"``      zeros
``"inpaint"``   the bundled DeepFill-v1 inpainter; or pass an :class:`~tfx_explain.inpainting.Inpainter`
callable        ``(images, masks) -> fill``: its output is used inside the mask only
==============  =================================================================================

Masks may be (N, H, W), (N, H, W, 1) or (N, H, W, C), or one mask for all images. The inpainter needs
binary masks (binarised at 0.5); the other fillers blend soft masks.
"""
from __future__ import annotations

import numpy as np

from .. import input_range as ir
from .. import rng
from ..errors import InputError
from ..inpainting import Inpainter, check_images_masks

NAMES = ("gray", "blur", "noise", "zero", "inpaint")


class Filler:
    """Base class: ``__call__(images, masks) -> filled``.

    Subclasses set ``name`` and either ``fill_image`` (mask-independent fillers: gray, blur, noise, zero; MP
    blends a soft mask with them) or override ``__call__`` (mask-dependent: the inpainter, user callables).
    ``tensor_fn`` is a TensorFlow version of ``__call__`` where one exists, for traced code (MP).
    """

    name = "filler"
    mask_dependent = False

    def fill_image(self, images):
        """The filler image f (N, H, W, C) for mask-independent fillers."""
        raise TypeError(f"{self.name}: this filler depends on the mask")

    def __call__(self, images, masks):
        images, masks = check_images_masks(images, masks)
        fill = self.fill_image(images)
        return (images * (1.0 - masks) + fill * masks).astype(np.float32)

    tensor_fn = None

    def __repr__(self):
        return f"{type(self).__name__}()"


class MaskIndependent(Filler):
    """A filler whose image f does not depend on the mask. ``reference(images)`` is the name the
    deletion/insertion metrics look for to build every perturbation level in one TensorFlow function."""

    def reference(self, images):
        return self.fill_image(np.asarray(images, np.float32))


class Gray(MaskIndependent):
    """A constant colour per channel: ``value``, the mean pixel of ``data``, or (default) each image's mean."""

    name = "gray"

    def __init__(self, value=None, data=None):
        if value is not None and data is not None:
            raise InputError("gray: give value or data, not both")
        if data is not None:
            value = dataset_mean(data)
        self.value = None if value is None else np.asarray(value, np.float32).reshape(-1)

    def fill_image(self, images):
        if self.value is None:
            colour = images.mean(axis=(1, 2), keepdims=True)
        else:
            if self.value.size not in (1, images.shape[-1]):
                raise InputError(f"gray: value has {self.value.size} channels, images have {images.shape[-1]}")
            colour = self.value.reshape(1, 1, 1, -1)
        return np.broadcast_to(colour, images.shape).astype(np.float32)

    def __repr__(self):
        return f"Gray(value={None if self.value is None else self.value.tolist()})"


class Blur(MaskIndependent):
    """Gaussian blur over H and W (Fong & Vedaldi's null image; MP uses radius 10 at 224 px).

    ``sigma=None`` scales the reference 10 px at 224 to the image height: 10 H / 224 (2.9 px at 64).
    """

    name = "blur"

    def __init__(self, sigma=None):
        if sigma is not None and float(sigma) <= 0:
            raise InputError(f"blur: expected sigma > 0, got {sigma}")
        self.sigma = sigma

    def fill_image(self, images):
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

    def __init__(self, seed=0, input_range=None):
        self.seed, self.input_range = int(seed), ir.normalize(input_range)

    def fill_image(self, images):
        known = ir.require(self.input_range, 'filler "noise"')
        low, high = ir.broadcastable(known, images.shape[-1])
        pattern = low + (high - low) * rng.generator(self.seed, "noise_filler").random(images.shape[1:])
        return np.broadcast_to(pattern.astype(np.float32), images.shape)

    def __repr__(self):
        return f"Noise(seed={self.seed})"


class Zero(MaskIndependent):
    """All zeros."""

    name = "zero"

    def fill_image(self, images):
        return np.zeros_like(images)


class Inpaint(Filler):
    """A DeepFill-v1 inpainter (generative_feature_removal.txt §3.3, f = G(m, x)); masks binarised at 0.5."""

    name = "inpaint"
    mask_dependent = True

    def __init__(self, inpainter=None, batch_size=32):
        if inpainter is None:
            from ..inpainting import load

            inpainter = load()
        self.inpainter = inpainter
        self.batch_size = int(batch_size)
        self.tensor_fn = inpainter.inpaint_tensor

    def __call__(self, images, masks):
        return self.inpainter.inpaint(images, masks, batch_size=self.batch_size)

    def __repr__(self):
        return f"Inpaint({self.inpainter!r})"


class Custom(Filler):
    """A user's ``(images, masks) -> fill``; the fill is used inside the mask only."""

    name = "custom"
    mask_dependent = True

    def __init__(self, function):
        self.function = function

    def __call__(self, images, masks):
        images, masks = check_images_masks(images, masks)
        fill = np.asarray(self.function(images, masks), np.float32)
        if fill.shape != images.shape:
            raise InputError(f"filler: the callable returned shape {fill.shape}, expected {images.shape}")
        return (images * (1.0 - masks) + fill * masks).astype(np.float32)

    def __repr__(self):
        return f"Custom({getattr(self.function, '__name__', type(self.function).__name__)})"


_BY_NAME = {"gray": Gray, "blur": Blur, "noise": Noise, "zero": Zero, "inpaint": Inpaint}


def get_filler(spec="gray", input_range=None, **options):
    """A filler from a name (options go to its constructor), an Inpainter, a Filler or a callable.

    The result is a callable ``(images, masks) -> filled``; pass it as ``fill=`` to the deletion/insertion
    metrics or as ``filler=`` to SP, LIME and MP. ``input_range`` (the model's, from explain_keras) reaches
    the ``"noise"`` filler, and an inpainter must take that same range (InputError otherwise).
    """
    filler = _get_filler(spec, **options)
    rng = ir.normalize(input_range)
    if isinstance(filler, Noise) and filler.input_range is None:
        ir.require(rng, 'filler "noise"')  # before any work
        filler = Noise(filler.seed, rng)  # a copy: the user's filler is left as it was
    if isinstance(filler, Inpaint) and rng is not None:
        own = ir.normalize(filler.inpainter.input_range)
        if not (np.array_equal(own.low, rng.low) and np.array_equal(own.high, rng.high)):
            raise InputError(f"filler: the inpainter takes images in {own}, but the model's input range is {rng}")
    return filler


def _get_filler(spec, **options):
    if isinstance(spec, Filler):
        if options:
            raise InputError(f"filler: options {sorted(options)} only apply to filler names")
        return spec
    if isinstance(spec, Inpainter):
        return Inpaint(spec, **options)
    if isinstance(spec, str):
        if spec not in _BY_NAME:
            raise InputError(f"filler: expected one of {NAMES}, an Inpainter or a callable (images, masks) -> fill, "
                             f"got {spec!r}")
        try:
            return _BY_NAME[spec](**options)
        except TypeError as err:
            raise InputError(f"filler: bad options {sorted(options)} for {spec!r} ({err})") from None
    if callable(spec):
        return Custom(spec)
    raise InputError(f"filler: expected one of {NAMES}, an Inpainter or a callable (images, masks) -> fill, "
                     f"got {type(spec).__name__}")


def dataset_mean(data):
    """Per-channel mean pixel of a dataset name (train split), an (images, labels) pair or an image array."""
    from .. import data as data_mod
    from ..data import as_images

    if isinstance(data, str):
        data = data_mod.load(data, "train")
    images = data[0] if isinstance(data, (tuple, list)) else data
    return as_images(images, "data", allow_single=False).mean(axis=(0, 1, 2))


def compare_fillers(images, masks, fillers=("inpaint", "gray", "blur")):
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


gray, blur, noise, zero, inpaint = Gray, Blur, Noise, Zero, Inpaint
