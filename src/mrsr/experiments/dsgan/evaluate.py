"""Huang et al. 2021 evaluation: tables with std columns, the GB vs DSGAN t-test, learned vs hidden kernels."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from mrsr.experiments.dsgan.data import anisotropic_gaussian
from mrsr.metrics import BRISQUE_LABEL
from mrsr.tables import aggregate, build_table
from mrsr.train.dsgan import kernel_distance

METRICS = (("brisque", False), ("ssim", True), ("psnr", True))  # the paper's column order and directions


def paper_table(metrics: pd.DataFrame, paper: Mapping[str, Mapping], params: Mapping[str, int]) -> pd.DataFrame:
    """Ours (mean, std over slices) beside the paper's (mean, std) for the paper's rows; BRISQUE labelled as ours."""
    keys = [k for k, _ in METRICS]
    ours = aggregate(metrics[metrics["method"].isin(list(paper))], columns=keys)
    frame = build_table(ours, paper, params=params, metrics=keys).drop(columns=["#params (paper)"])
    for key in keys:
        name = key.upper()
        frame.insert(frame.columns.get_loc(name) + 1, f"{name} std", ours.loc[frame.index, f"{key}_std"])
        frame.insert(frame.columns.get_loc(f"{name} (paper)") + 1, f"{name} std (paper)",
                     [paper[k].get(f"{key}_std") for k in frame.index])
    return frame.rename(columns={"BRISQUE": BRISQUE_LABEL, "BRISQUE std": f"{BRISQUE_LABEL} std"})


def means(frame: pd.DataFrame) -> pd.DataFrame:
    """{method key: {metric key: our mean}} of a paper_table frame, for the scorecard."""
    return pd.DataFrame({"brisque": frame[BRISQUE_LABEL], "ssim": frame["SSIM"], "psnr": frame["PSNR"]},
                        index=frame.index)


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


def kernel_report(true_kernel: np.ndarray, learned: np.ndarray, gb_sigma: float) -> pd.DataFrame:
    """Distance of each learned kernel (n, 13, 13) and of the GB kernel to the hidden kernel."""
    size = true_kernel.shape[0]
    gb = anisotropic_gaussian(size, (gb_sigma, gb_sigma), 0.0)
    d = np.array([kernel_distance(k, true_kernel) for k in learned])
    return pd.DataFrame({"kernel": ["dsgan", "gb"], "kernel_distance": [float(d.mean()), kernel_distance(gb, true_kernel)],
                         "kernel_distance_std": [float(d.std(ddof=1)) if len(d) > 1 else np.nan, 0.0],
                         "n": [len(d), 1]}).set_index("kernel", drop=False)
