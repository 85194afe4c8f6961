"""GANMEX subcommands: ``train-ganmex``, ``baselines`` and ``demo`` (the README's main job)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ._args import add_model, add_set, as_flag, load_model
from .core import add_common

# The GPU-sized presets (the 8.4M-parameter generator) take about 3 s per step on a 2-core CPU (issue 14).
CPU_SECONDS_PER_STEP = 3.0


def register(sub):
    p = sub.add_parser("train-ganmex", help="train GANMEX against a saved classifier (resumable)",
                       description="Train GANMEX (a class-targeted baseline generator) against a saved classifier. "
                                   "Checkpoints go to --out; interrupt it and run the same command again to resume.")
    add_model(p)
    p.add_argument("--dataset", default="digits", help="training data (the train split is used)")
    p.add_argument("--steps", type=int, required=True, help="training steps")
    p.add_argument("--preset", default="reference", choices=("reference", "mnist", "svhn", "cifar10", "cpu"),
                   help="reference (the paper's, GPU-sized; default), mnist, svhn, cifar10 or cpu (small, fast)")
    p.add_argument("--strategy", default=None, help="default, mirrored, multiworker or cpu:N")
    add_set(p, "lambda_sim=50 (the preset's entries)")
    add_common(p)
    p.set_defaults(handler=train_ganmex)

    p = sub.add_parser("baselines", help="compute baselines (GANMEX, MDTS, ...) for a dataset split and save them",
                       description="Compute one baseline per image (or per image and target class) and save them "
                                   "with their classes to OUT/baselines.npz. Images whose predicted class is the "
                                   "target class are skipped and counted (c_t = c_o has no baseline).")
    add_model(p)
    p.add_argument("--dataset", default="digits", help="dataset name (default digits)")
    p.add_argument("--split", default="test", help="train or test (default test)")
    p.add_argument("--kind", default="ganmex", help="ganmex, mdts, random_target, zero, blur, ...")
    p.add_argument("--generator", type=Path, default=None, help="saved GANMEX (for --kind ganmex)")
    p.add_argument("--target-class", default="next", help="an int, 'next' ((c_o + 1) mod K) or 'all'")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    add_common(p)
    p.set_defaults(handler=baselines)

    p = sub.add_parser("demo", help="digits classifier + GANMEX + one-vs-one figures (the README's main job)",
                       description="Train (or reuse) a digits classifier and a GANMEX generator in --out, then "
                                   "draw the one-vs-one figures. Re-running resumes the GANMEX training.")
    p.add_argument("--out", type=Path, default=Path("tfx_explain_demo"), help="run directory (tfx_explain_demo)")
    p.add_argument("--steps", type=int, default=None, help="GANMEX steps (default: the demo's)")
    p.set_defaults(handler=demo, writes_record=True)


def train_ganmex(args):
    from .. import ganmex

    with as_flag("--set"):
        ganmex._config(args.preset, args.settings)
    _preset_notice(args)
    model = load_model(args.model)
    config = dict(args.settings)
    config.setdefault("seed", args.seed)
    gen = ganmex.train(model, args.dataset, steps=args.steps, out_dir=args.out, strategy=args.strategy,
                       preset=args.preset, **config)
    print(json.dumps({"steps": args.steps, "seconds": gen.metadata.get("seconds"),
                      "generator": str(Path(args.out) / "generator") if args.out else None,
                      "final_losses": gen.metadata.get("final_losses")}))


def _preset_notice(args):
    """One line: the preset, a CPU time estimate, and --preset cpu when no GPU is visible."""
    import tensorflow as tf

    line = f"tfx-explain train-ganmex: preset {args.preset!r}"
    if args.preset != "cpu" and not tf.config.list_physical_devices("GPU"):
        line += (f" is GPU-sized: about {_duration(CPU_SECONDS_PER_STEP * args.steps)} for {args.steps} "
                 f"step{'s' if args.steps != 1 else ''} on a CPU (no GPU visible); --preset cpu is the small preset "
                 "for CPUs")
    print(line, file=sys.stderr)


def _duration(seconds):
    """A rough duration in the unit that reads best: "9 s", "25 min", "2.8 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _classes(args, predicted, k):
    """(source rows, target classes) for --target-class; images with c_t = c_o are skipped."""
    import numpy as np

    from ..errors import InputError

    value = args.target_class
    if value == "all":
        sources = np.repeat(np.arange(len(predicted)), k - 1)
        return sources, np.concatenate([[t for t in range(k) if t != c] for c in predicted])
    if value == "next":
        return np.arange(len(predicted)), (predicted + 1) % k
    try:
        target = int(value)
    except ValueError:
        raise InputError(f"--target-class: expected an int, 'next' or 'all', got {value!r}") from None
    if not 0 <= target < k:
        raise InputError(f"--target-class: expected a class in [0, {k}) for this model, got {target}")
    sources = np.flatnonzero(predicted != target)
    return sources, np.full(len(sources), target)


def baselines(args):
    import numpy as np

    from .. import baselines as baselines_mod
    from .. import data, ganmex, input_range
    from .._io import atomic_path
    from ..errors import InputError

    if args.out is None:
        raise InputError("--out: expected an output directory for the baselines")
    if args.kind == "ganmex" and args.generator is None:
        raise InputError("--generator: --kind ganmex needs a saved GANMEX (a directory)")
    if args.kind != "ganmex" and args.kind not in baselines_mod.NAMES:  # named here: the library says "baseline"
        raise InputError(f"--kind: expected ganmex (with --generator) or one of {baselines_mod.NAMES}, "
                         f"got {args.kind!r}")
    if args.target_class not in ("all", "next"):
        _classes(args, np.zeros(0, int), 1 << 30)  # the syntax, before loading anything
    model = load_model(args.model)
    x, _ = data.load(args.dataset, args.split)
    x = x[: args.limit] if args.limit else x
    from ..api import _check_input_shape

    _check_input_shape(model, x)  # "x: ..." is reported as --dataset
    k = model.output_shape[-1]
    if args.target_class not in ("all", "next"):
        _classes(args, np.zeros(0, int), k)  # the range, before predicting
    kind = ganmex.load(args.generator) if args.kind == "ganmex" else args.kind
    if args.kind == "ganmex":
        kind.check_classifier(model)
    train = data.load(args.dataset, "train") if args.kind in baselines_mod.NEEDS_DATA else None
    baselines_mod.check_spec(kind, x.shape, train)
    # the range of "max" / "uniform": the model's, else that of the dataset's images
    known_range = input_range.resolve(None, model, train if train is not None else x)
    predicted = model.predict(x, verbose=0).argmax(1)
    sources, targets = _classes(args, predicted, k)
    if len(sources) == 0:
        raise InputError(f"--target-class: every image is predicted as class {args.target_class}; nothing to do")
    result = baselines_mod.resolve(kind, x[sources], predicted[sources], targets, data=train, seed=args.seed,
                                   input_range=known_range)
    out = Path(args.out)
    with atomic_path(out / "baselines.npz", suffix=".npz") as tmp:
        np.savez_compressed(tmp, baselines=result.values, source_index=sources, original_class=predicted[sources],
                            target_class=targets)
    skipped = len(x) - len(np.unique(sources))
    print(json.dumps({"baselines": len(targets), "kind": args.kind, "file": str(out / "baselines.npz"),
                      "skipped_images": int(skipped)}))
    if skipped:
        print(f"tfx-explain baselines: note: {skipped} image(s) predicted as class {args.target_class} were skipped "
              "(c_t = c_o)", file=sys.stderr)


def demo(args):
    from .. import demo as demo_mod

    summary = demo_mod.run(args.out, steps=args.steps or demo_mod.DEMO_STEPS)
    print(json.dumps(summary, indent=2))
