"""Huang et al. 2021 evaluation: the GB vs DSGAN t-test and learned vs hidden kernels (the tables that report them:
mrsr.experiments.dsgan.table)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mrsr.experiments.dsgan.data import anisotropic_gaussian
from mrsr.train.dsgan import kernel_distance, kernel_phase

METRICS = (("brisque", False), ("ssim", True), ("psnr", True))  # the paper's column order and directions
BRAIN_METRICS = {"psnr_brain": "PSNR (brain)", "ssim_brain": "SSIM (brain)"}  # ours only, inside the HR's brain mask
MAIN_BRAIN_METRIC = "psnr_brain"  # decides whether a trained row beats its no-model reference (higher is better)


def ttest(metrics: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Student's t-tests a vs b per metric over the same slices: paired two-sided p_t, one-sided p_t_better (a better
    than b) and the unpaired two-sided p for reference."""
    rows = []
    key = ["subject", "slice"]
    pair = metrics[metrics["method"] == a].merge(metrics[metrics["method"] == b], on=key, suffixes=("_a", "_b"))
    for metric, higher in METRICS:
        x, y = pair[f"{metric}_a"].to_numpy(), pair[f"{metric}_b"].to_numpy()
        rows.append({"metric": metric, "method": a, "other": b, "n": len(x), "mean_a": x.mean(), "mean_b": y.mean(),
                     "mean_diff": float(np.mean(x - y)), "sd_diff": float(np.std(x - y, ddof=1)) if len(x) > 1 else np.nan,
                     "p_t": float(stats.ttest_rel(x, y).pvalue) if len(x) > 1 else np.nan,
                     # one-sided: a better than b (higher, or lower for BRISQUE); what "significantly beats" needs
                     "p_t_better": float(stats.ttest_rel(x, y, alternative="greater" if higher else "less").pvalue)
                     if len(x) > 1 else np.nan,
                     "p_t_unpaired": float(stats.ttest_ind(x, y).pvalue) if len(x) > 1 else np.nan})
    return pd.DataFrame(rows).set_index("metric", drop=False)


KERNEL_COLUMNS = ["kernel_distance", "kernel_distance_std", "kernel_sum", "phase_row", "phase_col"]


def kernel_report(true_kernel: np.ndarray | None, learned: np.ndarray, gb_sigma: float) -> pd.DataFrame:
    """Per kernel (dsgan: mean over the learned kernels (n, 13, 13); gb): distance to the hidden kernel (NaN when
    it is unknown, None), and for DSGAN the raw kernel's sum and phase (`kernel_phase`), which the distance does
    not see. The learned kernels are G's (correlation orientation), the hidden one is applied by convolution: the
    learned are flipped before the distance."""
    size = learned.shape[-1]
    gb = anisotropic_gaussian(size, (gb_sigma, gb_sigma), 0.0)
    if true_kernel is None:
        d, d_gb = np.full(len(learned), np.nan), np.nan
    else:
        d = np.array([kernel_distance(np.flip(k), true_kernel) for k in learned])
        d_gb = kernel_distance(gb, true_kernel)
    phases = np.array([kernel_phase(k) for k in learned])
    return pd.DataFrame({"kernel": ["dsgan", "gb"], "kernel_distance": [float(d.mean()), d_gb],
                         "kernel_distance_std": [float(d.std(ddof=1)) if len(d) > 1 else np.nan, 0.0],
                         "kernel_sum": [float(learned.sum(axis=(1, 2)).mean()), 1.0],
                         "phase_row": [float(phases[:, 0].mean()), np.nan],
                         "phase_col": [float(phases[:, 1].mean()), np.nan],
                         "n": [len(d), 1]}).set_index("kernel", drop=False)
