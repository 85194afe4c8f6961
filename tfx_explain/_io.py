"""Atomic file writes: nothing half-written is ever visible under the final name."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file lives in the same directory so that ``os.replace`` is an atomic rename.
    ``suffix`` keeps writers that insist on an extension (``.keras``, ``.npz``) happy.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix if suffix is not None else "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers create the file themselves
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_writable_dir(path, name="out_dir"):
    """Raise InputError naming ``name`` unless ``path`` is, or can become, a directory this process can write
    into. Creates nothing: a probe file is made and removed in the nearest existing ancestor."""
    from .errors import InputError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{name}: {path} exists and is not a directory")
    probe = path.absolute()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{name}: {probe} is not a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tfx-write-test-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise InputError(f"{name}: cannot write to {probe} ({err.strerror})") from None


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_bytes(path, data: bytes):
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
