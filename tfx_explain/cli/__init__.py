"""``tfx-explain``: command-line subcommands. Parse arguments, call the public API, write a run directory.

No mathematics lives here: every subcommand is a thin layer over a Python function a user could call.
Each module of this package defines ``register(subparsers)``, which adds its subcommands with
``set_defaults(handler=...)``; modules are discovered, so a new area adds a file and touches nothing else.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path


def build_parser():
    parser = argparse.ArgumentParser(prog="tfx-explain",
                                     description="Explain Keras image classifiers with generative models.")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: (m.name != "core", m.name)):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    args = parser.parse_args(argv)
    from ..errors import TfxExplainError

    start = time.time()
    try:
        args.handler(args)
    except TfxExplainError as err:
        print(f"tfx-explain {args.command}: error: {err}", file=sys.stderr)
        return 2
    if getattr(args, "out", None) is not None and not getattr(args, "writes_record", False):
        _record(args, time.time() - start)
    return 0


def _record(args, seconds):
    """Write ``<out>/run.json``: the command, its arguments and how long it took."""
    from .. import __version__
    from .._io import write_json

    arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "handler"}
    write_json(Path(args.out) / "run.json", {"command": args.command, "arguments": arguments,
                                             "tfx_explain": __version__, "seconds": round(seconds, 2)})


if __name__ == "__main__":
    sys.exit(main())
