"""Figures of Ravikumar et al.: example-slice comparison grids (LR | generated | HR | generated − LR, paper Figs
7-11), the RFSR panels (Fig. 4) and ours-vs-paper metric bars of a table; the loss curves (Figs 5, 6, 12) and
learning curves are drawn by mrsr.figures.

Every function saves stem.png and stem.pdf (dpi 150, mrsr.figures.save_figure) and returns
{"png": path, "pdf": path}.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mrsr.figures import grey_window, save_figure

PANEL_IN = 2.2  # width of one image panel, inches
GAP_IN = 0.08  # gap between panels
LABEL_IN = 0.45  # left margin for the row labels
CBAR_IN = (0.06, 0.12, 0.75)  # colorbar gap, width, room for its tick labels and label
TOP_IN, BOTTOM_IN = 0.65, 0.1  # suptitle + column titles; bottom margin
# paper Figs 7-11: LR input, generated, HR target, generated − LR
FIELD_COLUMNS = ("7T input (LR)", "generated", "9.4T (HR)", "generated − LR")
RFSR_COLUMNS = ("7T input (LR)", "RFSR output", "9.4T (HR)", "RFSR residual (output − LR)")
# paper: "blue areas indicate positive values ... red areas indicate negative values" -> RdBu (red low, blue high)
DIFF_CMAP = "RdBu"


def as_shown(image: np.ndarray) -> np.ndarray:
    """Slices are stored (x, y); show them with y up, as radiological viewers do."""
    return np.rot90(image)


def symmetric_limit(diff: np.ndarray) -> float:
    """Colour limit for a difference image: 99.5th percentile of |diff| (robust to a few outliers), > 0."""
    lim = float(np.nanpercentile(np.abs(diff), 99.5))
    return lim if lim > 0 else 1.0


def _metrics_text(metrics: str | Mapping[str, float] | None) -> str | None:
    """Annotation from a string or {metric: value} ({'psnr': 65.1, 'ssim': 0.58} -> 'PSNR 65.10 dB, SSIM 0.580')."""
    if metrics is None or isinstance(metrics, str):
        return metrics
    fmt = {"psnr": "PSNR {:.2f} dB", "ssim": "SSIM {:.3f}", "mse": "MSE {:.4g}"}
    return ", ".join(fmt.get(k.lower(), k + " {:.4g}").format(v) for k, v in metrics.items())


def _check_row(row: Mapping, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lr, gen, hr of one row as 2-D float arrays of one shape; ValueError naming the row otherwise."""
    name = row.get("label", f"row {i}")
    missing = [k for k in ("lr", "gen", "hr") if k not in row]
    if missing:
        raise ValueError(f"figure row {name!r}: missing key(s) {missing}; expected label, lr, gen, hr")
    arrays = [np.asarray(row[k], dtype=float) for k in ("lr", "gen", "hr")]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 2:
        raise ValueError(
            f"figure row {name!r}: lr, gen, hr must be 2-D arrays of one shape; got {[a.shape for a in arrays]}"
        )
    return arrays[0], arrays[1], arrays[2]


def _blank(ax) -> None:
    """Hide ticks and frame but keep the y label visible."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _panel_grid(rows: Sequence[Mapping], columns: Sequence[str], title: str) -> Figure:
    """n rows x 4 panels (LR, generated, HR, generated − LR) with one diverging colorbar for the last column."""
    checked = [_check_row(r, i) for i, r in enumerate(rows)]
    if not checked:
        raise ValueError("figure: no rows given; expected at least one dict with label, lr, gen, hr")
    h, w = checked[0][0].shape
    pw, ph = PANEL_IN, PANEL_IN * h / w
    gap, cw, ctick = CBAR_IN
    fig_w = LABEL_IN + 4 * pw + 3 * GAP_IN + gap + cw + ctick
    fig_h = TOP_IN + len(rows) * ph + (len(rows) - 1) * GAP_IN + BOTTOM_IN
    fig = Figure(figsize=(fig_w, fig_h))
    fig.suptitle(title, y=1 - 0.12 / fig_h, va="top", fontsize=11)
    # one difference scale for all rows, so the methods' difference images compare directly (paper Figs 9-11)
    lim = max(symmetric_limit(gen - lr) for lr, gen, _ in checked)
    for r, (row, (lr, gen, hr)) in enumerate(zip(rows, checked)):
        y0 = fig_h - TOP_IN - (r + 1) * ph - r * GAP_IN
        vmin, vmax = grey_window(hr)
        diff = gen - lr
        images = [
            (lr, "gray", vmin, vmax),
            (gen, "gray", vmin, vmax),
            (hr, "gray", vmin, vmax),
            (diff, DIFF_CMAP, -lim, lim),
        ]
        for c, (img, cmap, lo, hi) in enumerate(images):
            x0 = LABEL_IN + c * (pw + GAP_IN)
            ax = fig.add_axes((x0 / fig_w, y0 / fig_h, pw / fig_w, ph / fig_h))
            im = ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
            _blank(ax)
            if r == 0:
                ax.set_title(columns[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(textwrap.fill(str(row.get("label", "")), 28), fontsize=8)
            text = _metrics_text(row.get("metrics")) if c == 1 else None
            if text:
                ax.text(
                    0.02,
                    0.02,
                    text,
                    transform=ax.transAxes,
                    fontsize=6.5,
                    color="white",
                    va="bottom",
                    bbox={"facecolor": "black", "alpha": 0.6, "pad": 1.5, "linewidth": 0},
                )
    # a single colorbar beside the difference column, spanning all rows
    cax = fig.add_axes(
        (
            (LABEL_IN + 4 * pw + 3 * GAP_IN + gap) / fig_w,
            BOTTOM_IN / fig_h,
            cw / fig_w,
            (fig_h - TOP_IN - BOTTOM_IN) / fig_h,
        )
    )
    cbar = fig.colorbar(im, cax=cax)
    cbar.ax.tick_params(labelsize=7)
    cbar.set_label("blue: brighter than LR, red: darker", fontsize=6.5)
    return fig


def comparison_grid(
    rows: Sequence[Mapping], stem: Path, *, title: str, columns: Sequence[str] = FIELD_COLUMNS
) -> dict[str, Path]:
    """One row per method: LR | generated | HR | generated − LR (paper Figs 7-11).

    rows: dicts with label, lr, gen, hr (2-D arrays) and optional metrics (a string or {metric: value}),
    shown on the generated panel. LR/generated/HR share the grey window of the row's HR 1/99 percentiles;
    the difference uses a diverging map centred at 0 (blue = generated brighter, as in the paper).
    """
    return save_figure(_panel_grid(rows, columns, title), stem)


def rfsr_figure(lr: np.ndarray, rfsr: np.ndarray, hr: np.ndarray, stem: Path, *, title: str) -> dict[str, Path]:
    """LR | RFSR output | HR | RFSR residual (output − LR) (paper Fig 4)."""
    row = {"label": "RFSR", "lr": lr, "gen": rfsr, "hr": hr}
    return save_figure(_panel_grid([row], RFSR_COLUMNS, title), stem)


def metric_bars(table: pd.DataFrame, stem: Path, *, title: str, metric: str = "PSNR") -> dict[str, Path]:
    """Grouped bars, ours vs the paper, per method for one metric column of a build_table() frame."""
    need = ["Method", metric, f"{metric} (paper)"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"metric_bars: table lacks column(s) {missing}; expected a build_table() frame with {need}")
    n = len(table)
    x = np.arange(n)
    fig = Figure(figsize=(max(5.0, 0.6 * n + 1.5), 3.8), layout="constrained")
    ax = fig.subplots()
    width = 0.4
    ax.bar(x - width / 2, table[metric].astype(float).to_numpy(), width, label="ours", color="C0")
    ax.bar(x + width / 2, table[f"{metric} (paper)"].astype(float).to_numpy(), width, label="paper", color="C1")
    ax.set_xticks(x, [textwrap.fill(str(m), 18) for m in table["Method"]], rotation=40, ha="right", fontsize=8)
    ax.set_ylabel(f"{metric} (dB)" if metric == "PSNR" else metric, fontsize=9)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return save_figure(fig, stem)
