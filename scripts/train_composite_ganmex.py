"""Train the small GANMEX shipped in tfx_explain/assets/ganmex_composite, with the classifier it explains.

A GANMEX generator is tied to the classifier it was trained against (its class discriminator is that frozen
classifier), so the asset holds both: ``classifier.keras`` (``gap_cnn``, 60k parameters, on
composite_fashion_mnist at 64x64, the whole train split, 8 epochs) and the generator (preset ``cpu``). Notebook 06 loads them instead of
training for minutes (`tfx_explain.ganmex.load(...)`, `tfx_explain.models.load_model(...)`). The run resumes
from ``--out`` when interrupted; the generator's target-class success on held-out test images is measured
and stored in its metadata.

    PYTHONPATH=. nice -n 10 python scripts/train_composite_ganmex.py --steps 600 --out runs/ganmex_composite \\
        --export tfx_explain/assets/ganmex_composite
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

DATA = dict(name="composite_fashion_mnist", image_size=64)


def classifier(out):
    from tfx_explain import data, models

    path = Path(out) / "classifier.keras"
    if path.exists():
        return models.load_model(path)
    x, y = data.load(DATA["name"], "train", image_size=DATA["image_size"])
    xt, yt = data.load(DATA["name"], "test", image_size=DATA["image_size"], max_per_class=30)
    result = models.train_classifier("gap_cnn", (x, y), epochs=8, batch_size=64, test_data=(xt, yt), seed=0,
                                     verbose=0)
    print("classifier test accuracy", result.test_accuracy, flush=True)
    models.save_model(result.model, path)
    return result.model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--out", default="runs/ganmex_composite")
    parser.add_argument("--export", default=None, help="directory to write the classifier and generator to")
    args = parser.parse_args()

    from tfx_explain import data, ganmex, models

    start = time.time()
    model = classifier(args.out)
    train = data.load(DATA["name"], "train", image_size=DATA["image_size"])
    gen = ganmex.train(model, train, steps=args.steps, preset="cpu", out_dir=Path(args.out) / "ganmex", verbose=2)
    xt, yt = data.load(DATA["name"], "test", image_size=DATA["image_size"], max_per_class=30)
    predicted = model.predict(xt, verbose=0).argmax(axis=1)
    k = int(model.output_shape[-1])
    targets = (predicted + 1 + np.arange(len(xt)) % (k - 1)) % k  # every other class, in turn
    reached = model.predict(gen.generate(xt, targets), verbose=0).argmax(axis=1) == targets
    accuracy = float((predicted == yt).mean())
    gen.metadata.update(data=DATA, device=f"CPU, {os.cpu_count()} cores", steps=args.steps, preset="cpu",
                        quality={"n": int(len(xt)), "target_success": float(reached.mean()),
                                 "classifier_test_accuracy": accuracy},
                        seconds_this_session=round(time.time() - start, 1))
    print(gen.metadata["quality"], flush=True)
    if args.export:
        gen.save(args.export)
        models.save_model(model, Path(args.export) / "classifier.keras")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
