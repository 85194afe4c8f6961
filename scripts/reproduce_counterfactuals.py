"""Reproduce the counterfactual explainers' evaluations on digits and Fashion-MNIST pairs.

ExplainGAN (explaingan.txt): Table 1 (AOSPC at thresholds 0.5/0.7/0.9, ExplainGAN's mask against gradient
saliency, occlusion and Progressive Exaggeration's saliency), Table 2 (substitutability), the share of
test composites that cross the decision boundary and the mask sparsity. Progressive Exaggeration
(progressive_exaggeration.txt): the compatibility plot (Fig. 3) with its Pearson correlation, FID on
features of a classifier trained here, latent space closeness (Eq. 10) and the bias table (Table 3) on
a digit pair whose colour is confounded with the label.

Pairs: digits (3,8), (4,9), (5,6) (the embedded data, 28x28) and Fashion-MNIST (coat, shirt),
(pullover, shirt), (coat, pullover). Every unit of work writes its JSON into ``--out`` and is skipped
when that file exists; training resumes from its checkpoints, so an interrupted run continues where it
stopped. ``summary.md`` / ``summary.json`` collect whatever has finished. ``--rescore`` recomputes the
compatibility of finished PE units from their saved explainers (after the metric gained fields).

    PYTHONPATH=. nice -n 10 python scripts/reproduce_counterfactuals.py --preset cpu \
        --pairs digits:3,8 digits:4,9 digits:5,6 fashion_mnist:4,6 fashion_mnist:2,6 fashion_mnist:4,2
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

ALL_PAIRS = ("digits:3,8", "digits:4,9", "digits:5,6", "fashion_mnist:4,6", "fashion_mnist:2,6",
             "fashion_mnist:4,2")
CLASSIFIER_EPOCHS = {"digits": 15, "fashion_mnist": 10}
FASHION_CLASSIFIER_TRAIN = 2000  # explaingan.txt §5.1: a 2k classifier-training set, the rest trains the GAN
MAX_EVAL = 300  # test images used for AOSPC, compatibility and the other per-image metrics


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", nargs="*", default=list(ALL_PAIRS), help="dataset:a,b (b is class 1 / the target)")
    p.add_argument("--parts", nargs="+", default=["explaingan", "exaggeration", "bias"],
                   choices=("explaingan", "exaggeration", "bias"))
    p.add_argument("--preset", default="cpu", choices=("paper", "cpu", "tiny"))
    p.add_argument("--eg-steps", type=int, default=1500)
    p.add_argument("--pe-steps", type=int, default=1500)
    p.add_argument("--bins", type=int, default=10)
    p.add_argument("--eg-set", type=setting, action="append", default=[], metavar="KEY=VALUE",
                   help="override an ExplainGAN config field (repeatable)")
    p.add_argument("--pe-set", type=setting, action="append", default=[], metavar="KEY=VALUE",
                   help="override a Progressive Exaggeration config field (repeatable)")
    p.add_argument("--bias-pair", default="digits:3,8")
    p.add_argument("--out", type=Path, default=Path("runs/counterfactuals"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--summary-only", action="store_true", help="only rebuild summary.md from finished results")
    p.add_argument("--rescore", action="store_true",
                   help="recompute the compatibility of finished PE units from their saved explainers")
    return p.parse_args(argv)


def setting(text):
    key, value = text.split("=", 1)
    return key, json.loads(value)


def parse_pair(text):
    name, classes = text.split(":")
    a, b = (int(v) for v in classes.split(","))
    return name, a, b


def device_note():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"{len(gpus)} GPU" if gpus else f"CPU ({platform.processor() or platform.machine()}, shared)"


# --------------------------------------------------------------------------- data and classifier


def pair_data(name, a, b):
    """Binary pair data: labels 0 for a, 1 for b; (clf_train, gan_train, test)."""
    from tfx_explain import data

    def select(split):
        x, y = data.load(name, split)
        keep = (y == a) | (y == b)
        return x[keep], (y[keep] == b).astype(np.int64)

    train, test = select("train"), select("test")
    if name == "fashion_mnist":
        n = FASHION_CLASSIFIER_TRAIN
        return (train[0][:n], train[1][:n]), (train[0][n:], train[1][n:]), test
    return train, train, test  # 290 digits per pair: too few to split


def make_trainer(name, seed):
    """The classifier recipe, reused by substitutability: mnist_cnn, Adam, batch 32."""
    from tfx_explain.models import train_classifier

    def train(images, labels):
        return train_classifier("mnist_cnn", (images, labels), epochs=CLASSIFIER_EPOCHS[name], batch_size=32,
                                seed=seed, test_data=None, verbose=0).model

    return train


def classifier_for(unit_dir, name, clf_train, seed):
    from tfx_explain.models import load_model, save_model

    path = unit_dir / "classifier.keras"
    if path.exists():
        return load_model(path)
    model = make_trainer(name, seed)(*clf_train)
    save_model(model, path)
    return model


def subsample(test, n, seed):
    idx = np.sort(np.random.default_rng(seed).permutation(len(test[0]))[:n])
    return test[0][idx], test[1][idx]


# --------------------------------------------------------------------------- ExplainGAN


def run_explaingan(unit_dir, name, a, b, args, data_sets, model):
    from tfx_explain import counterfactual as cf
    from tfx_explain import explain_keras
    from tfx_explain.metrics import counterfactual as M

    clf_train, gan_train, test = data_sets
    start = time.time()
    explainer = cf.train_explaingan(model, gan_train, (0, 1), steps=args.eg_steps, preset=args.preset,
                                    out_dir=unit_dir / "explaingan", seed=args.seed, verbose=2, sample_every=500,
                                    **dict(args.eg_set))
    train_seconds = time.time() - start
    ceiling = M.accuracy(model, *test)
    out = explainer.explain(test[0], classifier=model)
    crossed = np.asarray(model.predict(out["composite"], verbose=0)).argmax(1) != out["predicted"]
    crossed_t = np.asarray(model.predict(out["transformed"], verbose=0)).argmax(1) != out["predicted"]
    result = {"pair": [name, a, b], "preset": args.preset, "settings": dict(args.eg_set), "steps": args.eg_steps,
              "train_seconds": train_seconds,
              "ceiling": ceiling, "composite_crossed": float(crossed.mean()),
              "transformed_crossed": float(crossed_t.mean()),
              "mask_sparsity": M.mask_sparsity(out["mask"])["mean_nonzero"],
              "mask_l1": M.mask_sparsity(out["mask"])["mean_l1"]}
    result["substitutability"] = substitutability_table(explainer, model, clf_train, test, ceiling,
                                                        make_trainer(name, args.seed))
    ev = subsample(test, MAX_EVAL, args.seed)
    maps = {"explaingan": explain_keras(model, ev[0], method="explaingan", explainer=explainer).attributions,
            "saliency": explain_keras(model, ev[0], method="saliency").attributions,
            "occlusion": explain_keras(model, ev[0], method="occlusion", window=4, stride=2).attributions}
    result["aospc"] = {k: M.aospc(model, ev[0], v, seed=args.seed, value_range=(0.0, 1.0))["aospc"]
                       for k, v in maps.items()}
    save_examples(unit_dir / "explaingan_examples.png", ev[0][:8], {k: v[:8] for k, v in out.items()
                                                                     if k != "predicted"}, out["mask"][:8])
    return result


def substitutability_table(explainer, model, clf_train, test, ceiling, trainer):
    """ExplainGAN Table 2: accuracy after replacing class 0, class 1 or both with transformed or composite
    images made from the classifier's own training images (labelled with the class they were made to be)."""
    from tfx_explain.metrics import counterfactual as M

    x, y = clf_train
    out = explainer.explain(x, classifier=model)
    generated_labels = 1 - out["predicted"]
    table = {}
    for kind in ("transformed", "composite"):
        for replace, label in (((0,), "0"), ((1,), "1"), ((0, 1), "both")):
            training = M.substitution_set(x, y, out[kind], generated_labels, replace)
            table[f"{kind}_{label}"] = M.substitutability(trainer, training, test, ceiling=ceiling)["percent"]
    return table


def save_examples(path, x, out, mask):
    from tfx_explain import plots

    rows = [[("image", x[i]), ("image", out["transformed"][i]), ("image", np.repeat(mask[i], x.shape[-1], -1)),
             ("image", out["composite"][i])] for i in range(len(x))]
    fig = plots.grid(rows, col_titles=["input", "transformed", "mask", "composite"], path=path)
    import matplotlib.pyplot as plt

    plt.close(fig)


# --------------------------------------------------------------------------- Progressive Exaggeration


def run_exaggeration(unit_dir, name, a, b, args, data_sets, model, features):
    from tfx_explain import counterfactual as cf
    from tfx_explain.metrics import counterfactual as M

    _, gan_train, test = data_sets
    start = time.time()
    explainer = cf.train_exaggeration(model, gan_train, target_class=1, bins=args.bins, steps=args.pe_steps,
                                      preset=args.preset, out_dir=unit_dir / "exaggeration", seed=args.seed,
                                      verbose=2, sample_every=500, **dict(args.pe_set))
    train_seconds = time.time() - start
    ev = subsample(test, MAX_EVAL, args.seed)
    series, achieved, compatibility = score_compatibility(unit_dir, name, a, b, explainer, model, ev[0])
    result = {"pair": [name, a, b], "preset": args.preset, "settings": dict(args.pe_set), "steps": args.pe_steps,
              "bins": series.shape[1], "train_seconds": train_seconds, **compatibility}
    result["fid"] = fid_table(features, model, ev[0], series, achieved)
    result["latent_space_closeness"] = closeness(explainer, model, ev[0], series)
    saliency = np.abs(series[:, -1] - series[:, 0])
    result["aospc_saliency"] = M.aospc(model, ev[0], saliency, seed=args.seed, value_range=(0.0, 1.0))["aospc"]
    save_series(unit_dir / "exaggeration_examples.png", ev[0][:6], series[:6], achieved[:6])
    return result


def score_compatibility(unit_dir, name, a, b, explainer, model, x):
    """PE Fig. 3: the series of every test image, f of each explanation, the statistics and the plot."""
    from tfx_explain.metrics import counterfactual as M

    series = explainer.series(x)
    n, bins = series.shape[:2]
    achieved = np.asarray(model.predict(series.reshape((-1,) + x.shape[1:]), verbose=0))[:, 1].reshape(n, bins)
    requested = np.broadcast_to(explainer.requested(), achieved.shape)
    stats = M.compatibility(requested, achieved, bins=bins)
    M.compatibility_plot(requested, achieved, unit_dir / "compatibility.png",
                         title=f"{name} ({a} vs {b}): Pearson {stats['pearson']:.3f}")
    return series, achieved, {"compatibility": stats, "mean_achieved_per_bin": achieved.mean(axis=0).tolist()}


def rescore(unit_dir, name, a, b, args, data_sets, model):
    """Recompute the compatibility block of a finished unit from its saved explainer (after a metric gained
    fields); every other number of the unit is kept."""
    from tfx_explain import counterfactual as cf
    from tfx_explain._io import write_json

    path = unit_dir / "exaggeration.json"
    result = json.loads(path.read_text())
    explainer = cf.load(unit_dir / "exaggeration" / "explainer")
    ev = subsample(data_sets[2], MAX_EVAL, args.seed)
    result.update(score_compatibility(unit_dir, name, a, b, explainer, model, ev[0])[2])
    write_json(path, result)
    print(path, json.dumps(result["compatibility"]), flush=True)


def fid_table(features, model, x, series, achieved):
    """PE Table 1 form: real vs explanations with f in [0.9, 1] ("present"), [0, 0.1) ("absent"), and all."""
    from tfx_explain.metrics import counterfactual as M

    real_p = np.asarray(model.predict(x, verbose=0))[:, 1]
    flat, q = series.reshape((-1,) + x.shape[1:]), achieved.ravel()
    table = {}
    for key, real_keep, fake_keep in (("present", real_p >= 0.9, q >= 0.9), ("absent", real_p < 0.1, q < 0.1),
                                      ("overall", np.ones_like(real_p, bool), np.ones_like(q, bool))):
        fakes = flat[fake_keep]
        if real_keep.sum() < 10 or len(fakes) < 10:
            table[key] = None
            continue
        pick = np.random.default_rng(0).permutation(len(fakes))[: max(real_keep.sum(), 10)]
        table[key] = M.fid(features, x[real_keep], fakes[pick])
    return table


def closeness(explainer, model, x, series):
    from tfx_explain.generative.exaggeration import bin_index
    from tfx_explain.metrics import counterfactual as M

    def embed(images):
        p = np.asarray(model.predict(images, verbose=0))[:, 1]
        return explainer.embed(images, bin_index(p, explainer.bins))

    z = embed(x)
    zd = np.stack([embed(series[:, c]) for c in range(series.shape[1])])
    return M.latent_space_closeness(z, zd)


def save_series(path, x, series, achieved):
    from tfx_explain import plots

    rows = [[("image", x[i])] + [("image", s) for s in series[i]] for i in range(len(x))]
    titles = ["query"] + [f"bin {c}" for c in range(series.shape[1])]
    fig = plots.grid(rows, col_titles=titles, path=path)
    import matplotlib.pyplot as plt

    plt.close(fig)


# --------------------------------------------------------------------------- bias test


def run_bias(out_dir, pair, args):
    """PE §4.4 / Table 3 on a colour-confounded digit pair: f_biased sees colour = label (correlation 1),
    f_unbiased a random colour; both explainers train on, and explain, unconfounded images."""
    from tfx_explain import counterfactual as cf
    from tfx_explain.metrics import counterfactual as M

    name, a, b = parse_pair(pair)
    clf_train, gan_train, test = pair_data(name, a, b)
    trainer = make_trainer(name, args.seed)
    neutral_train, _ = M.confound_by_colour(*gan_train, 0.5, seed=args.seed + 1)
    neutral_test, colour_test = M.confound_by_colour(*test, 0.5, seed=args.seed + 2)
    result = {"pair": [name, a, b], "preset": args.preset, "settings": dict(args.pe_set), "steps": args.pe_steps}
    for key, correlation in (("biased", 1.0), ("unbiased", 0.5)):
        model = trainer(*(M.confound_by_colour(*clf_train, correlation, seed=args.seed)[0], clf_train[1]))
        explainer = cf.train_exaggeration(model, neutral_train, target_class=1, bins=args.bins, steps=args.pe_steps,
                                          preset=args.preset, out_dir=out_dir / f"bias_{key}", seed=args.seed,
                                          verbose=2, **dict(args.pe_set))
        present = explainer.generate(neutral_test, explainer.bins - 1)
        absent = explainer.generate(neutral_test, 0)
        result[key] = M.confounding(colour_test, M.colour_attribute(present), M.colour_attribute(absent))
        result[key]["test_accuracy"] = M.accuracy(model, neutral_test, test[1])
        result[key]["train_seconds"] = explainer.metadata["seconds"]
    return result


# --------------------------------------------------------------------------- driver and summary


def run_unit(path, fn):
    if path.exists():
        return json.loads(path.read_text())
    from tfx_explain._io import write_json

    result = fn()
    result["device"] = device_note()
    write_json(path, result)
    print(json.dumps(result, indent=1)[:2000], flush=True)
    return result


def main(argv=None):
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.summary_only:
        from tfx_explain.metrics import counterfactual as M

        features = {}
        for pair in args.pairs:
            name, a, b = parse_pair(pair)
            unit_dir = args.out / f"{name}_{a}_{b}"
            unit_dir.mkdir(parents=True, exist_ok=True)
            data_sets = pair_data(name, a, b)
            if args.rescore:
                if (unit_dir / "exaggeration.json").exists():
                    model = classifier_for(unit_dir, name, data_sets[0], args.seed)
                    rescore(unit_dir, name, a, b, args, data_sets, model)
                continue
            model = classifier_for(unit_dir, name, data_sets[0], args.seed)
            if "explaingan" in args.parts:
                run_unit(unit_dir / "explaingan.json",
                         lambda: run_explaingan(unit_dir, name, a, b, args, data_sets, model))
            if "exaggeration" in args.parts:
                if name not in features:
                    features[name] = M.train_feature_extractor(name, dim=32, epochs=5, seed=args.seed)
                run_unit(unit_dir / "exaggeration.json",
                         lambda: run_exaggeration(unit_dir, name, a, b, args, data_sets, model, features[name]))
        if "bias" in args.parts and not args.rescore:
            run_unit(args.out / "bias.json", lambda: run_bias(args.out, args.bias_pair, args))
    write_summary(args.out)


def write_summary(out):
    from tfx_explain._io import write_json

    units = {p.parent.name + "/" + p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*/*.json"))
             if p.stem in ("explaingan", "exaggeration")}
    bias = json.loads((out / "bias.json").read_text()) if (out / "bias.json").exists() else None
    write_json(out / "summary.json", {"units": units, "bias": bias})
    lines = ["| pair | steps | train s | ceiling | composites crossed | transformed crossed | mask >0.5 | "
             "subst. composite both (%) | subst. transformed both (%) | AOSPC 0.5/0.7/0.9 (ExplainGAN) | "
             "AOSPC 0.5/0.7/0.9 (saliency) | AOSPC 0.5/0.7/0.9 (occlusion) |", "|" + "---|" * 12]
    fmt = lambda d: "/".join(f"{d[k]:.3f}" for k in sorted(d, key=float))  # noqa: E731
    for key, r in units.items():
        if key.endswith("explaingan"):
            s = r["substitutability"]
            lines.append(f"| {key.split('/')[0]} | {r['steps']} | {r['train_seconds']:.0f} | {r['ceiling']:.3f} | "
                         f"{r['composite_crossed']:.3f} | {r['transformed_crossed']:.3f} | {r['mask_sparsity']:.3f} | "
                         f"{s['composite_both']:.1f} | {s['transformed_both']:.1f} | {fmt(r['aospc']['explaingan'])} | "
                         f"{fmt(r['aospc']['saliency'])} | {fmt(r['aospc']['occlusion'])} |")
    lines += ["", "| pair | steps | train s | Pearson | per-image Pearson | offset share | Spearman | MSE | in bin | "
              "FID present/absent/overall | latent closeness | AOSPC 0.5/0.7/0.9 (PE saliency) |", "|" + "---|" * 12]
    for key, r in units.items():
        if key.endswith("exaggeration"):
            c, f = r["compatibility"], r["fid"]
            fids = "/".join("-" if f[k] is None else f"{f[k]:.2f}" for k in ("present", "absent", "overall"))
            extra = " | ".join(f"{c[k]:.3f}" if k in c else "-" for k in ("per_image_pearson", "offset_share"))
            lines.append(f"| {key.split('/')[0]} | {r['steps']} | {r['train_seconds']:.0f} | {c['pearson']:.3f} | "
                         f"{extra} | {c['spearman']:.3f} | {c['mse']:.4f} | {c['in_bin']:.3f} | {fids} | "
                         f"{r['latent_space_closeness']:.3f} | {fmt(r['aospc_saliency'])} |")
    if bias:
        lines += ["", "| classifier | target | red | green | overall (colour flipped) |", "|---|---|---|---|---|"]
        for key in ("biased", "unbiased"):
            for target in ("present", "absent"):
                t = bias[key][target]
                lines.append(f"| f_{key} (test acc {bias[key]['test_accuracy']:.3f}) | {target} | {t['red']:.2f} | "
                             f"{t['green']:.2f} | {t['overall']:.2f} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
