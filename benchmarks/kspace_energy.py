"""How hard ixi_sr's task is: the share of HR energy outside the kept k-space, and the LR row's PSNR.

    python benchmarks/kspace_energy.py [results/ixi_sr]

Reads the run's slice files (data/<subject>.npz) and prints, per subject and for all slices together: slices,
slice size, in-plane voxel (mm, where the file records it), the share of the HR slices' energy (sum of |FFT2|^2)
outside the central block that the LR keeps (ixi_sr.data.KSPACE_FRACTION per axis) and the LR's PSNR against HR
(peak 1) over the whole slice and inside the brain, the metrics of the table (mrsr.experiments.ixi_sr.evaluate).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mrsr.experiments.ixi_sr.data import KSPACE_FRACTION
from mrsr.experiments.ixi_sr.evaluate import slice_metrics
from mrsr.io import load_npz


def outside_energy(hr: np.ndarray, fraction: float = KSPACE_FRACTION) -> tuple[float, float]:
    """(energy outside the kept central block, total energy) of a stack of slices (N, H, W)."""
    spec = np.abs(np.fft.fftshift(np.fft.fft2(hr.astype(np.float64)), axes=(-2, -1))) ** 2
    h, w = hr.shape[-2:]
    kh, kw = round(h * fraction), round(w * fraction)
    inside = spec[:, h // 2 - kh // 2:h // 2 - kh // 2 + kh, w // 2 - kw // 2:w // 2 - kw // 2 + kw].sum()
    total = spec.sum()
    return float(total - inside), float(total)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/ixi_sr")
    out_sum = total_sum = 0.0
    psnr, psnr_brain = [], []
    print("subject  slices  size  voxel_mm  outside %  LR PSNR  LR PSNR (brain)")
    for path in sorted((root / "data").glob("*.npz")):
        d = load_npz(path)
        out, total = outside_energy(d["hr"])
        out_sum, total_sum = out_sum + out, total_sum + total
        scores = [slice_metrics(lr, hr) for lr, hr in zip(d["lr"], d["hr"])]
        p, pb = [s["psnr"] for s in scores], [s["psnr_brain"] for s in scores]
        psnr += p
        psnr_brain += pb
        voxel = "x".join(f"{v:g}" for v in d["voxel_mm"]) if "voxel_mm" in d else "-"
        print(f"{path.stem:8s} {len(d['hr']):6d} {d['hr'].shape[-1]:5d} {voxel:>9s} {100 * out / total:9.3f} "
              f"{np.mean(p):8.2f} {np.mean(pb):16.2f}")
    print(f"all      {len(psnr):6d} {'':5s} {'':9s} {100 * out_sum / total_sum:9.3f} {np.mean(psnr):8.2f} "
          f"{np.mean(psnr_brain):16.2f}")


if __name__ == "__main__":
    main()
