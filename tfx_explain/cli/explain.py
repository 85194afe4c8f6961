"""``tfx-explain explain``: attributions over a whole dataset split, sharded and resumable.

    tfx-explain explain --model clf.keras --dataset fashion_mnist --split test --method integrated_gradients \\
        --baseline runs/ganmex/generator --target-class all --out runs/ig_all

Kill it and run the same command again: it resumes where it stopped. On several machines, run the same
command on each with its ``TF_CONFIG``; they share the shards and the chief writes the manifest.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ._args import add_model, add_set, as_flag, load_model
from .core import add_common


def _target_class(value):
    from ..errors import InputError

    if value is None or value == "all":
        return value
    try:
        return int(value)
    except ValueError:
        raise InputError(f"--target-class: expected 'all' or an int, got {value!r}") from None


def register(sub):
    p = sub.add_parser("explain", help="explain every image of a dataset split into sharded files (resumable)",
                       description="Explain every image of a dataset split into sharded files under --out. "
                                   "Interrupt it and run the same command again: it resumes. With --target-class "
                                   "N, the images the model already predicts as N are skipped (c_t = c_o has "
                                   "no one-vs-one explanation); the summary counts them.")
    add_model(p)
    p.add_argument("--dataset", required=True, help="dataset name (digits, fashion_mnist, a TFDS name, ...)")
    p.add_argument("--split", default="test", help="train or test (default test)")
    p.add_argument("--method", default="integrated_gradients", help="an attribution method (explain_keras)")
    p.add_argument("--baseline", default="zero", help="zero, blur, mdts, train, ... or a saved GANMEX directory")
    p.add_argument("--target-class", default=None,
                   help="'all' (every c_t != c_o) or an int N (images predicted as N are skipped and counted); "
                        "omit for one-vs-all")
    p.add_argument("--score", default="probability", choices=("probability", "logit"),
                   help="explained score: softmax probability (default) or the pre-softmax logit")
    add_set(p, "steps=50 (the method's options)")
    p.add_argument("--shard-size", type=int, default=256, help="images per shard (the unit of resumption)")
    p.add_argument("--format", default="npy", choices=("npy", "tfrecord"), help="shard file format (default npy)")
    p.add_argument("--batch-size", type=int, default=None, help="inputs per model call (default per method)")
    p.add_argument("--strategy", default=None, help="this worker's devices: default, mirrored or cpu:N")
    p.add_argument("--precision", default="float32", choices=("float32", "mixed_float16", "mixed_bfloat16"),
                   help="compute the model in 16 bits on GPUs (default float32)")
    p.add_argument("--xla", action="store_true", help="compile with XLA (jit_compile)")
    p.add_argument("--image-size", type=int, default=None, help="resize the dataset's images")
    p.add_argument("--input-range", default=None, metavar="LOW,HIGH",
                   help="the model's input range, e.g. 0,255 (default: inferred from the model or the data)")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--progress", default="auto", choices=("auto", "bar", "log", "none"),
                   help="auto: a bar on a terminal or in a notebook, else one line per shard (log)")
    p.add_argument("--worker-timeout", type=float, default=60.0,
                   help="seconds the chief waits for a silent worker before failing (multi-worker runs)")
    add_common(p)
    p.set_defaults(handler=explain, writes_record=True)


def explain(args):
    import time

    from .. import __version__, scale
    from .._io import write_json
    from ..distribute import worker_info
    from ..errors import InputError

    if args.out is None:
        raise InputError("--out: expected the run directory")
    target_class = _target_class(args.target_class)
    from ..api import METHODS, _check_method

    if args.method not in METHODS:
        raise InputError(f"--method: expected one of {sorted(METHODS)}, got {args.method!r}")
    with as_flag("--set"):
        _check_method(args.method, args.settings)
    started = time.time()
    model = load_model(args.model)
    worker = worker_info()
    summary = scale.explain_dataset(
        model, args.dataset, args.out, split=args.split, method=args.method, baseline=args.baseline,
        target_class=target_class, score=args.score, shard_size=args.shard_size,
        format=args.format, batch_size=args.batch_size, strategy=args.strategy, seed=args.seed,
        image_size=args.image_size, limit=args.limit, precision=args.precision, jit_compile=args.xla,
        progress={"none": False}.get(args.progress, args.progress), worker=worker,
        worker_timeout=args.worker_timeout, input_range=_input_range(args.input_range),
        **args.settings).to_dict()
    arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                 if k not in ("handler", "settings", "model_required", "writes_record", "debug")}
    record = Path(args.out) / ("run.json" if worker.is_chief else f"workers/run-{worker.index:05d}.json")
    write_json(record, {"command": "explain", "arguments": arguments, "tfx_explain": __version__,
                        "summary": summary, "seconds": round(time.time() - started, 2)})
    print(json.dumps(summary))
    if isinstance(target_class, int) and summary["rows"] < summary["images"]:
        print(f"tfx-explain explain: note: {summary['images'] - summary['rows']} image(s) predicted as class "
              f"{target_class} were skipped (c_t = c_o has no one-vs-one explanation)", file=sys.stderr)
    return summary


def _input_range(text):
    """'LOW,HIGH' -> (low, high) floats; None stays None."""
    from ..errors import InputError

    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--input-range: expected LOW,HIGH (two numbers), got {text!r}") from None
    return low, high
