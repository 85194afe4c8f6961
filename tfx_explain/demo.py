"""The README's main job: a digits classifier, its GANMEX, and one-vs-one maps like the paper's figures.

    tfx-explain demo --out tfx_explain_demo

Everything is cached in the output directory: a second run reuses the classifier and the generator (a
killed GANMEX run resumes from its last checkpoint). Figures: ``fig9_one_vs_one.png`` (ganmex_appendix
Fig. 9: an input, its GANMEX baseline toward every class, IG and DeepLIFT maps with zero, MDTS and GANMEX
baselines per target) and ``fig2_examples.png`` (Fig. 2: several inputs, one target each).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from . import data, ganmex, plots
from ._checks import positive_int
from ._io import write_json
from .api import explain_keras
from .models import load_model, save_model, train_classifier

DEMO_STEPS = 800
METHODS = (("integrated_gradients", "IG"), ("deeplift", "DeepLIFT"))
BASELINES = (("zero", "Zero"), ("mdts", "MDTS"), ("ganmex", "GANMEX"))


def classifier(out_dir, epochs=30, verbose=0):
    """The cached digits classifier (mnist_cnn), trained on first use."""
    path = Path(out_dir) / "classifier.keras"
    if path.exists():
        return load_model(path), None
    if verbose:
        print(f"demo: training the digits classifier ({epochs} epochs; it is kept in {path})", file=sys.stderr,
              flush=True)
    result = train_classifier("mnist_cnn", "digits", epochs=epochs, verbose=verbose)
    save_model(result.model, path)
    return result.model, result.test_accuracy


def generator(model, out_dir, steps=DEMO_STEPS, preset="cpu", verbose="auto"):
    """The cached GANMEX for ``model``; resumes a partial run, reuses a finished one."""
    run = Path(out_dir) / "ganmex"
    saved = run / "generator" / "metadata.json"
    if saved.exists() and json.loads(saved.read_text()).get("trained_steps", 0) >= steps:
        gen = ganmex.load(run)
        gen.check_classifier(model)
        return gen
    return ganmex.train(model, "digits", steps=steps, preset=preset, out_dir=run, verbose=verbose)


def one_vs_one_maps(model, gen, x, original, targets, train):
    """{(method, baseline): Explanation} for inputs x and their targets (one target per row)."""
    out = {}
    for method, _ in METHODS:
        for baseline, _ in BASELINES:
            b = gen if baseline == "ganmex" else baseline
            out[method, baseline] = explain_keras(model, x, method=method, baseline=b, data=train,
                                                  original_class=original, target_class=targets, progress=False)
    return out


def figure_fig9(model, gen, image, label, train, path):
    """One input against every other class (columns): the input, GANMEX baselines, then IG and DeepLIFT rows,
    each row on one colour scale (as in Fig. 9) with its colour bar."""
    targets = np.array([k for k in range(gen.num_classes) if k != label])
    x = np.repeat(image[None], len(targets), axis=0)
    maps = one_vs_one_maps(model, gen, x, np.full(len(targets), label), targets, train)
    ganmex_baselines = maps[METHODS[0][0], "ganmex"].baselines
    shown = {"value_range": plots.display_range(image, ganmex_baselines)}
    rows = [[("image", image, shown)] + [("image", img, shown) for img in ganmex_baselines]]
    titles = ["input, GANMEX baselines"]
    for (method, baseline), e in maps.items():
        heat = e.heatmaps()
        limit = plots.shared_limit(heat)  # one scale per row, as in Fig. 9
        rows.append([None] + [("saliency", h, limit) for h in heat])
        titles.append(f"{dict(METHODS)[method]}+{dict(BASELINES)[baseline]}")
    cols = [f"input ({label})"] + [f"{label} vs {t}" for t in targets]
    return plots.grid(rows, row_titles=titles, col_titles=cols, path=path, colorbars="row")


def figure_fig2(model, gen, x, original, targets, train, path):
    """Several inputs (rows): input, and for each baseline its image and the IG and DeepLIFT maps
    (:func:`tfx_explain.plots.compare`)."""
    maps = one_vs_one_maps(model, gen, x, original, targets, train)
    labelled = {(dict(METHODS)[m], dict(BASELINES)[b]): e for (m, b), e in maps.items()}
    return plots.compare(labelled, path=path)


def run(out_dir="tfx_explain_demo", steps=DEMO_STEPS, classifier_epochs=30, verbose="auto"):
    """Train or reuse everything, write both figures and ``summary.json``; returns the summary."""
    positive_int(steps, "steps")
    positive_int(classifier_epochs, "classifier_epochs")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.time()
    model, accuracy = classifier(out_dir, epochs=classifier_epochs, verbose=verbose)
    (xt, yt), (x, y) = data.load("digits", "train"), data.load("digits", "test")
    if accuracy is None:
        accuracy = float((model.predict(x, verbose=0).argmax(1) == y).mean())
    t_classifier = time.time() - start
    if verbose:
        print(f"demo: training GANMEX ({steps} steps, preset cpu; a re-run resumes it)", file=sys.stderr, flush=True)
    gen = generator(model, out_dir, steps, verbose=verbose)
    t_gan = time.time() - start - t_classifier
    predicted = model.predict(x, verbose=0).argmax(1)
    targets = (predicted + 1 + np.arange(len(x)) % 9) % 10
    baselines = gen.generate(x, targets)
    success = float((model.predict(baselines, verbose=0).argmax(1) == targets).mean())
    figure_fig9(model, gen, x[0], int(predicted[0]), (xt, yt), out_dir / "fig9_one_vs_one.png")
    pick = np.arange(6)
    figure_fig2(model, gen, x[pick], predicted[pick], targets[pick], (xt, yt), out_dir / "fig2_examples.png")
    summary = {"classifier_test_accuracy": round(float(accuracy), 4), "ganmex_steps": int(steps),
               "ganmex_preset": gen.metadata.get("preset"),
               "target_class_success": round(success, 4), "test_pairs": int(len(x)),
               "mean_l2_to_baseline": round(float(np.sqrt(((baselines - x) ** 2).reshape(len(x), -1).sum(1)).mean()), 3),
               "figures": [str(out_dir / "fig9_one_vs_one.png"), str(out_dir / "fig2_examples.png")],
               "seconds": {"classifier": round(t_classifier, 1), "ganmex": round(t_gan, 1),
                           "total": round(time.time() - start, 1)}}
    write_json(out_dir / "summary.json", summary)
    return summary
