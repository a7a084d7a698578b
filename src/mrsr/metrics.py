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


# ---------------------------------------------------------------- ASL (DeepASL, METHODS.md 3.6)


def rmse(pred: np.ndarray, ref: np.ndarray) -> float:
    """Root mean squared difference."""
    return math.sqrt(mse(pred, ref))


def lins_ccc(x: np.ndarray, y: np.ndarray) -> float:
    """Lin's concordance correlation coefficient 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2), 1/n moments."""
    x, y = _pair(x, y)
    x, y = x.ravel(), y.ravel()
    if x.size < 2:
        raise ValueError(f"lins_ccc needs at least 2 values, got {x.size}")
    mx, my = x.mean(), y.mean()
    sxy = np.mean((x - mx) * (y - my))
    den = x.var() + y.var() + (mx - my) ** 2
    return float(2.0 * sxy / den) if den > 0 else math.nan


def asl_metrics(dm: np.ndarray, dm_ref: np.ndarray, cbf: np.ndarray, cbf_ref: np.ndarray,
                mask: np.ndarray) -> dict[str, float]:
    """{'psnr', 'rmse', 'ccc'} inside the brain mask: PSNR of the perfusion-weighted image with peak
    max_mask(dm_ref) (assumption, METHODS 3.6 [I]), RMSE and Lin's CCC of CBF."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != np.shape(dm_ref) or not mask.any():
        raise ValueError(f"mask: expected a non-empty mask of shape {np.shape(dm_ref)}, got {mask.shape}")
    peak = float(np.max(np.asarray(dm_ref)[mask]))
    return {"psnr": psnr(np.asarray(dm)[mask], np.asarray(dm_ref)[mask], peak),
            "rmse": rmse(np.asarray(cbf)[mask], np.asarray(cbf_ref)[mask]),
            "ccc": lins_ccc(np.asarray(cbf)[mask], np.asarray(cbf_ref)[mask])}
