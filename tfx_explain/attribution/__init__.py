"""Attribution methods. Each takes ``(score_fn, x, weights, baselines, **options)`` and returns a
:class:`MethodResult`; :func:`tfx_explain.explain_keras` is the user's door to all of them.

=========================  ==================================================  ===========
name                       method                                              baseline
=========================  ==================================================  ===========
``saliency``               |dS/dx|                                             none
``gradient_input``         x * dS/dx                                           none
``integrated_gradients``   IG, 200-step right Riemann sum                      one per sample
``expected_gradients``     EG, 200 references per sample                       distribution
``deeplift``               DeepLIFT, one rule per op (rules.py); exact where    one per sample
                           the traced-path check covers every op, else warned
``deepshap``               DeepSHAP via shap's DeepExplainer, or native: the    either
                           mean of our DeepLIFT over the references (equal to
                           shap's only on ReLU/MaxPool/Dense logit models)
``occlusion``              Occlusion-1 by default, fill = baseline              one per sample
``gradcam``                Grad-CAM: ReLU(sum_k mean(dS/dA_k) A_k) at a 4-D     none
                           layer (default the last, nested models too),
                           upsampled bilinearly to the input
``gradcam_pp``             Grad-CAM++ (Eq. 19 with Y = exp(S)), same layer      none
                           and upsampling; ``variant="xplique"`` as xplique
``smoothgrad``             SmoothGrad, mean dS/dx over 50 noisy copies          none
``vargrad``                VarGrad, variance of dS/dx over the noisy copies     none
``squaregrad``             SquareGrad, mean (dS/dx)^2 over the noisy copies     none
``guided_backprop``        Guided Backprop: ReLU-family ops pass only positive  none
                           signal; other activations plain (warned)
=========================  ==================================================  ===========

``noise_samples=n, noise_std=s`` on saliency, gradient_input, IG, EG, DeepLIFT and guided_backprop averages
the map over n noisy copies (baselines fixed; :mod:`.noise`). SmoothGrad's noise std is relative to the
input range.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from ._common import MethodResult
from .deeplift import deeplift
from .deepshap import deepshap
from .gradcam import gradcam, gradcam_pp
from .gradients import gradient_input, saliency
from .guided import guided_backprop
from .integrated import expected_gradients, integrated_gradients, quadrature
from .occlusion import occlusion
from .smoothgrad import smoothgrad, squaregrad, vargrad


@dataclass(frozen=True)
class MethodSpec:
    """How explain_keras calls a method: its function, the baseline form it takes, whether it needs gradients."""

    function: Callable
    baseline: str  # "none", "point", "distribution" or "any"
    gradient: bool = True
    # a trained explainer explains its own classes: (score_fn, x, original_class, target_class, options) ->
    # (co, ct, options), refusing requested classes it cannot explain (counterfactual.py); None: the caller's
    classes: Callable | None = None


METHODS = {
    "saliency": MethodSpec(saliency, "none"),
    "gradient_input": MethodSpec(gradient_input, "none"),
    "integrated_gradients": MethodSpec(integrated_gradients, "point"),
    "expected_gradients": MethodSpec(expected_gradients, "distribution"),
    "deeplift": MethodSpec(deeplift, "point"),
    "deepshap": MethodSpec(deepshap, "any"),
    "occlusion": MethodSpec(occlusion, "point", gradient=False),
    "gradcam": MethodSpec(gradcam, "none"),
    "gradcam_pp": MethodSpec(gradcam_pp, "none"),
    "smoothgrad": MethodSpec(smoothgrad, "none"),
    "vargrad": MethodSpec(vargrad, "none"),
    "squaregrad": MethodSpec(squaregrad, "none"),
    "guided_backprop": MethodSpec(guided_backprop, "none"),
}


def register(name: str, function: Callable[..., MethodResult],
             baseline: Literal["none", "point", "distribution", "any"] = "point", gradient: bool = True,
             classes: Callable | None = None) -> None:
    """Add a method (used by the perturbation and counterfactual modules); ``classes``: see :class:`MethodSpec`."""
    METHODS[name] = MethodSpec(function, baseline, gradient, classes)


__all__ = ["METHODS", "MethodResult", "MethodSpec", "register", "saliency", "gradient_input",
           "integrated_gradients", "expected_gradients", "deeplift", "deepshap", "occlusion", "quadrature",
           "gradcam", "gradcam_pp",
           "smoothgrad", "vargrad", "squaregrad", "guided_backprop"]
