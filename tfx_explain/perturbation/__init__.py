"""Perturbation methods with a pluggable filler (generative_feature_removal.txt): SP, LIME and MP, and their
generative variants SP-G, LIME-G and MP-G with ``filler="inpaint"`` (a DeepFill-v1 inpainter).

=============================  ===========================================================  ===========
name (``explain_keras``)       method                                                       filler
=============================  ===========================================================  ===========
``sliding_patch``              A_i = s(x) - s(x_i), p x p windows at stride s (§3.3)         gray
``lime``                       SLIC superpixels, N samples, cosine kernel, ridge (§3.4)     gray
``meaningful_perturbation``    low-res mask, L1 + TV + jitter, 300 Adam steps (§3.5)        blur
``rise``                       N random s x s masks, upsampled and shifted; Eq. 6 of         zero
                               Petsiuk et al. 2018 (RISE-G: ``filler="inpaint"``)
``kernel_shap``                SLIC superpixels, Shapley kernel, shap's KernelExplainer      gray
                               (Lundberg & Lee 2017, Thm. 2; KernelSHAP-G: ``"inpaint"``)
=============================  ===========================================================  ===========

Fillers (``fillers.get_filler``, the one registry of fill names for methods and metrics): "gray", "mean",
"blur", "noise", "zero", "flip", "baseline", "inpaint", an Inpainter, or a callable ``(images, masks) -> fill``.
Each is itself a callable ``(images, masks) -> filled``; the deletion/insertion, AOPC, faithfulness and ROAR
metrics resolve their ``fill`` through the same registry.
"""
from ..attribution import register
from . import fillers
from .fillers import get_filler
from .kernel_shap import kernel_shap
from .lime import lime
from .meaningful_perturbation import meaningful_perturbation
from .rise import rise
from .sliding_patch import sliding_patch

register("sliding_patch", sliding_patch, baseline="none", gradient=False)
register("lime", lime, baseline="none", gradient=False)
register("meaningful_perturbation", meaningful_perturbation, baseline="none", gradient=True)
register("rise", rise, baseline="none", gradient=False)
register("kernel_shap", kernel_shap, baseline="none", gradient=False)

__all__ = ["fillers", "get_filler", "sliding_patch", "lime", "meaningful_perturbation", "rise",
           "kernel_shap"]
