"""Figures shared by the experiments: saving (stem.png and stem.pdf), the grey window of an image, loss curves and
learning curves. An experiment's own figures are in mrsr.experiments.<key>.figures.

Every function saves stem.png and stem.pdf (dpi 150) and returns {"png": path, "pdf": path}.
Figures are built with matplotlib.figure.Figure (rendered by Agg for PNG), never through pyplot, so no
global backend is switched and no figure stays registered: nothing is left open after a call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mrsr.io import _atomic_write

DPI = 150


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
