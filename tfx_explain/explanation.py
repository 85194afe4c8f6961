"""Explanation: what explain_keras returns; plots itself and saves to one .npz file (no pickle)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._io import atomic_path
from .errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.figure import Figure

    from ._typing import ColorScale, PathLike, Sign

_ARRAYS = ("inputs", "baselines", "attributions", "original_class", "target_class", "input_scores",
           "baseline_scores")


@dataclass
class Explanation:
    """Attributions with everything needed to read them.

    Attributes:
        inputs: (N, H, W, C) explained images.
        baselines: (N, H, W, C) the baseline of each sample (for a reference distribution, the mean
            reference); None for methods without a baseline.
        attributions: (N, H, W, C) float32; positive values push toward ``original_class``.
        original_class: (N,) c_o.
        target_class: (N,) c_t for one-vs-one, None for one-vs-all.
        input_scores: (N,) the explained scalar S_w (S_co, or S_co - S_ct) at the input.
        baseline_scores: (N,) S_w at the baseline (mean over references for EG and DeepSHAP).
        method: the method name.
        score: "probability" or "logit".
        options: JSON-able settings.
        extras: further arrays (counterfactuals, masks, per-method outputs).
    """

    inputs: np.ndarray
    baselines: np.ndarray | None
    attributions: np.ndarray
    original_class: np.ndarray
    target_class: np.ndarray | None
    input_scores: np.ndarray
    baseline_scores: np.ndarray | None
    method: str
    score: str = "probability"
    options: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        """One line: method, sizes, classes, scores and the convergence delta (the arrays are not printed)."""
        def few(values):
            values = np.asarray(values).ravel()
            shown = ", ".join(f"{v:.4g}" if values.dtype.kind == "f" else str(int(v)) for v in values[:4])
            return f"[{shown}{', ...' if len(values) > 4 else ''}]"

        parts = [f"method={self.method!r}", f"n={len(self)}", f"image={tuple(self.inputs.shape[1:])}",
                 f"score={self.score!r}", f"original_class={few(self.original_class)}"]
        if self.one_vs_one:
            parts.append(f"target_class={few(self.target_class)}")
        parts.append(f"input_scores={few(self.input_scores)}")
        delta = self.convergence_delta
        if delta is not None and len(delta):
            parts.append(f"max|delta|={float(np.abs(delta).max()):.3g}")
        if self.extras:
            parts.append(f"extras={sorted(self.extras)}")
        return f"Explanation({', '.join(parts)})"

    @property
    def one_vs_one(self) -> bool:
        return self.target_class is not None

    @property
    def convergence_delta(self) -> np.ndarray | None:
        """sum_i A_i - (S_w(x) - S_w(b)): zero for complete methods (IG up to quadrature, DeepLIFT exactly)."""
        if self.baseline_scores is None:
            return None
        total = self.attributions.reshape(len(self), -1).sum(axis=1)
        return total - (self.input_scores - self.baseline_scores)

    def heatmaps(self) -> np.ndarray:
        """(N, H, W) attributions summed over channels."""
        from .plots import heatmap

        return heatmap(self.attributions)

    def plot(self, indices: Sequence[int] | None = None, max_rows: int = 8,
             class_names: Sequence[str] | None = None, path: PathLike | None = None, *, sign: Sign = "all",
             scale: ColorScale = "per_map", outlier_perc: float = 0.5, overlay: bool = True,
             alpha: float = 0.8) -> Figure:
        """input | baseline | map per sample, each row labelled "4 vs 3" (class 4 contrasted with 3) or "4"
        (one-vs-all), the baseline column by its name; blue positive, red negative, with colour bars.

        Args:
            indices: the samples drawn (default the first ``max_rows``).
            max_rows: how many samples are drawn when ``indices`` is None.
            class_names: names of the classes, indexed by class.
            path: also save the figure there as PNG (atomically).
            sign: "all", "positive", "negative" or "absolute".
            scale: "per_map", "row" (one colour scale per sample) or "shared" (one for all rows).
            outlier_perc: the top percentage of magnitudes that saturates the colours.
            overlay: draw the map over the input in grey (on by default here, off by default in
                :func:`tfx_explain.plots.compare`, of which this is the one-explanation case).
            alpha: the overlay's opacity, up to ``alpha`` where the map is strongest.
        Returns:
            The matplotlib Figure.
        Raises:
            InputError naming the argument.
        """
        from . import plots

        label = (plots._method_label(self), plots._baseline_label(self))
        return plots.compare({label: self}, indices, max_rows, class_names, path, sign=sign, scale=scale,
                             outlier_perc=outlier_perc, overlay=overlay, alpha=alpha)

    def save(self, path: PathLike) -> Path:
        """Write one ``.npz`` holding the arrays and a JSON header; atomic, loadable without pickle."""
        path = Path(path)
        arrays = {k: getattr(self, k) for k in _ARRAYS if getattr(self, k) is not None}
        for key, value in self.extras.items():
            value = np.asarray(value)
            if value.dtype != object:
                arrays[f"extra__{key}"] = value
        header = {"method": self.method, "score": self.score, "options": _jsonable(self.options), "version": 1}
        arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        return path

    @classmethod
    def load(cls, path: PathLike) -> Explanation:
        path = Path(path)
        if not path.exists():
            raise InputError(f"path: no explanation file at {path}")
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except (ValueError, OSError, EOFError) as err:  # numpy's message on non-npz data speaks of pickles
            raise InputError(f"path: {path} is not an .npz file saved by Explanation.save ({type(err).__name__})") \
                from None
        missing = sorted({"__header__", "inputs", "attributions"} - set(arrays))
        if missing:
            raise InputError(f"path: {path} is an .npz file but not a saved Explanation (it lacks {missing})")
        header = json.loads(arrays.pop("__header__").tobytes().decode())
        extras = {k[len("extra__"):]: arrays.pop(k) for k in list(arrays) if k.startswith("extra__")}
        fields: dict[str, Any] = {k: arrays.get(k) for k in _ARRAYS}  # the optional arrays may be None
        return cls(**fields, method=header["method"], score=header["score"], options=header["options"],
                   extras=extras)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist() if obj.size <= 64 else f"<array {obj.shape}>"
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)
