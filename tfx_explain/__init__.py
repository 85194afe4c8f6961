"""tfx_explain: explain Keras image classifiers with generative models.

The user's door is :func:`explain_keras`; the modules hold the parts: ``data``, ``models``,
``baselines``, ``attribution``, ``input_range``, ``ganmex``, ``perturbation``, ``metrics``, ``plots``.
"""
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from . import (attribution, baselines, data, distribute, errors, ganmex, input_range, metrics,  # noqa: E402
               models, perturbation, plots, scale)
from .api import explain_keras  # noqa: E402
from .explanation import Explanation  # noqa: E402
from . import counterfactual  # noqa: E402  - registers the "explaingan" and "exaggeration" methods

__all__ = ["__version__", "explain_keras", "Explanation", "attribution", "baselines", "data", "distribute",
           "counterfactual", "errors", "ganmex", "input_range", "metrics", "models", "perturbation", "plots", "scale"]
