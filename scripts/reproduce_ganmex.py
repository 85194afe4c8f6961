"""Reproduce the GANMEX paper's evaluation: Tables 1, 2, 3 and Figs. 3, 7, 9 (ganmex_main.txt §4;
ganmex_appendix.txt B, C), on digits, fashion_mnist and the composite (BAM-like) data.

Every table and figure is an independent function of one prepared dataset context, behind one CLI:

    PYTHONPATH=. nice -n 10 python scripts/reproduce_ganmex.py --tables 1,2,3 --figures 3,7,9 \
        --datasets digits,fashion_mnist,composite_fashion_mnist --out runs/reproduce_ganmex

Defaults are CPU-sized (2 cores): 100 test samples per dataset with one random target class each, a few
classifier epochs, IG/EG with 200 steps as the paper. Flags scale up (``--n``, ``--epochs``, ``--targets
all``). Each run writes ``<out>/<section>.json`` and ``.md`` (measured beside the paper's numbers) and
PNG figures; ``<out>/report.md`` collects them. The paper's numbers are copied from its tables (MNIST rows
are compared with digits and fashion_mnist, BAM with the composite data: different data, same protocol).

Baselines are the columns of :func:`baseline_columns`: Zero, MDTS, GAN (a GANMEX generator trained with
``--ganmex-steps`` against the dataset's classifier, or resumed from ``<out>/<dataset>/ganmex``) and EG (the
training distribution of the target class), plus Rand (a random target-class training image) in Table 2.

The paper's columns compute what the reference harness computed (:func:`method_options`; ganmex.md
§3.3-3.4): "EG" explains S_co alone with references from class c_t (``one_vs_one="reference"``) and
"DeepLIFT" is DeepExplain's rule on the probability output (``softmax_rule="gradient"``, the softmax
differentiated at the input; it does not sum to delta). Ours are extra columns of Tables 1 and 3, named for
what they compute (:data:`OUR_VARIANTS`): "EG (S_co−S_ct)" and "DeepLIFT path-rule <baseline>". Table 3
reports the Gini index twice: G(|A|) ("sparsity") and the probable paper computation G(|A| + 1e-7)
("sparsity_eps", :func:`tfx_explain.metrics.gini`, appendix C.3).
Table 3's AORoarC row (appendix C.2) is its own section, ``--tables roar`` (or ``--roar`` within Table 3):
5 digit pairs x the paper's columns x ``--roar-fractions``, one retrained binary classifier each, resumable
per (pair, column, fraction) from ``<out>/<dataset>/roar/`` (rerun the same command after a stop):

    PYTHONPATH=. nice -n 10 python scripts/reproduce_ganmex.py --datasets digits --tables roar --figures "" \
        --n 50 --epochs 5 --ganmex-steps 1000 --roar-preset cpu --ig-steps 50 --eg-steps 50 --out runs/roar

In Fig. 3 the GAN baseline is regenerated against every randomized classifier with
``--sanity-ganmex-steps`` (0 keeps the original generator: the paper's "stand-alone" ablation, Fig. 5A).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfx_explain import data as data_mod
from tfx_explain import explain_keras, metrics, plots
from tfx_explain._io import atomic_path, write_json
from tfx_explain.metrics.grid import METHOD_LABELS
from tfx_explain.metrics.roar import PRESETS as ROAR_PRESETS
from tfx_explain.metrics.sanity import MEASURES
from tfx_explain.models import load_model, save_model, train_classifier

SECTIONS = ("table1", "table2", "table3", "table3_roar", "fig3", "fig7", "fig9")
METHODS = {"IG": "integrated_gradients", "DeepLIFT": "deeplift", "Occlusion": "occlusion"}
TABLE3_METRICS = ("aopc_100", "aopc_all", "sparsity", "faithfulness", "monotonicity")
# Our computations, reported next to the paper's as extra columns: {method: (column label, options)}.
OUR_VARIANTS = {"expected_gradients": ("EG (S_co−S_ct)", {"one_vs_one": "delta"}),
                "deeplift": ("DeepLIFT path-rule", {"softmax_rule": "path"})}

# The paper's numbers (ganmex_main.txt Table 1; ganmex_appendix.txt Tables 2 and 3, MNIST rows).
PAPER_TABLE1 = {"different object": {"Zero": 0.711, "MDTS": 0.850, "GAN": 0.459, "EG": 0.610},
                "different scene": {"Zero": 2.440, "MDTS": 1.254, "GAN": 1.027, "EG": 1.074},
                "overall": {"Zero": 1.591, "MDTS": 0.852, "GAN": 0.747, "EG": 0.846}}
PAPER_TABLE2_MNIST = {"d_intra": 8.96, "d_inter": 10.32, "GAN": 7.17, "MDTS": 7.18, "Rand": 10.32, "Zero": 9.28}
PAPER_TABLE3_MNIST = {  # (method, baseline) -> value; the SVHN row for inverse localization
    "aopc_100": {"IG Zero": 0.614, "IG MDTS": 1.249, "IG GAN": 1.421, "EG": 1.260, "DeepLIFT Zero": 0.505,
                 "DeepLIFT MDTS": 0.639, "DeepLIFT GAN": 0.724, "Occlusion Zero": 0.705, "Occlusion MDTS": 1.050,
                 "Occlusion GAN": 1.221},
    "aopc_all": {"IG Zero": 0.889, "IG MDTS": 1.098, "IG GAN": 1.263, "EG": 1.13, "DeepLIFT Zero": 0.859,
                 "DeepLIFT MDTS": 0.933, "DeepLIFT GAN": 0.992, "Occlusion Zero": 0.877, "Occlusion MDTS": 1.019,
                 "Occlusion GAN": 1.114},
    "aoroarc": {"IG Zero": 0.176, "IG MDTS": 0.295, "IG GAN": 0.249, "EG": 0.211, "DeepLIFT Zero": 0.209,
                "DeepLIFT MDTS": 0.294, "DeepLIFT GAN": 0.293, "Occlusion Zero": 0.196, "Occlusion MDTS": 0.303,
                "Occlusion GAN": 0.327},
    "sparsity": {"IG Zero": 0.909, "IG MDTS": 0.911, "IG GAN": 0.919, "EG": 0.827, "DeepLIFT Zero": 0.047,
                 "DeepLIFT MDTS": 0.047, "DeepLIFT GAN": 0.046, "Occlusion Zero": 0.062, "Occlusion MDTS": 0.058,
                 "Occlusion GAN": 0.058},
    "faithfulness": {"IG Zero": 0.182, "IG MDTS": 0.224, "IG GAN": 0.280, "EG": 0.407, "DeepLIFT Zero": 0.075,
                     "DeepLIFT MDTS": 0.003, "DeepLIFT GAN": 0.031, "Occlusion Zero": 0.257,
                     "Occlusion MDTS": 0.254, "Occlusion GAN": 0.291},
    "monotonicity": {"IG Zero": 0.118, "IG MDTS": 0.196, "IG GAN": 0.264, "EG": 0.357, "DeepLIFT Zero": 0.087,
                     "DeepLIFT MDTS": 0.150, "DeepLIFT GAN": 0.206, "Occlusion Zero": 0.244,
                     "Occlusion MDTS": 0.239, "Occlusion GAN": 0.280},
    "edge_center_localization (SVHN)": {"IG Zero": 0.268, "IG MDTS": 0.128, "IG GAN": 0.113, "EG": 0.217,
                                        "DeepLIFT Zero": 0.268, "DeepLIFT MDTS": 0.156, "DeepLIFT GAN": 0.123,
                                        "Occlusion Zero": 0.268, "Occlusion MDTS": 0.144, "Occlusion GAN": 0.100},
}


@dataclass
class Context:
    """One dataset prepared for every section: classifier, data, the explained samples and their targets."""

    name: str
    model: object
    train: tuple
    x: np.ndarray
    original_class: np.ndarray
    target_class: np.ndarray
    num_classes: int
    accuracy: float
    masks: np.ndarray | None = None
    n_scenes: int | None = None
    args: argparse.Namespace | None = None
    out: Path | None = None
    ganmex: object | None = None
    info: dict = field(default_factory=dict)


def baseline_columns(ctx):
    """{label: baseline} for explain_keras: Zero, MDTS and, when trained, the GANMEX generator."""
    columns = {"Zero": "zero", "MDTS": "mdts"}
    if ctx.ganmex is not None:
        columns["GAN"] = ctx.ganmex
    return columns


def train_ganmex(ctx):
    """Train (or resume from ``<out>/<dataset>/ganmex``) GANMEX against the dataset's classifier and record
    its target-class success on the explained pairs: argmax f(G(x, c_t)) == c_t."""
    from tfx_explain import ganmex

    args = ctx.args
    start = time.time()
    ctx.ganmex = ganmex.train(ctx.model, ctx.train, steps=args.ganmex_steps, preset=args.ganmex_preset,
                              out_dir=ctx.out / "ganmex", verbose=0, seed=args.seed)
    baselines = ctx.ganmex.generate(ctx.x, ctx.target_class)
    predicted = ctx.model.predict(baselines, batch_size=512, verbose=0).argmax(axis=1)
    ctx.info["ganmex"] = {"preset": args.ganmex_preset, "steps": args.ganmex_steps,
                          "seconds (this call; resumed runs skip finished steps)": round(time.time() - start, 1),
                          "target_success": float((predicted == ctx.target_class).mean()),
                          "mean_l1_change": float(np.abs(baselines - ctx.x).mean())}


def regenerate_ganmex(ctx):
    """Fig. 3's hook: a GANMEX trained from scratch against the randomized classifier.

    The cascade is seeded, so every method meets the same randomized classifiers: generators are cached by
    the classifier's weights fingerprint and trained once per randomization step."""
    from tfx_explain import ganmex
    from tfx_explain.models import introspect

    cache = ctx.info.setdefault("_regenerated", {})

    def regenerate(randomized):
        key = introspect.weights_fingerprint(randomized)
        if key not in cache:
            cache[key] = ganmex.train(randomized, ctx.train, steps=ctx.args.sanity_ganmex_steps,
                                      preset=ctx.args.ganmex_preset, verbose=0, seed=ctx.args.seed)
        return cache[key]

    return regenerate


def method_options(args, ours=False):
    """{method: options} of the paper's columns, as the reference harness computed them (ganmex.md §3.3-3.4):
    EG of S_co with references from class c_t, DeepExplain's DeepLIFT (softmax gradient at the input).
    ``ours=True``: the options of :data:`OUR_VARIANTS` instead (EG of S_co - S_ct, DeepLIFT's path rule)."""
    options = {"integrated_gradients": {"steps": args.ig_steps},
               "expected_gradients": {"steps": args.eg_steps, "one_vs_one": "reference"},
               "deeplift": {"softmax_rule": "gradient"}}
    if ours:
        for method, (_, variant) in OUR_VARIANTS.items():
            options[method] = {**options[method], **variant}
    return options


def prepare(name, args):
    """Train (or reload) the dataset's classifier and pick the explained test samples and targets."""
    out = Path(args.out) / name
    composite = name.startswith("composite_")
    train = data_mod.load(name, "train")
    loaded = data_mod.load(name, "test", with_masks=composite)
    x_test, y_test = loaded[0], loaded[1]
    masks_all = loaded[2] if composite else None
    num_classes = int(train[1].max()) + 1
    path = out / "classifier.keras"
    if path.exists() and not args.retrain:
        model = load_model(path)
    else:
        result = train_classifier(args.architecture, train, epochs=args.epochs, batch_size=64, test_data=None,
                                  seed=args.seed, verbose=0)
        model = result.model
        save_model(model, path)
    predicted = model.predict(x_test, batch_size=512, verbose=0).argmax(axis=1)
    accuracy = float((predicted == y_test).mean())
    # explained samples: the first n correctly classified test images (the paper explains test images)
    rows = np.flatnonzero(predicted == y_test)[: args.n]
    x, co = x_test[rows], y_test[rows]
    if composite:
        n_scenes = len(data_mod.composite.DEFAULT_SCENES)
        # Table 1's two defined pair kinds for every sample: same scene + other object, same object + other scene
        other_object = (co + n_scenes) % num_classes
        other_scene = (co // n_scenes) * n_scenes + (co % n_scenes + 1) % n_scenes
        x_rep = np.concatenate([x, x])
        co_rep = np.concatenate([co, co])
        ct = np.concatenate([other_object, other_scene])
        masks = np.concatenate([masks_all[rows], masks_all[rows]])
        ctx = Context(name, model, train, x_rep, co_rep, ct, num_classes, accuracy, masks, n_scenes, args, out)
    else:
        x_rep, co_rep, ct, _ = metrics.expand_targets(x, co, num_classes, args.targets, args.seed)
        ctx = Context(name, model, train, x_rep, co_rep, ct, num_classes, accuracy, args=args, out=out)
    if args.ganmex_steps > 0:
        train_ganmex(ctx)
    return ctx


def table1(ctx):
    """Table 1: inverse localization of IG with Zero, MDTS (GAN) and of EG on the composite data (§4.1)."""
    if ctx.masks is None:
        return None
    columns = {label: ("integrated_gradients", b, False) for label, b in baseline_columns(ctx).items()}
    columns["EG"] = ("expected_gradients", "train", False)  # the harness's EG (S_co, references of c_t)
    columns[OUR_VARIANTS["expected_gradients"][0]] = ("expected_gradients", "train", True)
    measured = {}
    for label, (method, baseline, ours) in columns.items():
        exp = explain_keras(ctx.model, ctx.x, method=method, baseline=baseline, original_class=ctx.original_class,
                            target_class=ctx.target_class, data=ctx.train, seed=ctx.args.seed,
                            **method_options(ctx.args, ours).get(method, {}))
        result = metrics.inverse_localization(exp.attributions, ctx.original_class, ctx.target_class, ctx.masks,
                                              ctx.n_scenes)
        measured[label] = result.extras["by_kind"]
    rows = [{"pair kind": kind, "column": label, "mean": measured[label][kind]["mean"],
             "sem": measured[label][kind]["sem"], "paper (BAM)": PAPER_TABLE1[kind].get(label)}
            for kind in PAPER_TABLE1 for label in measured]
    md = (f"### Table 1 — inverse localization, IG (lower is better), {ctx.name}\n\n"
          + metrics.summary_table(rows, "pair kind", "column") + "\nPaper (BAM, MobileNet):\n\n"
          + metrics.summary_table([{**r, "mean": r["paper (BAM)"]} for r in rows if r["paper (BAM)"] is not None],
                                  "pair kind", "column"))
    return {"rows": rows, "markdown": md}


def table2(ctx):
    """Table 2: D_intra, D_inter and the mean ||x - baseline|| for MDTS, Rand, Zero (appendix B)."""
    x_test, y_test = data_mod.load(ctx.name, "test")[:2]
    kinds = {**baseline_columns(ctx), "Rand": "random_target"}
    from tfx_explain import baselines as baselines_mod

    columns = {}
    for label, baseline in kinds.items():
        refs = baselines_mod.resolve(baseline, ctx.x, ctx.original_class, ctx.target_class, data=ctx.train,
                                     seed=ctx.args.seed, model=ctx.model)
        columns[label] = (ctx.x, refs.values)
    row = metrics.distance_table(x_test, y_test, columns, max_samples=ctx.args.distance_samples, seed=ctx.args.seed)
    row["dimension"] = int(np.prod(ctx.x.shape[1:]))
    md = (f"### Table 2 — baseline distances, {ctx.name} (test split, {row['n']} images for D_intra/D_inter)\n\n"
          "| | D_intra | D_inter | " + " | ".join(kinds) + " |\n|---|---|---|" + "---|" * len(kinds) + "\n"
          f"| measured | {row['d_intra']:.2f} | {row['d_inter']:.2f} | "
          + " | ".join(f"{row[k]:.2f}" for k in kinds) + " |\n"
          f"| paper MNIST | {PAPER_TABLE2_MNIST['d_intra']} | {PAPER_TABLE2_MNIST['d_inter']} | "
          + " | ".join(str(PAPER_TABLE2_MNIST.get(k, "")) for k in kinds) + " |\n")
    return {"row": row, "markdown": md}


TABLE3_NOTE = (
    "Columns: the paper's as the reference harness computed them — EG explains S_co with references from class "
    "c_t, DeepLIFT is DeepExplain's rule on the probability output (softmax gradient at the input; its maps do "
    "not sum to the delta) — and ours as extra columns: EG (S_co−S_ct) and DeepLIFT path-rule (exact "
    "summation to S_co − S_ct). Gini: `sparsity` is G(|A|); `sparsity_eps` is G(|A| + 1e-7), the probable "
    "paper computation (a widely copied snippet; it is not scale-invariant, so maps that are tiny against 1e-7, "
    "as DeepExplain's DeepLIFT on a saturated softmax, come out near 0). The paper's Gini row is given under "
    "`sparsity`; compare it with both.\n")


def table3(ctx):
    """Table 3: AOPC_100, AOPC_all, sparsity (two Gini computations), faithfulness, monotonicity and inverse
    localization for IG, DeepLIFT, Occlusion x (Zero, MDTS, GAN) and EG (appendix C, Table 3), the paper's
    columns computed as the reference harness did and ours as extra columns; ROAR with ``--roar``."""
    args = ctx.args
    localization = "inverse_localization" if ctx.masks is not None else "edge_center_localization"
    wanted = TABLE3_METRICS + (localization,)
    baselines = {**baseline_columns(ctx), "EG": "train"}
    rows, curves = [], {}
    for ours, methods in ((False, list(METHODS.values()) + ["expected_gradients"]), (True, list(OUR_VARIANTS))):
        grid = metrics.evaluate_grid(ctx.model, ctx.x, ctx.original_class, ctx.target_class, methods=methods,
                                     baselines=baselines, metrics=wanted, data=ctx.train, masks=ctx.masks,
                                     n_scenes=ctx.n_scenes, method_options=method_options(args, ours),
                                     seed=args.seed, metric_options={"aopc_all": {"step": args.aopc_all_step}},
                                     keep_explanations=True)
        grid.save(ctx.out, "table3_grid_ours" if ours else "table3_grid")
        rows += [{**r, "column": _column(r["method"], r["baseline"], ours)} for r in grid.rows]
        rows += _eps_gini_rows(grid, ours)
        curves.update(_curves(grid, ours))
    if args.roar and ctx.masks is None:
        rows += roar_rows(ctx, baselines)
    paired = paired_claims({**_grid_values(ctx.out, "table3_grid"), **_grid_values(ctx.out, "table3_grid_ours")})
    paper = [{"metric": m, "column": c, "mean": v} for m, cols in PAPER_TABLE3_MNIST.items() for c, v in cols.items()]
    md = (f"### Table 3 — {ctx.name} (mean over {len(ctx.x)} one-vs-one pairs; higher is better except "
          "localization)\n\n" + TABLE3_NOTE + "\n" + metrics.summary_table(rows, "metric", "column")
          + "\nPaper (MNIST; inverse localization: SVHN):\n\n" + metrics.summary_table(paper, "metric", "column"))
    md += "\n" + paired_markdown(paired)
    return {"rows": rows, "markdown": md, "curves": curves, "paired": paired}


# Table 3's claims, as pairs of columns on the same explained pairs: (a, b) with a expected better.
CLAIMS = [("integrated_gradients/MDTS", "integrated_gradients/Zero"), ("integrated_gradients/GAN",
          "integrated_gradients/Zero"), ("integrated_gradients/GAN", "integrated_gradients/MDTS"),
          ("deeplift/GAN", "deeplift/MDTS"), ("occlusion/GAN", "occlusion/MDTS"),
          ("integrated_gradients/GAN", "expected_gradients/EG")]


def _grid_values(folder, name):
    """{"method/baseline/metric": per-sample values} of a saved grid (``GridResult.save``)."""
    path = Path(folder) / f"{name}.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get("values", {})


def paired_claims(values, metrics_=("aopc_100", "aopc_all", "faithfulness", "monotonicity")):
    """Paired bootstrap intervals of a - b over the same explained pairs for :data:`CLAIMS`
    (:func:`tfx_explain.metrics.paired_difference`): a ranking holds only where the interval excludes 0."""
    rows = []
    for a, b in CLAIMS:
        for metric in metrics_:
            ka, kb = f"{a}/{metric}", f"{b}/{metric}"
            if ka in values and kb in values:
                r = metrics.paired_difference(values[ka], values[kb])
                rows.append({"a": a, "b": b, "metric": metric, **{k: r[k] for k in ("n", "mean_a", "mean_b",
                                                                                    "difference", "ci", "excludes_zero")}})
    return rows


def paired_markdown(rows):
    if not rows:
        return ""
    lines = ["Paired differences on the same pairs (95% bootstrap interval; a ranking only where it excludes 0):", "",
             "| a | b | metric | a − b | 95% CI | shown |", "|---|---|---|---|---|---|"]
    for r in rows:
        shown = ("a > b" if r["difference"] > 0 else "a < b") if r["excludes_zero"] else "no difference shown"
        lines.append(f"| {r['a']} | {r['b']} | {r['metric']} | {r['difference']:+.3f} | "
                     f"[{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}] | {shown} |")
    return "\n".join(lines) + "\n"


def _eps_gini_rows(grid, ours):
    """The probable paper Gini, G(|A| + 1e-7) (:func:`tfx_explain.metrics.gini`), of every kept map."""
    rows = []
    for (method, label), exp in grid.explanations.items():
        result = metrics.sparsity(exp.attributions, eps=metrics.PAPER_EPS)
        rows.append({"method": method, "baseline": label, "metric": result.name, "higher_is_better": True,
                     "column": _column(method, label, ours), **result.summary()})
    return rows


def _column(method, baseline, ours=False):
    """The column label: the paper's (``EG``, ``DeepLIFT Zero``, ...) or ours from :data:`OUR_VARIANTS`."""
    if ours:
        label = OUR_VARIANTS[method][0]
        return label if method == "expected_gradients" else f"{label} {baseline}"
    return "EG" if method == "expected_gradients" else f"{METHOD_LABELS[method]} {baseline}"


def _curves(grid, ours=False):
    """Mean perturbation curves (Fig. 7) from the AOPC_all results of a grid."""
    out = {}
    for (method, baseline, metric), result in grid.results.items():
        if metric == "aopc_all":
            out[_column(method, baseline, ours)] = {"levels": result.extras["levels"].tolist(),
                                                    "mean_scores": result.extras["scores"].mean(axis=0).tolist()}
    return out


def roar_rows(ctx, baselines):
    """AORoarC per (method, baseline): one-vs-one maps of capped training and test sets, retrained per pair.

    Resumable: each column's maps are saved in ``<out>/roar/maps_<column>.npz`` and each retraining's accuracy
    in ``<out>/roar/<column>.json`` (:func:`tfx_explain.metrics.roar`'s checkpoint), so a stopped run picks
    up at the next (pair, column, fraction)."""
    args = ctx.args
    preset = ROAR_PRESETS[args.roar_preset]
    x_tr, y_tr = ctx.train
    x_te, y_te = data_mod.load(ctx.name, "test")[:2]
    pairs = metrics.default_pairs(ctx.num_classes)
    cap = preset["max_train_per_class"]
    keep_tr = _cap_per_class(y_tr, cap, args.seed)
    keep_te = _cap_per_class(y_te, max(20, (cap or 100) // 3), args.seed)
    x_tr, y_tr, x_te, y_te = x_tr[keep_tr], y_tr[keep_tr], x_te[keep_te], y_te[keep_te]
    fractions = tuple(float(f) for f in args.roar_fractions.split(","))
    folder = ctx.out / "roar"
    rows = []
    for method in list(METHODS.values()) + ["expected_gradients"]:
        for label, baseline in baselines.items():
            if (method == "expected_gradients") != (baseline == "train"):
                continue
            column = _column(method, label)
            slug = column.replace(" ", "_")
            maps = _roar_maps(ctx, method, baseline, pairs, (x_tr, y_tr), (x_te, y_te), folder / f"maps_{slug}.npz")
            start = time.time()
            result = metrics.roar(x_tr, y_tr, maps[0], x_te, y_te, maps[1], pairs=pairs, preset=args.roar_preset,
                                  fractions=fractions, seed=args.seed, checkpoint=folder / f"{slug}.json")
            print(f"ROAR {column}: AORoarC {result.values.mean():.3f} ({time.time() - start:.0f} s)", flush=True)
            rows.append({"metric": "aoroarc", "method": method, "baseline": label, "column": column,
                         "accuracy": result.extras["accuracy"].tolist(), "fractions": list(fractions),
                         "pairs": [list(p) for p in pairs], **result.summary()})
    return rows


def _roar_maps(ctx, method, baseline, pairs, train, test, path):
    """The column's one-vs-one maps of the ROAR training and test images (each against its pair partner),
    computed once and kept in ``path``."""
    if path.exists():
        with np.load(path) as saved:
            return saved["train"], saved["test"]
    maps = []
    for xs, ys in (train, test):
        exp = explain_keras(ctx.model, xs, method=method, baseline=baseline, original_class=ys,
                            target_class=metrics.pair_partners(ys, pairs), data=ctx.train, seed=ctx.args.seed,
                            **method_options(ctx.args).get(method, {}))
        maps.append(exp.attributions)
    with atomic_path(path) as tmp:
        np.savez(tmp, train=maps[0], test=maps[1])
    return maps


def table3_roar(ctx):
    """Table 3's AORoarC row alone (``--tables roar``), for a long background run that resumes."""
    baselines = {**baseline_columns(ctx), "EG": "train"}
    rows = roar_rows(ctx, baselines)
    paper = [{"metric": "aoroarc", "column": c, "mean": v} for c, v in PAPER_TABLE3_MNIST["aoroarc"].items()]
    md = (f"### Table 3, AORoarC — {ctx.name} ({len(rows[0]['pairs'])} pairs, fractions {rows[0]['fractions']}, "
          f"ROAR preset {ctx.args.roar_preset})\n\n" + metrics.summary_table(rows, "metric", "column")
          + "\nPaper (MNIST):\n\n" + metrics.summary_table(paper, "metric", "column"))
    return {"rows": rows, "markdown": md}


def _cap_per_class(labels, cap, seed):
    if cap is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:cap] for c in np.unique(labels)]))


def fig3(ctx):
    """Fig. 3: cascading randomization of IG, DeepLIFT and Occlusion with Zero/MDTS baselines, and EG."""
    x = ctx.x[: ctx.args.sanity_n]
    co, ct = ctx.original_class[: len(x)], ctx.target_class[: len(x)]
    results = {}
    regenerated = ctx.args.sanity_ganmex_steps > 0
    for label, baseline in baseline_columns(ctx).items():
        hook = regenerate_ganmex(ctx) if label == "GAN" and regenerated else None
        shown = label if label != "GAN" or regenerated else "GAN (not regenerated)"
        for name, method in METHODS.items():
            results[f"{name} {shown}"] = metrics.cascading_randomization(
                ctx.model, x, method=method, baseline=baseline, original_class=co, target_class=ct, data=ctx.train,
                regenerate_baseline=hook, seed=ctx.args.seed, **method_options(ctx.args).get(method, {}))
    results["EG"] = metrics.cascading_randomization(ctx.model, x, method="expected_gradients", baseline="train",
                                                    original_class=co, target_class=ct, data=ctx.train,
                                                    seed=ctx.args.seed,
                                                    **method_options(ctx.args)["expected_gradients"])
    metrics.plot_cascades(results, indices=[0], path=ctx.out / "fig3_sanity_maps.png")
    summary = {label: r.summary() for label, r in results.items()}
    _plot_similarity(results, ctx.out / "fig3_sanity_similarity.png")
    steps = next(iter(results.values())).steps
    lines = [f"### Fig. 3 — cascading randomization, {ctx.name} ({len(x)} pairs): mean Spearman |map| "
             "similarity to the original (lower = randomized more)\n", "| | " + " | ".join(steps) + " |",
             "|---|" + "---|" * len(steps)]
    for label, s in summary.items():
        lines.append(f"| {label} | " + " | ".join(f"{row['mean']:.3f}" for row in s["spearman"]) + " |")
    return {"summary": summary, "markdown": "\n".join(lines) + "\n"}


def _plot_similarity(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    for ax, measure in zip(axes, MEASURES):
        for label, r in results.items():
            style = "--" if "Zero" in label else "-"
            ax.plot(range(len(r.steps)), [row["mean"] for row in r.summary()[measure]], style, label=label)
        steps = next(iter(results.values())).steps
        ax.set_xticks(range(len(steps)), steps, rotation=30, fontsize=7)
        ax.set_title(measure)
    axes[-1].legend(fontsize=6)
    fig.tight_layout()
    plots.save_figure(fig, path)


def fig7(ctx, table3_result=None):
    """Fig. 7: mean perturbation curves (score delta vs flipped features) and Gini bars, from Table 3's grid."""
    result = table3_result or table3(ctx)
    curves = result["curves"]
    any_curve = next(iter(curves.values()))
    fig = plots.curves(any_curve["levels"], {k: v["mean_scores"] for k, v in curves.items()},
                       "flipped features", "S_co - S_ct", title=f"Perturbation curves, {ctx.name}")
    for line in fig.axes[0].lines:
        if "Zero" in line.get_label():
            line.set_linestyle("--")
    fig.axes[0].legend(fontsize=6)
    plots.save_figure(fig, ctx.out / "fig7_perturbation_curves.png")
    gini = {r["column"]: r["mean"] for r in result["rows"] if r["metric"] == "sparsity"}
    import matplotlib.pyplot as plt

    fig2, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(len(gini)), list(gini.values()), color=["#e0c040" if "Zero" in k else "#40a060" for k in gini])
    ax.set_xticks(range(len(gini)), list(gini), rotation=30, fontsize=7)
    ax.set_ylabel("Gini index")
    fig2.tight_layout()
    plots.save_figure(fig2, ctx.out / "fig7_gini.png")
    return {"curves": curves, "markdown": f"Fig. 7 written to {ctx.out}/fig7_*.png\n"}


def fig9(ctx):
    """Fig. 9: one input explained against every target class (and the average), zero vs class-targeted."""
    x0, c0 = ctx.x[:1], int(ctx.original_class[0])
    targets = np.array([c for c in range(ctx.num_classes) if c != c0])
    x = np.repeat(x0, len(targets), axis=0)
    rows, titles, spread = [], [], {}
    for label, baseline in baseline_columns(ctx).items():
        for name, method in METHODS.items():
            exp = explain_keras(ctx.model, x, method=method, baseline=baseline, original_class=c0,
                                target_class=targets, data=ctx.train, seed=ctx.args.seed,
                                **method_options(ctx.args).get(method, {}))
            maps = exp.heatmaps()
            # how much the map depends on the target: mean Pearson correlation of each target's map with the
            # average over targets (1 = the same map whatever the target, the zero-baseline failure of Fig. 9)
            flat = maps.reshape(len(maps), -1)
            spread[f"{name} {label}"] = float(np.mean([np.corrcoef(row, flat.mean(axis=0))[0, 1] for row in flat]))
            maps = np.concatenate([maps, maps.mean(axis=0, keepdims=True)])
            limit = plots.symmetric_limit(maps).max()
            if name == "IG":
                rows.append([("image", x0[0])] + [("image", b) for b in exp.baselines] + [None])
                titles.append(f"{label} baseline")
            rows.append([("image", x0[0])] + [("saliency", m, limit) for m in maps])  # the input carries the label
            titles.append(f"{name} {label}")
    cols = ["input"] + [str(t) for t in targets] + ["avg"]
    plots.grid(rows, row_titles=titles, col_titles=cols, path=ctx.out / "fig9_targets.png")
    table = "| | " + " | ".join(spread) + " |\n|---|" + "---|" * len(spread) + "\n| corr(map, mean map) | " + \
        " | ".join(f"{v:.3f}" for v in spread.values()) + " |\n"
    return {"correlation_with_average": spread,
            "markdown": f"### Fig. 9 — one input (class {c0}) against every target, {ctx.name}: mean correlation of "
                        f"each target's map with the average map (lower = more target-specific)\n\n{table}\n"
                        f"Figure: {ctx.out}/fig9_targets.png\n"}


def run(args):
    out = Path(args.out)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise SystemExit(f"--tables/--figures: unknown {unknown}; expected from {SECTIONS}")
    report = [f"# GANMEX reproduction (tfx_explain), device: {platform.processor() or 'cpu'} "
              f"{platform.machine()}, command: `{' '.join(sys.argv)}`\n"]
    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        start = time.time()
        ctx = prepare(name, args)
        report.append(f"## {name}: classifier test accuracy {ctx.accuracy:.3f} ({args.architecture}, {args.epochs} epochs), "
                      f"{len(ctx.x)} explained one-vs-one pairs\n")
        if ctx.info:
            report.append("```\n" + json.dumps(ctx.info, indent=1) + "\n```\n")
            write_json(ctx.out / "context.json", {k: v for k, v in ctx.info.items() if not k.startswith("_")})
        t3 = None
        for section in sections:
            t0 = time.time()
            if section == "fig7":
                result = fig7(ctx, t3)
            else:
                result = globals()[section](ctx)
            if section == "table3":
                t3 = result
            if result is None:
                continue
            result["seconds"] = round(time.time() - t0, 1)
            write_json(ctx.out / f"{section}.json", {k: v for k, v in result.items() if k != "markdown"})
            report.append(result["markdown"] + f"\n_{section}: {result['seconds']} s_\n")
            _write_report(out, report)
        report.append(f"_{name}: {time.time() - start:.0f} s in all_\n")
        _write_report(out, report)


def _write_report(out, report):
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text("\n".join(report))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", default="1,2,3", help="tables to build, e.g. 1,2,3 (empty for none)")
    p.add_argument("--figures", default="3,7,9", help="figures to draw, e.g. 3,7,9 (empty for none)")
    p.add_argument("--datasets", default="digits,fashion_mnist,composite_fashion_mnist")
    p.add_argument("--out", default="runs/reproduce_ganmex")
    p.add_argument("--n", type=int, default=100, help="explained test samples per dataset")
    p.add_argument("--targets", default="random", choices=("random", "all"), help="target classes per sample")
    p.add_argument("--epochs", type=int, default=5, help="classifier epochs (the paper: 50)")
    p.add_argument("--architecture", default="mnist_cnn", help="classifier: mnist_cnn (the paper's MNIST/SVHN "
                   "net) or cifar_cnn (its CIFAR-10 net, with batch norm)")
    p.add_argument("--retrain", action="store_true", help="retrain the classifier even if one is saved in --out")
    p.add_argument("--ig-steps", type=int, default=200)
    p.add_argument("--eg-steps", type=int, default=200)
    p.add_argument("--aopc-all-step", type=int, default=1, help="evaluate every k-th level of AOPC_all")
    p.add_argument("--distance-samples", type=int, default=2000, help="images for D_intra / D_inter")
    p.add_argument("--sanity-n", type=int, default=16, help="samples in the cascading randomization")
    p.add_argument("--roar", action="store_true", help="add the one-vs-one ROAR row to Table 3 (slow)")
    p.add_argument("--roar-preset", default="cpu", choices=tuple(ROAR_PRESETS))
    p.add_argument("--roar-fractions", default="0,0.1,0.3,0.5,0.7,0.9",
                   help="removed fractions t of the ROAR curve (issue 16: 0, .1, .3, .5, .7, .9)")
    p.add_argument("--ganmex-steps", type=int, default=0, help="train GANMEX for the GAN column (0: no GAN)")
    p.add_argument("--ganmex-preset", default="cpu", help="tfx_explain.ganmex preset (cpu, mnist, reference, ...)")
    p.add_argument("--sanity-ganmex-steps", type=int, default=0,
                   help="Fig. 3: retrain GANMEX for this many steps against each randomized classifier (0: keep it)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    parts = [f"table{t.strip()}" if t.strip() != "roar" else "table3_roar" for t in args.tables.split(",")
             if t.strip()]
    parts += [f"fig{f.strip()}" for f in args.figures.split(",") if f.strip()]
    args.sections = ",".join(parts)
    return args


if __name__ == "__main__":
    run(parse_args())
