"""Counterfactual explainer subcommands: ``train-explaingan`` and ``train-exaggeration``.

Both load a saved classifier, call :mod:`tfx_explain.counterfactual`, and leave in ``--out`` the
checkpoints (a rerun resumes), TensorBoard logs, sample grids, the saved explainer (``explainer/``) and
``run.json``.
"""
from __future__ import annotations

import json

from .core import add_common


def _setting(text):
    """KEY=VALUE with VALUE read as JSON when it parses (numbers, booleans, lists), else as a string."""
    import argparse

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set: expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        value = json.loads(value)
    except json.JSONDecodeError:
        pass
    return key, tuple(value) if isinstance(value, list) else value


def _add_training(p):
    p.add_argument("--classifier", required=True, help="the classifier to explain (.keras)")
    p.add_argument("--dataset", default="digits", help="training images: a dataset name (default: digits)")
    p.add_argument("--steps", type=int, required=True, help="training steps")
    p.add_argument("--preset", default="cpu", choices=("paper", "cpu", "tiny"))
    p.add_argument("--set", dest="settings", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set kappa=0.05 (repeatable)")
    p.add_argument("--strategy", default=None, help="default, mirrored, multiworker or cpu:N")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--sample-every", type=int, default=None, help="write a sample grid every N steps")
    add_common(p)


def register(sub):
    p = sub.add_parser("train-explaingan", help="train ExplainGAN for a decision between two classes")
    _add_training(p)
    p.add_argument("--classes", type=int, nargs=2, required=True, metavar=("A", "B"))
    p.set_defaults(handler=train_explaingan_command)

    p = sub.add_parser("train-exaggeration", help="train Progressive Exaggeration for one class")
    _add_training(p)
    p.add_argument("--target-class", type=int, required=True)
    p.add_argument("--bins", type=int, default=10)
    p.set_defaults(handler=train_exaggeration_command)


def _common_kwargs(args):
    return dict(steps=args.steps, preset=args.preset, strategy=args.strategy, out_dir=args.out,
                checkpoint_every=args.checkpoint_every, sample_every=args.sample_every, seed=args.seed,
                **dict(args.settings))


def _report(explainer, args):
    summary = {"kind": explainer.kind, "steps": explainer.metadata["steps"],
               "seconds": explainer.metadata["seconds"],
               "final": {k: v[-1] for k, v in explainer.history.items() if v}}
    if args.out is not None:
        summary["saved"] = str(args.out / "explainer")
    print(json.dumps(summary))
    return summary


def train_explaingan_command(args):
    from ..counterfactual import train_explaingan
    from ..models import load_model

    explainer = train_explaingan(load_model(args.classifier), args.dataset, tuple(args.classes),
                                 **_common_kwargs(args))
    return _report(explainer, args)


def train_exaggeration_command(args):
    from ..counterfactual import train_exaggeration
    from ..models import load_model

    explainer = train_exaggeration(load_model(args.classifier), args.dataset, target_class=args.target_class,
                                   bins=args.bins, **_common_kwargs(args))
    return _report(explainer, args)
