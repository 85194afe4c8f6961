"""Equal-step IG throughput at 28 px (issue 18 §1): tfx_explain against xplique, 200 steps, mnist_cnn, same run.

Both explain the one-vs-one logit delta from a zero baseline (``score="logit"``: xplique is given the logits
model, so both do the same model evaluations); our default probability score is timed too. The runs alternate
(A/B/A/B...) and the medians are compared, as the machine may be loaded. Wall time and the process's CPU time
are both reported: on a shared machine CPU time measures the work, wall time the waiting too.

``before_logit`` is the code before issue 18's changes, in the same run: blocks of 32 steps (200 steps padded to
224 evaluations) and TensorFlow's own input gradient for the first convolution (``input_gradient.ENABLED = False``
while it is traced). ``profile`` times the model's own ops on 2048 path points (CPU ms): where the time goes.

    PYTHONPATH=. python scripts/bench_ig_throughput.py                    # 64 images, 5 rounds
    PYTHONPATH=. python scripts/bench_ig_throughput.py --quick            # 16 images, 2 rounds
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def _legacy_steps_per_block(chunk, steps, points=2048):
    return int(max(1, min(steps, points // max(1, chunk))))


def runners(model, x, co, ct, steps):
    import tfx_explain as tx
    from tfx_explain.attribution import input_gradient, integrated
    from tfx_explain.models import introspect
    from xplique.attributions import IntegratedGradients

    weights = np.zeros((len(x), 10), np.float32)
    weights[np.arange(len(x)), co], weights[np.arange(len(x)), ct] = 1.0, -1.0
    xplique_ig = IntegratedGradients(introspect.logits_model(model), steps=steps, batch_size=64)

    def ours(score="logit", before=False):
        def run():
            balanced, route = integrated.steps_per_block, input_gradient.ENABLED
            if before:  # the blocks key the traced function apart, so "before" has its own trace
                integrated.steps_per_block, input_gradient.ENABLED = _legacy_steps_per_block, False
            try:
                return tx.explain_keras(model, x, method="integrated_gradients", steps=steps, baseline="zero",
                                        original_class=co, target_class=ct, score=score, progress=False).attributions
            finally:
                integrated.steps_per_block, input_gradient.ENABLED = balanced, route
        return run

    return {"xplique": lambda: np.asarray(xplique_ig.explain(x, weights)), "ours_logit": ours(),
            "ours_probability": ours("probability"), "before_logit": ours(before=True)}


def alternate(runs, rounds):
    """Median wall and CPU seconds per runner, the runners taking turns each round (after one warm-up each)."""
    outputs = {name: fn() for name, fn in runs.items()}
    wall, cpu = {k: [] for k in runs}, {k: [] for k in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return ({k: statistics.median(v) for k, v in wall.items()}, {k: statistics.median(v) for k, v in cpu.items()},
            outputs)


def _overlap_add(x, k, dy):
    """conv1's input gradient through tfx_explain's overlap-add route (tfx_explain.attribution.input_gradient)."""
    import tensorflow as tf

    from tfx_explain.attribution.input_gradient import fast_input_gradients

    with fast_input_gradients():
        y = tf.nn.conv2d(x, k, 2, "VALID")
    return tf.gradients(y, x, grad_ys=dy)[0]


def profile(model, points=2048):
    """CPU ms of each conv / dense op of mnist_cnn, forward and input-gradient, on ``points`` path points."""
    import tensorflow as tf

    layers = {layer.name: layer for layer in model.layers}
    k1, k2, w = layers["conv1"].kernel, layers["conv2"].kernel, layers["fc"].kernel
    x = tf.random.uniform((points, 28, 28, 1))
    h1 = tf.nn.relu(tf.nn.conv2d(x, k1, 2, "VALID"))
    h2 = tf.nn.relu(tf.nn.conv2d(h1, k2, 2, "VALID"))
    flat = tf.reshape(h2, (points, -1))
    ops = {"conv1_forward": lambda: tf.nn.conv2d(x, k1, 2, "VALID"),
           "conv1_input_gradient": lambda: tf.nn.conv2d_transpose(h1, k1, tf.shape(x), 2, "VALID"),
           "conv2_forward": lambda: tf.nn.conv2d(h1, k2, 2, "VALID"),
           "conv2_input_gradient": lambda: tf.nn.conv2d_transpose(h2, k2, tf.shape(h1), 2, "VALID"),
           "fc_forward": lambda: flat @ w, "fc_input_gradient": lambda: (flat @ w) @ tf.transpose(w),
           "conv1_input_gradient_overlap_add": lambda: _overlap_add(x, k1, h1)}
    flops = {"conv1_forward": 12 * 12 * 32 * 36 * 2, "conv1_input_gradient": 12 * 12 * 32 * 36 * 2,
             "conv2_forward": 4 * 4 * 64 * 36 * 32 * 2, "conv2_input_gradient": 4 * 4 * 64 * 36 * 32 * 2,
             "fc_forward": 1024 * 256 * 2, "fc_input_gradient": 1024 * 256 * 4,
             "conv1_input_gradient_overlap_add": 12 * 12 * 32 * 36 * 2}
    result = {}
    for name, op in ops.items():
        fn = tf.function(op, autograph=False)
        fn()
        times = []
        for _ in range(5):
            c = time.process_time()
            fn()
            times.append(time.process_time() - c)
        ms = statistics.median(times) * 1000
        result[name] = {"cpu_ms": round(ms, 1), "gflop_per_cpu_second": round(flops[name] * points / ms / 1e6, 1)}
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="16 images, 2 rounds")
    parser.add_argument("--out", default="bench/ig_throughput.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.rounds = 16, 2

    import keras
    import tensorflow as tf

    import tfx_explain as tx
    from tfx_explain._io import write_json
    from tfx_explain.models import classifiers

    keras.utils.set_random_seed(0)
    model = classifiers.build("mnist_cnn", (28, 28, 1), 10)  # speed does not depend on the weights' values
    x = tx.data.load("digits", "test")[0][: args.images].astype(np.float32)
    co = model.predict(x, verbose=0).argmax(1)
    ct = (co + 1) % 10
    load = os.getloadavg()[0]
    wall, cpu, outputs = alternate(runners(model, x, co, ct, args.steps), args.rounds)
    reference = outputs["before_logit"]
    report = {"device": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "tensorflow": tf.__version__, "model": "mnist_cnn (28x28x1, seeded weights)", "images": len(x),
              "steps": args.steps, "rounds": args.rounds, "target": "one-vs-one delta, zero baseline",
              "load_average_before_after": [round(load, 2), round(os.getloadavg()[0], 2)],
              "median_wall_seconds": {k: round(v, 3) for k, v in wall.items()},
              "median_cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
              "ratios_vs_xplique_wall": {k: round(wall["xplique"] / v, 2) for k, v in wall.items() if k != "xplique"},
              "ratios_vs_xplique_cpu": {k: round(cpu["xplique"] / v, 2) for k, v in cpu.items() if k != "xplique"},
              "max_abs_difference": {
                  "ours_logit_vs_before": float(np.abs(outputs["ours_logit"] - reference).max()),
                  "ours_logit_vs_xplique": float(np.abs(outputs["ours_logit"] - outputs["xplique"]).max()),
                  "map_scale": float(np.abs(reference).max())},
              "points_per_cpu_second": {k: round(len(x) * args.steps / v, 1) for k, v in cpu.items()},
              "command": "scripts/bench_ig_throughput.py " + " ".join(argv if argv is not None else os.sys.argv[1:])}
    report["profile_2048_points"] = profile(model)
    write_json(args.out, report)
    print({k: report[k] for k in ("ratios_vs_xplique_wall", "ratios_vs_xplique_cpu", "load_average_before_after")})
    return report


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
