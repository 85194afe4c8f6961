"""RISE and KernelSHAP speed against their peers (xplique's Rise, shap's KernelExplainer) and their limits.

At equal work, in one process, on the same model, images and batch size (32 images per model call):

- ``rise``: ours with 2000 masks (grid 7, p 0.5, zero fill) against xplique 2.0.2's ``Rise(nb_samples=2000)``;
- ``kernel_shap``: ours with 1000 coalitions over the same 50-superpixel SLIC segments (gray fill) against shap's
  ``KernelExplainer(l1_reg=False, nsamples=1000)`` on superpixel indicators, its model function building the
  perturbed images with numpy and scoring them in batches of 32 through the same traced model;
- ``limit``: the bare batched model evaluations each method cannot avoid (2000 and 1002 per image: the
  perturbed images built beforehand, scored in batches of 32); for the -G variants plus the inpainter's
  fills of the same masks (at the bundled inpainter's 64 px only, with ``--g-samples`` masks / coalitions).

Each time is the median of ``--repeats`` runs after one warm-up. Ratios: ``ours_over_peer`` (images/s, >= 0.95
is the issue's target) and ``ours_over_limit`` (seconds, <= 1.2 is the target).

    PYTHONPATH=. python scripts/bench_methods_perturbation.py                      # cifar_cnn 64 px and ResNet50 224 px
    PYTHONPATH=. python scripts/bench_methods_perturbation.py --models cifar_cnn --images 1 --repeats 1
"""
from __future__ import annotations

import argparse
import json
import os
import platform

import numpy as np

from _timing import median_time  # scripts/_timing.py (the scripts' directory is on sys.path)

RISE_MASKS, SHAP_SAMPLES, BATCH = 2000, 1000, 32
SIZES = {"cifar_cnn": 64, "resnet50": 224}


def _model(name, size):
    from tfx_explain import models
    from tfx_explain.models import zoo

    if name in zoo.ARCHITECTURES:
        return zoo.build(name, size=size)
    return models.build(name, (size, size, 3), 10)


def run(model_name, size, images, repeats=1, g_samples=200):
    """{timings, ratios, setup} for ``images`` random [0, 1] images of ``size`` px on ``model_name``."""
    import tensorflow as tf

    from tfx_explain import inpainting
    from tfx_explain.perturbation import _common
    from tfx_explain.perturbation.kernel_shap import kernel_shap
    from tfx_explain.perturbation.lime import slic_segments
    from tfx_explain.perturbation.rise import cell_size, draw_masks, rise, upsample_masks
    from tfx_explain.targets import ScoreFunction, class_weights

    model = _model(model_name, size)
    x = np.random.default_rng(0).uniform(0, 1, (images, size, size, 3)).astype(np.float32)
    score_fn = ScoreFunction(model, "probability", probe=x[:1])
    classes = np.asarray(model(x)).argmax(axis=1)
    weights = class_weights(classes, None, score_fn.num_classes)
    segments = slic_segments(x, 50)
    seconds = {}

    def limit(count, fill=None):
        """Bare batched evaluations of ``count`` perturbed images per input (built beforehand)."""
        cells = cell_size((size, size), (7, 7))
        masks = upsample_masks(*draw_masks(count, (7, 7), 0.5, cells, 0), (size, size), cells)[..., None]
        built = [np.ascontiguousarray(x[i] * masks) for i in range(images)]
        w = [np.repeat(weights[i:i + 1], count, axis=0) for i in range(images)]

        def evaluate():
            for i in range(images):
                images_i = built[i] if fill is None else fill(np.repeat(x[i:i + 1], count, axis=0), 1.0 - masks)
                _common.explained_scores(score_fn, images_i, w[i], BATCH)
        return evaluate

    # RISE against xplique's Rise
    seconds["rise"] = median_time(lambda: rise(score_fn, x, weights, None, num_samples=RISE_MASKS,
                                                batch_size=BATCH), repeats)
    seconds["rise_limit"] = median_time(limit(RISE_MASKS), repeats)
    try:
        from xplique.attributions import Rise

        explainer = Rise(model, batch_size=BATCH, nb_samples=RISE_MASKS, grid_size=7, preservation_probability=0.5)
        seconds["xplique_rise"] = median_time(lambda: np.asarray(explainer.explain(x, weights)), repeats)
    except ImportError as err:
        seconds["xplique_rise"] = f"unavailable: {err}"

    # KernelSHAP against shap's KernelExplainer on the same superpixels
    seconds["kernel_shap"] = median_time(lambda: kernel_shap(score_fn, x, weights, None, segments=segments,
                                                              num_samples=SHAP_SAMPLES, batch_size=BATCH), repeats)
    seconds["kernel_shap_limit"] = median_time(limit(SHAP_SAMPLES + 2), repeats)
    predict = tf.function(lambda b: model(b, training=False), reduce_retracing=True)
    try:
        import shap

        def shap_run():
            for i in range(images):
                colour, seg = x[i].mean(axis=(0, 1)), segments[i]

                def f(z):
                    keep = z[:, seg][..., None].astype(np.float32)
                    batch = x[i] * keep + colour * (1.0 - keep)
                    return np.concatenate([predict(batch[s:s + BATCH]).numpy()[:, classes[i]]
                                           for s in range(0, len(batch), BATCH)])
                m = int(seg.max()) + 1
                shap.KernelExplainer(f, np.zeros((1, m))).shap_values(np.ones((1, m)), nsamples=SHAP_SAMPLES,
                                                                      l1_reg=False, silent=True)
        seconds["shap_kernel_explainer"] = median_time(shap_run, repeats)
    except ImportError as err:
        seconds["shap_kernel_explainer"] = f"unavailable: {err}"

    # the -G variants at the bundled inpainter's size
    if size == 64:
        fill = inpainting.load()
        from tfx_explain.perturbation.fillers import get_filler

        filler = get_filler(fill)
        seconds["rise_g"] = median_time(lambda: rise(score_fn, x, weights, None, num_samples=g_samples,
                                                      filler=fill, batch_size=BATCH), repeats)
        seconds["rise_g_limit"] = median_time(limit(g_samples, filler), repeats)
        seconds["kernel_shap_g"] = median_time(lambda: kernel_shap(score_fn, x, weights, None, segments=segments,
                                                                    num_samples=g_samples, filler=fill,
                                                                    batch_size=BATCH), repeats)
        seconds["kernel_shap_g_limit"] = median_time(limit(g_samples + 2, filler), repeats)

    out = {"seconds": {k: round(v, 3) if isinstance(v, float) else v for k, v in seconds.items()},
           "images_per_second": {k: round(images / v, 4) for k, v in seconds.items() if isinstance(v, float)},
           "ratios": {}}
    for ours, peer in (("rise", "xplique_rise"), ("kernel_shap", "shap_kernel_explainer")):
        if isinstance(seconds.get(peer), float):
            out["ratios"][f"{ours}_over_peer_throughput"] = round(seconds[peer] / seconds[ours], 3)
    for ours in ("rise", "kernel_shap", "rise_g", "kernel_shap_g"):
        if ours in seconds:
            out["ratios"][f"{ours}_over_limit_time"] = round(seconds[ours] / seconds[f"{ours}_limit"], 3)
    out["setup"] = {"model": f"{model_name} ({size}x{size}x3, untrained, seeded)", "images": images,
                    "repeats": repeats, "rise_masks": RISE_MASKS, "shap_samples": SHAP_SAMPLES,
                    "g_samples": g_samples if size == 64 else None, "batch": BATCH,
                    "superpixels": [int(s.max()) + 1 for s in segments],
                    "device": f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
                    "tensorflow": tf.__version__, "load_average": os.getloadavg()}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SIZES), help=f"of {list(SIZES)}")
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--g-samples", type=int, default=200, help="masks / coalitions of the -G runs")
    parser.add_argument("--out", default="bench/methods_perturbation.json")
    args = parser.parse_args(argv)
    from tfx_explain._io import write_json

    results = {"command": "PYTHONPATH=. python scripts/bench_methods_perturbation.py " +
                          " ".join(argv if argv is not None else os.sys.argv[1:])}
    for name in args.models:
        results[f"{name}_{SIZES[name]}"] = run(name, SIZES[name], args.images, args.repeats, args.g_samples)
        print(json.dumps(results[f"{name}_{SIZES[name]}"]["ratios"]), flush=True)
    write_json(args.out, results)
    return results


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
