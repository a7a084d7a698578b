"""Full-slice inference and per-slice metrics in [0, 1] (METHODS.md 2.6)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mrsr.metrics import psnr, ssim

METRICS = (("ssim", True), ("psnr", True))


def slice_metrics(pred: np.ndarray, hr: np.ndarray) -> dict[str, float]:
    """SSIM (data range 1) and PSNR (peak 1) of a prediction clipped to [0, 1] against the HR slice."""
    pred = np.clip(pred, 0.0, 1.0)  # assumption: outputs are clipped to the images' [0, 1] range
    return {"ssim": ssim(pred, hr, data_range=1.0), "psnr": psnr(pred, hr, peak=1.0)}


def predict_slices(predict: Callable[[np.ndarray], np.ndarray], lr: np.ndarray, batch: int) -> np.ndarray:
    """Apply a fully convolutional model to whole slices (N, H, W) in chunks of `batch`."""
    out = [predict(lr[i:i + batch, None])[:, 0] for i in range(0, len(lr), batch)]
    return np.concatenate(out).astype(np.float32)
