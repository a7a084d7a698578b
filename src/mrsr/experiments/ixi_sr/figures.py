"""Figures 4 and 5 of Lyu et al. 2019: LR / HR / CPCE / CIRCLE slices, and zoomed regions with a red box."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mrsr.figures import save_figure


def zoom_box(hr: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the size x size window with the most HR detail (largest gradient energy)."""
    gy, gx = np.gradient(hr.astype(np.float64))
    energy = gy**2 + gx**2
    best, corner = -1.0, (0, 0)
    step = max(1, size // 4)
    for r in range(0, hr.shape[0] - size + 1, step):
        for c in range(0, hr.shape[1] - size + 1, step):
            e = float(energy[r:r + size, c:c + size].sum())
            if e > best:
                best, corner = e, (r, c)
    return corner


def slices_figure(images: Mapping[str, np.ndarray], metrics: Mapping[str, str], stem: Path, *, title: str,
                  zoom: int | None = None, box: Sequence[int] | None = None) -> dict[str, Path]:
    """One panel per image (grey, window [0, 1]); with `zoom`, a second row of the boxed region (Fig. 5)."""
    names = list(images)
    rows = 2 if zoom else 1
    fig = Figure(figsize=(2.4 * len(names), 2.5 * rows + 0.4), layout="constrained")
    fig.suptitle(title, fontsize=10)
    axes = fig.subplots(rows, len(names), squeeze=False)
    for i, name in enumerate(names):
        ax = axes[0, i]
        ax.imshow(images[name], cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_title(f"{name}\n{metrics.get(name, '')}".strip(), fontsize=8)
        ax.set_axis_off()
        if zoom:
            r, c = box
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), zoom, zoom, fill=False, edgecolor="red", linewidth=1.2))
            z = axes[1, i]
            z.imshow(images[name][r:r + zoom, c:c + zoom], cmap="gray", vmin=0.0, vmax=1.0)
            for side in z.spines.values():
                side.set_edgecolor("red")
            z.set_xticks([])
            z.set_yticks([])
    return save_figure(fig, stem)
