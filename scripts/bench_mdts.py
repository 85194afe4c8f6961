"""MDTS over the 60k Fashion-MNIST training set: queries per second, streamed and in memory, against brute-force
numpy in the same run (issue 18 §2).

Queries are Fashion-MNIST test images, one-vs-one (target = (label + 1) mod 10) and one-vs-all. Timed, each after
one warm-up call, the answer cache cleared before every call:
- ``in_memory``: ``baselines.mdts`` on the (images, labels) arrays;
- ``streamed``: the same over ``tf.data.Dataset.from_tensor_slices(...).batch(1024)`` (one pass for all queries);
- ``streamed_cached``: the streamed call again with the cache kept (a read-and-hash pass, no search);
- ``numpy_float64``: brute force, the exact float64 distances to every eligible image, one query at a time (the
  oracle: the indices must agree with ours, and the script fails otherwise);
- ``numpy_float32_gemm``: the float32 ||q||^2 - 2 q.t + ||t||^2 expansion and argmin, per class, vectorised (fast,
  not exact: its disagreements with the oracle are counted).

    PYTHONPATH=. python scripts/bench_mdts.py --quick            # 64 queries, 1 repeat (bench/mdts.json)
    PYTHONPATH=. python scripts/bench_mdts.py --queries 1000 --repeats 3
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time  # noqa: E402


def brute_float64(x, train, labels, classes, one_vs_one):
    t = train.reshape(len(train), -1).astype(np.float64)
    out = np.empty(len(x), np.int64)
    for i, (q, c) in enumerate(zip(x.reshape(len(x), -1).astype(np.float64), classes)):
        pool = np.flatnonzero(labels == c) if one_vs_one else np.flatnonzero(labels != c)
        out[i] = pool[np.argmin(((t[pool] - q) ** 2).sum(axis=1))]
    return out


def brute_float32_gemm(x, train, labels, classes, one_vs_one):
    q = x.reshape(len(x), -1)
    t = train.reshape(len(train), -1)
    t_sq = (t * t).sum(axis=1)
    out = np.empty(len(x), np.int64)
    for c in np.unique(classes):
        rows = np.flatnonzero(classes == c)
        pool = np.flatnonzero(labels == c) if one_vs_one else np.flatnonzero(labels != c)
        d2 = (q[rows] * q[rows]).sum(1)[:, None] - 2.0 * q[rows] @ t[pool].T + t_sq[pool][None]
        out[rows] = pool[d2.argmin(axis=1)]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="64 queries, 1 repeat")
    parser.add_argument("--out", default="bench/mdts.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.queries, args.repeats = 64, 1
    import tensorflow as tf

    from tfx_explain import data
    from tfx_explain._io import write_json
    from tfx_explain.baselines import dataset
    from tfx_explain.baselines.source import TrainingData

    train, labels = data.load("fashion_mnist", "train")
    test, test_labels = data.load("fashion_mnist", "test")
    x, co = test[:args.queries], test_labels[:args.queries]
    ds = tf.data.Dataset.from_tensor_slices((train, labels)).batch(1024)
    load_start = os.getloadavg()[0]
    results = {}
    for mode, target in (("one_vs_one", (co + 1) % 10), ("one_vs_all", None)):
        one_vs_one = target is not None
        classes = target if one_vs_one else co
        answers, stats = {}, {}

        def ours(name, data_arg):
            def call():
                dataset.CACHE.clear()
                answers[name] = dataset.mdts(x, co, target, *data_arg, stats=stats)[1]
            return call

        def cached():
            answers["streamed_cached"] = dataset.mdts(x, co, target, TrainingData(dataset=ds), stats=stats)[1]

        runs = {"in_memory": ours("in_memory", (train, labels)),
                "streamed": ours("streamed", (TrainingData(dataset=ds),)),
                "numpy_float64": lambda: answers.__setitem__("numpy_float64",
                                                             brute_float64(x, train, labels, classes, one_vs_one)),
                "numpy_float32_gemm": lambda: answers.__setitem__(
                    "numpy_float32_gemm", brute_float32_gemm(x, train, labels, classes, one_vs_one))}
        seconds = {name: median_time(fn, args.repeats) for name, fn in runs.items()}
        shortlist_max = stats["shortlist_max"]
        dataset.CACHE.clear()
        cached()  # fills the cache and records the dataset's fingerprint
        seconds["streamed_cached"] = median_time(cached, args.repeats)
        oracle = answers["numpy_float64"]
        for name in ("in_memory", "streamed", "streamed_cached"):
            if not np.array_equal(answers[name], oracle):
                raise SystemExit(f"{name} disagrees with the float64 brute force on "
                                 f"{int((answers[name] != oracle).sum())} queries")
        qps = {name: args.queries / s for name, s in seconds.items()}
        results[mode] = {
            "queries_per_s": qps, "seconds": seconds, "shortlist_max": shortlist_max,
            "ratio_vs_numpy_float64": {n: qps[n] / qps["numpy_float64"] for n in qps},
            "ratio_vs_numpy_float32_gemm": {n: qps[n] / qps["numpy_float32_gemm"] for n in qps},
            "agrees_with_float64_brute_force": True,
            "numpy_float32_gemm_disagreements": int((answers["numpy_float32_gemm"] != oracle).sum())}
    out = {"train_images": len(train), "queries": args.queries, "repeats": args.repeats, "quick": args.quick,
           "tensorflow": tf.__version__, "numpy": np.__version__, "cpu_count": os.cpu_count(),
           "machine": platform.processor() or platform.machine(),
           "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
           "loadavg_1min_start_end": [load_start, os.getloadavg()[0]],
           "note": "wall times on a shared machine: compare the ratios within this run, not across runs",
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **results}
    write_json(args.out, out)
    print({mode: {k: round(v, 1) for k, v in r["queries_per_s"].items()} for mode, r in results.items()})


if __name__ == "__main__":
    main()
