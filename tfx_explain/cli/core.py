"""Core subcommands: ``info`` and ``train-classifier``."""
from __future__ import annotations

import json
import platform
from pathlib import Path


def add_common(p):
    """Options every subcommand shares: the output directory and the seed."""
    p.add_argument("--out", type=Path, default=None, help="output directory (a JSON record of the run is written)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")


def register(sub):
    p = sub.add_parser("info", help="versions, devices and which datasets are present",
                       description="Print the versions of tfx_explain and its libraries, the devices TensorFlow "
                                   "sees, and which datasets are present on this machine.")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=info)

    p = sub.add_parser("train-classifier", help="train one of the papers' classifiers and save it (.keras)",
                       description="Train one of the papers' classifiers on a dataset and save it as "
                                   "OUT/model.keras. An interrupted run starts over.")
    p.add_argument("--dataset", default="digits", help="dataset name (default: digits, the embedded set)")
    p.add_argument("--model", default="mnist_cnn", help="architecture: mnist_cnn, cifar_cnn, mobilenet_classifier")
    p.add_argument("--epochs", type=int, default=30, help="passes over the training set (default 30)")
    p.add_argument("--batch-size", type=int, default=32, help="images per training step (default 32)")
    p.add_argument("--optimizer", default="adam", choices=("adam", "rmsprop", "sgd"), help="default adam")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    p.add_argument("--image-size", type=int, default=None, help="resize the images to this size (pixels)")
    p.add_argument("--strategy", default=None, help="default, mirrored, multiworker or cpu:N")
    add_common(p)
    p.set_defaults(handler=train_classifier_command, writes_record=True)


def info(args):
    import keras
    import tensorflow as tf

    from .. import __version__, data

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
    from ..models import train_classifier

    result = train_classifier(args.model, args.dataset, epochs=args.epochs, batch_size=args.batch_size,
                              optimizer=args.optimizer, learning_rate=args.lr, strategy=args.strategy,
                              seed=args.seed, image_size=args.image_size, out_dir=args.out, verbose="auto")
    summary = {"dataset": args.dataset, "model": args.model, "test_accuracy": result.test_accuracy,
               "seconds": round(result.seconds, 1)}
    if args.out:
        summary["saved"] = str(Path(args.out) / "model.keras")
    print(json.dumps(summary))
    return summary


