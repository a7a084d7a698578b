"""The toy's figure: one signal, clean, noisy and every method's estimate."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mrsr.figures import save_figure


def example_figure(clean: np.ndarray, estimates: Mapping[str, np.ndarray], stem: Path, *, title: str) -> dict:
    """Plot the first signal and each labelled estimate of it; write stem.png and stem.pdf."""
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    ax.plot(clean[0], "k", lw=2, label="clean")
    for label, estimate in estimates.items():
        ax.plot(estimate[0], lw=1, label=label)
    ax.set(title=title, xlabel="sample", ylabel="value")
    ax.legend(fontsize=7)
    return save_figure(fig, stem)
