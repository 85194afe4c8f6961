"""``tfx-explain evaluate``: the evaluation grid (methods x baselines x metrics) of a saved classifier.

    tfx-explain evaluate --model runs/digits/model.keras --dataset digits --n 100 \
        --methods integrated_gradients,deeplift,occlusion --baselines zero,mdts,GAN=runs/ganmex \
        --metrics aopc_100,aopc_all,sparsity,faithfulness,monotonicity --out runs/eval

writes ``grid.md``, ``grid.csv``, ``grid.json`` and ``run.json`` to ``--out``. A baseline is a name
(``zero``, ``mdts``, ``train`` for expected_gradients, ...) or ``LABEL=PATH`` for a saved GANMEX generator.
"""
from __future__ import annotations

import json
from pathlib import Path

from ._args import add_model, load_model
from .core import add_common


def register(sub):
    p = sub.add_parser("evaluate", help="judge attribution methods x baselines with the papers' metrics",
                       description="Evaluate attribution methods x baselines on the first --n samples of a split "
                                   "with the papers' metrics; writes grid.md, grid.csv and grid.json to --out.")
    add_model(p)
    p.add_argument("--dataset", default="digits", help="dataset name; its train split feeds mdts/train baselines")
    p.add_argument("--split", default="test", choices=("train", "test"), help="split of the explained samples")
    p.add_argument("--n", type=int, default=100, help="explained samples (the first n of the split)")
    p.add_argument("--targets", default="random", choices=("random", "all", "none"),
                   help="one-vs-one target classes per sample ('none': one-vs-all)")
    p.add_argument("--methods", default="integrated_gradients,deeplift,occlusion",
                   help="comma-separated method names")
    p.add_argument("--baselines", default="zero,mdts",
                   help="comma-separated baseline names or LABEL=PATH of a saved GANMEX generator")
    p.add_argument("--metrics", default="aopc_100,aopc_all,sparsity,faithfulness,monotonicity",
                   help="comma-separated metric names (tfx_explain.metrics.grid.METRICS)")
    p.add_argument("--steps", type=_steps, default=None,
                   help="path steps of integrated/expected gradients (200), or 'auto': refine each sample until "
                        "--tolerance is met")
    p.add_argument("--tolerance", type=float, default=None,
                   help="relative tolerance of --steps auto (default 0.01; IG: completeness and the map's last "
                        "change, EG: the standard error of the mean over references)")
    p.add_argument("--score", default="probability", choices=("probability", "logit"),
                   help="explained score: softmax probability (default) or the pre-softmax logit")
    p.add_argument("--batch-size", type=int, default=None, help="model inputs per call (default per method)")
    add_common(p)
    p.set_defaults(handler=evaluate_command)


def _split(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def _baselines(text):
    out = {}
    for part in _split(text):
        label, _, value = part.partition("=")
        out[label] = Path(value) if value else label
    return out


def evaluate_command(args):
    from .. import data
    from ..errors import InputError
    from ..metrics import evaluate_grid, expand_targets

    if args.n < 1:
        raise InputError(f"--n: expected a positive number of samples, got {args.n}")
    if args.tolerance is not None and args.steps != "auto":
        raise InputError("--tolerance: applies to --steps auto only")
    if args.tolerance is not None and not 0 < args.tolerance < 1:
        raise InputError(f"--tolerance: expected a number in (0, 1), got {args.tolerance}")
    model = load_model(args.model)
    composite = args.dataset.startswith("composite_")
    loaded = data.load(args.dataset, args.split, with_masks=composite)
    x, labels = loaded[0][: args.n], loaded[1][: args.n]
    masks = loaded[2][: args.n] if composite else None
    train = data.load(args.dataset, "train")
    num_classes = int(train[1].max()) + 1
    target = None
    if args.targets != "none":
        x, labels, target, index = expand_targets(x, labels, num_classes, args.targets, args.seed)
        masks = masks[index] if masks is not None else None
    wanted = _split(args.metrics)
    n_scenes = len(data.composite.DEFAULT_SCENES) if composite else None
    options = {}
    if args.steps is not None:
        options = {m: {"steps": args.steps} for m in ("integrated_gradients", "expected_gradients")}
    for m in options if args.tolerance is not None else ():
        options[m]["tolerance"] = args.tolerance
    grid = evaluate_grid(model, x, labels, target, methods=_split(args.methods), baselines=_baselines(args.baselines),
                         metrics=wanted, data=train, masks=masks, n_scenes=n_scenes, method_options=options,
                         score=args.score, seed=args.seed, batch_size=args.batch_size, progress="auto")
    print(grid.to_markdown())
    if args.out is not None:
        paths = grid.save(args.out, "grid")
        print(json.dumps({"saved": [str(p) for p in paths]}))
    return grid


def _steps(value):
    """--steps: a positive integer or 'auto' (argparse reports anything else as a bad --steps)."""
    if value == "auto":
        return value
    return int(value)

