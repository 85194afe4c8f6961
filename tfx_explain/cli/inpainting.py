"""Inpainter subcommands: ``train-inpainter`` (DeepFill-v1) and ``evaluate-inpainter`` (hole L1 / PSNR
against the gray and blur fillers on held-out images)."""
from __future__ import annotations

import json
from pathlib import Path

from .core import add_common


def register(sub):
    p = sub.add_parser("train-inpainter", help="train a DeepFill-v1 inpainter (resumes from --out)",
                       description="Train a DeepFill-v1 inpainter; checkpoints go to --out and re-running the "
                                   "same command resumes.")
    p.add_argument("--dataset", default="composite_fashion_mnist", help="dataset name (train split)")
    p.add_argument("--steps", type=int, required=True, help="generator steps")
    p.add_argument("--preset", default="cpu_small", choices=("deepfill_v1", "cpu_small"),
                   help="deepfill_v1: the released configuration (GPU); cpu_small: the shipped model's")
    p.add_argument("--image-size", type=int, default=None, help="H = W, a multiple of 8 (default: the preset's)")
    p.add_argument("--cnum", type=int, default=None, help="generator width (32 in DeepFill-v1)")
    p.add_argument("--batch-size", type=int, default=None, help="images per step (default: the preset's)")
    p.add_argument("--n-critic", type=int, default=None, help="critic steps per generator step (5 in v1)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the preset's)")
    p.add_argument("--strategy", default=None, help="default, mirrored, multiworker or cpu:N")
    add_common(p)
    p.set_defaults(handler=train_inpainter_command)

    p = sub.add_parser("evaluate-inpainter", help="hole L1 / PSNR of an inpainter vs gray and blur fillers",
                       description="Hole L1 and PSNR of an inpainter against the gray and blur fillers on "
                                   "held-out images with random box masks.")
    p.add_argument("--inpainter", default="composite", help="a saved inpainter, a TF1 checkpoint or 'composite'")
    p.add_argument("--dataset", default="composite_fashion_mnist", help="dataset name (test split is used)")
    p.add_argument("--image-size", type=int, default=64, help="H = W of the evaluated images (default 64)")
    p.add_argument("--n", type=int, default=200, help="held-out images")
    add_common(p)
    p.set_defaults(handler=evaluate_inpainter_command)


def train_inpainter_command(args):
    from .. import inpainting
    from ..errors import InputError

    if args.out is None:
        raise InputError("--out: expected a run directory (checkpoints, logs and the trained inpainter go there)")
    names = {"image_size": args.image_size, "cnum": args.cnum, "batch_size": args.batch_size,
             "n_critic": args.n_critic, "learning_rate": args.lr}
    config = {k: v for k, v in names.items() if v is not None}
    inpainter = inpainting.train(args.dataset, steps=args.steps, out_dir=args.out, strategy=args.strategy,
                                 preset=args.preset, seed=args.seed, **config)
    summary = {"saved": str(Path(args.out) / "inpainter"), "cnum": inpainter.cnum, "steps": args.steps,
               "preset": args.preset}
    print(json.dumps(summary))
    return summary


def evaluate_inpainter_command(args):
    from .. import data, inpainting
    from .._io import write_json
    from ..perturbation.fillers import compare_fillers

    inpainter = inpainting.load(args.inpainter)
    options = {"image_size": args.image_size} if args.dataset.startswith("composite_") else {}
    images = data.load(args.dataset, "test", **options)[0][: args.n]
    masks = inpainting.random_box_masks(len(images), images.shape[1:3], seed=args.seed)
    report = {"inpainter": args.inpainter, "dataset": args.dataset, "n": len(images),
              "quality": compare_fillers(images, masks, (inpainter, "gray", "blur"))}
    if args.out is not None:
        write_json(Path(args.out) / "quality.json", report)
    print(json.dumps(report))
    return report
