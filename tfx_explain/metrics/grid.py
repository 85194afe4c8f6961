"""The evaluation grid: methods x baselines x metrics -> one table (markdown, CSV, JSON) with mean and spread.

Every (method, baseline) cell is explained once with :func:`tfx_explain.explain_keras` and judged by every
metric on the same inputs and classes. Baselines are given as ``{label: baseline}`` where a baseline is
anything ``explain_keras`` accepts (a name, an array, a callable, a trained GANMEX generator or its path),
so a new baseline kind is one more entry. Distribution methods (expected_gradients, deepshap with
``"train"``) pair only with distribution baselines and point methods only with point baselines; the
other combinations are skipped, as the paper's tables do (EG has its own column).

Single-feature alteration deltas do not depend on the attributions, so faithfulness and monotonicity
share one computation per grid.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._io import atomic_path
from ..errors import InputError
from .faithfulness import faithfulness, monotonicity, single_feature_deltas
from .localization import edge_center_localization, inverse_localization
from .perturbation import aopc, aopc_all, deletion, insertion
from .sparsity import sparsity
from ._common import summarize

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from numpy.typing import ArrayLike, NDArray

    from .._typing import Baseline, Classes, Data, Images, Model, PathLike, Progress, Range, Score

METRICS = ("aopc_100", "aopc_all", "deletion", "insertion", "sparsity", "faithfulness", "monotonicity",
           "inverse_localization", "edge_center_localization")
METHOD_LABELS = {"integrated_gradients": "IG", "expected_gradients": "EG", "deeplift": "DeepLIFT",
                 "occlusion": "Occlusion", "deepshap": "DeepSHAP", "saliency": "Saliency",
                 "gradient_input": "Grad*Input"}


@dataclass
class GridResult:
    """Rows of (method, baseline, metric) with mean and spread; per-sample values; the MetricResults."""

    rows: list
    results: dict = field(default_factory=dict)  # (method, baseline, metric) -> MetricResult
    explanations: dict = field(default_factory=dict)  # (method, baseline) -> Explanation (if kept)
    settings: dict = field(default_factory=dict)

    def columns(self) -> list[tuple[str, str | None]]:
        seen = []
        for r in self.rows:
            key = (r["method"], r["baseline"])
            if key not in seen:
                seen.append(key)
        return seen

    def to_markdown(self, digits: int = 3) -> str:
        """Metrics as rows, (method, baseline) cells as columns: ``mean ± standard error``."""
        cols = self.columns()
        lookup = {(r["method"], r["baseline"], r["metric"]): r for r in self.rows}
        metrics = list(dict.fromkeys(r["metric"] for r in self.rows))
        head = "| metric | " + " | ".join(f"{METHOD_LABELS.get(m, m)} {b}" for m, b in cols) + " |"
        lines = [head, "|" + "---|" * (len(cols) + 1)]
        for metric in metrics:
            arrow = "↑" if lookup[next(k for k in lookup if k[2] == metric)]["higher_is_better"] else "↓"
            cells = []
            for m, b in cols:
                r = lookup.get((m, b, metric))
                cells.append("" if r is None else f"{r['mean']:.{digits}f} ± {r['sem']:.{digits}f}")
            lines.append(f"| {metric} {arrow} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        out = io.StringIO()
        keys = ["method", "baseline", "metric", "mean", "std", "sem", "median", "n", "undefined", "higher_is_better"]
        writer = csv.DictWriter(out, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue()

    def to_json(self, per_sample: bool = False) -> str:
        obj = {"rows": self.rows, "settings": self.settings}
        if per_sample:
            obj["values"] = {"/".join(k): np.asarray(v.values).tolist() for k, v in self.results.items()}
        return json.dumps(obj, indent=2, default=_json_default)

    def save(self, out_dir: PathLike, stem: str = "grid", per_sample: bool = True) -> list[Path]:
        """Write ``<stem>.md``, ``<stem>.csv`` and ``<stem>.json`` atomically; returns their paths."""
        out_dir = Path(out_dir)
        paths = []
        for suffix, text in ((".md", self.to_markdown()), (".csv", self.to_csv()),
                             (".json", self.to_json(per_sample))):
            path = out_dir / f"{stem}{suffix}"
            with atomic_path(path) as tmp:
                tmp.write_text(text)
            paths.append(path)
        return paths


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def expand_targets(x: Images, original_class: ArrayLike, num_classes: int, targets: Literal["random",
                   "all"] = "random", seed: int = 0) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[np.int64],
                   NDArray[np.int64]]:
    """One-vs-one pairs to evaluate: one random target per sample, or every other class.

    Returns (x_rep, original_class_rep, target_class_rep, index) where ``index`` maps rows to samples.
    """
    co = np.asarray(original_class).reshape(-1)
    n = len(co)
    if targets == "all":
        index = np.repeat(np.arange(n), num_classes - 1)
        offsets = np.tile(np.arange(1, num_classes), n)
        ct = (co[index] + offsets) % num_classes
    elif targets == "random":
        index = np.arange(n)
        offset = 1 + np.random.default_rng(seed).integers(0, num_classes - 1, size=n)
        ct = (co + offset) % num_classes
    else:
        raise InputError(f"targets: expected 'random' or 'all', got {targets!r}")
    return np.asarray(x)[index], co[index], ct.astype(np.int64), index


def _baseline_dict(baselines):
    if isinstance(baselines, dict):
        return dict(baselines)
    out = {}
    for b in baselines:
        if not isinstance(b, str):
            raise InputError("baselines: give non-string baselines (arrays, generators) as a {label: baseline} dict")
        out[b] = b
    return out


def _compatible(method, baseline):
    from ..api import METHODS  # importing api registers every method

    if method not in METHODS:
        raise InputError(f"methods: expected names from {sorted(METHODS)}, got {method!r}")
    form = METHODS[method].baseline
    is_distribution = isinstance(baseline, str) and baseline == "train"
    if form == "distribution":
        return is_distribution
    if form == "point":
        return not is_distribution
    return True


def evaluate_grid(model: Model, x: Images, original_class: Classes | None = None, target_class: Classes | None = None,
                  *, methods: Sequence[str] = ("integrated_gradients",),
                  baselines: Sequence[str] | Mapping[str, Baseline] = ("zero",), metrics: Sequence[str] = ("aopc_100",
                  "sparsity"), data: Data | None = None, masks: ArrayLike | None = None, n_scenes: int | None = None,
                  method_options: Mapping[str, Mapping[str, Any]] | None = None, metric_options: Mapping[str,
                  Mapping[str, Any]] | None = None, score: Score = "probability", seed: int = 0,
                  batch_size: int | None = None,
                  keep_explanations: bool = False, progress: Progress = False,
                  input_range: Range | None = None) -> GridResult:
    """Evaluate every compatible (method, baseline) on every metric.

    Args:
        model: as in :func:`tfx_explain.explain_keras`.
        x: as in :func:`tfx_explain.explain_keras`.
        original_class: as in :func:`tfx_explain.explain_keras`.
        target_class: as in :func:`tfx_explain.explain_keras`; given for one-vs-one (see :func:`expand_targets`).
        methods: method names.
        baselines: names, or ``{label: baseline}`` for arrays, callables and GANMEX generators.
        metrics: names from ``METRICS``.
        data: as in :func:`tfx_explain.explain_keras`.
        masks: composite ground-truth object masks for ``inverse_localization``.
        n_scenes: scenes per object in the composite class layout, for ``inverse_localization``.
        method_options: {method: {option: value}}.
        metric_options: {metric: {option: value}}.
        score: as in :func:`tfx_explain.explain_keras`.
        seed: as in :func:`tfx_explain.explain_keras`.
        input_range: as :func:`tfx_explain.explain_keras`; resolved once (argument, model, then ``data``) and
            given to every explanation and metric (the flip fill of AOPC, faithfulness, monotonicity).
    Returns:
        :class:`GridResult`.
    """
    from .. import input_range as ir
    from ..api import explain_keras

    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise InputError(f"metrics: unknown {unknown}; expected names from {METRICS}")
    if "inverse_localization" in metrics and (masks is None or n_scenes is None):
        raise InputError("masks, n_scenes: inverse_localization needs the composite ground-truth masks and the "
                         "number of scenes")
    baselines = _baseline_dict(baselines)
    method_options = dict(method_options or {})
    metric_options = dict(metric_options or {})
    combos = [(m, b) for m in methods for b in baselines if _compatible(m, baselines[b])]
    if not combos:
        raise InputError("methods, baselines: no compatible combination (distribution methods such as "
                         "expected_gradients need baseline 'train'; point methods need point baselines)")
    grid = GridResult([], settings={"methods": list(methods), "baselines": list(baselines), "metrics": list(metrics),
                                    "score": score, "seed": seed, "n": int(len(x)),
                                    "metric_options": metric_options, "method_options": method_options})
    shared: dict[Any, Any] = {}
    rng = ir.resolve(input_range, model, data, channels=np.shape(x)[-1])
    for method, label in combos:
        exp = explain_keras(model, x, method=method, baseline=baselines[label], original_class=original_class,
                            target_class=target_class, data=data, score=score, seed=seed, batch_size=batch_size,
                            progress=progress, input_range=rng, **method_options.get(method, {}))
        if keep_explanations:
            grid.explanations[(method, label)] = exp
        for metric in metrics:
            result = _run_metric(metric, model, exp, masks, n_scenes, score, batch_size, progress,
                                 dict(metric_options.get(metric, {})), shared, rng)
            grid.results[(method, label, metric)] = result
            grid.rows.append({"method": method, "baseline": label, "metric": metric,
                              "higher_is_better": result.higher_is_better, **result.summary()})
    return grid


def _run_metric(metric, model, exp, masks, n_scenes, score, batch_size, progress, options, shared, rng):
    x, a = exp.inputs, exp.attributions
    co, ct = exp.original_class, exp.target_class
    common = dict(score=score, batch_size=batch_size, progress=progress, input_range=rng)
    if options.get("fill") == "baseline":
        options["baselines"] = exp.baselines
    if metric == "aopc_100":
        return aopc(model, x, a, co, ct, L=options.pop("L", 100), name="aopc_100", **common, **options)
    if metric == "aopc_all":
        return aopc_all(model, x, a, co, ct, **common, **options)
    if metric == "deletion":
        return deletion(model, x, a, co, ct, **common, **options)
    if metric == "insertion":
        return insertion(model, x, a, co, ct, **common, **options)
    if metric == "sparsity":
        return sparsity(a, **options)
    if metric in ("faithfulness", "monotonicity"):
        if options.get("fill") != "baseline":
            key = ("deltas", json.dumps({k: v for k, v in options.items()}, sort_keys=True, default=str))
            if key not in shared:
                shared[key] = single_feature_deltas(model, x, co, ct, **common, **options)
            options["deltas"] = shared[key]
        fn = faithfulness if metric == "faithfulness" else monotonicity
        return fn(model, x, a, co, ct, **common, **options)
    if metric == "inverse_localization":
        return inverse_localization(a, co, ct, masks, n_scenes)
    return edge_center_localization(a, **options)


def summary_table(rows: Iterable[Mapping[str, Any]], row_key: str, col_key: str, value: str = "mean",
                  digits: int = 3) -> str:
    """A markdown pivot of arbitrary rows (used by the reproduction script for the paper's layouts)."""
    rows = list(rows)
    row_names = list(dict.fromkeys(r[row_key] for r in rows))
    col_names = list(dict.fromkeys(r[col_key] for r in rows))
    lookup = {(r[row_key], r[col_key]): r for r in rows}
    lines = [f"| {row_key} | " + " | ".join(str(c) for c in col_names) + " |", "|" + "---|" * (len(col_names) + 1)]
    for rn in row_names:
        cells = [("" if (rn, cn) not in lookup or lookup[(rn, cn)].get(value) is None
                  else f"{lookup[(rn, cn)][value]:.{digits}f}") for cn in col_names]
        lines.append(f"| {rn} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["METRICS", "GridResult", "evaluate_grid", "expand_targets", "summary_table", "summarize"]
