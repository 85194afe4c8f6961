"""``tfx-explain``: command-line subcommands. Parse arguments, call the public API, write a run directory.

No mathematics lives here: every subcommand is a thin layer over a Python function a user could call.
Each module of this package defines ``register(subparsers)``, which adds its subcommands with
``set_defaults(handler=...)``; modules are discovered, so a new area adds a file and touches nothing else.

Errors: a user error exits with status 2 and one line on stderr naming the flag; Ctrl-C exits with 130 and
one line saying whether re-running the command resumes; ``--debug`` shows tracebacks (and TensorFlow's C++
log lines, which are otherwise limited by ``TF_CPP_MIN_LOG_LEVEL=2`` unless the user set that variable).
TensorFlow is imported only by the handlers, so ``--help`` and ``--version`` are quick.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shutil
import sys
import time
from pathlib import Path

# Commands whose --out holds checkpoints or finished shards: re-running the same command resumes.
RESUMES = {"explain", "train-ganmex", "train-explaingan", "train-exaggeration", "train-inpainter", "demo"}


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2): ``tfx-explain CMD: error: ...``; no usage block."""

    def error(self, message):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def build_parser():
    from .. import __version__

    parser = Parser(prog="tfx-explain", description="Explain Keras image classifiers with generative models.")
    parser.add_argument("--version", action="version", version=f"tfx-explain {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and TensorFlow's log lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: (m.name != "core", m.name)):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    for child in sub.choices.values():
        if "--dataset" in child._option_string_actions:
            child.add_argument("--data-dir", type=Path, default=None,
                               help="a prepared tensorflow-datasets directory, for TFDS names such as mnist or "
                                    "cifar10 (sets TFDS_DATA_DIR); nothing is downloaded")
        child.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help="show tracebacks and TensorFlow's log lines")
    return parser


def main(argv=None):
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # named by the subcommand, whose --help lists the flags it takes
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
        commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    if not args.debug:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = getattr(args, "out", None)
    fresh = [p for p in _ancestors(out) if not p.exists()] if out is not None else []
    start = time.time()
    try:
        from ._args import preflight

        preflight(args)
        args.handler(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        _remove_empty(fresh)
        then = ("re-running the same command resumes where it stopped" if args.command in RESUMES
                else "re-running the command starts over")
        print(f"tfx-explain {args.command}: interrupted; {then}", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            raise
        _remove_empty(fresh)
        print(f"tfx-explain {args.command}: error: {_describe(err)}", file=sys.stderr)
        return 2 if _is_user_error(err) else 1
    if out is not None and not getattr(args, "writes_record", False):
        _record(args, time.time() - start)
    return 0


def _is_user_error(err):
    from ..errors import TfxExplainError

    return isinstance(err, (TfxExplainError, OSError))


def _describe(err):
    from ..errors import TfxExplainError
    from ._args import cli_message

    if isinstance(err, TfxExplainError):
        return cli_message(str(err))
    if isinstance(err, OSError) and err.filename is not None:
        return f"cannot use {err.filename}: {err.strerror or err}"
    text = " ".join(str(err).split())[:300]
    return f"{type(err).__name__}: {text} (unexpected; run again with --debug for the traceback)"


def _ancestors(path):
    path = Path(path).absolute()
    return [path, *path.parents]


def _remove_empty(fresh):
    """Remove the directories this command created if they are still empty (no half-written --out)."""
    for path in fresh:
        if path.is_dir() and not any(p.is_file() for p in path.rglob("*")):
            shutil.rmtree(path, ignore_errors=True)


def _record(args, seconds):
    """Write ``<out>/run.json``: the command, its arguments and how long it took."""
    from .. import __version__
    from .._io import write_json

    skip = {"handler", "settings", "model_required", "writes_record", "debug"}
    arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in skip}
    write_json(Path(args.out) / "run.json", {"command": args.command, "arguments": arguments,
                                             "tfx_explain": __version__, "seconds": round(seconds, 2)})


if __name__ == "__main__":
    sys.exit(main())
