"""Peak RSS of GANMEX trained on a tf.data.Dataset larger than memory would allow, streamed (never materialised).

    PYTHONPATH=. python scripts/bench_streaming.py            # 400,000 images, writes bench/streaming.json
    PYTHONPATH=. python scripts/bench_streaming.py --quick    # 20,000 images, 2 steps
The dataset is ``range(n)`` mapped by a stateless function to 28x28x1 float32 images (label ``i % 10``), so no
image exists before the pipeline makes it. Each measurement runs in a child process of its own (``--child``),
so that its peak RSS (``VmHWM``, ``_timing.peak_rss_mb``) is that run's alone. Materialising, as the trainers did before streaming, needs
N x 28 x 28 x 4 bytes for the float32 array, twice during the concatenation of the read batches; that
need is computed, not run (400,000 images: 2.5 GB at the concatenation, beyond a 1.5 GB budget).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def generated_images(n, size=28, classes=10):
    """A finite tf.data.Dataset of n (image (size, size, 1) float32 in [0, 1), label int64) pairs, computed
    per element from its index by a stateless function (deterministic: resumes exactly); made in chunks of
    1,000 for speed, then unbatched."""
    import tensorflow as tf

    def chunk(index):
        count = tf.shape(index)[0]
        seed = tf.stack([index[0], tf.constant(7, tf.int64)])
        images = tf.random.stateless_uniform(tf.stack([count, size, size, 1]), seed=seed)
        return images, index % classes

    ds = tf.data.Dataset.range(n).batch(1000).map(chunk).unbatch()
    return ds.apply(tf.data.experimental.assert_cardinality(n))


def _peak_mb():
    from _timing import peak_rss_mb  # VmHWM: ru_maxrss would carry the parent's peak across fork + exec

    return peak_rss_mb()


def child(images, steps):
    """Train GANMEX (preset "cpu") for ``steps`` steps on ``images`` streamed images; print one JSON line."""
    import keras

    from tfx_explain import ganmex

    keras.utils.set_random_seed(0)
    classifier = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
                                   keras.layers.Flatten(), keras.layers.Dense(10)])
    before = _peak_mb()
    start = time.perf_counter()
    ganmex.train(classifier, generated_images(images), steps=steps, preset="cpu", verbose=0, sample_every=0,
                 input_range=(0.0, 1.0))
    seconds = time.perf_counter() - start
    print(json.dumps({"images": images, "steps": steps, "peak_rss_mb": round(_peak_mb(), 1),
                      "rss_before_training_mb": round(before, 1), "train_seconds": round(seconds, 2)}))


def measure(images, steps, timeout=600):
    """Run :func:`child` in a fresh interpreter; its JSON result."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--images", str(images),
                          "--steps", str(steps)], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"})
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400_000)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20,000 images, 2 steps")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "streaming.json"))
    args = parser.parse_args()
    if args.quick:
        args.images, args.steps = 20_000, 2
    if args.child:
        return child(args.images, args.steps)
    result = measure(args.images, args.steps, timeout=3600)
    array_mb = args.images * 28 * 28 * 4 / 2 ** 20
    record = {"device": "cpu", "preset": "cpu", "dataset": "generated 28x28x1 float32, range(n) + stateless map",
              "streamed": result, "materialised_array_mb": round(array_mb, 1),
              "materialised_need_mb": round(result["rss_before_training_mb"] + 2 * array_mb, 1),
              "note": "materialised_need_mb = RSS before training + twice the float32 array (the read batches and "
                      "their concatenation, as _training_arrays did); computed, not run. The machine was shared "
                      "(2 cores, other jobs running): times are indicative only.",
              "command": f"PYTHONPATH=. python scripts/bench_streaming.py --images {args.images} --steps {args.steps}"}
    from tfx_explain._io import write_json

    write_json(Path(args.out), record)
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
