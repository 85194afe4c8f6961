"""Throughput at scale: 1 vs 2 devices and 1 vs 2 workers, for batch attribution and GANMEX training.

Devices are the local GPUs when there are at least two, else two logical CPU devices (``cpu:2``); workers are
processes on 127.0.0.1 with their own TF_CONFIG, each with one device. Measured:

- attribution: a dataset run (``scale.explain_dataset``, Integrated Gradients, 200 steps, one-vs-one, zero
  baseline) over N test images of the embedded digits, images per second of computation;
- GANMEX training (``preset="cpu"``, or ``"mnist"`` with ``--preset``): global steps per second after a
  warm-up, same global batch in every setting.

Worker processes time only their own work (process start and TensorFlow's import are left out); a 2-worker
figure is total images (steps) over the slowest worker's time. Writes JSON (default bench/scale.json):

    PYTHONPATH=. python scripts/bench_scale.py --out bench/scale.json
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _classifier(cache):
    from tfx_explain.models import load_model, save_model, train_classifier

    path = Path(cache) / "mnist_cnn_digits.keras"
    if not path.exists():
        save_model(train_classifier("mnist_cnn", "digits", epochs=30, verbose=0).model, path)
    return load_model(path), path


def attribution(model, n, steps, strategy, out, worker=None):
    from tfx_explain import scale

    summary = scale.explain_dataset(model, "digits", out, split="test", limit=n, method="integrated_gradients",
                                    steps=steps, target_class=(0 if worker is None else 0), shard_size=64,
                                    strategy=strategy, progress=False, worker=worker)
    return {"images": summary.images, "computed_images": summary.images if summary.complete else None,
            "seconds": summary.seconds, "images_per_second": summary.images_per_second}


def training(model, steps, warmup, strategy, preset, shared_dir=None):
    """Steps per second of GANMEX training after ``warmup`` steps (tracing and first steps excluded).

    Workers must pass one ``shared_dir``: the timed run resumes from the warm-up's checkpoint, which every
    worker reads from the chief's directory (see ``train_loop``).
    """
    from tfx_explain import data, ganmex

    x, y = data.load("digits", "train")
    with contextlib.nullcontext(shared_dir) if shared_dir else tempfile.TemporaryDirectory() as tmp:
        ganmex.train(model, (x, y), steps=warmup, strategy=strategy, preset=preset, out_dir=tmp, verbose=0,
                     checkpoint_every=0, sample_every=0)
        start = time.perf_counter()
        ganmex.train(model, (x, y), steps=warmup + steps, strategy=strategy, preset=preset, out_dir=tmp, verbose=0,
                     checkpoint_every=0, sample_every=0)
        seconds = time.perf_counter() - start
    return {"steps": steps, "seconds": round(seconds, 3), "steps_per_second": round(steps / seconds, 3)}


def worker_main(args):
    """One process of the 2-worker measurements (started by ``main`` with TF_CONFIG)."""
    from tfx_explain import distribute

    # Collective ops must be configured before TensorFlow's context starts: make the strategy first.
    strategy = None
    if "training" in args.parts:
        strategy = distribute.multi_worker_strategy(startup_timeout=600, heartbeat_timeout=60)
    model, _ = _classifier(args.cache)
    me = distribute.worker_info()
    result = {}
    if "attribution" in args.parts:
        out = Path(args.scratch) / "run"
        start = time.perf_counter()
        summary = attribution(model, args.images, args.ig_steps, None, out, worker=me)
        result["attribution"] = dict(summary, wall=round(time.perf_counter() - start, 3),
                                     shard_images=_my_images(out, me))
    if "training" in args.parts:
        result["training"] = training(model, args.train_steps, args.warmup, strategy, args.preset,
                                      shared_dir=str(Path(args.scratch) / "gan"))
    Path(args.scratch, f"worker-{me.index}.json").write_text(json.dumps(result))


def _my_images(out, me):
    from tfx_explain.scale import store

    return sum(e["images"] for s in range(10_000) if s % me.count == me.index
               for e in [store.read_entry(Path(out) / "shards", s)] if e is not None)


def two_workers(args):
    """Run ``worker_main`` in two processes on 127.0.0.1; combine their timings."""
    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    with tempfile.TemporaryDirectory() as scratch:
        procs = []
        for i in range(2):
            env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                       PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
            cmd = [sys.executable, __file__, "--worker", "--scratch", scratch, "--cache", args.cache,
                   "--images", str(args.images), "--ig-steps", str(args.ig_steps), "--train-steps",
                   str(args.train_steps), "--warmup", str(args.warmup), "--preset", args.preset, "--parts", *args.parts]
            procs.append(subprocess.Popen(cmd, env=env))
        if any(p.wait(timeout=3600) != 0 for p in procs):
            raise RuntimeError("a benchmark worker failed")
        results = [json.loads(Path(scratch, f"worker-{i}.json").read_text()) for i in range(2)]
    out = {}
    if "attribution" in args.parts:
        busy = [r["attribution"]["shard_images"] / max(r["attribution"]["images_per_second"], 1e-9) for r in results]
        out["attribution"] = {"images": args.images, "seconds": round(max(busy), 3),
                              "images_per_second": round(args.images / max(busy), 2),
                              "per_worker_images_per_second": [r["attribution"]["images_per_second"] for r in results]}
    if "training" in args.parts:
        seconds = max(r["training"]["seconds"] for r in results)
        out["training"] = {"steps": args.train_steps, "seconds": seconds,
                           "steps_per_second": round(args.train_steps / seconds, 3)}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench/scale.json")
    parser.add_argument("--cache", default="bench/cache")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--ig-steps", type=int, default=200)
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--parts", nargs="+", default=["attribution", "training"])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    Path(args.cache).mkdir(parents=True, exist_ok=True)
    args.cache = str(Path(args.cache).resolve())
    if args.worker:
        return worker_main(args)

    import tensorflow as tf

    from tfx_explain import distribute

    gpus = tf.config.list_physical_devices("GPU")
    two = "mirrored" if len(gpus) >= 2 else "cpu:2"
    if two == "cpu:2":
        distribute.configure_logical_cpus(2)
    model, _ = _classifier(args.cache)
    report = {"device": _device(gpus), "python": platform.python_version(), "tensorflow": tf.__version__,
              "preset": args.preset, "settings": {"images": args.images, "ig_steps": args.ig_steps,
                                                  "train_steps": args.train_steps, "warmup": args.warmup},
              "two_devices": two, "results": {}}
    results = report["results"]
    for name, strategy in (("1 device", None), ("2 devices", two)):
        results[name] = {}
        if "attribution" in args.parts:
            with tempfile.TemporaryDirectory() as tmp:
                attribution(model, 8, args.ig_steps, strategy, Path(tmp) / "warm")  # tracing, outside the timing
                results[name]["attribution"] = attribution(model, args.images, args.ig_steps, strategy,
                                                           Path(tmp) / "run")
        if "training" in args.parts:
            results[name]["training"] = training(model, args.train_steps, args.warmup,
                                                 distribute.get_strategy(strategy), args.preset)
        print(name, json.dumps(results[name]), flush=True)
    # One pair of worker processes per part: a dataset run and a training run in the same worker processes
    # misaligned the collective keys of the two workers (a collective data-type mismatch).
    results["2 workers"] = {}
    for part in args.parts:
        results["2 workers"].update(two_workers(argparse.Namespace(**dict(vars(args), parts=[part]))))
    print("2 workers", json.dumps(results["2 workers"]), flush=True)
    report["ratios"] = _ratios(results, args.parts)
    from tfx_explain._io import write_json

    write_json(args.out, report)
    print(json.dumps(report["ratios"], indent=2))


def _ratios(results, parts):
    keys = {"attribution": "images_per_second", "training": "steps_per_second"}
    return {f"{part} {name} / 1 device": round(results[name][part][keys[part]] /
                                               results["1 device"][part][keys[part]], 3)
            for part in parts for name in ("2 devices", "2 workers")}


def _device(gpus):
    if gpus:
        return f"{len(gpus)} GPU(s): " + ", ".join(tf_name(g) for g in gpus)
    return f"CPU: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), load {os.getloadavg()[0]:.1f}"


def tf_name(device):
    import tensorflow as tf

    return tf.config.experimental.get_device_details(device).get("device_name", device.name)


if __name__ == "__main__":
    main()
