"""GANMEX subcommands: ``train-ganmex``, ``baselines`` and ``demo`` (the README's main job)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .core import add_common


def _parse_settings(pairs):
    """``key=value`` pairs -> dict with ints, floats and booleans parsed."""
    out = {}
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        if value in ("true", "false"):
            value = value == "true"
        out[key] = value
    return out


def register(sub):
    p = sub.add_parser("train-ganmex", help="train GANMEX against a saved classifier")
    p.add_argument("--model", type=Path, required=True, help="the classifier (.keras)")
    p.add_argument("--dataset", default="digits", help="training data (the train split is used)")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--preset", default="reference", help="reference, mnist, svhn, cifar10 or cpu")
    p.add_argument("--strategy", default=None, help="default, mirrored, multiworker or cpu:N")
    p.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="override preset entries, e.g. lambda_sim=50")
    add_common(p)
    p.set_defaults(handler=train_ganmex)

    p = sub.add_parser("baselines", help="compute baselines (GANMEX, MDTS, ...) for a dataset split and save them")
    p.add_argument("--model", type=Path, required=True, help="the classifier (.keras)")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--split", default="test")
    p.add_argument("--kind", default="ganmex", help="ganmex, mdts, random_target, zero, blur, ...")
    p.add_argument("--generator", type=Path, default=None, help="saved GANMEX (for --kind ganmex)")
    p.add_argument("--target-class", default="next", help="an int, 'next' ((c_o + 1) mod K) or 'all'")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    add_common(p)
    p.set_defaults(handler=baselines)

    p = sub.add_parser("demo", help="digits classifier + GANMEX + one-vs-one figures (the README's main job)")
    p.add_argument("--out", type=Path, default=Path("tfx_explain_demo"))
    p.add_argument("--steps", type=int, default=None, help="GANMEX steps (default: the demo's)")
    p.set_defaults(handler=demo, writes_record=True)


def train_ganmex(args):
    from .. import ganmex
    from ..models import load_model

    model = load_model(args.model)
    config = _parse_settings(args.set)
    config.setdefault("seed", args.seed)
    gen = ganmex.train(model, args.dataset, steps=args.steps, out_dir=args.out, strategy=args.strategy,
                       preset=args.preset, **config)
    print(json.dumps({"steps": args.steps, "seconds": gen.metadata.get("seconds"),
                      "generator": str(Path(args.out) / "generator") if args.out else None,
                      "final_losses": gen.metadata.get("final_losses")}))


def baselines(args):
    from .. import baselines as baselines_mod
    from .. import data, ganmex, input_range
    from .._io import atomic_path
    from ..errors import InputError
    from ..models import load_model

    if args.out is None:
        raise InputError("--out: expected an output directory for the baselines")
    model = load_model(args.model)
    x, _ = data.load(args.dataset, args.split)
    x = x[: args.limit] if args.limit else x
    predicted = model.predict(x, verbose=0).argmax(1)
    k = model.output_shape[-1]
    if args.target_class == "all":
        sources = np.repeat(np.arange(len(x)), k - 1)
        targets = np.concatenate([[t for t in range(k) if t != c] for c in predicted])
    else:
        sources = np.arange(len(x))
        targets = (predicted + 1) % k if args.target_class == "next" else np.full(len(x), int(args.target_class))
    if args.kind == "ganmex":
        if args.generator is None:
            raise InputError("--generator: --kind ganmex needs a saved GANMEX (a directory)")
        kind = ganmex.load(args.generator)
        kind.check_classifier(model)
    else:
        kind = args.kind
    train = data.load(args.dataset, "train") if args.kind in baselines_mod.NEEDS_DATA else None
    baselines_mod.check_spec(kind, x[sources].shape, train)
    # the range of "max" / "uniform": the model's, else that of the dataset's images
    rng = input_range.resolve(None, model, train if train is not None else x)
    result = baselines_mod.resolve(kind, x[sources], predicted[sources], targets, data=train, seed=args.seed,
                                   input_range=rng)
    out = Path(args.out)
    with atomic_path(out / "baselines.npz", suffix=".npz") as tmp:
        np.savez_compressed(tmp, baselines=result.values, source_index=sources, original_class=predicted[sources],
                            target_class=targets)
    print(json.dumps({"baselines": int(len(targets)), "kind": args.kind, "file": str(out / "baselines.npz")}))


def demo(args):
    from .. import demo as demo_mod

    summary = demo_mod.run(args.out, steps=args.steps or demo_mod.DEMO_STEPS)
    print(json.dumps(summary, indent=2))
