"""DeepLIFT speed at real size against its limit, one bare forward and backward pass over the (input, baseline) pair.

DeepLIFT runs the inputs and their references as one batch and back-propagates multipliers once, so its floor
is one forward and one backward pass of the model over 2N images. This script times, in the same process:

- ``bare``: forward and backward of the logits over [x; b] (2N images), traced once;
- ``deeplift``: the attribution itself (``tfx_explain.attribution.deeplift``), traced once;
- ``explain_keras``: the whole call (scores of inputs and baselines included), on a warm cache.

Each is the median of ``--repeats`` runs after one warm-up. The model is :func:`tfx_explain.models.zoo.build`
(keras.applications, ``weights=None``, batch-norm statistics from a batch, biased head).

    PYTHONPATH=. python scripts/bench_deeplift.py --model resnet50 --size 224 --images 4 --out bench/deeplift.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform

from _timing import median_time  # scripts/_timing.py (the scripts' directory is on sys.path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    import tfx_explain as tx
    from tfx_explain._io import write_json
    from tfx_explain.models import zoo
    from tfx_explain.targets import class_weights, score_function

    model = zoo.build(args.model, size=args.size)
    rng = np.random.default_rng(0)
    shape = (args.images, args.size, args.size, 3)
    x, b = rng.uniform(0, 1, shape).astype("float32"), rng.uniform(0, 1, shape).astype("float32")
    co, ct = np.zeros(args.images, np.int64), np.ones(args.images, np.int64)
    score_fn = score_function(model, "logit", probe=x[:1], one_vs_one=True)
    w = class_weights(co, ct, score_fn.num_classes)

    @tf.function
    def bare(pair, weights):
        with tf.GradientTape() as tape:
            tape.watch(pair)
            out = tf.reduce_sum(score_fn.scores(pair) * weights, axis=-1)
        return tape.gradient(out, pair)

    pair = tf.constant(np.concatenate([x, b]))
    w2 = tf.constant(np.concatenate([w, w]))
    t_bare = median_time(lambda: bare(pair, w2).numpy(), args.repeats)
    t_dl = median_time(lambda: tx.attribution.deeplift(score_fn, x, w, b, batch_size=args.images).attributions,
                        args.repeats)
    t_api = median_time(lambda: tx.explain_keras(model, x, method="deeplift", baseline=b, score="logit",
                                                  original_class=co, target_class=ct, batch_size=args.images),
                         args.repeats)
    result = {
        "command": "PYTHONPATH=. python scripts/bench_deeplift.py " + " ".join(argv or os.sys.argv[1:]),
        "model": f"{args.model} ({args.size}x{args.size}x3, weights=None, zoo.build)",
        "images": args.images, "device": f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
        "load_average": os.getloadavg(),
        "bare_forward_backward_pair_s": t_bare, "deeplift_s": t_dl, "explain_keras_s": t_api,
        "deeplift_over_bare": t_dl / t_bare, "explain_keras_over_bare": t_api / t_bare,
        "deeplift_img_per_s": args.images / t_dl, "bare_img_per_s": args.images / t_bare,
        "target": "deeplift_over_bare <= 1.4 (issue: exact DeepLIFT on the models users own)",
    }
    print(json.dumps(result, indent=2))
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
