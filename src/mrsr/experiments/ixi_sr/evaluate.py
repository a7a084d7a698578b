"""Full-slice inference and per-slice metrics in [0, 1] (docs/experiments/ixi_sr.md, "Metrics"), also inside the brain."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mrsr.metrics import brain_mask, brain_metrics, psnr, ssim

METRICS = (("ssim", True), ("psnr", True))  # the paper's scoring: whole slice
BRAIN_METRICS = (("ssim_brain", True), ("psnr_brain", True))  # inside the HR slice's dilated brain mask
MAIN_METRIC = "psnr_brain"  # the metric of each trained row's "beats its no-model reference" test
BRAIN_NAMES = {"ssim_brain": "SSIM (brain)", "psnr_brain": "PSNR (brain)"}


def slice_metrics(pred: np.ndarray, hr: np.ndarray) -> dict[str, float]:
    """SSIM (data range 1) and PSNR (peak 1) of a prediction clipped to [0, 1] against the HR slice, over the whole
    slice and inside the HR slice's brain mask (mrsr.metrics.brain_mask, dilated 2 px)."""
    pred = np.clip(pred, 0.0, 1.0)  # assumption: outputs are clipped to the images' [0, 1] range
    brain = brain_metrics(pred, hr, peak=1.0, ssim_range=1.0, mask=brain_mask(hr))
    return {"ssim": ssim(pred, hr, data_range=1.0), "psnr": psnr(pred, hr, peak=1.0),
            "ssim_brain": brain["ssim_brain"], "psnr_brain": brain["psnr_brain"]}


def predict_slices(predict: Callable[[np.ndarray], np.ndarray], lr: np.ndarray, batch: int) -> np.ndarray:
    """Apply a fully convolutional model to whole slices (N, H, W) in chunks of `batch`."""
    out = [predict(lr[i:i + batch, None])[:, 0] for i in range(0, len(lr), batch)]
    return np.concatenate(out).astype(np.float32)
