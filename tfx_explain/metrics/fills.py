"""What replaces a removed feature in the perturbation metrics: a fill ``(images, masks) -> filled images``.

``masks`` are float arrays, 1 where a feature is removed, of shape (N, H, W, C) or (N, H, W, 1) (one value
per pixel for every channel). Any callable of that shape plugs in (an inpainter, a GAN counterfactual);
it is called on batches of many images and many masks at once.

The built-in fills replace a removed feature by a value that does not depend on the mask: their
``reference(images)`` gives the full replacement image, so the metrics can build every perturbation level
inside one TensorFlow function. A plain callable has no ``reference`` and is called on the masks.

=================  ======================================================================================
``"flip"``         low + high - x over the model's input range: 1 - x for [0, 1] (ganmex_appendix.txt C.1,
                   after Bach et al., 2015); needs the range (``input_range=`` or inferred)
``"zero"``         0 (Petsiuk et al.'s deletion uses it; DeepExplain's occlusion fill)
``"blur"``         a Gaussian blur of the input (Petsiuk et al.'s insertion start; sigma in pixels)
``"mean"``         a constant per channel, e.g. the training set's mean (Hooker et al.'s ROAR)
``"baseline"``     the sample's own attribution baseline (a GANMEX or MDTS image): needs ``baselines``
=================  ======================================================================================
"""
from __future__ import annotations

import numpy as np

from .. import input_range as ir
from ..errors import InputError

NAMES = ("flip", "zero", "blur", "mean", "baseline")


class Fill:
    """A mask-independent fill: removed features take the values of ``reference(images)``."""

    name = "fill"

    def reference(self, images):
        raise TypeError("a Fill subclass defines reference(images)")  # pragma: no cover - abstract

    def __call__(self, images, masks):
        images = np.asarray(images, np.float32)
        masks = np.asarray(masks, np.float32)
        return images * (1.0 - masks) + self.reference(images) * masks

    def __repr__(self):
        return f"{type(self).__name__}()"


class FlipFill(Fill):
    """x -> low + high - x: the flip 1 - x of ganmex_appendix.txt C.1 for the range [0, 1].

    ``input_range``: (low, high), scalars or per channel (:mod:`tfx_explain.input_range`); None raises.
    """

    name = "flip"

    def __init__(self, input_range=None):
        rng = ir.require(ir.normalize(input_range), 'fill "flip"')
        self.low, self.high = rng.low, rng.high

    def reference(self, images):
        return (self.low + self.high - np.asarray(images, np.float32)).astype(np.float32)


class ConstantFill(Fill):
    """A constant: a scalar, or one value per channel (``"mean"`` passes the training mean)."""

    def __init__(self, value=0.0, name="zero"):
        self.value = np.asarray(value, np.float32)
        self.name = name

    def reference(self, images):
        images = np.asarray(images, np.float32)
        return np.broadcast_to(self.value, images.shape).astype(np.float32)


class BlurFill(Fill):
    """Gaussian blur of the input over H and W (sigma in pixels), as Petsiuk et al.'s insertion start."""

    name = "blur"

    def __init__(self, sigma=5.0):
        if not sigma > 0:
            raise InputError(f"sigma: expected a positive blur width in pixels, got {sigma!r}")
        self.sigma = float(sigma)

    def reference(self, images):
        from ..baselines import blur

        return blur(np.asarray(images, np.float32), self.sigma)


class BaselineFill(Fill):
    """Each sample's own baseline image (aligned with the inputs the metric is given)."""

    name = "baseline"

    def __init__(self, baselines):
        self.baselines = np.asarray(baselines, np.float32)

    def reference(self, images):
        if self.baselines.shape != np.shape(images):
            raise InputError(f"baselines: expected one baseline per input, shape {np.shape(images)}, got "
                             f"{self.baselines.shape}")
        return self.baselines


def resolve_fill(fill, baselines=None, *, mean=None, sigma=5.0, input_range=None):
    """A fill name or callable -> a callable fill (a :class:`Fill` where the name is built in)."""
    if isinstance(fill, str):
        if fill == "flip":
            return FlipFill(input_range)
        if fill == "zero":
            return ConstantFill(0.0, "zero")
        if fill == "blur":
            return BlurFill(sigma)
        if fill == "mean":
            if mean is None:
                raise InputError("fill: 'mean' needs the per-channel mean (pass mean=..., e.g. x_train.mean((0, 1, 2)))")
            return ConstantFill(mean, "mean")
        if fill == "baseline":
            if baselines is None:
                raise InputError("baselines: fill='baseline' replaces features by each sample's baseline; pass "
                                 "baselines=(N, H, W, C)")
            return BaselineFill(baselines)
        raise InputError(f"fill: expected one of {NAMES} or a callable (images, masks) -> images, got {fill!r}")
    if callable(fill):
        return fill
    raise InputError(f"fill: expected one of {NAMES} or a callable (images, masks) -> images, got "
                     f"{type(fill).__name__}")


def reference_images(fill, images):
    """The replacement image of a mask-independent fill, or None for a fill that depends on the mask.

    Our fills give it as ``reference(images)``; the perturbation fillers (:mod:`tfx_explain.perturbation`)
    as ``fill_image(images)`` with ``mask_dependent = False``. Both then take the fast in-graph path.
    """
    if hasattr(fill, "reference"):
        return np.asarray(fill.reference(images), np.float32)
    if hasattr(fill, "fill_image") and getattr(fill, "mask_dependent", True) is False:
        return np.asarray(fill.fill_image(images), np.float32)
    return None


def fill_name(fill):
    return getattr(fill, "name", None) or getattr(fill, "__name__", type(fill).__name__)
