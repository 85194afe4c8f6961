"""SmoothGrad speed against xplique's SmoothGrad and against its limit, at equal work (50 noisy copies per image).

In one process, on the same logits model and images, each the median of ``repeats`` runs after a warm-up:

- ``ours``: :func:`tfx_explain.attribution.smoothgrad` (50 samples, noise_std 0.2 of the [0, 1] range), its
  default chunking (``copies_per_call`` noisy copies per traced call);
- ``xplique``: ``xplique.attributions.SmoothGrad(nb_samples=50, noise=0.2, reducer=None)`` with the same number
  of copies per call (its ``batch_size``);
- ``limit``: the bare gradient passes SmoothGrad cannot avoid: 50 per image, the copies batched the same way
  (``copies_per_call`` per traced call), the noisy inputs made beforehand (not timed).

Models: ``cifar_cnn`` (:func:`tfx_explain.models.cifar_cnn`, untrained, its logits) and ``resnet50``
(:func:`tfx_explain.models.zoo.build`, ``head="logits"``).

    PYTHONPATH=. python scripts/bench_methods_smoothgrad.py                # cifar_cnn at 64 px and ResNet50 at 224 px
    PYTHONPATH=. python scripts/bench_methods_smoothgrad.py --models cifar_cnn --images 8
"""
from __future__ import annotations

import argparse
import os
import platform

from _timing import median_time  # scripts/_timing.py (the scripts' directory is on sys.path)

SAMPLES = 50
NOISE_STD = 0.2
CONFIGS = {"cifar_cnn": (64, 32), "resnet50": (224, 4)}  # model -> (size, images)


def _model(name, size):
    if name == "resnet50":
        from tfx_explain.models import zoo

        return zoo.build("resnet50", size=size, head="logits")
    from tfx_explain.models import cifar_cnn, introspect

    import keras

    keras.utils.set_random_seed(0)
    return introspect.logits_model(cifar_cnn((size, size, 3), num_classes=10))


def run(model_name, size, images, repeats=3):
    """Images/s of ours, xplique and the limit for one model; returns the JSON-ready dict."""
    import numpy as np
    import tensorflow as tf
    from xplique.attributions import SmoothGrad

    from tfx_explain import input_range as ir
    from tfx_explain.attribution import smoothgrad
    from tfx_explain.attribution._common import path_points_per_call
    from tfx_explain.attribution.smoothgrad import sizes
    from tfx_explain.targets import class_weights, score_function

    model = _model(model_name, size)
    x = np.random.default_rng(0).uniform(0, 1, (images, size, size, 3)).astype("float32")
    co = np.arange(images) % 5
    score_fn = score_function(model, "logit", probe=x[:1], head="logits")
    w = class_weights(co, None, score_fn.num_classes)
    rng = ir.normalize((0.0, 1.0))
    points = path_points_per_call(score_fn, x.shape[1:], w.shape[1], None)
    chunk, block, blocks = sizes(points, SAMPLES, images)
    per_call = chunk * block

    t_ours = median_time(lambda: smoothgrad(score_fn, x, w, samples=SAMPLES, noise_std=NOISE_STD,
                                             input_range=rng).attributions, repeats)
    explainer = SmoothGrad(model, nb_samples=SAMPLES, noise=NOISE_STD, reducer=None, batch_size=per_call)
    targets = w.astype("float32")
    t_xplique = median_time(lambda: np.asarray(explainer.explain(x, targets)), repeats)

    @tf.function
    def bare(points_, weights):
        with tf.GradientTape() as tape:
            tape.watch(points_)
            out = score_fn.explained(points_, weights)  # the same model call as ours
        return tape.gradient(out, points_)

    noisy = x[:, None] + NOISE_STD * np.random.default_rng(1).standard_normal((images, SAMPLES) + x.shape[1:],
                                                                              dtype=np.float32)
    copies = noisy.reshape((-1,) + x.shape[1:])
    w_copies = np.repeat(w, SAMPLES, axis=0)
    calls = [(tf.constant(copies[s:s + per_call]), tf.constant(w_copies[s:s + per_call]))
             for s in range(0, len(copies), per_call)]
    t_limit = median_time(lambda: [bare(p, q).numpy() for p, q in calls], repeats)
    return {
        "model": f"{model_name} ({size}x{size}x3, logits)", "images": images, "samples": SAMPLES,
        "noise_std": NOISE_STD, "copies_per_call": per_call, "repeats": repeats,
        "ours_s": t_ours, "xplique_s": t_xplique, "limit_s": t_limit,
        "ours_img_per_s": images / t_ours, "xplique_img_per_s": images / t_xplique, "limit_img_per_s": images / t_limit,
        "ours_over_limit": t_ours / t_limit, "ours_throughput_over_xplique": t_xplique / t_ours,
        "load_average": os.getloadavg(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--images", type=int, default=None, help="images per model (default: 32 / 4)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench/methods_smoothgrad.json")
    args = parser.parse_args(argv)

    import json

    from tfx_explain._io import write_json

    results = [run(m, CONFIGS[m][0], args.images or CONFIGS[m][1], args.repeats) for m in args.models]
    record = {
        "command": "PYTHONPATH=. python scripts/bench_methods_smoothgrad.py " + " ".join(argv or os.sys.argv[1:]),
        "device": f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
        "targets": "ours_over_limit <= 1.2 and ours_throughput_over_xplique >= 0.95 (issue 17)",
        "results": results,
    }
    print(json.dumps(record, indent=2))
    write_json(args.out, record)
    return record


if __name__ == "__main__":
    main()
