"""DeepASL evaluation: whole-slice denoising, per-(subject, noise level) metrics, Bland-Altman statistics,
paired tests, and the example arrays the figures draw."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mrsr.metrics import asl_metrics, lins_ccc

METRICS = (("psnr", True), ("rmse", False), ("ccc", True))  # (key, higher is better)


def denoise(noisy: np.ndarray, predict: Callable[[np.ndarray], np.ndarray] | None) -> np.ndarray:
    """dM~_c = dM_n - N~ for every slice of (L, Z, H, W) noise levels; predict=None is plain averaging.

    assumption: whole-slice inference (the networks are fully convolutional) instead of the paper's patch-wise
    inference; only the zero padding at patch borders differs.
    """
    if predict is None:
        return np.asarray(noisy, dtype=np.float32)
    flat = noisy.reshape(-1, 1, *noisy.shape[-2:]).astype(np.float32)
    return (flat - predict(flat)).reshape(noisy.shape).astype(np.float32)


def subject_metrics(denoised: np.ndarray, data: Mapping[str, np.ndarray]) -> list[dict[str, float]]:
    """Metrics (inside the brain mask, over the whole volume) for each noise level of one subject."""
    mask = data["mask"] > 0
    rows = []
    for lev, frac in enumerate(np.asarray(data["levels"]).tolist()):
        cbf = denoised[lev] * data["scale"]
        rows.append({"level": round(float(frac), 4),
                     **asl_metrics(denoised[lev], data["clean"], cbf, data["ref_cbf"], mask)})
    return rows


def example_slice(mask: np.ndarray) -> int:
    """Index of the slice with the most brain voxels (figure slice)."""
    return int(np.argmax(np.asarray(mask).reshape(len(mask), -1).sum(axis=1)))


def examples(denoised: np.ndarray, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Figure material of one subject: a slice of every level (dM, CBF), its references, and GM-voxel CBF."""
    z = example_slice(data["mask"])
    gm = (data["gm"] >= 0.5) & (data["mask"] > 0)
    return {
        "slice": np.asarray(z),
        "dm": denoised[:, z], "cbf": denoised[:, z] * data["scale"][z],
        "dm_ref": data["clean"][z], "cbf_ref": data["ref_cbf"][z], "mask": data["mask"][z],
        "gm_cbf": np.stack([(d * data["scale"])[gm] for d in denoised]), "gm_cbf_ref": data["ref_cbf"][gm],
        "levels": np.asarray(data["levels"]),
    }


def bland_altman(method: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Mean difference (method - reference), 95% limits of agreement, regression of difference on mean, CCC."""
    method, reference = np.asarray(method, float).ravel(), np.asarray(reference, float).ravel()
    diff, mean = method - reference, (method + reference) / 2.0
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    slope, intercept = np.polyfit(mean, diff, 1)
    return {"bias": bias, "loa_low": bias - 1.96 * sd, "loa_high": bias + 1.96 * sd, "slope": float(slope),
            "intercept": float(intercept), "ccc": lins_ccc(method, reference)}


def paired_tests(metrics: pd.DataFrame, a: str, b: str,
                 spec: Sequence[tuple[str, bool]] = METRICS) -> list[dict[str, object]]:
    """Paired tests of method a vs b over matched (subject, level) rows: paired t-test and Wilcoxon signed-rank.

    assumption: the paper names no test; both are reported.
    """
    rows = []
    left = metrics[metrics["method"] == a].set_index(["subject", "level"])
    right = metrics[metrics["method"] == b].set_index(["subject", "level"])
    common = left.index.intersection(right.index)
    for key, _ in spec:
        x, y = left.loc[common, key].to_numpy(float), right.loc[common, key].to_numpy(float)
        diff = x - y
        t_p = float(stats.ttest_rel(x, y).pvalue) if len(x) > 1 and np.any(diff != 0) else float("nan")
        w_p = float(stats.wilcoxon(x, y).pvalue) if len(x) > 1 and np.any(diff != 0) else float("nan")
        rows.append({"metric": key, "a": a, "b": b, "n_pairs": len(x), "mean_diff": float(diff.mean()) if len(x) else
                     float("nan"), "p_ttest": t_p, "p_wilcoxon": w_p})
    return rows
