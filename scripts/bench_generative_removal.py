"""Benchmark: SP-G against SP with the gray filler (patch 17, stride 3, 64x64 image), and peers side by side.

The target (issue 6): SP-G takes at most 3x the time of SP-gray on the 2-core CPU, because the inpainter is
called once per chunk of masks, never once per mask. Also timed: SP-G with one inpainter call per mask
(what batching saves), LIME (ours) against the ``lime`` package on the same model, segments and samples,
and LIME-G. Each entry has medians of ``--repeats`` warm calls, interleaved with its contenders, as wall time
and as CPU time of the process (the robust measure on a machine shared with other jobs), and the first
("cold", tracing) call; ``method_*`` call the method with one score function, ``explain_keras_*`` the
user's door (which also traces the model on every call).

    PYTHONPATH=. python scripts/bench_generative_removal.py --out runs/bench_generative_removal.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def measure(fn):
    """(wall seconds, CPU seconds of this process over all its threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(functions, repeats):
    """Time each function: one cold call (tracing), then ``repeats`` interleaved rounds of warm calls, so that
    load from other processes hits every contender alike. CPU time is the robust measure on a shared machine."""
    out = {name: {"cold": measure(fn)} for name, fn in functions.items()}
    warm = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            warm[name].append(measure(fn))
    for name, runs in warm.items():
        walls, cpus = np.array(runs).T
        cold_wall, cold_cpu = out[name].pop("cold")
        out[name] = {"cold_wall_s": round(cold_wall, 3), "cold_cpu_s": round(cold_cpu, 3),
                     "wall_median_s": round(float(np.median(walls)), 3),
                     "cpu_median_s": round(float(np.median(cpus)), 3),
                     "wall_all_s": [round(float(w), 3) for w in walls], "cpu_all_s": [round(float(c), 3) for c in cpus]}
    return out


def ratios(results, numerator, denominator, prefix):
    for kind in ("cpu_median_s", "wall_median_s", "cold_cpu_s"):
        results[f"{prefix}_{kind[:-2]}"] = round(results[numerator][kind] / results[denominator][kind], 3)


def classifier(name, image_size, num_classes, path):
    from tfx_explain import models

    if path:
        return models.load_model(path)
    # timing does not depend on the weights; an untrained model of the project's architecture is enough
    return models.build(name, (image_size, image_size, 3), num_classes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench_generative_removal.json")
    parser.add_argument("--classifier", default="cifar_cnn", help="architecture name (cifar_cnn, mobilenet_classifier)")
    parser.add_argument("--classifier-path", default=None, help="a saved .keras classifier instead")
    parser.add_argument("--inpainter", default="composite")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lime-samples", type=int, default=500)
    args = parser.parse_args()

    import tensorflow as tf
    from lime import lime_image

    import tfx_explain as tx
    from tfx_explain import data, inpainting
    from tfx_explain.perturbation.fillers import get_filler
    from tfx_explain.perturbation.lime import lime, slic_segments
    from tfx_explain.perturbation.sliding_patch import sliding_patch, window_masks
    from tfx_explain.targets import ScoreFunction, class_weights

    x = data.load("composite_fashion_mnist", "test", image_size=64, max_per_class=1)[0][:1]
    model = classifier(args.classifier, 64, 4, args.classifier_path)
    inpainter = inpainting.load(args.inpainter)
    fill = get_filler(inpainter)
    score_fn = ScoreFunction(model, "probability", probe=x)
    weights = class_weights(np.array([0]), None, score_fn.num_classes)
    results = {"setup": {"image": "64x64x3 composite_fashion_mnist test image", "patch": 17, "stride": 3,
                         "windows": 256, "classifier": args.classifier_path or f"{args.classifier} (untrained)",
                         "classifier_params": int(model.count_params()), "inpainter": repr(inpainter),
                         "inpainter_params": int(inpainter.generator.count_params()), "repeats": args.repeats,
                         "device": f"CPU, {os.cpu_count()} cores", "platform": platform.platform(),
                         "tensorflow": tf.__version__, "load_average_before": os.getloadavg()}}
    sp = lambda filler: sliding_patch(score_fn, x, weights, None, patch=17, stride=3, filler=filler)  # noqa: E731
    door = lambda filler: tx.explain_keras(model, x, method="sliding_patch", patch=17, stride=3,  # noqa: E731
                                           filler=filler, original_class=0)
    results.update(compare({"method_sp_gray": lambda: sp("gray"), "method_sp_inpaint": lambda: sp(fill),
                            "explain_keras_sp_gray": lambda: door("gray"),
                            "explain_keras_sp_inpaint": lambda: door(fill)}, args.repeats))
    ratios(results, "method_sp_inpaint", "method_sp_gray", "ratio_sp_inpaint_over_gray")
    ratios(results, "explain_keras_sp_inpaint", "explain_keras_sp_gray", "ratio_explain_keras_sp_inpaint_over_gray")
    results["target_ratio_at_most"] = 3.0

    masks, _ = window_masks((64, 64), (17, 17), (3, 3))
    images = np.repeat(x, len(masks), axis=0)

    def one_call_per_mask():
        for i in range(len(masks)):
            inpainter.inpaint(images[i : i + 1], masks[i : i + 1])

    results.update(compare({"inpaint_256_masks_batched": lambda: inpainter.inpaint(images, masks),
                            "inpaint_256_masks_one_call_each": one_call_per_mask}, 1))

    segments = slic_segments(x, 50, 30.0, 3.0)
    explainer = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=0)
    predict = tf.function(lambda b: model(b, training=False), reduce_retracing=True)

    def lime_package():
        explainer.explain_instance(x[0], lambda b: predict(b.astype(np.float32)).numpy(), labels=(0,),
                                   hide_color=x[0].mean(axis=(0, 1)), top_labels=None, num_samples=args.lime_samples,
                                   batch_size=10, segmentation_fn=lambda _: segments[0], random_seed=0)

    ours = lambda filler: lime(score_fn, x, weights, None, segments=segments,  # noqa: E731
                               num_samples=args.lime_samples, filler=filler)
    results.update(compare({"method_lime_gray": lambda: ours("gray"), "method_lime_inpaint": lambda: ours(fill),
                            "lime_package_gray": lime_package}, args.repeats))
    ratios(results, "lime_package_gray", "method_lime_gray", "ratio_lime_package_over_ours")
    results["setup"]["load_average_after"] = os.getloadavg()
    from tfx_explain._io import write_json

    write_json(args.out, results)
    print(json.dumps({k: v for k, v in results.items() if k.startswith("ratio")}, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
