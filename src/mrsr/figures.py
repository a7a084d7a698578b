"""Figures: example-slice comparison grids, RFSR panels, loss curves and ours-vs-paper metric bars.

Every function saves stem.png and stem.pdf (dpi 150) and returns {"png": path, "pdf": path}.
Figures are built with matplotlib.figure.Figure (rendered by Agg for PNG), never through pyplot, so no
global backend is switched and no figure stays registered: nothing is left open after a call.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mrsr.io import _atomic_write

DPI = 150
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


def save_figure(fig: Figure, stem: Path) -> dict[str, Path]:
    """Save fig as stem.png and stem.pdf (dpi 150) atomically; return the paths."""
    stem = Path(stem)
    paths = {ext: stem.with_name(f"{stem.name}.{ext}") for ext in ("png", "pdf")}
    # assumption: no CreationDate in the PDF, so reruns give byte-identical files
    meta = {"png": None, "pdf": {"CreationDate": None}}
    for ext, path in paths.items():
        _atomic_write(path, lambda tmp, e=ext: fig.savefig(tmp, format=e, dpi=DPI, metadata=meta[e]))
    return paths


def grey_window(hr: np.ndarray) -> tuple[float, float]:
    """Display window (1st, 99th percentile) of the HR image, shared by LR / generated / HR."""
    lo, hi = np.nanpercentile(hr, [1, 99])
    return (float(lo), float(hi)) if hi > lo else (float(lo), float(lo) + 1.0)


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


def _epoch_series(log: pd.DataFrame, column: str) -> pd.Series:
    """column averaged per epoch (logs may hold several rows per epoch), NaNs dropped."""
    values = pd.to_numeric(log[column], errors="coerce")
    return values.groupby(log["epoch"]).mean().dropna()


def _use_log_y(series: Sequence[pd.Series]) -> bool:
    """True if all plotted values are positive and span more than two decades."""
    values = np.concatenate([s.to_numpy(dtype=float) for s in series]) if series else np.array([])
    return values.size > 0 and bool(np.all(values > 0)) and values.max() / values.min() > 100


def loss_curves(
    logs: Mapping[str, pd.DataFrame], stem: Path, *, title: str, columns: Sequence[str] = ("train_total", "val_total")
) -> dict[str, Path]:
    """One panel per method (up to 3 across): columns vs epoch, plus train_d for GANs (paper Figs 5, 6, 12).

    Each panel switches to a log y axis when its values span more than two decades.
    """
    if not logs:
        raise ValueError("loss_curves: no logs given; expected {method: DataFrame with epoch, train_total, ...}")
    for name, log in logs.items():
        missing = [c for c in ("epoch", *columns) if c not in log.columns]
        if missing:
            raise ValueError(f"loss log {name!r}: missing column(s) {missing}; have {list(log.columns)}")
    ncols = min(3, len(logs))
    nrows = math.ceil(len(logs) / ncols)
    fig = Figure(figsize=(3.3 * ncols, 2.5 * nrows + 0.4), layout="constrained")
    fig.suptitle(title, fontsize=11)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    styles = {"train_d": {"color": "0.45", "linestyle": "--"}}
    for ax, (name, log) in zip(axes.flat, logs.items()):
        plotted = [c for c in columns] + (["train_d"] if "train_d" in log.columns and "train_d" not in columns else [])
        series = {c: _epoch_series(log, c) for c in plotted}
        for i, (c, s) in enumerate(series.items()):
            style = styles.get(c, {"color": f"C{i}", "linestyle": "-"})
            label = "D loss (train_d)" if c == "train_d" else c
            ax.plot(s.index, s.to_numpy(), marker="o", markersize=2.5, linewidth=1.2, label=label, **style)
        if _use_log_y(list(series.values())):
            ax.set_yscale("log")
        ax.set_title(str(name), fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel("loss", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6.5, frameon=False)
    for ax in list(axes.flat)[len(logs) :]:
        ax.set_visible(False)
    return save_figure(fig, stem)


def learning_curves(logs: Mapping[str, pd.DataFrame], stem: Path, *, title: str,
                    references: Mapping[str, float | None] | None = None,
                    plateaus: Mapping[str, int | None] | None = None) -> dict[str, Path]:
    """The validation MSE (smoothed, raw as faint dots) against optimiser updates for every trained method, one
    colour each; each method's no-model reference MSE on the same validation samples as a dashed line of its
    colour, and a marker where its plateau was reached. Log y axis."""
    usable = {k: v for k, v in logs.items() if {"update", "val_mse"} <= set(v.columns) and len(v)}
    if not usable:
        raise ValueError(f"learning_curves: no log has 'update' and 'val_mse' columns (logs: {list(logs)})")
    references, plateaus = references or {}, plateaus or {}
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (name, log) in enumerate(usable.items()):
        colour = f"C{i % 10}"
        updates = pd.to_numeric(log["update"]).to_numpy(float)
        raw = pd.to_numeric(log["val_mse"], errors="coerce").to_numpy(float)
        smooth = pd.to_numeric(log.get("val_mse_smooth", log["val_mse"]), errors="coerce").to_numpy(float)
        ax.plot(updates, raw, ".", color=colour, alpha=0.25, markersize=3)
        ax.plot(updates, smooth, "-", color=colour, linewidth=1.3, label=str(name))
        if references.get(name) is not None:
            ax.axhline(float(references[name]), color=colour, linestyle="--", linewidth=0.8, alpha=0.7)
        at = plateaus.get(name)
        if at is not None and at in set(updates.astype(int)):
            ax.plot([at], [smooth[list(updates.astype(int)).index(at)]], "v", color=colour, markersize=7)
    ax.set_yscale("log")
    ax.set_xlabel("optimiser updates (generator updates for GANs)", fontsize=9)
    ax.set_ylabel("validation MSE", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.plot([], [], "k--", linewidth=0.8, label="no-model reference")
    ax.plot([], [], "kv", label="plateau reached")
    ax.legend(fontsize=7, frameon=False, ncol=2 if len(usable) > 6 else 1, loc="upper right")
    return save_figure(fig, stem)


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
