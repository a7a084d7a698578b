"""Huang et al. 2021 evaluation: tables with std columns, the GB vs DSGAN t-test, learned vs hidden kernels, and
their combination over training seeds."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from mrsr.experiments.dsgan.data import anisotropic_gaussian
from mrsr.metrics import BRISQUE_LABEL
from mrsr.tables import aggregate, build_table
from mrsr.train.dsgan import kernel_distance, kernel_phase

METRICS = (("brisque", False), ("ssim", True), ("psnr", True))  # the paper's column order and directions
BRAIN_METRICS = {"psnr_brain": "PSNR (brain)", "ssim_brain": "SSIM (brain)"}  # ours only, inside the HR's brain mask
MAIN_BRAIN_METRIC = "psnr_brain"  # decides whether a trained row beats its no-model reference (higher is better)
SLICE_KEY = ["method", "subject", "fold", "slice"]  # one row of the per-slice metrics


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
    inside = aggregate(metrics[metrics["method"].isin(list(paper))], columns=list(BRAIN_METRICS))
    for key, name in BRAIN_METRICS.items():
        frame[name] = inside.loc[frame.index, f"{key}_mean"]
        frame[f"{name} std"] = inside.loc[frame.index, f"{key}_std"]
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


def our_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of a paper_table frame that hold our values: each metric's mean, std over slices and Δ."""
    names = [BRISQUE_LABEL if key == "brisque" else key.upper() for key, _ in METRICS] + list(BRAIN_METRICS.values())
    deltas = [f"Δ{key.upper()}" for key, _ in METRICS]
    return [c for c in frame.columns if c in names or c in deltas or c in [f"{n} std" for n in names]]


def seed_mean_metrics(per_seed: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """Per-slice metrics averaged over training seeds, one row per method, subject, fold and slice (first-seen
    order); every seed must score the same slices. One seed: its frame unchanged."""
    if not per_seed:
        raise ValueError("seed_mean_metrics: no per-seed metrics")
    if len(per_seed) == 1:
        return next(iter(per_seed.values()))
    stacked = pd.concat(list(per_seed.values()), ignore_index=True)
    counts = stacked.groupby(SLICE_KEY, sort=False).size()
    if (counts != len(per_seed)).any():
        raise ValueError(f"seed_mean_metrics: seeds {sorted(per_seed)} do not score the same slices: "
                         f"{counts[counts != len(per_seed)].index.tolist()[:5]}")
    values = [key for key, _ in METRICS] + [k for k in BRAIN_METRICS if k in stacked.columns]
    return stacked.groupby(SLICE_KEY, sort=False, as_index=False)[values].mean()


def item_samples(per_seed: Mapping[int, pd.DataFrame], methods: list[str]) -> pd.DataFrame:
    """The scorecard's per-item values: one row per method, test slice ('subject/slice') and training seed, one
    column per metric (the paper's and the brain ones)."""
    frames = []
    for seed, frame in per_seed.items():
        part = frame[frame["method"].isin(methods)]
        values = [k for k, _ in METRICS] + [k for k in BRAIN_METRICS if k in part.columns]
        frames.append(part.assign(item=part["subject"].astype(str) + "/" + part["slice"].astype(str),
                                  seed=seed)[["method", "item", "seed", *values]])
    return pd.concat(frames, ignore_index=True)
