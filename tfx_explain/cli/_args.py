"""What every subcommand shares: the checks run before any work, ``--set``, ``--model`` loading, and the
translation of the API's argument names into the CLI's flags. Nothing here imports TensorFlow at import time."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import zipfile
from pathlib import Path

# Count-like flags: 0 or a negative number is always a mistake (never "the default" or "all").
POSITIVE = ("steps", "epochs", "batch_size", "limit", "n", "shard_size", "image_size", "bins", "checkpoint_every",
            "sample_every", "cnum", "n_critic")

# API argument names -> the CLI's flags, for messages raised by the library (first word of the message).
FLAGS = {"out_dir": "--out", "path": "--model", "model": "--model", "classifier": "--model", "data": "--dataset",
         "dataset": "--dataset", "target_class": "--target-class", "image_size": "--image-size",
         "batch_size": "--batch-size", "limit": "--limit", "steps": "--steps", "shard_size": "--shard-size",
         "method_options": "--set", "config": "--set", "preset": "--preset", "seed": "--seed", "method": "--method",
         "baseline": "--baseline", "split": "--split", "strategy": "--strategy", "score": "--score",
         "generator": "--generator", "epochs": "--epochs", "precision": "--precision", "format": "--format",
         "name": "--dataset", "x": "--dataset", "architecture": "--model", "classes": "--classes"}


def cli_message(message):
    """Rewrite a library message in CLI terms: its leading ``name:`` becomes the flag, ``x=True`` becomes ``--x``."""
    head, sep, rest = message.partition(": ")
    if sep and head in FLAGS:
        message = f"{FLAGS[head]}: {rest}"
    message = re.sub(r"\b(allow_mismatch)=True", "--allow-mismatch", message)
    return " ".join(message.split())  # one line


def add_set(p, example="steps=50"):
    """The one ``--set`` syntax: KEY=VALUE pairs, several after one --set or repeated; values read as JSON."""
    p.add_argument("--set", dest="set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help=f"override options, e.g. --set {example}; values are read as JSON (numbers, true/false, "
                        "lists), anything else as text; repeatable")


def parse_settings(pairs):
    """``["k=v", ...]`` -> dict; v as JSON when it parses (1 -> int, 1.5 -> float, [1, 2] -> tuple), else text."""
    from ..errors import InputError

    out = {}
    for pair in pairs or []:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise InputError(f"--set: expected KEY=VALUE, got {pair!r}")
        try:
            value = json.loads(value)
        except ValueError:
            pass
        out[key.strip()] = tuple(value) if isinstance(value, list) else value
    return out


@contextlib.contextmanager
def as_flag(flag):
    """Re-raise a library error about an option as an error about ``flag`` (e.g. ``--set``)."""
    from ..errors import InputError, TfxExplainError

    try:
        yield
    except TfxExplainError as err:
        _, sep, rest = str(err).partition(": ")
        raise InputError(f"{flag}: {rest if sep else err}") from err


class DeprecatedAlias(argparse.Action):
    """A hidden old spelling of a flag: stores into the new one and prints one deprecation line."""

    def __init__(self, option_strings, dest, new=None, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"tfx-explain: {option_string} is deprecated; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_model(p, required=True, help="the classifier (a .keras file)"):
    """``--model`` (and the deprecated ``--classifier``)."""
    p.add_argument("--model", type=Path, default=None, help=help + (" (required)" if required else ""))
    p.add_argument("--classifier", dest="model", type=Path, action=DeprecatedAlias, new="--model",
                   help=argparse.SUPPRESS)
    p.set_defaults(model_required=required)


def preflight(args):
    """Everything that can be checked before any work: counts, --set, --model's file, --out's writability."""
    from .._checks import keras_backend
    from ..errors import InputError

    keras_backend()
    for name in POSITIVE:
        value = getattr(args, name, None)
        if value is not None and not isinstance(value, str) and value < 1:  # (--steps also takes 'auto')
            raise InputError(f"--{name.replace('_', '-')}: expected a positive integer, got {value}")
    if hasattr(args, "set"):
        args.settings = parse_settings(args.set)
    if getattr(args, "data_dir", None) is not None:
        if not Path(args.data_dir).is_dir():
            raise InputError(f"--data-dir: no such directory: {args.data_dir}")
        os.environ["TFDS_DATA_DIR"] = str(Path(args.data_dir).absolute())  # read by tensorflow-datasets
    if getattr(args, "model_required", False) and args.model is None:
        raise InputError("--model: required (the classifier, a .keras file)")
    if getattr(args, "model_required", None) is not None and args.model is not None:
        check_model_file(args.model)
    if getattr(args, "out", None) is not None:
        check_writable(args.out)


def check_model_file(path, flag="--model"):
    """A readable, intact .keras archive (zip with valid CRCs); the cheap checks before Keras loads it."""
    from ..errors import InputError

    path = Path(path)
    if not path.exists():
        raise InputError(f"{flag}: no such file: {path}")
    if path.is_dir():
        hint = f" (did you mean {path / 'model.keras'}?)" if (path / "model.keras").exists() else ""
        raise InputError(f"{flag}: {path} is a directory; expected a .keras file{hint}")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise InputError(f"{flag}: {path} is not a readable .keras file ({err})") from None
    if bad is not None:
        raise InputError(f"{flag}: {path} is corrupted (checksum error in {bad})")


def load_model(path, flag="--model"):
    """Load ``--model`` safely (no Lambda code is run); every failure is one line naming the flag."""
    from ..errors import InputError, TfxExplainError
    from ..models import load_model as load

    check_model_file(path, flag)
    try:
        return load(path)
    except TfxExplainError:
        raise
    except Exception as err:  # noqa: BLE001 - Keras raises ValueError, TypeError, KeyError... for files it cannot rebuild
        text = " ".join(str(err).split())
        if "Lambda" in text:
            raise InputError(f"{flag}: {path} holds a Lambda layer (arbitrary Python code), which is not loaded "
                             "for safety; rebuild the model without Lambda layers") from None
        raise InputError(f"{flag}: cannot load {path} as a Keras model: {text[:200]}") from None


def check_writable(out, flag="--out"):
    """``out`` is a directory (or can become one) that this process can write into; creates nothing."""
    from .._io import check_writable_dir

    check_writable_dir(out, flag)
