"""GANMEX's measured outcomes (issue "GANMEX", the numbers in docs/guide/ganmex.md).

For each dataset: train (or reuse) a classifier and GANMEX, then measure on the test split
  (a) target-class success: the classifier assigns c_t to G(x, c_t) for every pair (x, c_t != c_o);
  (b) the baseline distances of ganmex_appendix Table 2: D_intra, D_inter, and mean ||x - b|| for the GAN,
      MDTS, a random target-class sample (Rand) and the zero baseline;
  (c) on colored datasets, how often the baseline keeps the input's colour (Fig. 5B), with and without L_sim;
  (d) time per baseline and training steps per second.
Writes ``outcomes.json`` and ``outcomes.md`` into --out. Every number names the preset and the device.

    PYTHONPATH=. python scripts/ganmex_outcomes.py --datasets digits --steps 1500 --out runs/outcomes

Fig. 5B (issue 16): ``--preset cpu_fig5b`` (no identity skip, lambda_rec 0, as the reference) with ``--curve``
measures along training (the run resumes between the step counts). The two variants can run as two processes
on the same --out (``--variants sim`` and ``--variants nosim``); ``--figure`` then draws ``fig5b.png`` (inputs
of each colour and their baselines with and without L_sim) from the saved generators, training nothing:

    PYTHONPATH=. python scripts/ganmex_outcomes.py --datasets colored_fashion_mnist --preset cpu_fig5b \
        --variants nosim --curve 250,500,750,1000,1500,2000 --steps 2000 --limit 500 --out runs/fig5b
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

CLASSIFIER_EPOCHS = {"digits": 30, "fashion_mnist": 5, "colored_fashion_mnist": 5}


def classifier(name, out):
    from tfx_explain.models import load_model, save_model, train_classifier

    path = out / name / "classifier.keras"
    if path.exists():
        return load_model(path)
    result = train_classifier("mnist_cnn", name, epochs=CLASSIFIER_EPOCHS.get(name, 10), batch_size=64, verbose=0)
    save_model(result.model, path)
    return result.model


def ganmex_run(model, name, out, steps, preset, tag="", **config):
    from tfx_explain import ganmex

    import tensorflow as tf

    run = run_dir(out, name, tag)
    latest = tf.train.latest_checkpoint(str(run / "checkpoints")) if run.exists() else None
    resumed_from = int(latest.rsplit("-", 1)[1]) if latest else 0  # a resumed run trains only the rest
    start = time.time()
    gen = ganmex.train(model, name, steps=steps, preset=preset, out_dir=run, verbose=2, **config)
    return gen, time.time() - start, steps - resumed_from


VARIANTS = {"sim": ("", {}), "nosim": (" (lambda_sim=0)", {"lambda_sim": 0.0})}


def run_dir(out, name, tag):
    return out / name / f"ganmex{tag.strip(' ()').replace('=', '_')}"


def fig5b(name, model, out, path, per_colour=2, seed=0):
    """Fig. 5B: test inputs of each dominant colour and their baselines toward one other class, one column per
    saved variant (with / without L_sim), titled with whether the colour was kept. Returns the PNG path."""
    import tfx_explain as tx
    from tfx_explain import ganmex, plots
    from tfx_explain.metrics import baseline_quality as bq

    x = tx.data.load(name, "test")[0]
    colour = bq.dominant_channel(x)
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.choice(np.flatnonzero(colour == c), per_colour, replace=False)
                           for c in range(x.shape[-1]) if (colour == c).sum() >= per_colour])
    x = x[pick]
    predicted = model.predict(x, verbose=0).argmax(1)
    k = int(model.output_shape[-1])
    targets = (predicted + 1 + rng.integers(0, k - 1, len(x))) % k
    variants = [(tag, ganmex.load(run_dir(out, name, tag))) for tag, _ in VARIANTS.values()
                if (run_dir(out, name, tag) / "generator").exists()]
    columns = [(tag, gen.generate(x, targets)) for tag, gen in variants]
    rows, titles = [], []
    for i in range(len(x)):
        row = [("image", x[i], {"title": f"input, class {predicted[i]}"})]
        for tag, baselines in columns:
            kept = bq.dominant_channel(baselines[i:i + 1])[0] == colour[pick[i]]
            label = "without L_sim" if tag else "with L_sim"
            row.append(("image", baselines[i], {"title": f"G(x, {targets[i]}) {label}\ncolour {'kept' if kept else 'changed'}"}))
        rows.append(row)
        titles.append(f"input {i + 1}")
    fig = plots.grid(rows, row_titles=titles)
    fig.suptitle(f"Fig. 5B on {name}: GANMEX baselines ({variants[0][1].metadata['preset']} preset)")
    return plots.save_figure(fig, path)


def all_pairs(x, predicted, k):
    """Every (index, c_t) with c_t != c_o: sources (M,), targets (M,)."""
    sources = np.repeat(np.arange(len(x)), k - 1)
    targets = np.concatenate([[t for t in range(k) if t != c] for c in predicted])
    return sources, targets


def pair_distances(x, labels, same, n_pairs, seed):
    """Mean L2 over random pairs of test images of the same (D_intra) or different (D_inter) classes."""
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(x), size=n_pairs * 4)
    j = rng.integers(0, len(x), size=n_pairs * 4)
    keep = (labels[i] == labels[j]) & (i != j) if same else labels[i] != labels[j]
    i, j = i[keep][:n_pairs], j[keep][:n_pairs]
    return float(np.sqrt(((x[i] - x[j]) ** 2).reshape(len(i), -1).sum(1)).mean())


def measure(name, model, gen, train_seconds, steps, limit, trained):
    import tfx_explain as tx
    from tfx_explain.metrics import baseline_quality as bq

    (xt, yt), (x, y) = tx.data.load(name, "train"), tx.data.load(name, "test")
    x, y = x[:limit], y[:limit]
    k = gen.num_classes
    predicted = model.predict(x, verbose=0, batch_size=512).argmax(1)
    sources, targets = all_pairs(x, predicted, k)
    start = time.time()
    baselines = gen.generate(x[sources], targets, batch_size=512)
    per_baseline_ms = 1000 * (time.time() - start) / len(targets)
    hits, success = bq.target_success(model, baselines, targets)
    one = np.arange(len(x)) * (k - 1) + np.arange(len(x)) % (k - 1)  # one target per input for Table 2
    mdts, _ = tx.baselines.mdts(x, predicted, targets[one], xt, yt)
    rand, _ = tx.baselines.random_target(x, predicted, targets[one], xt, yt)
    result = {
        "dataset": name, "test_images": int(len(x)), "pairs": int(len(targets)), "steps": steps,
        "preset": gen.metadata["preset"], "train_seconds": round(train_seconds, 1),
        "steps_trained_now": int(trained),
        "steps_per_second": round(trained / train_seconds, 3) if trained > 0 and train_seconds > 0 else None,
        "ms_per_baseline": round(per_baseline_ms, 3), "target_success": round(success, 4),
        "table2": {"D_intra": pair_distances(x, y, True, 20000, 0), "D_inter": pair_distances(x, y, False, 20000, 0),
                   "GAN": float(bq.baseline_distance(x, baselines[one]).mean()),
                   "MDTS": float(bq.baseline_distance(x, mdts).mean()),
                   "Rand": float(bq.baseline_distance(x, rand).mean()),
                   "Zero": float(bq.baseline_distance(x, np.zeros_like(x)).mean())},
    }
    if x.shape[-1] == 3:
        _, kept = bq.colour_preservation(x[sources], baselines)
        result["colour_kept"] = round(kept, 4)
    return result


def markdown(results, device):
    lines = [f"Device: {device}.", "",
             "| dataset | preset | steps | train s | steps/s | ms/baseline | target success | colour kept |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['dataset']}{r.get('tag', '')} | {r['preset']} | {r['steps']} | {r['train_seconds']} | "
                     f"{r['steps_per_second']} | {r['ms_per_baseline']} | {r['target_success']:.1%} | "
                     f"{r.get('colour_kept', float('nan')):.1%} |")
    lines += ["", "| dataset | D_intra | D_inter | GAN | MDTS | Rand | Zero |", "|---|---|---|---|---|---|---|"]
    for r in results:
        t = r["table2"]
        lines.append(f"| {r['dataset']}{r.get('tag', '')} | " + " | ".join(f"{t[k]:.2f}" for k in
                                                                       ("D_intra", "D_inter", "GAN", "MDTS", "Rand", "Zero")) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--limit", type=int, default=None, help="test images per dataset (default all)")
    parser.add_argument("--no-sim-ablation", action="store_true", help="skip the lambda_sim=0 run on colored data")
    parser.add_argument("--variants", default="sim,nosim", help="on colored data: sim (the preset's lambda_sim), "
                        "nosim (lambda_sim=0), or both (default)")
    parser.add_argument("--curve", default="", help="comma-separated step counts to measure at before --steps "
                        "(training resumes between them)")
    parser.add_argument("--figure", action="store_true", help="only draw fig5b.png from the saved generators")
    parser.add_argument("--out", type=Path, default=Path("runs/ganmex_outcomes"))
    args = parser.parse_args(argv)

    import tensorflow as tf

    from tfx_explain._io import write_json

    device = (f"{platform.machine()} CPU, {os.cpu_count()} cores" if not tf.config.list_physical_devices("GPU")
              else ", ".join(d.name for d in tf.config.list_physical_devices("GPU")))
    chosen = [v for v in args.variants.split(",") if v]
    if not chosen or set(chosen) - set(VARIANTS):
        parser.error(f"--variants: expected a comma-separated subset of {sorted(VARIANTS)}, got {args.variants!r}")
    try:
        curve = sorted({int(s) for s in args.curve.split(",") if s} | {args.steps})
    except ValueError:
        parser.error(f"--curve: expected comma-separated step counts, got {args.curve!r}")
    if curve[0] < 1 or curve[-1] > args.steps:
        parser.error(f"--curve: expected step counts in [1, --steps={args.steps}], got {args.curve!r}")
    results = []
    for name in args.datasets.split(","):
        model = classifier(name, args.out)
        if args.figure:
            print(fig5b(name, model, args.out, args.out / name / "fig5b.png"))
            continue
        variants = [VARIANTS["sim"]]
        if name.startswith("colored_") and not args.no_sim_ablation:
            variants = [VARIANTS[v] for v in chosen]
        for tag, config in variants:
            for steps in curve:
                gen, seconds, trained = ganmex_run(model, name, args.out, steps, args.preset, tag, **config)
                result = measure(name, model, gen, seconds, steps, args.limit, trained)
                result.update(tag=tag, load_average=list(os.getloadavg()))
                results.append(result)
                print(json.dumps(result), flush=True)
    if args.figure:
        return
    suffix = "_".join(chosen) if len(chosen) < len(VARIANTS) else ""
    report = {"device": device, "load_average": list(os.getloadavg()), "command": " ".join(os.sys.argv),
              "results": results}
    write_json(args.out / f"outcomes{suffix and '_' + suffix}.json", report)
    (args.out / f"outcomes{suffix and '_' + suffix}.md").write_text(markdown(results, device))
    print(markdown(results, device))


if __name__ == "__main__":
    main()
