"""Argument checks shared by the API and the CLI: counts and option types. Each raises InputError naming
the argument, before any work starts."""
from __future__ import annotations

import json
import numbers
import os
from pathlib import Path

from .errors import InputError


def positive_int(value, name, allow_none=False):
    """Return ``value`` as an int >= 1; ``None`` passes when ``allow_none`` (meaning "the default")."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def option_types(options, defaults, name):
    """Check each of ``options`` against the type of its default: an int option takes an int, a float option
    a number, a bool option a bool. Options whose default is None, a string or a sequence are not checked here."""
    for key, value in options.items():
        default = defaults.get(key)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
            kind = "true or false"
        elif isinstance(default, numbers.Integral):  # (window and stride also take one integer per axis)
            ok = _is_int(value) or (isinstance(value, (tuple, list)) and len(value) > 0 and all(map(_is_int, value)))
            kind = "an integer (or a tuple of integers)"
        elif isinstance(default, numbers.Real):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            kind = "a number"
        else:
            continue
        if not ok:
            raise InputError(f"{name}: {key} expects {kind}, got {value!r}")


def keras_backend():
    """Refuse a Keras backend other than TensorFlow (``KERAS_BACKEND`` or ``keras.json``), before Keras is imported:
    the attributions use TensorFlow's gradient tapes and tf.function, and Keras would fail to import without
    the other backend's package."""
    backend = os.environ.get("KERAS_BACKEND")
    source = "the environment variable KERAS_BACKEND"
    if backend is None:
        config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
        try:
            backend = json.loads(config.read_text()).get("backend")
            source = f"{config}"
        except (OSError, ValueError, AttributeError):
            backend = None
    if backend not in (None, "tensorflow"):
        raise InputError(f"KERAS_BACKEND: tfx_explain needs Keras's tensorflow backend, but {source} selects "
                         f"{backend!r}; set KERAS_BACKEND=tensorflow")
