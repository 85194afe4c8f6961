"""Counterfactual explainer subcommands: ``train-explaingan`` and ``train-exaggeration``.

Both load a saved classifier, call :mod:`tfx_explain.counterfactual`, and leave in ``--out`` the
checkpoints (a rerun resumes), TensorBoard logs, sample grids, the saved explainer (``explainer/``) and
``run.json``.
"""
from __future__ import annotations

import json

from ._args import add_model, add_set, load_model
from .core import add_common


def _add_training(p):
    add_model(p, help="the classifier to explain (a .keras file)")
    p.add_argument("--dataset", default="digits", help="training images: a dataset name (default: digits)")
    p.add_argument("--steps", type=int, required=True, help="training steps")
    p.add_argument("--preset", default="cpu", choices=("paper", "cpu", "tiny"), help="configuration (default cpu)")
    add_set(p, "kappa=0.05 (config fields)")
    p.add_argument("--strategy", default=None, help="default, mirrored, multiworker or cpu:N")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (default 500)")
    p.add_argument("--sample-every", type=int, default=None, help="write a sample grid every N steps")
    add_common(p)


def register(sub):
    p = sub.add_parser("train-explaingan", help="train ExplainGAN for a decision between two classes",
                       description="Train ExplainGAN for the decision between classes A and B of a saved "
                                   "classifier. Interrupt it and run the same command again to resume.")
    _add_training(p)
    p.add_argument("--classes", type=int, nargs=2, required=True, metavar=("A", "B"), help="the two classes")
    p.set_defaults(handler=train_explaingan_command)

    p = sub.add_parser("train-exaggeration", help="train Progressive Exaggeration for one class",
                       description="Train Progressive Exaggeration for one class of a saved classifier. Interrupt "
                                   "it and run the same command again to resume.")
    _add_training(p)
    p.add_argument("--target-class", type=int, required=True, help="the class whose score is exaggerated")
    p.add_argument("--bins", type=int, default=10, help="score bins of the condition (default 10)")
    p.set_defaults(handler=train_exaggeration_command)


def _common_kwargs(args):
    return dict(steps=args.steps, preset=args.preset, strategy=args.strategy, out_dir=args.out,
                checkpoint_every=args.checkpoint_every, sample_every=args.sample_every, seed=args.seed,
                **args.settings)


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

    explainer = train_explaingan(load_model(args.model), args.dataset, tuple(args.classes),
                                 **_common_kwargs(args))
    return _report(explainer, args)


def train_exaggeration_command(args):
    from ..counterfactual import train_exaggeration

    explainer = train_exaggeration(load_model(args.model), args.dataset, target_class=args.target_class,
                                   bins=args.bins, **_common_kwargs(args))
    return _report(explainer, args)
