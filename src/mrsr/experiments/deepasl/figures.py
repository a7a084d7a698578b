"""DeepASL figures: perfusion images and CBF maps (paper Figs. 2 and 3), Bland-Altman of GM CBF (Fig. 4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mrsr.experiments.deepasl.evaluate import bland_altman
from mrsr.figures import save_figure
from mrsr.metrics import asl_metrics


def level_index(levels: np.ndarray, fraction: float) -> int:
    """Index of the noise level closest to `fraction` of the pairs."""
    return int(np.argmin(np.abs(np.asarray(levels, float) - fraction)))


def _crop(mask: np.ndarray, margin: int = 3) -> tuple[slice, slice]:
    """Bounding box of the mask plus a margin (the 128x128 field of view is mostly background)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return slice(None), slice(None)
    return (slice(max(rows[0] - margin, 0), rows[-1] + margin + 1),
            slice(max(cols[0] - margin, 0), cols[-1] + margin + 1))


def denoising_figure(examples: Mapping[str, Mapping[str, np.ndarray]], labels: Mapping[str, str], fraction: float,
                     stem: Path, *, title: str) -> dict[str, Path]:
    """Top row dM, bottom row CBF of each method at `fraction` of the pairs, then the references;
    each panel shows its PSNR (dM) or RMSE (CBF) on this slice, inside the brain."""
    first = next(iter(examples.values()))
    mask = first["mask"] > 0
    box = _crop(mask)
    dm_max = float(np.percentile(first["dm_ref"][mask], 99)) if mask.any() else 1.0
    cbf_max = float(np.percentile(first["cbf_ref"][mask], 99)) if mask.any() else 100.0
    n = len(examples) + 1
    fig = Figure(figsize=(2.3 * n, 5.0))
    axes = fig.subplots(2, n, squeeze=False)
    for col, (key, ex) in enumerate(examples.items()):
        lev = level_index(ex["levels"], fraction)
        m = asl_metrics(ex["dm"][lev], ex["dm_ref"], ex["cbf"][lev], ex["cbf_ref"], mask)
        panels = ((ex["dm"][lev], dm_max, f"PSNR {m['psnr']:.2f} dB"), (ex["cbf"][lev], cbf_max,
                                                                        f"RMSE {m['rmse']:.2f}"))
        for row, (img, vmax, text) in enumerate(panels):
            axes[row, col].imshow(np.where(mask, img, 0)[box], cmap="gray" if row == 0 else "jet", vmin=0, vmax=vmax)
            axes[row, col].text(2, 2, text, color="white", fontsize=8, va="top",
                                bbox={"facecolor": "black", "alpha": 0.5, "pad": 1})
        axes[0, col].set_title(labels.get(key, key), fontsize=9)
    axes[0, -1].imshow(np.where(mask, first["dm_ref"], 0)[box], cmap="gray", vmin=0, vmax=dm_max)
    im = axes[1, -1].imshow(np.where(mask, first["cbf_ref"], 0)[box], cmap="jet", vmin=0, vmax=cbf_max)
    axes[0, -1].set_title("Reference", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("ΔM")
    axes[1, 0].set_ylabel("CBF")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.45, anchor=(0.0, 0.1), label="CBF (ml/100g/min)")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, stem)


def bland_altman_figure(examples: Mapping[str, Mapping[str, np.ndarray]], labels: Mapping[str, str],
                        fraction: float, stem: Path, *, title: str) -> dict[str, Path]:
    """Bland-Altman of GM-voxel CBF (method - reference vs mean) per method: bias, 95% limits, regression, CCC."""
    n = len(examples)
    fig = Figure(figsize=(3.6 * n, 3.4))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (key, ex) in zip(axes, examples.items()):
        lev = level_index(ex["levels"], fraction)
        x, ref = ex["gm_cbf"][lev], ex["gm_cbf_ref"]
        s = bland_altman(x, ref)
        mean, diff = (x + ref) / 2.0, x - ref
        ax.scatter(mean, diff, s=2, alpha=0.4, color="tab:blue", rasterized=True)
        ax.axhline(s["bias"], color="green", lw=1.5)
        for lim in ("loa_low", "loa_high"):
            ax.axhline(s[lim], color="grey", lw=1.2)
        xs = np.linspace(mean.min(), mean.max(), 2)
        ax.plot(xs, s["intercept"] + s["slope"] * xs, color="red", lw=1.2)
        ax.text(0.03, 0.97, f"CCC = {s['ccc']:.3f}\nbias {s['bias']:+.2f}, LoA [{s['loa_low']:.1f}, "
                f"{s['loa_high']:.1f}]", transform=ax.transAxes, va="top", fontsize=7)
        ax.set_title(labels.get(key, key), fontsize=9)
        ax.set_xlabel("mean CBF (ml/100g/min)")
    axes[0].set_ylabel("difference (method − reference)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem)


def figure_methods(wanted: Sequence[str], available: Sequence[str]) -> list[str]:
    """The wanted methods that are configured, in order."""
    return [m for m in wanted if m in available]
