"""Benchmark: SP-G against SP with the gray filler (patch 17, stride 3, 64x64 image), and peers side by side.

The target (issue 6): SP-G takes at most 3x the time of SP-gray on the 2-core CPU, because the inpainter is
called once per chunk of masks, never once per mask. Also timed: SP-G with one inpainter call per mask
(what batching saves), LIME (ours) against the ``lime`` package on the same model, segments and samples,
and LIME-G. Times are medians of ``--repeats`` warm calls through ``explain_keras`` (the first call, which
traces the graphs, is reported separately as "cold").

    PYTHONPATH=. python scripts/bench_generative_removal.py --out runs/bench_generative_removal.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def timed(fn, repeats):
    start = time.perf_counter()
    fn()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    return {"cold_s": round(cold, 4), "warm_median_s": round(float(np.median(warm)), 4),
            "warm_all_s": [round(w, 4) for w in warm]}


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
                         "tensorflow": tf.__version__,
                         "note": "method_*: the method function with one score function (steady state); "
                                 "explain_keras_*: the user's door, which also traces the model per call"}}
    for name, filler in (("gray", "gray"), ("inpaint", fill)):
        results[f"method_sp_{name}"] = timed(
            lambda: sliding_patch(score_fn, x, weights, None, patch=17, stride=3, filler=filler), args.repeats)
        results[f"explain_keras_sp_{name}"] = timed(
            lambda: tx.explain_keras(model, x, method="sliding_patch", patch=17, stride=3, filler=filler,
                                     original_class=0), args.repeats)
    for kind in ("method", "explain_keras"):
        for t in ("warm_median_s", "cold_s"):
            results[f"ratio_{kind}_sp_inpaint_over_gray_{t[:4]}"] = round(
                results[f"{kind}_sp_inpaint"][t] / results[f"{kind}_sp_gray"][t], 3)
    results["target_ratio_at_most"] = 3.0

    masks, _ = window_masks((64, 64), (17, 17), (3, 3))
    images = np.repeat(x, len(masks), axis=0)

    def one_call_per_mask():
        for i in range(len(masks)):
            inpainter.inpaint(images[i : i + 1], masks[i : i + 1])

    results["inpaint_256_masks_batched"] = timed(lambda: inpainter.inpaint(images, masks), 1)
    results["inpaint_256_masks_one_call_each"] = timed(one_call_per_mask, 1)

    segments = slic_segments(x, 50, 30.0, 3.0)
    for name, filler in (("gray", "gray"), ("inpaint", fill)):
        results[f"method_lime_{name}"] = timed(
            lambda: lime(score_fn, x, weights, None, segments=segments, num_samples=args.lime_samples,
                         filler=filler), args.repeats)
    explainer = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=0)
    predict = tf.function(lambda b: model(b, training=False), reduce_retracing=True)

    def lime_package():
        explainer.explain_instance(x[0], lambda b: predict(b.astype(np.float32)).numpy(), labels=(0,),
                                   hide_color=x[0].mean(axis=(0, 1)), top_labels=None, num_samples=args.lime_samples,
                                   batch_size=10, segmentation_fn=lambda _: segments[0], random_seed=0)

    results["lime_package_gray"] = timed(lime_package, args.repeats)
    results["ratio_lime_package_over_ours_warm"] = round(
        results["lime_package_gray"]["warm_median_s"] / results["method_lime_gray"]["warm_median_s"], 3)
    from tfx_explain._io import write_json

    write_json(args.out, results)
    print(json.dumps({k: v for k, v in results.items() if k.startswith("ratio") or k == "setup"}, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
