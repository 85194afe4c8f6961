"""Figures: saliency grids (blue positive, red negative, as in the GANMEX paper's figures) and curves.

matplotlib is imported inside the functions, so importing tfx_explain never needs a display.
"""
from __future__ import annotations

import numpy as np

SALIENCY_CMAP = "RdBu"  # red for negative, blue for positive


def heatmap(attributions):
    """(N, H, W, C) attributions -> (N, H, W) maps summed over channels."""
    return np.asarray(attributions).sum(axis=-1)


def symmetric_limit(maps, percentile=99.5):
    """A colour limit per map: the percentile of |map|, so that zero is white and outliers do not wash out."""
    flat = np.abs(np.asarray(maps)).reshape(len(maps), -1)
    lim = np.percentile(flat, percentile, axis=1)
    return np.where(lim > 0, lim, 1.0)


def show_image(ax, image, title=None):
    image = np.clip(np.asarray(image), 0.0, 1.0)
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        ax.imshow(image[..., :3])
    _clean(ax, title)


def show_saliency(ax, attribution_map, limit, title=None, image=None):
    """A 2-D map with the diverging colormap centred at zero; the input faintly underneath if given."""
    if image is not None:
        ax.imshow(np.clip(np.asarray(image).mean(axis=-1), 0, 1), cmap="gray", alpha=0.25)
    ax.imshow(attribution_map, cmap=SALIENCY_CMAP, vmin=-limit, vmax=limit, alpha=0.9 if image is not None else 1)
    _clean(ax, title)


def _clean(ax, title):
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def grid(rows, row_titles=None, col_titles=None, cell=1.6, path=None):
    """Lay out cells; each cell is ("image", array) or ("saliency", map, limit) or None. Returns the figure."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols, cell * n_rows), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            cellspec = row[c] if c < len(row) else None
            title = col_titles[c] if (col_titles and r == 0 and c < len(col_titles)) else None
            if cellspec is None:
                ax.axis("off")
            elif cellspec[0] == "image":
                show_image(ax, cellspec[1], title)
            else:
                show_saliency(ax, cellspec[1], cellspec[2], title)
            if c == 0 and row_titles:
                ax.set_ylabel(row_titles[r], fontsize=8)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig, path, dpi=120):
    """Save a figure as PNG atomically."""
    from ._io import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return path


def curves(xs, curves_by_label, xlabel, ylabel, title=None, path=None):
    """Line plot of several labelled curves (perturbation curves, compatibility plots)."""
    import matplotlib.pyplot as plt

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
