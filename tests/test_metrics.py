"""Tests for mrsr.metrics against scikit-image and closed-form values."""

import math

import numpy as np
import pytest
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from mrsr import metrics


@pytest.mark.parametrize("shape", [(40, 37), (16, 20, 13)])
def test_matches_scikit_image(shape):
    rng = np.random.default_rng(0)
    ref = rng.random(shape)
    pred = ref + 0.1 * rng.normal(size=shape)
    assert metrics.mse(pred, ref) == pytest.approx(mean_squared_error(ref, pred), rel=1e-12)
    assert metrics.psnr(pred, ref, peak=1.0) == pytest.approx(
        peak_signal_noise_ratio(ref, pred, data_range=1.0), rel=1e-12
    )
    expected = structural_similarity(
        ref, pred, data_range=2.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert metrics.ssim(pred, ref, data_range=2.0) == pytest.approx(expected, rel=1e-12)
    assert 0.0 < expected < 1.0


def test_psnr_of_known_mse():
    ref = np.zeros((10, 10))
    pred = np.ones((10, 10))
    assert metrics.mse(pred, ref) == 1.0
    assert metrics.psnr(pred, ref, peak=255.0) == pytest.approx(48.130803608679104, abs=1e-9)
    assert metrics.psnr(2 * pred, ref, peak=255.0) == pytest.approx(48.130803608679104 - 20 * math.log10(2))
    assert metrics.psnr(ref, ref, peak=1.0) == math.inf


def test_identical_images_ssim_one():
    img = np.random.default_rng(1).random((24, 24, 12)).astype(np.float32)
    assert metrics.ssim(img, img, data_range=1.0) == pytest.approx(1.0, abs=1e-12)


def test_ssim_uses_data_range():
    rng = np.random.default_rng(2)
    ref = rng.random((32, 32))
    pred = ref + 0.2 * rng.normal(size=ref.shape)
    assert metrics.ssim(pred, ref, 10.0) > metrics.ssim(pred, ref, 1.0)


def test_image_metrics_with_and_without_mask():
    rng = np.random.default_rng(3)
    ref = rng.random((30, 30))
    pred = ref.copy()
    pred[:, 15:] += 0.5  # error only in the right half
    mask = np.zeros(ref.shape, bool)
    mask[:, :15] = True
    full = metrics.image_metrics(pred, ref, peak=1.0, ssim_range=1.0)
    assert set(full) == {"psnr", "mse", "ssim"}
    assert full["mse"] == pytest.approx(0.125)
    assert full["psnr"] == pytest.approx(10 * math.log10(1 / 0.125))
    masked = metrics.image_metrics(pred, ref, peak=1.0, ssim_range=1.0, mask=mask)
    assert masked["mse"] == 0.0 and masked["psnr"] == math.inf
    assert masked["ssim"] == full["ssim"] < 1.0  # SSIM is computed on the whole image


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(5, 4\)"):
        metrics.mse(np.zeros((4, 5)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"\(12, 12\).*\(12, 13\)"):
        metrics.image_metrics(np.zeros((12, 12)), np.zeros((12, 13)), peak=1.0, ssim_range=1.0)
    with pytest.raises(ValueError, match="mask shape"):
        metrics.image_metrics(np.zeros((12, 12)), np.zeros((12, 12)), peak=1.0, ssim_range=1.0, mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="no voxels"):
        metrics.image_metrics(
            np.zeros((12, 12)), np.zeros((12, 12)), peak=1.0, ssim_range=1.0, mask=np.zeros((12, 12), bool)
        )
    with pytest.raises(ValueError, match="peak"):
        metrics.psnr(np.zeros(3), np.ones(3), peak=0.0)
