"""tfx_explain: explain Keras image classifiers with generative models.

The user's door is :func:`explain_keras`; the modules hold the parts: ``data``, ``models``,
``baselines``, ``attribution``, ``input_range``, ``ganmex``, ``perturbation``, ``metrics``, ``plots``.

The modules are imported on first use (PEP 562), so that ``import tfx_explain`` and ``tfx-explain --help``
do not start TensorFlow. TensorFlow's C++ start-up lines are governed by the environment variable
``TF_CPP_MIN_LOG_LEVEL`` (0: all, 2: errors only, 3: none); the library leaves it as the user set it
(the ``tfx-explain`` command sets 2 unless it is set). Keras must use its TensorFlow backend
(``KERAS_BACKEND`` unset or ``tensorflow``); another backend is refused on first use with one error.
"""
import importlib as _importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what __getattr__ gives, for type checkers (at run time the modules load on first use)
    from . import (attribution, baselines, counterfactual, data, distribute, errors, ganmex, input_range, metrics,
                   models, perturbation, plots, scale)
    from .api import explain_keras
    from .explanation import Explanation

__version__ = "0.1.0"

__all__ = ["__version__", "explain_keras", "Explanation", "attribution", "baselines", "data", "distribute",
           "counterfactual", "errors", "ganmex", "input_range", "metrics", "models", "perturbation", "plots",
           "scale"]

_ATTRIBUTES = {"explain_keras": "api", "Explanation": "explanation"}


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        from ._checks import keras_backend

        keras_backend()
    if name in _ATTRIBUTES:
        return getattr(_importlib.import_module(f".{_ATTRIBUTES[name]}", __name__), name)
    if name in __all__:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tfx_explain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
