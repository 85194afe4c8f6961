"""Grad-CAM throughput against xplique's GradCAM at equal work, and against its limit.

For each model, in one process, with the same images, classes, layer and chunk size (the best of
``repeats`` interleaved rounds after one warm-up round that traces):

- ``bare``: the limit: one traced forward pass and the backward pass of S_w down to the layer's output only
  (nothing else of Grad-CAM: no weights, no map, no resize), chunk by chunk;
- ``gradcam_bicubic``: :func:`tfx_explain.attribution.gradcam` with ``interpolation="bicubic"`` (xplique's resize, so the
  work is equal; the maps agree to 1e-5, tests/attribution/test_gradcam.py); ``gradcam_bilinear``: the default;
- ``explain_keras``: the whole call (layer search, class scores, checks) on a warm cache;
- ``xplique``: xplique 2.0.2 ``GradCAM(model, conv_layer=...)`` on the same layer (set on the explainer when the
  layer is inside a nested model, which xplique's lookup cannot reach) and ``batch_size``.

The score is the model's softmax output (``score="probability"``), which is what xplique explains with its
default operator. Models: ``cifar_cnn`` (the paper's CIFAR net at 64x64, untrained) and ``resnet50``
(:func:`tfx_explain.models.zoo.build` at 224x224).

    PYTHONPATH=. python scripts/bench_methods_gradcam.py --models cifar_cnn:64 resnet50:224 --images 64
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

OUT = "bench/methods_gradcam.json"


def _interleaved_times(fns, repeats):
    """{name: (best, median) seconds} of ``repeats`` rounds after one warm-up round that traces. Each round runs
    every function once, in turn, so a change of load on a shared machine falls on all of them alike; the best
    is the least disturbed run."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def build_model(name, size):
    """cifar_cnn (tfx_explain.models) or a zoo backbone, at ``size`` x ``size`` x 3."""
    from tfx_explain.models import classifiers, zoo

    if name == "cifar_cnn":
        return classifiers.cifar_cnn(input_shape=(size, size, 3), num_classes=10)
    return zoo.build(name, size=size)


def run(model_name, size, images, batch_size=32, repeats=5, seed=0):
    """Time Grad-CAM on ``images`` random images of ``model_name`` at ``size`` px; returns a JSON-able dict."""
    import numpy as np
    import tensorflow as tf

    import tfx_explain as tx
    from tfx_explain.attribution.gradcam import find_layer, gradcam, layer_gradient
    from tfx_explain.targets import class_weights, score_function

    model = build_model(model_name, size)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (images, size, size, 3)).astype(np.float32)
    score_fn = score_function(model, "probability", probe=x[:1])
    co = rng.integers(0, score_fn.num_classes, images)
    w = class_weights(co, None, score_fn.num_classes)
    layer = find_layer(score_fn.model, x.shape[1:])

    @tf.function(reduce_retracing=True)
    def bare(xc, wc):
        return layer_gradient(score_fn, layer, xc, wc)[2]

    def chunks(fn):
        for start in range(0, images, batch_size):
            fn(x[start:start + batch_size], w[start:start + batch_size]).numpy()

    from xplique.attributions import GradCAM

    explainer = GradCAM(model, batch_size=batch_size, conv_layer=0)
    explainer.conv_layer = layer  # the same layer object, also inside a nested model
    targets = np.eye(score_fn.num_classes, dtype=np.float32)[co]

    timed = _interleaved_times({
        "bare": lambda: chunks(bare),
        "gradcam_bicubic": lambda: gradcam(score_fn, x, w, layer=layer.name, interpolation="bicubic",
                                           batch_size=batch_size),
        "gradcam_bilinear": lambda: gradcam(score_fn, x, w, layer=layer.name, batch_size=batch_size),
        "explain_keras": lambda: tx.explain_keras(model, x, method="gradcam", original_class=co, layer=layer.name,
                                                  interpolation="bicubic", batch_size=batch_size),
        "xplique": lambda: explainer.explain(x, targets).numpy(),
    }, repeats)
    explainer.conv_layer.__dict__.pop("call", None)  # xplique leaves its undecorated method on the layer

    ours_maps = gradcam(score_fn, x, w, layer=layer.name, interpolation="bicubic", batch_size=batch_size)
    ref = explainer.explain(x, targets).numpy()[..., 0]
    explainer.conv_layer.__dict__.pop("call", None)
    agreement = float(np.abs(ours_maps.attributions.sum(-1) - ref).max() / max(np.abs(ref).max(), 1e-30))

    medians = {name: t[1] for name, t in timed.items()}
    t_bare, t_ours, t_bilinear, t_api, t_xplique = (timed[name][0] for name in timed)
    per_s = lambda t: images / t  # noqa: E731
    return {
        "model": f"{model_name} ({size}x{size}x3, untrained weights)", "layer": layer.name, "images": images,
        "batch_size": batch_size, "repeats": repeats, "score": "probability (softmax output, as xplique's operator)",
        "max_relative_difference_to_xplique": agreement, "xplique_map_max": float(np.abs(ref).max()),
        "median_s": medians,
        "img_per_s": {"bare_forward_backward_to_layer": per_s(t_bare), "gradcam_bicubic": per_s(t_ours),
                      "gradcam_bilinear": per_s(t_bilinear), "explain_keras": per_s(t_api),
                      "xplique_GradCAM": per_s(t_xplique)},
        "ratios": {"gradcam_time_over_bare": t_ours / t_bare, "explain_keras_time_over_bare": t_api / t_bare,
                   "gradcam_throughput_over_xplique": t_xplique / t_ours,
                   "explain_keras_throughput_over_xplique": t_xplique / t_api},
        "targets": "time over bare <= 1.2; throughput over xplique >= 0.95 (issue 17)",
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["cifar_cnn:64", "resnet50:224"], help="name:size pairs")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)

    from tfx_explain._io import write_json

    results = []
    for spec in args.models:
        name, size = spec.split(":")
        results.append(run(name, int(size), args.images, args.batch_size, args.repeats))
        print(json.dumps(results[-1], indent=2), flush=True)
    import tensorflow as tf
    import xplique

    report = {
        "command": "PYTHONPATH=. python scripts/bench_methods_gradcam.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "device": f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
        "load_average": os.getloadavg(), "tensorflow": tf.__version__, "xplique": xplique.__version__,
        "results": results,
    }
    if args.out:
        write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
