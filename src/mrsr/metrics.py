"""Image-quality metrics (MSE, PSNR, SSIM), computed in float64; the one metrics module."""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity


def _pair(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return both images as float64, raising ValueError if their shapes differ."""
    pred, ref = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference shape {ref.shape}")
    return pred, ref


def mse(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean squared difference."""
    pred, ref = _pair(pred, ref)
    return float(np.mean((pred - ref) ** 2))


def psnr_from_mse(mse_value: float, peak: float) -> float:
    """20 log10(peak / sqrt(mse)) in dB; inf when mse == 0."""
    if peak <= 0:
        raise ValueError(f"peak: expected > 0, got {peak}")
    if mse_value == 0:
        return math.inf
    return 20.0 * math.log10(peak / math.sqrt(mse_value))


def psnr(pred: np.ndarray, ref: np.ndarray, peak: float) -> float:
    """Peak signal-to-noise ratio in dB for the given peak value."""
    return psnr_from_mse(mse(pred, ref), peak)


def ssim(pred: np.ndarray, ref: np.ndarray, data_range: float) -> float:
    """Mean SSIM of 2-D or 3-D images (Wang 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03).

    Every axis needs at least 11 samples (the Gaussian window's size).
    """
    pred, ref = _pair(pred, ref)
    if data_range <= 0:
        raise ValueError(f"data_range: expected > 0, got {data_range}")
    return float(
        structural_similarity(
            pred,
            ref,
            data_range=data_range,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


def image_metrics(
    pred: np.ndarray,
    ref: np.ndarray,
    *,
    peak: float,
    ssim_range: float,
    mask: np.ndarray | None = None,
) -> dict[str, float]:
    """Return {'psnr', 'mse', 'ssim'}: MSE/PSNR over the mask's voxels (all if None), SSIM over the whole image.

    SSIM ignores the mask because its windows need whole neighbourhoods; a masked mean of the
    SSIM map would change the metric's definition.
    """
    pred, ref = _pair(pred, ref)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != ref.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {ref.shape}")
        if not mask.any():
            raise ValueError("mask: selects no voxels")
        err = mse(pred[mask], ref[mask])
    else:
        err = mse(pred, ref)
    return {"psnr": psnr_from_mse(err, peak), "mse": err, "ssim": ssim(pred, ref, ssim_range)}
