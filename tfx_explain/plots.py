"""Figures: saliency grids (blue positive, red negative, as in the GANMEX paper's figures) and curves.

Maps are drawn with ``sign=``:

==========  ==========================================  =====================  ===================
sign        shown                                       colours                colour scale
==========  ==========================================  =====================  ===================
"all"       the map                                     ``SALIENCY_CMAP``:     [-L, L], 0 white
                                                        blue +, red -
"positive"  max(map, 0)                                 Blues                  [0, L]
"negative"  min(map, 0)                                 Reds (reversed)        [-L, 0]
"absolute"  abs(map)                                    Purples                [0, L]
==========  ==========================================  =====================  ===================

L is the ``100 - outlier_perc`` percentile of the shown magnitudes (default 0.5: the top 0.5 % saturate, so
one extreme pixel does not wash the map out), per map, per row or over the whole figure (``scale=``).
Images of any value range are min-max normalised for display, never clipped (:func:`display_image`).

matplotlib is imported inside the functions, so importing tfx_explain never needs a display.
"""
from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage
    from numpy.typing import ArrayLike, NDArray

    from ._typing import ColorScale, PathLike, Sign
    from .explanation import Explanation

SALIENCY_CMAP = "RdBu"  # red for negative, blue for positive
SIGN_CMAPS = {"all": SALIENCY_CMAP, "positive": "Blues", "negative": "Reds_r", "absolute": "Purples"}
SIGNS = tuple(SIGN_CMAPS)
SCALES = ("per_map", "row", "shared")
OUTLIER_PERC = 0.5  # the former fixed 99.5th percentile


def heatmap(attributions: ArrayLike) -> NDArray[Any]:
    """(N, H, W, C) attributions -> (N, H, W) maps summed over channels."""
    return np.asarray(attributions).sum(axis=-1)


def check_options(sign: Sign = "all", scale: ColorScale = "per_map", outlier_perc: float = OUTLIER_PERC,
                  alpha: float = 0.8) -> None:
    """Raise InputError naming the first bad display option."""
    if sign not in SIGNS:
        raise InputError(f"sign: expected one of {SIGNS}, got {sign!r}")
    if scale not in SCALES:
        raise InputError(f"scale: expected one of {SCALES}, got {scale!r}")
    if isinstance(outlier_perc, bool) or not isinstance(outlier_perc, Real) or not 0 <= outlier_perc < 100:
        raise InputError(f"outlier_perc: expected a percentage in [0, 100), got {outlier_perc!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 <= alpha <= 1:
        raise InputError(f"alpha: expected a number in [0, 1], got {alpha!r}")


def shown_values(maps: ArrayLike, sign: Sign = "all") -> NDArray[np.float64]:
    """What is drawn of a map (or maps) for ``sign`` (see the module table)."""
    maps = np.asarray(maps, np.float64)
    if sign == "positive":
        return np.maximum(maps, 0.0)
    if sign == "negative":
        return np.minimum(maps, 0.0)
    return np.abs(maps) if sign == "absolute" else maps


def color_limits(maps: NDArray[Any], sign: Sign = "all", outlier_perc: float = OUTLIER_PERC) -> NDArray[np.float64]:
    """(N,) colour limits L of N maps: the ``100 - outlier_perc`` percentile of each map's shown magnitudes
    (1.0 for a map with nothing to show, so that it draws as zero rather than failing)."""
    flat = np.abs(shown_values(maps, sign)).reshape(len(maps), -1)
    lim = np.percentile(flat, 100.0 - outlier_perc, axis=1)
    return np.where(lim > 0, lim, 1.0)


def shared_limit(maps: ArrayLike, sign: Sign = "all", outlier_perc: float = OUTLIER_PERC) -> float:
    """One colour limit for all the maps together (the same percentile over every value)."""
    maps = np.asarray(maps)
    return float(color_limits(maps.reshape(1, -1), sign, outlier_perc)[0])


def symmetric_limit(maps: NDArray[Any], percentile: float = 100.0 - OUTLIER_PERC) -> NDArray[np.float64]:
    """A colour limit per map: the percentile of |map|, so that zero is white and outliers do not wash out."""
    return color_limits(maps, "all", 100.0 - percentile)


def value_limits(limit: float, sign: Sign = "all") -> tuple[float, float]:
    """(vmin, vmax) of the colour scale for a limit L."""
    return {"all": (-limit, limit), "negative": (-limit, 0.0)}.get(sign, (0.0, limit))


def display_range(*images: ArrayLike | None) -> tuple[float, float]:
    """(low, high) over all the given images: one range, so that images drawn together stay comparable
    (a zero baseline is black beside [0, 1] inputs and mid-grey beside [-1, 1] inputs)."""
    values = [np.asarray(i, np.float64) for i in images if i is not None]
    return (float(min(np.nanmin(v) for v in values)), float(max(np.nanmax(v) for v in values)))


def display_image(image: ArrayLike, value_range: tuple[float, float] | None = None) -> NDArray[np.float64]:
    """An image of any value range as drawn: (H, W) grey (one channel; other than 3 channels: their mean) or
    (H, W, 3) RGB in [0, 1].

    Min-max normalised over ``value_range`` (default the image's own; channels together, so colours keep
    their balance), never clipped: [0, 255], [0, 1] and [-1, 1] versions of one image draw the same. A
    constant image has no range of its own: drawn at its value if that lies in [0, 1], else mid-grey.
    """
    image = np.asarray(image, np.float64)
    if image.ndim == 3:
        image = image[..., 0] if image.shape[-1] == 1 else image if image.shape[-1] == 3 else image.mean(axis=-1)
    low, high = display_range(image) if value_range is None else value_range
    if high > low:
        return (image - low) / (high - low)
    return np.full_like(image, low if 0.0 <= low <= 1.0 else 0.5)


def show_image(ax: Axes, image: ArrayLike, title: str | None = None, value_range: tuple[float,
               float] | None = None) -> None:
    """Draw an image (:func:`display_image`) on ``ax``."""
    shown = display_image(image, value_range)
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0.0, vmax=1.0)
    _clean(ax, title)


def show_map(ax: Axes, attribution_map: ArrayLike, limit: float, sign: Sign = "all", image: ArrayLike | None = None,
             alpha: float = 0.8, title: str | None = None, value_range: tuple[float, float] | None = None) -> AxesImage:
    """Draw a 2-D map with the colours of ``sign`` (module table). Over ``image`` (drawn in grey, so that its
    colours are not read as attribution) each pixel's opacity is ``alpha * sqrt(min(|shown| / L, 1))``: zero
    attribution is transparent and the image shows through it. Returns the AxesImage of the map."""
    shown = shown_values(attribution_map, sign)
    opacity = 1.0
    if image is not None:
        grey = display_image(image, value_range)
        ax.imshow(grey if grey.ndim == 2 else grey.mean(axis=-1), cmap="gray", vmin=0.0, vmax=1.0)
        opacity = alpha * np.sqrt(np.minimum(np.abs(np.nan_to_num(shown)) / limit, 1.0))
    vmin, vmax = value_limits(limit, sign)
    drawn = ax.imshow(shown, cmap=SIGN_CMAPS[sign], vmin=vmin, vmax=vmax, alpha=opacity)
    _clean(ax, title)
    return drawn


def _clean(ax, title):
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def grid(rows: Sequence[Sequence[Any]], row_titles: Sequence[str] | None = None,
         col_titles: Sequence[str] | None = None, cell: float = 1.6, path: PathLike | None = None,
         colorbars: Literal["each", "row", "grid"] | None = None) -> Figure:
    """Lay out cells and return the figure (saved as PNG, atomically, when ``path`` is given).

    Each cell is None (blank), ``("image", array)`` or ``("saliency", map, limit)``, optionally followed by a
    dict of options: for images ``title`` and ``value_range`` (default: the min and max over all the images
    of the grid, one range for all); for maps ``title``, ``sign``, ``image`` (drawn underneath), ``alpha``
    and ``value_range`` (of that image). ``colorbars``: None, ``"each"`` (beside every
    map), ``"row"`` (one per row, for maps that share the row's limit) or ``"grid"`` (one for the figure).
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    width = cell * n_cols + (0.4 * n_cols if colorbars == "each" else 0.5 if colorbars else 0)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, cell * n_rows), squeeze=False, layout="constrained")
    drawn: list[list[Any]] = [[] for _ in rows]  # (ax, AxesImage) of the maps, per row
    # one display range for all the images, so that a dimmed or shifted image is not stretched back to full contrast
    free = [spec[1] for row in rows for spec in row if spec is not None and spec[0] == "image"
            and not (isinstance(spec[-1], dict) and "value_range" in spec[-1])]
    shared_range = display_range(*free) if free else None
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            spec = row[c] if c < len(row) else None
            options = dict(spec[-1]) if spec is not None and isinstance(spec[-1], dict) else {}
            title = options.pop("title", None)
            if title is None and col_titles and r == 0 and c < len(col_titles):
                title = col_titles[c]
            if spec is None:
                ax.axis("off")
            elif spec[0] == "image":
                show_image(ax, spec[1], title, options.get("value_range", shared_range))
            else:
                drawn[r].append((ax, show_map(ax, spec[1], spec[2], title=title, **options)))
            if row_titles and spec is not None and not any(row[:c]):  # on the row's first drawn panel
                ax.set_ylabel(row_titles[r], fontsize=8)
    _colorbars(fig, drawn, colorbars)
    if path is not None:
        save_figure(fig, path)
    return fig


def _colorbars(fig, drawn, where):
    import matplotlib.cm

    if where is None:
        return
    if where not in ("each", "row", "grid"):
        raise InputError(f"colorbars: expected None, 'each', 'row' or 'grid', got {where!r}")
    groups = ([[m] for row in drawn for m in row] if where == "each" else
              [row for row in drawn if row] if where == "row" else [[m for row in drawn for m in row]])
    for group in groups:
        if group:
            # from the colours alone: the maps' per-pixel opacity is not part of the scale
            image = group[-1][1]
            solid = matplotlib.cm.ScalarMappable(norm=image.norm, cmap=image.get_cmap())
            bar = fig.colorbar(solid, ax=[ax for ax, _ in group], fraction=0.05 if where == "each" else 0.02,
                               pad=0.02, aspect=12 if where == "each" else 20)
            bar.ax.tick_params(labelsize=6)
            bar.formatter.set_powerlimits((-2, 3))
            bar.ax.yaxis.get_offset_text().set_fontsize(6)


def save_figure(fig: Figure, path: PathLike, dpi: int = 120) -> PathLike:
    """Save a figure as PNG atomically."""
    from ._io import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return path


def class_label(original: int, target: int | None = None, class_names: Sequence[str] | None = None) -> str:
    """What a panel explains: "4 vs 3" is class 4 contrasted with 3 (one-vs-one, S_4 - S_3); "4" alone is
    one-vs-all (S_4)."""
    name = (lambda c: str(class_names[int(c)])) if class_names is not None else (lambda c: str(int(c)))
    return name(original) if target is None else f"{name(original)} vs {name(target)}"


def _limits(maps, sign, scale, outlier_perc):
    """Colour limits of an (R, M, H, W) grid of maps: per map, one per row, or one for all."""
    maps = np.asarray(maps)
    if scale == "shared":
        return np.full(maps.shape[:2], shared_limit(maps, sign, outlier_perc))
    if scale == "row":
        return np.repeat(color_limits(maps.reshape(len(maps), -1), sign, outlier_perc)[:, None], maps.shape[1], 1)
    return color_limits(maps.reshape((-1,) + maps.shape[2:]), sign, outlier_perc).reshape(maps.shape[:2])


COLORBARS: dict[str, Literal["each", "row", "grid"]] = {"per_map": "each", "row": "row", "shared": "grid"}


def compare(explanations: Sequence[Explanation] | Mapping[tuple[str, str | None], Explanation],
            indices: Sequence[int] | None = None, max_rows: int = 8, class_names: Sequence[str] | None = None,
            path: PathLike | None = None, *, sign: Sign = "all", scale: ColorScale = "per_map",
            outlier_perc: float = OUTLIER_PERC, overlay: bool = False, alpha: float = 0.8, cell: float = 1.6) -> Figure:
    """Methods x baselines on the same inputs: the layout of the GANMEX paper's Fig. 2 (ganmex_main.txt).

    Each row is one input: the input, then for every baseline its image followed by each method's map with
    that baseline. Rows are labelled with what is explained ("4 vs 3": class 4 contrasted with 3; "4":
    one-vs-all).

    Args:
        explanations: a list of :class:`~tfx_explain.Explanation` (labelled by their method, with
            "(noise ×n)" when noise-averaged, and ``options["baseline"]``, or the filler of a removal method
            without one) or a dict ``{(method_label, baseline_label): Explanation}`` (baseline_label
            None for methods without a baseline); all on the same inputs and classes.
        indices: the samples drawn (default the first ``max_rows``).
        max_rows: how many samples are drawn when ``indices`` is None.
        class_names: names of the classes, indexed by class.
        path: save the figure there as PNG (atomically).
        sign: "all", "positive", "negative" or "absolute" (module table).
        scale: "per_map", "row" (one colour scale per input) or "shared" (one for the figure), with a colour
            bar for each scale.
        outlier_perc: the top percentage of shown magnitudes that saturates the colours.
        overlay: draw each map over its input in grey (:func:`show_map`).
        alpha: the overlay's opacity, up to ``alpha`` where the map is strongest.
        cell: inches per panel.
    Returns:
        The matplotlib Figure.
    Raises:
        InputError naming the argument: bad options, explanations of other inputs or classes, indices out of range.
    """
    check_options(sign, scale, outlier_perc, alpha)
    labelled = _labelled(explanations)
    first = labelled[0][2]
    indices = _indices(indices, max_rows, len(first))
    _check_class_names(class_names, first, indices)
    groups: dict[str | None, list[Any]] = {}  # baseline label -> [(method label, explanation)], in order of appearance
    for method, baseline, e in labelled:
        groups.setdefault(baseline, []).append((method, e))
    keys = [(m, b) for b, members in groups.items() for m, _ in members]
    by_key = {(m, b): e for m, b, e in labelled}
    maps = np.stack([by_key[k].heatmaps()[indices] for k in keys], axis=1)  # (R, M, H, W)
    limits = _limits(maps, sign, scale, outlier_perc)
    shown = [first.inputs[indices]] + [e.baselines[indices] for _, _, e in labelled if e.baselines is not None]
    value_range = display_range(*shown)
    rows, cols = [], ["input"]
    for b, members in groups.items():
        with_baseline = next((e for _, e in members if e.baselines is not None), None)
        shown_sign = "" if sign == "all" else f" ({sign})"
        cols += ([f"{b} baseline"] if with_baseline is not None else []) + [
            (m if b is None else f"{m}+{b}") + shown_sign for m, _ in members]
    for r, i in enumerate(indices):
        row: list[tuple[Any, ...]] = [("image", first.inputs[i], {"value_range": value_range})]
        for b, members in groups.items():
            with_baseline = next((e for _, e in members if e.baselines is not None), None)
            if with_baseline is not None:
                row.append(("image", with_baseline.baselines[i], {"value_range": value_range}))
            for m, _ in members:
                k = keys.index((m, b))
                options = {"sign": sign, "alpha": alpha, "value_range": value_range}
                if overlay:
                    options["image"] = first.inputs[i]
                row.append(("saliency", maps[r, k], limits[r, k], options))
        rows.append(row)
    titles = [class_label(first.original_class[i], first.target_class[i] if first.one_vs_one else None, class_names)
              for i in indices]
    return grid(rows, row_titles=titles, col_titles=cols, cell=cell, path=path, colorbars=COLORBARS[scale])


def _labelled(explanations):
    """[(method label, baseline label, Explanation)], checked to explain the same inputs and classes."""
    if isinstance(explanations, dict):
        items = list(explanations.items())
        if not all(isinstance(k, tuple) and len(k) == 2 for k, _ in items):
            raise InputError("explanations: a dict must be keyed by (method label, baseline label) pairs")
        labelled = [(str(k[0]), None if k[1] is None else str(k[1]), e) for k, e in items]
    elif isinstance(explanations, (list, tuple)):
        labelled = [(_method_label(e), _baseline_label(e), e) for e in explanations]
    else:
        raise InputError(f"explanations: expected a list of Explanation or a dict, got {type(explanations).__name__}")
    if not labelled:
        raise InputError("explanations: none given")
    first = labelled[0][2]
    for method, baseline, e in labelled:
        if not all(hasattr(e, a) for a in ("inputs", "baselines", "heatmaps", "original_class", "one_vs_one")):
            raise InputError(f"explanations: expected Explanation objects, got {type(e).__name__}")
        same = (e.inputs.shape == first.inputs.shape and np.array_equal(e.inputs, first.inputs)
                and np.array_equal(e.original_class, first.original_class) and e.one_vs_one == first.one_vs_one
                and (not e.one_vs_one or np.array_equal(e.target_class, first.target_class)))
        if not same:
            label = method if baseline is None else f"{method}+{baseline}"
            raise InputError(f"explanations: {label} explains other inputs or classes than the first; compare() "
                             "draws explanations of the same samples")
    if len({(m, b) for m, b, _ in labelled}) < len(labelled):
        raise InputError("explanations: two have the same (method, baseline) label; pass a dict to name them")
    return labelled


def _check_class_names(class_names, e, indices):
    if class_names is None:
        return
    classes = [e.original_class[indices]] + ([e.target_class[indices]] if e.one_vs_one else [])
    highest = int(max(np.max(c) for c in classes))
    if isinstance(class_names, str) or not hasattr(class_names, "__len__"):
        raise InputError(f"class_names: expected a sequence of names indexed by class, got {type(class_names).__name__}")
    if len(class_names) <= highest:
        raise InputError(f"class_names: expected a name for every class up to {highest}, got {len(class_names)} names")


def _method_label(e):
    """The method's name, with ``(noise ×n)`` when its map is averaged over n noisy copies (``noise_samples=``),
    so that a smoothed map is not titled as the plain one."""
    method = getattr(e, "method", None)
    samples = getattr(e, "options", {}).get("noise_samples")
    return method if samples is None else f"{method} (noise ×{samples})"


def _baseline_label(e):
    """The baseline's name (``Explanation.options["baseline"]``); for a removal method without one (SP, LIME,
    MP, RISE, KernelSHAP) the name of its filler (``options["filler"]``), so that RISE-G ("inpaint") is told
    from RISE ("zero"); None for methods with neither."""
    options = getattr(e, "options", {})
    name = options.get("baseline")
    if name is None:
        name = options.get("filler")
    return None if name is None else str(name)


def _indices(indices, max_rows, n):
    if indices is None:
        return list(range(min(n, max_rows)))
    indices = list(np.atleast_1d(indices))
    bad = [i for i in indices if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -n <= i < n]
    if bad or not indices:
        raise InputError(f"indices: expected sample indices in [0, {n}), got {bad[0] if bad else 'none'}")
    return [int(i) % n for i in indices]


def curves(xs: ArrayLike, curves_by_label: Mapping[str, ArrayLike], xlabel: str, ylabel: str,
           title: str | None = None, path: PathLike | None = None) -> Figure:
    """Line plot of several labelled curves (perturbation curves, compatibility plots): each curve has one
    value per x (InputError otherwise, before a figure is made)."""
    import matplotlib.pyplot as plt

    n = len(np.asarray(xs).reshape(-1))
    for label, ys in curves_by_label.items():
        if np.shape(ys) != (n,):
            raise InputError(f"curves_by_label: curve {label!r} has shape {np.shape(ys)}, expected ({n},), one value "
                             "per x (for an (N, levels) curve per sample, pass its mean over axis 0)")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, ys in curves_by_label.items():
        ax.plot(xs, ys, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
