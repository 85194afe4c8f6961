"""bf16 on the CPU (issue 18 §1): ``precision="mixed_bfloat16"`` against float32 for IG and DeepLIFT at 224 px.

Two ResNet50s (keras.applications, ``weights=None``): ``plain``, the bare untrained network with its softmax top
(positively homogeneous up to the softmax: the IG integrand of its logits is constant, so the relative error of
maps and scores is what to read), and ``zoo``, :func:`tfx_explain.models.zoo.build`'s, with batch-norm statistics
set from a random batch and a biased head standardised on that batch's features (not homogeneous; but the
standardisation divides by the features' small spread over random images, so it amplifies any rounding of the
features: an ill-conditioned worst case for 16-bit arithmetic).
Speed: float32 and bf16 runs alternate, medians of wall and CPU time. Error of the bf16 maps against float32:
relative L1 ||A_bf16 - A_32||_1 / ||A_32||_1 (per image, the worst and the median), relative L2, and the max
abs error of the explained scores (the one-vs-one delta of the default probability score).

    PYTHONPATH=. python scripts/bench_bf16.py                 # 4 images, IG at 32 steps, 3 rounds
    PYTHONPATH=. python scripts/bench_bf16.py --quick         # 1 image, IG at 8 steps, 1 round
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    return sorted(f for f in flags if f.startswith(("avx512_bf16", "amx", "avx512f")))


def measure(model, x, co, ct, method, options, rounds):
    import tfx_explain as tx

    def run(precision):
        return lambda: tx.explain_keras(model, x, method=method, baseline="zero", original_class=co, target_class=ct,
                                        precision=precision, progress=False, **options)

    runs = {"float32": run("float32"), "mixed_bfloat16": run("mixed_bfloat16")}
    out = {k: fn() for k, fn in runs.items()}  # warm-up: traces
    wall, cpu = {k: [] for k in runs}, {k: [] for k in runs}
    for _ in range(rounds):
        for k, fn in runs.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    ref, bf = out["float32"].attributions, out["mixed_bfloat16"].attributions
    scores, scores_bf = out["float32"].input_scores, out["mixed_bfloat16"].input_scores
    axes = tuple(range(1, ref.ndim))
    l1 = np.abs(bf - ref).sum(axis=axes) / np.abs(ref).sum(axis=axes)
    w, c = ({k: statistics.median(v) for k, v in d.items()} for d in (wall, cpu))
    return {"options": options, "images": len(x),
            "median_wall_seconds": {k: round(v, 3) for k, v in w.items()},
            "median_cpu_seconds": {k: round(v, 3) for k, v in c.items()},
            "bf16_speedup_wall": round(w["float32"] / w["mixed_bfloat16"], 2),
            "bf16_speedup_cpu": round(c["float32"] / c["mixed_bfloat16"], 2),
            "relative_l1_per_image": [round(float(v), 5) for v in l1],
            "relative_l1_worst": round(float(l1.max()), 5), "relative_l1_median": round(float(np.median(l1)), 5),
            "relative_l2": round(float(np.linalg.norm(bf - ref) / np.linalg.norm(ref)), 5),
            "score_max_abs_error": float(np.abs(scores_bf - scores).max()),
            "score_relative_error_worst": round(float((np.abs(scores_bf - scores) / np.abs(scores)).max()), 5),
            "score_delta_scale": float(np.abs(scores).max())}


def build_model(name, size):
    import keras

    from tfx_explain.models import zoo

    if name == "zoo":
        return zoo.build("resnet50", size=size, classes=10, seed=0)
    keras.utils.set_random_seed(0)
    return keras.applications.ResNet50(weights=None, classes=10, input_shape=(size, size, 3))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--steps", type=int, default=32, help="IG steps")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--models", nargs="+", default=["plain", "zoo"], choices=["plain", "zoo"])
    parser.add_argument("--quick", action="store_true", help="1 image, IG at 8 steps, 1 round")
    parser.add_argument("--out", default="bench/bf16.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.steps, args.rounds = 1, 8, 1

    import tensorflow as tf

    from tfx_explain._io import write_json
    x = np.random.default_rng(1).uniform(0, 1, (args.images, args.size, args.size, 3)).astype(np.float32)
    report = {"device": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "cpu_flags": cpu_flags(), "tensorflow": tf.__version__,
              "models": {"plain": "keras.applications.ResNet50(weights=None, classes=10), softmax top",
                         "zoo": "tfx_explain.models.zoo.build('resnet50', classes=10): BN statistics from a random "
                                "batch, biased head standardised on its features"},
              "size": args.size,
              "target": "one-vs-one probability delta, zero baseline, random uniform images",
              "load_average_before": round(os.getloadavg()[0], 2), "results": {},
              "command": "scripts/bench_bf16.py " + " ".join(argv if argv is not None else os.sys.argv[1:])}
    for name in args.models:
        model = build_model(name, args.size)
        co = model.predict(x, verbose=0).argmax(1)
        ct = (co + 1) % 10
        for method, options in (("deeplift", {}), ("integrated_gradients", {"steps": args.steps})):
            key = f"{method} {name}"
            report["results"][key] = measure(model, x, co, ct, method, options, args.rounds)
            report["load_average_after"] = round(os.getloadavg()[0], 2)
            write_json(args.out, report)
            print(key, {k: report["results"][key][k] for k in ("bf16_speedup_wall", "bf16_speedup_cpu",
                                                                "relative_l1_worst", "score_relative_error_worst")},
                  flush=True)
    return report


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
