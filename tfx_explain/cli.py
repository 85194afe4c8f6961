"""``tfx-explain``: command-line subcommands. Parse arguments, call the public API, write a run directory.

No mathematics lives here: every subcommand is a thin layer over a Python function a user could call.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

def _add_common(p):
    p.add_argument("--out", type=Path, default=None, help="output directory (a JSON record of the run is written)")
    p.add_argument("--seed", type=int, default=0)


def build_parser():
    parser = argparse.ArgumentParser(prog="tfx-explain", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="versions, devices and which datasets are present")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = sub.add_parser("train-classifier", help="train one of the papers' classifiers and save it (.keras)")
    p.add_argument("--dataset", default="digits", help="dataset name (default: digits, the embedded set)")
    p.add_argument("--model", default="mnist_cnn", help="architecture: mnist_cnn, cifar_cnn, mobilenet_classifier")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--optimizer", default="adam", choices=("adam", "rmsprop", "sgd"))
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--strategy", default=None, help="default, mirrored, multiworker or cpu:N")
    _add_common(p)

    return parser


def info(args):
    import tensorflow as tf
    import keras

    from . import __version__, data

    report = {
        "tfx_explain": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "devices": [f"{d.device_type}:{d.name}" for d in tf.config.list_physical_devices()],
        "datasets": data.available(),
    }
    for name in ("tf_keras", "shap", "tensorflow_datasets"):
        try:
            module = __import__(name)
            report[name] = getattr(module, "__version__", "installed")
        except ImportError:
            report[name] = "not installed"
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            if isinstance(value, dict):
                print(f"{key}:")
                for k, v in value.items():
                    print(f"  {k}: {v}")
            else:
                print(f"{key}: {value}")
    return report


def train_classifier_command(args):
    from .models import train_classifier

    result = train_classifier(args.model, args.dataset, epochs=args.epochs, batch_size=args.batch_size,
                              optimizer=args.optimizer, learning_rate=args.lr, strategy=args.strategy,
                              seed=args.seed, image_size=args.image_size, out_dir=args.out, verbose="auto")
    summary = {"dataset": args.dataset, "model": args.model, "test_accuracy": result.test_accuracy,
               "seconds": round(result.seconds, 1)}
    if args.out:
        summary["saved"] = str(Path(args.out) / "model.keras")
    print(json.dumps(summary))
    return summary


HANDLERS = {"info": info, "train-classifier": train_classifier_command}


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = HANDLERS[args.command]
    from .errors import TfxExplainError

    start = time.time()
    try:
        handler(args)
    except TfxExplainError as err:
        print(f"tfx-explain {args.command}: error: {err}", file=sys.stderr)
        return 2
    if getattr(args, "out", None) is not None and args.command != "train-classifier":
        _record(args, time.time() - start)
    return 0


def _record(args, seconds):
    from . import __version__
    from ._io import write_json

    record_path = Path(args.out) / "run.json"
    if record_path.exists():
        return
    arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    write_json(record_path, {"command": args.command, "arguments": arguments, "tfx_explain": __version__,
                             "seconds": round(seconds, 2)})


if __name__ == "__main__":
    sys.exit(main())
