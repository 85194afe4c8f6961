"""Saved generators: a directory with ``<name>.keras`` files and ``metadata.json``.

Loading uses ``keras.models.load_model(..., safe_mode=True)``: no pickle and no code beyond the package's
registered layers. The metadata carries the classes, image size, pixel ranges, the training config and
the SHA-256 fingerprint of the classifier the generator was trained against.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .._io import _json_default
from ..errors import InputError, MismatchError
from ..models.introspect import weights_fingerprint

METADATA = "metadata.json"


def save_models(path, models, metadata):
    """Write ``{name: keras model}`` and metadata into directory ``path``, replacing it atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for name, model in models.items():
            model.save(tmp / f"{name}.keras")
        (tmp / METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True, default=_json_default))
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return path


def load_models(path, names):
    """Read the metadata and the named ``.keras`` models of a saved directory (safe mode)."""
    import keras

    # Every module with registered layers, so a fresh process can deserialize any of our models.
    from . import contextual_attention, layers, layers_counterfactual  # noqa: F401

    path = Path(path)
    meta_path = path / METADATA
    if not meta_path.exists():
        raise InputError(f"path: {path} is not a saved tfx_explain generator (no {METADATA})")
    metadata = json.loads(meta_path.read_text())
    models = {}
    for name in names:
        file = path / f"{name}.keras"
        if file.exists():
            models[name] = keras.models.load_model(file, safe_mode=True, compile=False)
    return metadata, models


def check_fingerprint(metadata, classifier, allow_mismatch=False, what="generator"):
    """Refuse to use a generator with a classifier other than the one it was trained against."""
    expected = metadata.get("classifier_fingerprint")
    if expected is None or classifier is None:
        return
    actual = weights_fingerprint(classifier)
    if actual != expected and not allow_mismatch:
        raise MismatchError(
            f"classifier: this {what} was trained against a classifier with weights fingerprint "
            f"{expected[:12]}..., but the given model's is {actual[:12]}...; its baselines would explain "
            "another model. Retrain it, or pass allow_mismatch=True to use it anyway")
