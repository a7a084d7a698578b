"""DeepASL evaluation: patch-wise (or whole-slice) denoising, per-(subject, noise level) metrics, Bland-Altman statistics,
paired tests, and the example arrays the figures draw (Table 1, its footer and the claims' inputs:
mrsr.experiments.deepasl.table)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mrsr.metrics import asl_metrics, brain_mask, brain_metrics, interior_slices, lins_ccc
from mrsr.patches import extract_grid, pad_to_min, stitch

METRICS = (("psnr", True), ("rmse", False), ("ccc", True))  # (key, higher is better)
BRAIN = (("psnr_brain", True), ("ssim_brain", True))  # dM inside the dilated brain mask of M0 (no paper values)
MAIN = "psnr_brain"  # the metric a trained row must beat its no-model reference on (paired over test items)


def denoise(noisy: np.ndarray, predict: Callable[[np.ndarray], np.ndarray] | None, *,
            patch_size: int | None = None, stride: int | None = None, mask: np.ndarray | None = None) -> np.ndarray:
    """dM~_c = dM_n - N~ for every slice of (L, Z, H, W) noise levels; predict=None is plain averaging.

    patch_size None: whole-slice inference (the networks are fully convolutional). Otherwise patch-wise, as the
    paper: every slice is cut into the `mrsr.patches` grid of patch_size patches (every `stride` pixels,
    default patch_size, plus one patch flush with the far border), the patches go through `predict` in
    batches, and the residuals are stitched back by overlap averaging. With a (Z, H, W) brain mask, patches
    without a brain voxel are not predicted (residual 0): nothing outside the mask is scored or shown.
    """
    if predict is None:
        return np.asarray(noisy, dtype=np.float32)
    flat = noisy.reshape(-1, *noisy.shape[-2:]).astype(np.float32)
    if patch_size is None:
        residual = predict(flat[:, None])[:, 0]
    else:
        keep = None if mask is None else np.broadcast_to(np.asarray(mask) > 0, noisy.shape).reshape(flat.shape)
        residual = patchwise(predict, flat, int(patch_size), int(stride or patch_size), keep)
    return (flat - residual).reshape(noisy.shape).astype(np.float32)


def patchwise(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, size: int, stride: int,
              keep: np.ndarray | None = None) -> np.ndarray:
    """predict((B, 1, s, s)) on the patch grid of every (H, W) image of (N, H, W), stitched back: (N, H, W).

    keep: optional (N, H, W) bool; a patch with no True pixel is skipped and contributes a zero output.
    """
    height, width = images.shape[-2:]
    padded = np.stack([pad_to_min(img, size)[0] for img in images])
    cuts = [extract_grid(img, size, stride) for img in padded]
    patches = np.concatenate([p for p, _ in cuts])
    needed = np.ones(len(patches), bool)
    if keep is not None:
        padded_keep = np.stack([np.pad(k, [(0, n - m) for n, m in zip(padded.shape[1:], k.shape)]) for k in keep])
        needed = np.concatenate([extract_grid(k, size, stride)[0].any(axis=(1, 2)) for k in padded_keep])
    out = np.zeros(patches.shape, np.float32)
    if needed.any():
        out[needed] = predict(np.ascontiguousarray(patches[needed][:, None], dtype=np.float32))[:, 0]
    stitched, start = [], 0
    for img, (part, positions) in zip(padded, cuts):
        stitched.append(stitch(out[start:start + len(part)], positions, img.shape, crop=0)[:height, :width])
        start += len(part)
    return np.stack(stitched).astype(np.float32)


def subject_metrics(denoised: np.ndarray, data: Mapping[str, np.ndarray],
                    brain_slices: int = 8) -> list[dict[str, float]]:
    """Metrics for each noise level of one subject: the paper's (inside the brain mask, over the whole volume)
    and the brain-masked dM columns of `brain_scores`."""
    mask = data["mask"] > 0
    head = brain_mask(data["m0"])
    slices = interior_slices(head, brain_slices, axis=0)
    rows = []
    for lev, frac in enumerate(np.asarray(data["levels"]).tolist()):
        cbf = denoised[lev] * data["scale"]
        rows.append({"level": round(float(frac), 4),
                     **asl_metrics(denoised[lev], data["clean"], cbf, data["ref_cbf"], mask),
                     **brain_scores(denoised[lev], data["clean"], head, slices)})
    return rows


def brain_scores(dm: np.ndarray, reference: np.ndarray, head: np.ndarray, slices: Sequence[int]) -> dict[str, float]:
    """psnr_brain and ssim_brain of a (Z, H, W) dM against the complete image: mrsr.metrics.brain_metrics on each
    of `slices` (spread through the brain's interior) inside the dilated head mask, averaged over the slices.
    PSNR peak = the reference's maximum inside the mask; SSIM range = its range there."""
    inside = reference[head]
    peak, span = float(inside.max()), float(np.ptp(inside))
    scores = [brain_metrics(dm[z], reference[z], peak=peak, ssim_range=span, mask=head[z]) for z in slices]
    return {key: float(np.mean([s[key] for s in scores])) for key, _ in BRAIN}


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


# ---------------------------------------------------------------- test items (paired tests, claims)


def with_items(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per-(subject, level) metrics with the 'item' column mrsr.learned.beats_reference pairs on."""
    return metrics.assign(item=metrics["subject"].astype(str) + "/" + metrics["level"].astype(str))
