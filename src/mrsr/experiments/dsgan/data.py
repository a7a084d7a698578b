"""Huang et al. 2021 data (docs/experiments/dsgan.md, "What is implemented" and "Training-set constructions"): phantom "real" LR with a hidden kernel, NLM denoising,
the GB / ZF training-set constructions, DSGAN crops from gradient probability maps, EDSR patch pairs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from skimage.restoration import denoise_nl_means

from mrsr.degrade import add_gaussian_noise, decimate, downsample_kernel, gaussian_decimate, kspace_truncate
from mrsr.metrics import interior_slices
from mrsr.train import TrainData
from mrsr.train.dsgan import centred_kernel

FACTOR = 2
# The one LR grid: LR pixel i sits at HR pixel FACTOR * i + FACTOR // 2 (mrsr.degrade.decimate's samples, 2i + 1).
GRID_OFFSET = FACTOR // 2


def anisotropic_gaussian(size: int, sigmas: Sequence[float], theta_deg: float) -> np.ndarray:
    """size x size Gaussian with s.d. sigmas[0] along the direction theta (degrees from the column axis) and
    sigmas[1] across it, centred on the middle pixel, sum 1."""
    z = np.arange(size) - (size - 1) / 2.0
    rows, cols = np.meshgrid(z, z, indexing="ij")
    t = np.deg2rad(theta_deg)
    u = cols * np.cos(t) + rows * np.sin(t)
    v = -cols * np.sin(t) + rows * np.cos(t)
    k = np.exp(-0.5 * ((u / sigmas[0]) ** 2 + (v / sigmas[1]) ** 2))
    return k / k.sum()


def acquisition_psf(size: int, fraction: float) -> np.ndarray:
    """size x size point-spread function of a Cartesian acquisition that samples the central `fraction` of the HR
    grid's k-space extent per axis (rectangular, no filter): the separable sinc f sinc(f x) on HR pixels (first zeros
    one LR voxel, 1/f pixels, away; negative lobes: ringing), cut to size x size around the middle pixel, sum 1."""
    taps = fraction * np.sinc(fraction * (np.arange(size) - (size - 1) / 2.0))
    k = np.outer(taps, taps)
    return k / k.sum()


def real_lr(hr: np.ndarray, kernel: np.ndarray, shift: Sequence[float], noise_sd: float,
            rng: np.random.Generator) -> np.ndarray:
    """The phantom's "real" LR of one HR slice: sub-pixel shift (misalignment), hidden-kernel blur, Gaussian noise,
    then 2x decimation (samples 2i+1 of `mrsr.degrade.decimate`)."""
    moved = ndimage.shift(hr, shift, order=3, mode="reflect")
    blurred = ndimage.convolve(moved, kernel, mode="reflect")
    return decimate(add_gaussian_noise(blurred, noise_sd, rng), FACTOR)


def hidden_lr(hr: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Upper-bound construction (phantom only): the hidden kernel itself and the real LR's decimation, without the
    per-slice misalignment and noise (no construction models those; the test input is NLM-denoised)."""
    return downsample_kernel(hr, kernel, FACTOR)


def noise_sd(img: np.ndarray) -> float:
    """Immerkaer's (1996) fast noise s.d. estimate: sqrt(pi/2) mean|I * M| / 6, M the 3x3 difference-of-Laplacians
    mask (scikit-image's wavelet estimator needs PyWavelets, which is not a dependency)."""
    m = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
    response = ndimage.correlate(np.asarray(img, dtype=np.float64), m)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2.0) * np.mean(np.abs(response)) / 6.0)


def nlm(img: np.ndarray, cfg: Mapping[str, Any]) -> np.ndarray:
    """Non-local-means denoising (scikit-image) with h = cfg['h'] x the estimated noise s.d."""
    sigma = noise_sd(img)
    return denoise_nl_means(img, h=float(cfg["h"]) * sigma, sigma=sigma, fast_mode=True,
                            patch_size=int(cfg["patch_size"]), patch_distance=int(cfg["patch_distance"]))


def gb_lr(hr: np.ndarray, sigma: float) -> np.ndarray:
    """GB construction: Gaussian blur (sigma in HR pixels) then 2x decimation."""
    return gaussian_decimate(hr, FACTOR, sigma)


def zf_lr(hr: np.ndarray, radius: float, width: float) -> np.ndarray:
    """ZF construction: keep the central half of k-space per axis, Fermi window (radius, width relative to the kept
    half-width: k_r = N/4 and w = N/64 are radius 1 and width 1/16), magnitude of the N/2-grid inverse FFT.

    The truncated grid's sample i sits at HR pixel 2i (the FFT keeps its origin); the HR is first rolled by
    GRID_OFFSET pixels (a linear phase, exact for the FFT's periodic image) so it sits at 2i + 1, the real LR's."""
    return kspace_truncate(np.roll(hr, -GRID_OFFSET, axis=(0, 1)), 1.0 / FACTOR, window=(radius, width))


def window_means(img: np.ndarray, size: int) -> np.ndarray:
    """Mean of every size x size window, indexed by its top-left corner ('valid': (H - size + 1, W - size + 1)),
    from an integral image."""
    if min(img.shape) < size:
        raise ValueError(f"image {img.shape} is smaller than the {size}-pixel crop")
    s = np.pad(np.cumsum(np.cumsum(img, 0), 1), ((1, 0), (1, 0)))
    return (s[size:, size:] - s[:-size, size:] - s[size:, :-size] + s[:-size, :-size]) / size**2


def gradient_probability_map(img: np.ndarray, crop: int, floor: float = 0.01) -> np.ndarray:
    """Probability of each crop's top-left corner: the crop-window mean of the gradient magnitude (plus a floor of
    `floor` x its mean, so flat regions are still drawn), normalised to sum 1 [R: KernelGAN create_*_map]."""
    gy, gx = np.gradient(img.astype(np.float64))
    valid = window_means(np.hypot(gx, gy), crop)
    valid = valid + floor * valid.mean() + 1e-12
    return valid / valid.sum()


def sample_crops(img: np.ndarray, prob: np.ndarray, crop: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n crops (n, 1, crop, crop) with top-left corners drawn from prob."""
    flat = rng.choice(prob.size, size=n, p=prob.ravel())
    rows, cols = np.unravel_index(flat, prob.shape)
    return np.stack([img[r:r + crop, c:c + crop] for r, c in zip(rows, cols)])[:, None].astype(np.float32)


def to_unit(x: np.ndarray) -> np.ndarray:
    """[0, 1] -> [-1, 1] (KernelGAN's im2tensor range)."""
    return 2.0 * x - 1.0


def from_unit(x: np.ndarray) -> np.ndarray:
    """[-1, 1] -> [0, 1]."""
    return (x + 1.0) / 2.0


def apply_generator(generator: torch.nn.Module, hr: np.ndarray) -> np.ndarray:
    """LR_syn = G(HR) on the real LR's grid, over a whole [0, 1] slice: `apply_kernel` of G's kernel (G is linear
    and bias-free: G(x) = its kernel correlated with x at stride 2). Shape (H/2, W/2) for even H, W."""
    with torch.no_grad():
        k = generator.kernel().double().cpu().numpy()
    return apply_kernel(hr, k)


def apply_kernel(hr: np.ndarray, k: np.ndarray) -> np.ndarray:
    """hr cross-correlated (reflect) with the learned kernel k normalised to sum 1 and moved so its centre of mass
    sits on a pixel (KernelGAN's post-processing re-centres and normalises too), then decimated like the real LR:
    LR pixel i at HR pixel 2i + 1 whatever k's phase, and no intensity offset (a constant maps to itself).
    Training pins k's centre of mass half-way between pixels (`mrsr.train.dsgan.kernel_centre_target`), a phase no
    integer padding can put on the real LR's grid."""
    total = float(np.sum(k))
    if not np.isfinite(total) or abs(total) < 1e-6:
        raise ValueError(f"apply_kernel: the learned kernel sums to {total}; it cannot be normalised")
    centred = centred_kernel(k, k.shape[0] + 4)  # odd size: centre of mass on the middle pixel; 2 px for the move
    return decimate(ndimage.correlate(np.asarray(hr, dtype=np.float64), centred, mode="reflect"), FACTOR)


def upsample_on_grid(lr: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Bicubic (order-3 spline) upsampling to the HR `shape` that reads LR pixel i as HR pixel 2i + 1 (the
    Bicubic row and the validation reference: no half-pixel shift against the HR)."""
    coords = np.meshgrid(*[(np.arange(n) - GRID_OFFSET) / FACTOR for n in shape], indexing="ij")
    return ndimage.map_coordinates(np.asarray(lr, dtype=np.float64), coords, order=3, mode="nearest")


def pick_slices(mask: np.ndarray, n: int, n_val: int, margin: float) -> tuple[list[int], list[int]]:
    """(slices, validation slices): n + n_val axial (last-axis) slices spread through the brain's interior
    (`mrsr.metrics.interior_slices`), every second one from the second on held out for validation until n_val are,
    so both sets span the brain and never share a slice."""
    spread = interior_slices(mask, n + n_val, axis=mask.ndim - 1, margin=margin)
    val = spread[1::2][:n_val]
    return [z for z in spread if z not in val], val


def even_crop(img: np.ndarray) -> np.ndarray:
    """Crop a 2-D slice to even height and width (so x2 grids align)."""
    return img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2]


def rotate_pair(lr: np.ndarray, hr: np.ndarray, k: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rotation k * 45 degrees of an LR/HR pair (multiples of 90 exact; 45-degree ones by cubic interpolation
    [I]), then the central size x size (LR) and 2size x 2size (HR) crop, which drops the rotated corners.

    lr (n x n) and hr ((2n + 1) x (2n + 1)) are windows with LR pixel i at HR pixel 2i + 1: both centres sit at
    the same point (HR pixel n), so rotating each about its centre keeps LR pixel i at HR pixel 2i + 1 of the
    crops (an even HR window would flip that phase to 2i on every flipped axis)."""
    if hr.shape != tuple(2 * n + 1 for n in lr.shape):
        raise ValueError(f"rotate_pair: HR window {hr.shape} is not 2n + 1 for the LR window {lr.shape}")
    turns, diagonal = divmod(k, 2)
    lr, hr = np.rot90(lr, turns), np.rot90(hr, turns)
    if diagonal:
        lr = ndimage.rotate(lr, 45, reshape=False, order=3, mode="reflect")
        hr = ndimage.rotate(hr, 45, reshape=False, order=3, mode="reflect")
    r0 = (lr.shape[0] - size) // 2
    return lr[r0:r0 + size, r0:r0 + size], hr[2 * r0:2 * r0 + 2 * size, 2 * r0:2 * r0 + 2 * size]


def edsr_pairs(lrs: Sequence[np.ndarray], hrs: Sequence[np.ndarray], size: int, n: int, rotations: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n LR/HR training pairs (n, 1, size, size) / (n, 1, 2size, 2size): random slice, random position (a margin of
    size/2 for the 45-degree rotations), a random one of `rotations` rotations k * 45 degrees."""
    big = size + 2 * ((size + 3) // 4)  # sqrt(2) * size fits inside: no rotated corners in the crop
    xs, ys = [], []
    for _ in range(n):
        i = int(rng.integers(len(lrs)))
        lr, hr = lrs[i], hrs[i]
        if min(lr.shape) < big:
            raise ValueError(f"LR slice {lr.shape} is smaller than the {big}-pixel window of {size}-pixel patches")
        r, c = (int(rng.integers(s - big + 1)) for s in lr.shape)
        hr = np.pad(hr, ((0, 1), (0, 1)), mode="reflect")  # the odd HR window may reach one pixel past the edge
        x, y = rotate_pair(lr[r:r + big, c:c + big], hr[2 * r:2 * r + 2 * big + 1, 2 * c:2 * c + 2 * big + 1],
                           int(rng.integers(rotations)), size)
        xs.append(x)
        ys.append(y)
    return np.stack(xs)[:, None].astype(np.float32), np.stack(ys)[:, None].astype(np.float32)


def registered_lr_slices(lr: np.ndarray, lr_affine: np.ndarray, hr: np.ndarray, hr_affine: np.ndarray, *, seed: int,
                         transform: str, reg_iterations: Sequence[int]) -> np.ndarray:
    """A sheet's real LR volume registered to its HR (ANTs) and brought to half the HR in-plane resolution slice by
    slice: scikit-image's anti-aliasing Gaussian for a x2 shrink (sigma 0.5) then HR pixels 2i + 1, the grid of
    every construction; shape (H/2, W/2, Z) of the even-cropped HR grid."""
    from mrsr.preprocess import register

    warped = register(lr, lr_affine, hr, hr_affine, seed=seed, transform=transform, reg_iterations=reg_iterations,
                      label="the sheet's real LR volume onto its HR")
    return np.stack([gaussian_decimate(even_crop(warped[..., z]), FACTOR, 0.5) for z in range(warped.shape[-1])], -1)


def default_mask(hr: np.ndarray) -> np.ndarray:
    """Foreground of an HR volume: above 10% of its 99th percentile."""
    return hr > 0.1 * float(np.percentile(hr, 99))


def validation_slices(subjects: Sequence[Mapping[str, np.ndarray]], lr_key: str
                      ) -> tuple[TrainData | None, np.ndarray | None]:
    """EDSR's held-out validation: the training subjects' validation slices (data-step keys val_hr and `lr_key`,
    e.g. val_lr_nlm) as TrainData (N, 1, h, w) -> (N, 1, 2h, 2w), and their no-model reference, the Bicubic
    upsampling of the input on the LR grid (the table's Bicubic row) at the target's shape; (None, None) without validation slices."""
    lrs = [s for d in subjects if "val_hr" in d for s in d[lr_key]]
    hrs = [s for d in subjects if "val_hr" in d for s in d["val_hr"]]
    if not hrs:
        return None, None
    if len({h.shape for h in hrs}) > 1:
        raise ValueError(f"validation slices differ in shape {sorted({h.shape for h in hrs})}; they are stacked")
    reference = np.stack([upsample_on_grid(lr, hr.shape) for lr, hr in zip(lrs, hrs)])[:, None]
    return TrainData(np.stack(lrs)[:, None], np.stack(hrs)[:, None]), reference.astype(np.float32)
