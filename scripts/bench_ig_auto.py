"""IG to a chosen completeness (issue 18 §1): ``steps="auto"`` against fixed steps and xplique, on TRAINED models.

For each trained model (mnist_cnn on digits and on Fashion-MNIST, a small residual net on colored digits at 64 px),
baseline (zero, blur) and score (logit, probability), on the first N test images, explaining the predicted class:

* a fine reference map: fixed trapezoid IG with ``--reference-steps`` path points;
* ``steps="auto"`` with each nested rule (trapezoid doubling, midpoint tripling, right doubling): path points,
  fraction converged within ``--max-steps``, worst completeness residual, and the true L1 error against the
  reference (relative to |S(x) - S(b)|), which the stopping rule only estimates;
* the smallest FIXED step count (right Riemann, the default, and trapezoid) whose map meets the tolerance on every
  sample (|residual| and L1 error against the reference both <= tolerance |S(x) - S(b)|), found by doubling then
  bisection (so "smallest" assumes the error falls with m; the search's evaluations are listed);
* time of ``explain_keras(steps="auto")`` against xplique's IntegratedGradients at 200 steps (the paper's setting)
  and ours at 200 steps, in the same run (median of ``--repeats`` after a warm-up).

Untrained keras.applications nets are positively homogeneous (with a zero baseline their IG integrand is
constant), so they would flatter any rule; ResNet50 at 224 px (``--resnet50``) reports only time per path point.
Timings taken on a shared machine are under load: compare the ratios, which are measured side by side.

    PYTHONPATH=. python scripts/bench_ig_auto.py                 # full size: 64 images, 2049-point reference
    PYTHONPATH=. python scripts/bench_ig_auto.py --quick         # 16 images, digits only, 1025-point reference
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from _timing import median_time

RULES = ("trapezoid", "midpoint", "right")


def small_resnet(input_shape=(64, 64, 3), num_classes=10):
    """A small residual ReLU net: stem conv, two residual stages (identity and strided projection), GAP, dense."""
    import keras
    from keras import layers

    def block(h, filters, stride):
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(h)
        y = layers.Conv2D(filters, 3, padding="same")(y)
        if stride != 1 or h.shape[-1] != filters:
            h = layers.Conv2D(filters, 1, strides=stride)(h)
        return layers.Activation("relu")(layers.Add()([h, y]))

    inputs = keras.Input(input_shape)
    h = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    h = block(h, 16, 1)
    h = block(h, 32, 2)
    h = block(h, 64, 2)
    h = layers.GlobalAveragePooling2D()(h)
    outputs = layers.Dense(num_classes, activation="softmax")(h)
    return keras.Model(inputs, outputs, name="small_resnet")


MODELS = {  # name -> (architecture, dataset, image size, epochs, training images)
    "mnist_cnn_digits": ("mnist_cnn", "digits", 28, 10, None),
    "mnist_cnn_fashion": ("mnist_cnn", "fashion_mnist", 28, 1, 20000),
    "small_resnet_colored_digits_64": ("small_resnet", "colored_digits", 64, 8, None),
}


def trained(name, cache):
    """(model, test images, test accuracy): trained here once, cached under ``cache``."""
    import tfx_explain as tx
    from tfx_explain.models import load_model, save_model, train_classifier

    arch, dataset, size, epochs, limit = MODELS[name]
    xt, yt = tx.data.load(dataset, "train", image_size=size)
    xs, ys = tx.data.load(dataset, "test", image_size=size)
    path = Path(cache) / f"ig_auto_{name}.keras"
    if path.exists():
        model = load_model(path)
    else:
        if limit:
            xt, yt = xt[:limit], yt[:limit]
        net = small_resnet((size, size, xt.shape[-1])) if arch == "small_resnet" else arch
        model = train_classifier(net, (xt, yt), epochs=epochs, batch_size=64, verbose=0, test_data=None).model
        save_model(model, path)
    accuracy = float((model.predict(xs, verbose=0).argmax(1) == ys).mean())
    return model, xs, accuracy


def relative_errors(e, reference):
    """(|residual| / |D|, L1 error against the reference / |D|) per sample, D = S(x) - S(b)."""
    delta = np.abs(e.input_scores - e.baseline_scores)
    l1 = np.abs(e.attributions - reference.attributions).reshape(len(delta), -1).sum(axis=1)
    return np.abs(e.convergence_delta) / delta, l1 / delta


def smallest_fixed(explain, reference, tol, rule, cap):
    """The smallest m whose fixed map meets the tolerance on every sample: doubling from 8, then bisection."""
    tried = {}

    def ok(m):
        if m not in tried:
            res, err = relative_errors(explain(steps=m, rule=rule), reference)
            tried[m] = bool(np.all(res <= tol) and np.all(err <= tol))
        return tried[m]

    m = 8
    while not ok(m):
        if m >= cap:
            return None, sorted(tried)
        m = min(2 * m, cap)
    lo, hi = m // 2, m  # lo fails (or is below the search), hi meets
    while hi - lo > max(1, lo // 32):
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi, sorted(tried)


def xplique_ig(model, x, weights, score, repeats):
    try:
        import xplique
        from xplique.attributions import IntegratedGradients

        from tfx_explain.models import introspect

        net = introspect.logits_model(model) if score == "logit" else model
        ig = IntegratedGradients(net, steps=200, batch_size=64)
        return {"seconds": round(median_time(lambda: ig.explain(x, weights), repeats), 3),
                "version": xplique.__version__, "steps": 200, "baseline": "zero (xplique's baseline_value=0)"}
    except Exception as err:  # a peer that fails is reported, not fatal
        return {"error": f"{type(err).__name__}: {err}"}


def run_config(model, x, baseline, score, args):
    import tfx_explain as tx

    co = model.predict(x, verbose=0).argmax(1)

    def explain(**options):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tx.explain_keras(model, x, baseline=baseline, score=score, original_class=co, progress=False,
                                    **options)

    reference = explain(steps=args.reference_steps, rule="riemann_trapezoid")
    delta = np.abs(reference.input_scores - reference.baseline_scores)
    out = {"reference": {"steps": args.reference_steps, "rule": "riemann_trapezoid"},
           "abs_score_delta": {"min": float(delta.min()), "median": float(np.median(delta))}, "auto": {}}
    for rule in RULES:
        e = explain(steps="auto", rule=rule, tolerance=args.tolerance, max_steps=args.max_steps)
        res, err = relative_errors(e, reference)
        steps = e.extras["steps"]
        out["auto"][rule] = {
            "path_points": int(steps.sum()), "points_per_sample": {"mean": round(float(steps.mean()), 1),
                                                                   "median": float(np.median(steps)),
                                                                   "max": int(steps.max())},
            "converged_fraction": float(e.extras["converged"].mean()),
            "worst_residual": float(res.max()), "worst_l1_error_vs_reference": float(err.max()),
            "fraction_l1_error_within_tolerance": float((err <= args.tolerance).mean())}
    out["smallest_fixed"] = {}
    for rule in ("riemann_right", "riemann_trapezoid"):
        m, tried = smallest_fixed(explain, reference, args.tolerance, rule, args.max_steps)
        out["smallest_fixed"][rule] = {"steps": m, "path_points": None if m is None else m * len(x), "tried": tried}
    fixed = out["smallest_fixed"]["riemann_right"]["path_points"]
    out["points_ratio_fixed_right_over_auto"] = {
        rule: (round(fixed / v["path_points"], 2) if fixed else f"> {args.max_steps * len(x) / v['path_points']:.2f}")
        for rule, v in out["auto"].items()}
    fixed_t = out["smallest_fixed"]["riemann_trapezoid"]["path_points"]
    out["points_ratio_fixed_trapezoid_over_auto"] = {
        rule: (round(fixed_t / v["path_points"], 2) if fixed_t else f"> {args.max_steps * len(x) / v['path_points']:.2f}")
        for rule, v in out["auto"].items()}
    if args.timing:
        weights = np.eye(model.output_shape[-1], dtype=np.float32)[co]
        auto_s = median_time(lambda: explain(steps="auto", tolerance=args.tolerance, max_steps=args.max_steps),
                             args.repeats)
        fixed_s = median_time(lambda: explain(steps=200), args.repeats)
        peer = xplique_ig(model, x, weights, score, args.repeats) if baseline == "zero" else None
        out["time"] = {"auto_seconds": round(auto_s, 3), "ours_200_steps_seconds": round(fixed_s, 3),
                       "ours_200_over_auto": round(fixed_s / auto_s, 2)}
        if peer is not None:
            out["time"]["xplique_200_steps"] = peer
            if "seconds" in peer:
                out["time"]["xplique_200_over_auto"] = round(peer["seconds"] / auto_s, 2)
    return out


def resnet50_time_per_point(repeats):
    """Seconds per path point of steps="auto" and of fixed steps on ResNet50 at 224 px (untrained: time only)."""
    import keras

    import tfx_explain as tx

    model = keras.applications.ResNet50(weights=None)
    x = np.random.default_rng(0).uniform(-100, 100, (2, 224, 224, 3)).astype(np.float32)
    kw = dict(original_class=0, score="logit", progress=False, input_range=(-128.0, 152.0))
    e = tx.explain_keras(model, x, steps="auto", **kw)
    points = int(e.extras["steps"].sum())
    auto_s = median_time(lambda: tx.explain_keras(model, x, steps="auto", **kw), repeats)
    fixed_s = median_time(lambda: tx.explain_keras(model, x, steps=16, **kw), repeats)
    return {"images": len(x), "auto_path_points": points,
            "auto_seconds_per_point": round(auto_s / points, 4), "fixed_16_seconds_per_point": round(fixed_s / 32, 4),
            "note": "untrained weights: its IG integrand is nearly constant, so only the time per point is reported"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/ig_auto.json"))
    parser.add_argument("--cache", type=Path, default=Path("bench/cache"))
    parser.add_argument("--quick", action="store_true", help="16 images, digits only, 1025-point reference")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--max-steps", type=int, default=1024)
    parser.add_argument("--reference-steps", type=int, default=2049)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-timing", dest="timing", action="store_false")
    parser.add_argument("--resnet50", action="store_true", help="also time ResNet50 at 224 px per path point")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.models, args.reference_steps, args.repeats = 16, ["mnist_cnn_digits"], 1025, 1

    import tensorflow as tf

    from tfx_explain._io import write_json

    args.cache.mkdir(parents=True, exist_ok=True)
    report = {"device": f"{platform.machine()} CPU, {os.cpu_count()} cores", "tensorflow": tf.__version__,
              "command": "scripts/bench_ig_auto.py " + " ".join(argv if argv is not None else os.sys.argv[1:]),
              "images": args.n, "tolerance": args.tolerance, "max_steps": args.max_steps,
              "target": "one-vs-all, the predicted class", "results": {}}
    for name in args.models:
        model, xs, accuracy = trained(name, args.cache)
        x = xs[: args.n]
        peer_seconds = {}  # score -> xplique's seconds at 200 steps on this model
        for baseline in ("zero", "blur"):
            for score in ("logit", "probability"):
                start, load = time.time(), os.getloadavg()[0]
                result = run_config(model, x, baseline, score, args)
                timing = result.get("time", {})
                if baseline == "zero" and "seconds" in timing.get("xplique_200_steps", {}):
                    peer_seconds[score] = timing["xplique_200_steps"]["seconds"]
                elif timing and score in peer_seconds:  # xplique's work does not depend on the baseline's values
                    timing["xplique_200_over_auto"] = round(peer_seconds[score] / timing["auto_seconds"], 2)
                    timing["xplique_note"] = "xplique timed at the zero baseline of the same model and score"
                result.update(test_accuracy=round(accuracy, 4), seconds=round(time.time() - start, 1),
                              load_average_before_after=[round(load, 2), round(os.getloadavg()[0], 2)])
                key = f"{name} {baseline} {score}"
                report["results"][key] = result
                report["summary"] = summary(report["results"], args.tolerance)
                write_json(args.out, report)  # after every configuration: a long run keeps what it measured
                print(key, json.dumps({k: result[k] for k in ("points_ratio_fixed_right_over_auto",)}),
                      json.dumps(result.get("time", {}).get("xplique_200_over_auto")), flush=True)
    if args.resnet50:
        report["resnet50_224"] = resnet50_time_per_point(max(1, args.repeats - 2))
    report["summary"] = summary(report["results"], args.tolerance)
    report["load_average"] = list(os.getloadavg())
    write_json(args.out, report)
    print(json.dumps(report["summary"], indent=1))
    return report


def summary(results, tol):
    """The issue's targets over every configuration, per nested rule."""
    out = {}
    for rule in RULES:
        autos = [r["auto"][rule] for r in results.values()]
        ratios = [r["points_ratio_fixed_right_over_auto"][rule] for r in results.values()]
        out[rule] = {"converged_fraction_min": min(a["converged_fraction"] for a in autos),
                     "worst_residual": max(a["worst_residual"] for a in autos),
                     "worst_l1_error_vs_reference": max(a["worst_l1_error_vs_reference"] for a in autos),
                     "fraction_l1_within_tolerance_min": min(a["fraction_l1_error_within_tolerance"] for a in autos),
                     "points_ratio_fixed_right_over_auto": ratios,
                     "total_path_points": sum(a["path_points"] for a in autos)}
    times = [r["time"]["xplique_200_over_auto"] for r in results.values() if "xplique_200_over_auto" in r.get("time", {})]
    if times:
        out["xplique_200_over_auto_time"] = {"min": min(times), "max": max(times)}
    return out


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
