"""Figures of Cui et al. 2020: Figs 2 and 3 (Experiment 1, sagittal / transaxial), Fig. 4 (Experiment 2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mrsr.figures import grey_window, save_figure

# paper Figs 2-3 column order: LR, the three interpolations, proposed, NR, HR
EXP1_COLUMNS = {"lr": "LR", "nearest": "Nearest", "linear": "Linear", "spline": "Spline", "proposed": "Proposed",
                "nr": "NR", "hr": "HR (NR grid)"}
EXP2_COLUMNS = {"nr": "NR (input)", "linear": "Linear", "proposed": "Proposed", "hr": "HR", "truth": "Truth",
                "t1w": "T1w"}


def image_grid(rows: Sequence[tuple[str, Mapping[str, np.ndarray]]], columns: Mapping[str, str], stem: Path, *,
               title: str, window_key: str) -> dict[str, Path]:
    """One row per (label, {column key: 2-D image}); perfusion panels share the row's window of
    images[window_key]; a 'T1w' column gets its own window. Missing images leave a blank panel."""
    fig = Figure(figsize=(1.6 * len(columns) + 0.6, 1.7 * len(rows) + 0.6), layout="constrained")
    fig.suptitle(title, fontsize=10)
    axes = fig.subplots(len(rows), len(columns), squeeze=False)
    for r, (label, images) in enumerate(rows):
        lo, hi = grey_window(images[window_key])
        for c, (key, name) in enumerate(columns.items()):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if key in images:
                img = images[key]
                vmin, vmax = grey_window(img) if key == "t1w" else (lo, hi)
                ax.imshow(img, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest", aspect="auto")
            if r == 0:
                ax.set_title(name, fontsize=8)
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    return save_figure(fig, stem)


def example_rows(examples: Mapping[str, Mapping[str, np.ndarray]], experiment: str,
                 views: Sequence[str]) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Rows (subject [view], {name: slice}) from each subject's examples keyed '<experiment>.<name>.<view>'."""
    rows = []
    for subject, arrays in examples.items():
        for view in views:
            images = {k.split(".")[1]: v for k, v in arrays.items()
                      if k.startswith(f"{experiment}.") and k.endswith(f".{view}")}
            rows.append((subject if len(views) == 1 else f"{subject} {view}", images))
    return rows


def shown_columns(columns: Mapping[str, str], rows: Sequence[tuple[str, Mapping[str, np.ndarray]]]) -> dict[str, str]:
    """The columns some row has an image for (acquired data: no HR, no truth)."""
    return {k: v for k, v in columns.items() if any(k in images for _, images in rows)}
