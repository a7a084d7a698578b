"""Image degradations shared by the papers: k-space truncation/zero-fill, blurs, resizing, noise.

Every function works on 2-D and 3-D arrays, never modifies its input, and returns floating data
(the input's float dtype, float64 for integer input; complex stays complex where stated).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from skimage.transform import resize

Factor = int | Sequence[int]
Fraction = float | Sequence[float]


def _as_float(img: np.ndarray) -> np.ndarray:
    """Return img as a floating (or complex) array, keeping float32/float64/complex dtypes."""
    img = np.asarray(img)
    if np.issubdtype(img.dtype, np.floating) or np.iscomplexobj(img):
        return img
    return img.astype(np.float64)


def _per_axis(value, ndim: int, name: str) -> tuple:
    """Broadcast a scalar to one value per axis, or check a sequence has one per axis."""
    if np.ndim(value) == 0:
        return (value,) * ndim
    value = tuple(value)
    if len(value) != ndim:
        raise ValueError(f"{name}: expected a scalar or {ndim} values (one per axis), got {value}")
    return value


def _kept_shape(shape: tuple[int, ...], fraction: Fraction) -> tuple[int, ...]:
    """Number of k-space samples kept per axis for a central fraction in (0, 1]."""
    fractions = _per_axis(fraction, len(shape), "fraction")
    if not all(0.0 < f <= 1.0 for f in fractions):
        raise ValueError(f"fraction: expected values in (0, 1], got {fractions}")
    return tuple(max(1, int(round(n * f))) for n, f in zip(shape, fractions))


def _centre_slices(shape: tuple[int, ...], kept: tuple[int, ...]) -> tuple[slice, ...]:
    """Slices selecting the central `kept` samples of an fftshift-ed spectrum of `shape`.

    The DC sample sits at n//2 in the full spectrum and at m//2 in the crop, so the crop is
    itself a valid fftshift-ed spectrum.
    """
    return tuple(slice(n // 2 - m // 2, n // 2 - m // 2 + m) for n, m in zip(shape, kept))


def fermi_window(shape: Sequence[int], radius: float, width: float) -> np.ndarray:
    """Radial Fermi window W = 1/(1 + exp((r - radius)/width)) on an fftshift-ed grid, peak 1.

    r is the radial frequency with each axis normalised by its own half-width (k / (n/2), so
    r = 1 at the edge of every axis; the window is elliptical on non-square grids). The window
    is divided by its DC value so the mean intensity of a filtered image is unchanged.
    """
    if radius <= 0 or width <= 0:
        raise ValueError(f"fermi_window: radius and width must be > 0, got {radius}, {width}")
    axes = [(np.arange(n) - n // 2) / (n / 2.0) for n in shape]
    grids = np.meshgrid(*axes, indexing="ij", sparse=True)
    r = np.sqrt(sum(g**2 for g in grids))
    # The exponent is clipped so exp stays finite far outside the radius (window -> 0 there).
    window = 1.0 / (1.0 + np.exp(np.clip((r - radius) / width, -700.0, 700.0)))
    return window / window[tuple(n // 2 for n in shape)]


def _centred_spectrum(img: np.ndarray) -> np.ndarray:
    """Centred (fftshift-ed) n-D Fourier transform."""
    return np.fft.fftshift(np.fft.fftn(img))


def _image_from_spectrum(spec: np.ndarray, real_input: bool) -> np.ndarray:
    """Inverse of _centred_spectrum; the magnitude for real input (MRI convention)."""
    out = np.fft.ifftn(np.fft.ifftshift(spec))
    return np.abs(out) if real_input else out


def _real_dtype(img: np.ndarray) -> np.dtype:
    """float32 for single-precision input (real or complex64), else float64."""
    return np.dtype(np.float32) if img.real.dtype == np.float32 else np.dtype(np.float64)


def _output_dtype(img: np.ndarray) -> np.dtype:
    """Output dtype: complex input keeps its dtype, real input gets `_real_dtype`."""
    return img.dtype if np.iscomplexobj(img) else _real_dtype(img)


def kspace_truncate(
    img: np.ndarray,
    fraction: Fraction,
    *,
    window: tuple[float, float] | None = None,
) -> np.ndarray:
    """Keep the central `fraction` of k-space per axis and return the smaller image.

    Output shape is round(n * fraction) per axis; output voxel j lies at input position
    j * n / m (the FFT grid keeps its origin). Scaling: numpy's inverse FFT divides by the number
    of output samples, so the result is multiplied by prod(m)/prod(n) to keep the DC term, i.e.
    the mean intensity, unchanged (exact for complex output, approximate after the magnitude).
    Real input returns the magnitude; complex input returns complex. `window` = (radius, width)
    applies `fermi_window` to the kept spectrum, both relative to its half-width.
    """
    img = _as_float(img)
    kept = _kept_shape(img.shape, fraction)
    spec = _centred_spectrum(img)[_centre_slices(img.shape, kept)]
    if window is not None:
        spec = spec * fermi_window(kept, *window)
    spec = spec * (math.prod(kept) / math.prod(img.shape))
    return _image_from_spectrum(spec, not np.iscomplexobj(img)).astype(_output_dtype(img))


def kspace_zeropad(img: np.ndarray, factor: Factor) -> np.ndarray:
    """Sinc interpolation: zero-pad the centred spectrum to n * factor samples per axis (the inverse of
    `kspace_truncate`). Output voxel k lies at input position k / factor (the FFT grid keeps its origin); the
    result is multiplied by the sample ratio so the mean intensity is kept. Real input returns the magnitude,
    complex input complex."""
    img = _as_float(img)
    factors = _per_axis(factor, img.ndim, "factor")
    if not all(int(f) == f and f >= 1 for f in factors):
        raise ValueError(f"factor: expected positive integers, got {factors}")
    shape = tuple(int(n * f) for n, f in zip(img.shape, factors))
    spec = np.zeros(shape, dtype=np.result_type(img.dtype, np.complex64))
    spec[_centre_slices(shape, img.shape)] = _centred_spectrum(img) * (math.prod(shape) / math.prod(img.shape))
    return _image_from_spectrum(spec, not np.iscomplexobj(img)).astype(_output_dtype(img))


def kspace_zerofill(
    img: np.ndarray,
    fraction: Fraction,
    *,
    fermi_radius: float = 0.9,
    fermi_width: float = 0.05,
    apply_window: bool = True,
) -> np.ndarray:
    """Keep the central `fraction` of k-space, apply a Fermi window, zero-fill back to img.shape.

    The result is the "ZF" low-resolution image on the original grid (magnitude for real input,
    complex for complex input). fermi_radius and fermi_width are relative to the half-width of the
    kept region (radius 1 = its edge).
    """
    # assumption: radius 0.9 and width 0.05 of the kept half-width; Huang et al. give none, and
    # k_r = N/4, w = N/64 for a kept half (k_r = 1.0, w = 0.0625 here) is an equally valid reading.
    img = _as_float(img)
    kept = _kept_shape(img.shape, fraction)
    centre = _centre_slices(img.shape, kept)
    full = _centred_spectrum(img)
    spec = np.zeros_like(full)
    spec[centre] = full[centre]
    if apply_window:
        spec[centre] *= fermi_window(kept, fermi_radius, fermi_width)
    return _image_from_spectrum(spec, not np.iscomplexobj(img)).astype(_output_dtype(img))


def decimate(img: np.ndarray, factor: Factor) -> np.ndarray:
    """Take every factor-th sample per axis, starting at factor//2 (the centre of each block)."""
    img = _as_float(img)
    factors = _per_axis(factor, img.ndim, "factor")
    if not all(int(f) == f and f >= 1 for f in factors):
        raise ValueError(f"factor: expected positive integers, got {factors}")
    return img[tuple(slice(int(f) // 2, None, int(f)) for f in factors)]


def gaussian_decimate(img: np.ndarray, factor: Factor, sigma: float | Sequence[float] | None = None) -> np.ndarray:
    """Gaussian blur (scipy, mode 'reflect') then `decimate` by factor."""
    img = _as_float(img)
    factors = _per_axis(factor, img.ndim, "factor")
    if sigma is None:
        # assumption: sigma = factor/2 per axis (the RFSR reference's (factor/2)*1), none on axes kept at factor 1.
        sigma = tuple(f / 2.0 if f > 1 else 0.0 for f in factors)
    blurred = ndimage.gaussian_filter(img, sigma=sigma, mode="reflect")
    return decimate(blurred, factors)


def gaussian_psf_sigma_for_fwhm(fwhm: float | np.ndarray) -> float | np.ndarray:
    """Gaussian sigma for a given full width at half maximum: fwhm / (2 sqrt(2 ln 2))."""
    return fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def bicubic_resize(
    img: np.ndarray,
    shape: Sequence[int] | None = None,
    factor: float | Sequence[float] | None = None,
) -> np.ndarray:
    """Order-3 spline resize (skimage) to `shape`, or by a scale `factor` (out = round(n * factor)).

    factor > 1 upsamples, factor < 1 downsamples. Anti-aliasing is applied when any axis shrinks.
    """
    img = _as_float(img)
    if (shape is None) == (factor is None):
        raise ValueError("bicubic_resize: give exactly one of shape or factor")
    if shape is None:
        factors = _per_axis(factor, img.ndim, "factor")
        shape = tuple(max(1, int(round(n * f))) for n, f in zip(img.shape, factors))
    shape = tuple(int(s) for s in shape)
    if len(shape) != img.ndim:
        raise ValueError(f"shape: expected {img.ndim} values, got {shape}")
    shrinks = any(s < n for s, n in zip(shape, img.shape))
    out = resize(img, shape, order=3, mode="reflect", anti_aliasing=shrinks, preserve_range=True)
    return out.astype(_output_dtype(img))


def downsample_kernel(img: np.ndarray, kernel: np.ndarray, factor: Factor) -> np.ndarray:
    """Convolve with `kernel` normalised to sum 1 (scipy, mode 'reflect'), then `decimate` by factor.

    Odd-sized kernels are centred; for even sizes scipy's convention puts the centre at n//2.
    """
    img = _as_float(img)
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != img.ndim:
        raise ValueError(f"kernel: expected {img.ndim}-D like the image, got shape {kernel.shape}")
    total = kernel.sum()
    if abs(total) < 1e-12:
        raise ValueError("kernel: sums to zero, cannot normalise to sum 1")
    blurred = ndimage.convolve(img, (kernel / total).astype(_real_dtype(img)), mode="reflect")
    return decimate(blurred, factor)


def add_gaussian_noise(img: np.ndarray, sigma: float | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """img + N(0, sigma^2) i.i.d. per voxel (sigma may be a map broadcastable to img)."""
    img = _as_float(img)
    noise = rng.normal(0.0, sigma, size=img.shape)
    return (img + noise).astype(_output_dtype(img))


def add_rician_noise(img: np.ndarray, sigma: float | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of img plus complex Gaussian noise: |img + n1 + i n2|, n1, n2 ~ N(0, sigma^2)."""
    img = _as_float(img)
    n1 = rng.normal(0.0, sigma, size=img.shape)
    n2 = rng.normal(0.0, sigma, size=img.shape)
    out = np.abs(img + n1 + 1j * n2)
    return out.astype(_real_dtype(img))
