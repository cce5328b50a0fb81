"""One figure style for the suite; byte-stable PNG and PDF files (no timestamps)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

PALETTE = {"raw": "#8c8c8c", "rollout": "#1f77b4", "flow": "#d62728"}


def style() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    plt.rcParams.update({"svg.hashsalt": "replicate", "figure.dpi": 100, "savefig.bbox": "tight"})


def wrap_note(note: str, width: int = 60) -> str:
    """A model/data note for a figure title, wrapped to ``width`` characters."""
    import textwrap

    return "\n".join(textwrap.wrap("ours: " + note, width))


def save(fig, png_path: str | Path) -> None:
    """Write ``<stem>.png`` and ``<stem>.pdf`` without volatile metadata (atomic renames)."""
    png = Path(png_path)
    png.parent.mkdir(parents=True, exist_ok=True)
    pdf = png.with_suffix(".pdf")
    for path, meta in ((png, {"Software": None}), (pdf, {"CreationDate": None, "Producer": None, "Creator": None})):
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format=path.suffix[1:], metadata=meta, dpi=150)
        os.replace(tmp, path)
    plt.close(fig)


def panels(n_cols: int, width: float, height: float, n_rows: int = 1, **kwargs):
    """Set the suite's style and open ``n_rows`` x ``n_cols`` axes (always a 2-D array), each ``width`` x ``height``."""
    style()
    return plt.subplots(n_rows, n_cols, figsize=(width * n_cols, height * n_rows), squeeze=False, **kwargs)


def finish(fig, png_path, title: str, note: str | None = None, width: int = 140) -> None:
    """Put ``title`` (and the wrapped model/data ``note``) above the panels, lay them out and :func:`save`."""
    fig.suptitle(title + ("\n" + wrap_note(note, width) if note else ""), fontsize=10)
    fig.tight_layout()
    save(fig, png_path)


def layer_head_frame(mat, name: str):
    """A layer x head matrix as a long table with 1-based ``layer``, ``head`` and ``name`` columns."""
    import pandas as pd

    L, H = mat.shape
    return pd.DataFrame([(l + 1, h + 1, float(mat[l, h])) for l in range(L) for h in range(H)],
                        columns=["layer", "head", name])


def layer_head_heatmap(ax, mat, cmap, vmin=None, vmax=None, cbar_label="", baseline=None, annot=True, cbar=True,
                       fmt=".2f", xlabels=None) -> None:
    """Layer (rows) x head (columns) heatmap with 1-based tick labels; ``baseline`` marks the colour bar."""
    L, H = mat.shape
    hm = sns.heatmap(mat, ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, square=True, annot=annot and H <= 12 and L <= 12,
                     fmt=fmt, annot_kws={"fontsize": 6}, xticklabels=xlabels or list(range(1, H + 1)),
                     yticklabels=range(1, L + 1), cbar=cbar, cbar_kws={"label": cbar_label, "shrink": 0.8})
    if baseline is not None and cbar:
        cb = hm.collections[0].colorbar
        cb.ax.axhline(baseline, color="orange", lw=2.5)
    ax.set_xlabel("head")
    ax.set_ylabel("layer")


def layer_curves(summary, title: str, png_path) -> None:
    """Mean rho per layer for raw/rollout/flow: ours (solid, ±std band) and the paper (dashed)."""
    style()
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    for method, colour in PALETTE.items():
        s = summary[summary.method == method]
        ax.plot(s.layer, s.ours_mean, "-o", color=colour, label=f"{method} (ours)")
        ax.fill_between(s.layer, s.ours_mean - s.ours_std, s.ours_mean + s.ours_std, color=colour, alpha=0.06, lw=0)
        ax.plot(s.layer, s.paper_mean, "--", marker="s", mfc="none", color=colour, alpha=0.8, label=f"{method} (paper)")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(sorted(summary.layer.unique()))
    ax.set_xlabel("layer")
    ax.set_ylabel("Spearman ρ (mean over examples)")
    ax.set_title(title, fontsize=10)
    ax.legend(ncol=2, fontsize=8, loc="lower right")
    save(fig, png_path)


def cls_maps(panels: list[dict], png_path, title: str) -> None:
    """Grid of relevance heatmaps, input tokens (x) × layers (y, layer 1 at the bottom).

    ``panels``: dicts with ``matrix`` (L, T), ``tokens``, ``row`` and ``col`` (grid position),
    ``title``.  Each layer is scaled to its own maximum for display (the data files keep the
    unscaled values), so the pattern of every layer stays visible.
    """
    style()
    n_rows = 1 + max(p["row"] for p in panels)
    n_cols = 1 + max(p["col"] for p in panels)
    widths = [max(len(p["tokens"]) for p in panels if p["col"] == c) for c in range(n_cols)]
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(0.42 * sum(widths) + 1.5 * n_cols, 2.6 * n_rows),
        gridspec_kw={"width_ratios": widths}, squeeze=False,
    )
    for p in panels:
        ax = axes[p["row"], p["col"]]
        m = np.asarray(p["matrix"], dtype=float)
        m = m / np.maximum(m.max(axis=1, keepdims=True), 1e-12)
        sns.heatmap(m[::-1], ax=ax, cmap="viridis", vmin=0, vmax=1, cbar=False, square=False,
                    xticklabels=p["tokens"], yticklabels=list(range(m.shape[0], 0, -1)))
        ax.set_title(p["title"], fontsize=9)
        ax.tick_params(axis="x", labelrotation=70, labelsize=8)
        ax.tick_params(axis="y", labelrotation=0, labelsize=8)
        ax.set_ylabel("layer" if p["col"] == 0 else "")
    fig.suptitle(title + " (each layer scaled to its maximum)", fontsize=11)
    fig.tight_layout()
    save(fig, png_path)


def mark_ticks(ax, positions, colour="#d62728") -> None:
    """Bold, coloured x tick labels at ``positions`` (e.g. the candidate tokens)."""
    for pos, label in enumerate(ax.get_xticklabels()):
        if pos in positions:
            label.set_color(colour)
            label.set_fontweight("bold")


def attention_graph(ax, layers: list[np.ndarray], tokens: list[str], title: str, to_input: bool, colour: str) -> None:
    """Draw a layered attention graph (Abnar & Zuidema Fig. 1).

    ``layers[l]`` is a (T, T) matrix for layer l+1.  ``to_input=False``: edges from layer
    l+1 to layer l (raw attention); ``to_input=True``: edges from every node of layer l+1
    straight down to the input tokens (rollout, flow).  Edge opacity ∝ weight.
    """
    n_layers, t = len(layers), len(tokens)
    for l in range(n_layers + 1):
        ax.scatter(range(t), [l] * t, s=40, color="#444444", zorder=3)
    for l, m in enumerate(layers):
        for i in range(t):
            for j in range(t):
                w = float(m[i, j])
                if w < 0.02:
                    continue
                y0 = 0 if to_input else l
                ax.plot([i, j], [l + 1, y0], color=colour, alpha=min(1.0, w), lw=0.4 + 2.5 * w, zorder=1)
    ax.set_xticks(range(t))
    ax.set_xticklabels(tokens, rotation=60, fontsize=8)
    ax.set_yticks(range(n_layers + 1))
    ax.set_yticklabels(["input"] + [f"L{l}" for l in range(1, n_layers + 1)], fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.grid(False)
