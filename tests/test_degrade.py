"""Tests for mrsr.degrade against analytic answers."""

import math

import numpy as np
import pytest
from scipy import ndimage

from mrsr import degrade


def _blob(shape, width=0.1):
    """Smooth Gaussian blob centred in the image: ~0 at the borders and band-limited to a few k-space samples."""
    axes = [(np.arange(n) - n / 2) / n for n in shape]
    grids = np.meshgrid(*axes, indexing="ij")
    return np.exp(-sum(g**2 for g in grids) / (2 * width**2))


def test_truncate_smooth_blob_matches_subsampling():
    img = _blob((64, 64))
    out = degrade.kspace_truncate(img, 0.5)
    assert out.shape == (32, 32)
    # FFT grid keeps its origin: output voxel j sits at input voxel 2j.
    np.testing.assert_allclose(out, img[::2, ::2], atol=1e-6)


def test_truncate_3d_shapes_and_per_axis_fraction():
    img = _blob((32, 40, 12))
    out = degrade.kspace_truncate(img, (0.5, 0.5, 1.0))
    assert out.shape == (16, 20, 12)
    np.testing.assert_allclose(out, img[::2, ::2, :], atol=1e-5)
    assert degrade.kspace_truncate(img, 0.25, window=(1.0, 0.0625)).shape == (8, 10, 3)


def test_truncate_keeps_mean_of_positive_image():
    img = _blob((64, 48)) + 0.2
    out = degrade.kspace_truncate(img, 0.5)
    assert out.mean() == pytest.approx(img.mean(), rel=1e-3)


def test_truncate_complex_keeps_dc_exactly():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(20, 18)) + 1j * rng.normal(size=(20, 18))
    out = degrade.kspace_truncate(img, 0.5)
    assert np.iscomplexobj(out)
    assert out.mean() == pytest.approx(img.mean(), rel=1e-12)


@pytest.mark.parametrize("shape", [(24, 30), (12, 10, 8)])
def test_constant_image_survives_every_degradation(shape):
    img = np.full(shape, 7.5, dtype=np.float32)
    kernel = np.ones((3,) * len(shape))
    outputs = [
        degrade.kspace_truncate(img, 0.5),
        degrade.kspace_truncate(img, 0.5, window=(0.9, 0.05)),
        degrade.kspace_zerofill(img, 0.5),
        degrade.kspace_zerofill(img, 0.5, apply_window=False),
        degrade.gaussian_decimate(img, 2),
        degrade.bicubic_resize(img, factor=0.5),
        degrade.bicubic_resize(img, factor=2),
        degrade.downsample_kernel(img, kernel, 2),
    ]
    for out in outputs:
        np.testing.assert_allclose(out, 7.5, rtol=1e-5)
        assert out.dtype == np.float32


def test_output_shapes_2d():
    img = np.random.default_rng(1).random((33, 40))
    assert degrade.kspace_zerofill(img, 0.5).shape == (33, 40)
    assert degrade.kspace_truncate(img, 0.5).shape == (16, 20)  # round(16.5) = 16 (banker's rounding)
    assert degrade.gaussian_decimate(img, 2).shape == (16, 20)
    assert degrade.gaussian_decimate(img, (3, 4)).shape == (11, 10)
    assert degrade.bicubic_resize(img, shape=(66, 80)).shape == (66, 80)
    assert degrade.bicubic_resize(img, factor=(1.0, 0.5)).shape == (33, 20)
    assert degrade.downsample_kernel(img, np.ones((5, 5)), 2).shape == (16, 20)


def test_zerofill_identity_when_everything_kept():
    img = np.random.default_rng(2).random((17, 24, 9))
    np.testing.assert_allclose(degrade.kspace_zerofill(img, 1.0, apply_window=False), img, atol=1e-12)


def test_zerofill_removes_high_frequencies_only():
    rng = np.random.default_rng(3)
    img = rng.random((64, 64))
    assert degrade.kspace_zerofill(img, 0.5).shape == img.shape
    # Real input returns the magnitude (which has its own spectrum), so check the complex path.
    cplx = degrade.kspace_zerofill(img.astype(complex), 0.5, apply_window=False)
    spec = np.fft.fftshift(np.fft.fft2(cplx))
    outside = np.ones((64, 64), bool)
    outside[16:48, 16:48] = False
    assert np.abs(spec[outside]).max() < 1e-9
    np.testing.assert_allclose(spec[16:48, 16:48], np.fft.fftshift(np.fft.fft2(img))[16:48, 16:48], atol=1e-9)


def test_fermi_window_shape_and_values():
    w = degrade.fermi_window((32, 16), radius=0.5, width=0.05)
    assert w.shape == (32, 16)
    assert w[16, 8] == 1.0
    # On-axis edge of the radius (r = 0.5 on each axis's own scale) the raw Fermi value is 1/2.
    dc = 1 / (1 + math.exp(-0.5 / 0.05))
    assert w[16 + 8, 8] == pytest.approx(0.5 / dc)
    assert w[16, 8 + 4] == pytest.approx(0.5 / dc)
    assert w[0, 0] < 1e-4
    with pytest.raises(ValueError):
        degrade.fermi_window((8, 8), 0.0, 0.1)


def test_gaussian_decimate_matches_manual():
    img = np.random.default_rng(4).random((20, 22))
    expected = ndimage.gaussian_filter(img, 1.0)[1::2, 1::2]
    np.testing.assert_allclose(degrade.gaussian_decimate(img, 2), expected)
    expected3 = ndimage.gaussian_filter(img, 0.7)[1::3, 1::3]
    np.testing.assert_allclose(degrade.gaussian_decimate(img, 3, sigma=0.7), expected3)


def test_gaussian_decimate_factor_one_axis_untouched():
    img = np.random.default_rng(5).random((8, 8, 6))
    out = degrade.gaussian_decimate(img, (2, 2, 1))
    assert out.shape == (4, 4, 6)
    np.testing.assert_allclose(out, ndimage.gaussian_filter(img, (1.0, 1.0, 0.0))[1::2, 1::2, :])


def test_downsample_kernel_delta_equals_decimation():
    img = np.random.default_rng(6).random((21, 26))
    delta = np.zeros((5, 5))
    delta[2, 2] = 3.0  # normalised to 1
    np.testing.assert_allclose(degrade.downsample_kernel(img, delta, 2), img[1::2, 1::2])
    np.testing.assert_array_equal(degrade.decimate(img, 2), img[1::2, 1::2])
    with pytest.raises(ValueError, match="sums to zero"):
        degrade.downsample_kernel(img, np.array([[1.0, -1.0]]), 2)
    with pytest.raises(ValueError, match="2-D"):
        degrade.downsample_kernel(img, np.ones(3), 2)


def test_bicubic_resize_linear_ramp_and_args():
    img = np.tile(np.arange(16.0), (16, 1))
    up = degrade.bicubic_resize(img, factor=2)
    assert up.shape == (32, 32)
    # Interior samples of a ramp are reproduced by the cubic spline: x_in = (x_out + 0.5)/2 - 0.5.
    x_out = np.arange(12, 20)
    np.testing.assert_allclose(up[10, 12:20], (x_out + 0.5) / 2 - 0.5, atol=1e-3)
    with pytest.raises(ValueError, match="exactly one"):
        degrade.bicubic_resize(img)


def test_rician_noise_mean_on_zero_image():
    rng = np.random.default_rng(7)
    sigma = 2.0
    out = degrade.add_rician_noise(np.zeros((200, 200, 10)), sigma, rng)
    assert out.min() >= 0
    assert out.mean() == pytest.approx(sigma * math.sqrt(math.pi / 2), rel=0.01)


def test_rician_noise_high_snr_is_nearly_gaussian():
    rng = np.random.default_rng(8)
    out = degrade.add_rician_noise(np.full((300, 300), 100.0), 1.0, rng)
    assert out.mean() == pytest.approx(100.0 + 1 / 200, abs=0.02)  # bias sigma^2 / (2A)
    assert out.std() == pytest.approx(1.0, rel=0.02)


def test_gaussian_noise_std_and_map():
    rng = np.random.default_rng(9)
    img = np.full((400, 400), 5.0, dtype=np.float32)
    out = degrade.add_gaussian_noise(img, 0.5, rng)
    assert out.dtype == np.float32
    assert (out - img).std() == pytest.approx(0.5, rel=0.01)
    assert (out - img).mean() == pytest.approx(0.0, abs=0.005)
    sigma_map = np.zeros((400, 400))
    sigma_map[:, 200:] = 2.0
    noisy = degrade.add_gaussian_noise(img, sigma_map, rng)
    np.testing.assert_array_equal(noisy[:, :200], img[:, :200])
    assert (noisy[:, 200:] - 5.0).std() == pytest.approx(2.0, rel=0.02)


def test_noise_is_reproducible_and_input_untouched():
    img = np.ones((10, 10))
    a = degrade.add_rician_noise(img, 1.0, np.random.default_rng(10))
    b = degrade.add_rician_noise(img, 1.0, np.random.default_rng(10))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(img, 1.0)


def test_fwhm_to_sigma():
    assert degrade.gaussian_psf_sigma_for_fwhm(2.3548200450309493) == pytest.approx(1.0)


def test_bad_fraction_and_factor():
    img = np.zeros((8, 8))
    with pytest.raises(ValueError, match="fraction"):
        degrade.kspace_truncate(img, 1.5)
    with pytest.raises(ValueError, match="fraction"):
        degrade.kspace_zerofill(img, (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="factor"):
        degrade.gaussian_decimate(img, 0)


def test_kspace_zeropad_of_an_lr_acquisition_is_the_zero_filled_lr_on_the_hr_grid():
    """An LR acquisition (central half of k-space, N/2 samples) sinc-upsampled x2 is exactly the k-space truncated
    LR on the HR grid (ixi_sr's training input, what `mrsr apply` rebuilds from a real LR scan); the mean is kept."""
    from mrsr.degrade import kspace_truncate, kspace_zerofill, kspace_zeropad

    hr = np.random.default_rng(4).random((32, 24))
    acquired = kspace_truncate(hr.astype(np.complex128), 0.5)  # complex, as a scanner's raw image
    assert acquired.shape == (16, 12)
    np.testing.assert_allclose(np.abs(kspace_zeropad(acquired, 2)), kspace_zerofill(hr, 0.5, apply_window=False),
                               atol=1e-12)
    up = kspace_zeropad(np.abs(acquired), (2, 3))  # magnitude input: magnitude out, mean kept
    assert up.shape == (32, 36) and np.isrealobj(up)
    assert np.mean(kspace_zeropad(acquired, 2)) == pytest.approx(np.mean(acquired), rel=1e-9)  # DC kept
    with pytest.raises(ValueError, match="factor"):
        kspace_zeropad(hr, 1.5)
