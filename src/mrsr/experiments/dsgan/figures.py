"""Huang et al. 2021 figures: GB vs real LR (Fig. 3), SR examples (Fig. 4), MSCN histograms (Fig. 5), 1-D
profiles (Fig. 6), DSN vs DSGAN (Fig. 7) and the learned kernel against the hidden one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mrsr.figures import grey_window, save_figure
from mrsr.metrics import image_metrics, mscn


def image_row(panels: Sequence[tuple[str, np.ndarray]], stem: Path, title: str, window: tuple[float, float],
              cmap: str = "gray") -> dict[str, Path]:
    """One row of images with their titles, shared grey window."""
    fig = Figure(figsize=(2.2 * len(panels), 2.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, img) in zip(axes, panels):
        ax.imshow(img, cmap=cmap, vmin=window[0], vmax=window[1], interpolation="nearest")
        ax.set_title(name, fontsize=8)
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, stem)


def scores(sr: np.ndarray, hr: np.ndarray) -> str:
    """'SSIM x, PSNR y dB' of an SR image against the HR (pair normalised by the HR min/max)."""
    lo, hi = float(hr.min()), float(hr.max())
    m = image_metrics((sr - lo) / (hi - lo), (hr - lo) / (hi - lo), peak=1.0, ssim_range=1.0)
    return f"SSIM {m['ssim']:.3f}, PSNR {m['psnr']:.2f} dB"


def examples_figure(lr: np.ndarray, srs: Mapping[str, np.ndarray], hr: np.ndarray, stem: Path,
                    title: str) -> dict[str, Path]:
    """Fig. 4 / Fig. 7: the LR input, each method's SR (titled with SSIM and PSNR) and the reference HR."""
    panels = [("LR (input)", np.kron(lr, np.ones((2, 2))))]
    panels += [(f"{name}\n{scores(sr, hr)}", sr) for name, sr in srs.items()]
    panels.append(("reference HR", hr))
    return image_row(panels, stem, title, grey_window(hr))


def mscn_figure(images: Mapping[str, np.ndarray], stem: Path, title: str, bins: int = 81) -> dict[str, Path]:
    """Fig. 5: histograms of the MSCN coefficients (7x7, sigma 1, C 1 on a 0-255 scale) and of the diagonal
    products D(m, n) = I(m, n) I(m-1, n-1)."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for name, img in images.items():
        m = mscn(255.0 * np.clip(img, 0, 1), size=7, sigma=1.0, c=1.0)
        d = m[1:, 1:] * m[:-1, :-1]
        for ax, values, lim in ((ax1, m, 3.0), (ax2, d, 2.0)):
            h, edges = np.histogram(values, bins=bins, range=(-lim, lim), density=True)
            ax.plot(0.5 * (edges[1:] + edges[:-1]), h, label=name)
    ax1.set_title("MSCN coefficients", fontsize=9)
    ax2.set_title("diagonal products D", fontsize=9)
    for ax in (ax1, ax2):
        ax.set_ylabel("density")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, stem)


def profiles_figure(hr: np.ndarray, lrs: Mapping[str, np.ndarray], row: int, stem: Path,
                    title: str) -> dict[str, Path]:
    """Fig. 6: intensity along one LR row (HR row 2*row+1) for the HR and each LR image, on HR coordinates."""
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(hr.shape[1]), hr[2 * row + 1], color="k", lw=1.5, label="HR")
    for name, lr in lrs.items():
        ax.plot(2 * np.arange(lr.shape[1]) + 1, lr[row], marker=".", lw=1, label=name)
    ax.set_xlabel("HR column")
    ax.set_ylabel("intensity (HR max = 1)")
    ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, stem)


def kernels_figure(hidden: np.ndarray, learned: np.ndarray, gb: np.ndarray, distances: Mapping[str, float],
                   stem: Path, title: str) -> dict[str, Path]:
    """The hidden kernel, the mean and first learned DSGAN kernels and the GB kernel, each titled with its distance."""
    panels = [("hidden (truth)", hidden), (f"DSGAN mean of {len(learned)}\nd = {distances['dsgan']:.3f}",
                                          learned.mean(0))]
    panels += [(f"DSGAN slice {i}", k) for i, k in enumerate(learned[:2])]
    panels.append((f"GB sigma 1.5\nd = {distances['gb']:.3f}", gb))
    hi = max(float(np.max(k)) for _, k in panels)
    return image_row(panels, stem, title, (0.0, hi), cmap="magma")


