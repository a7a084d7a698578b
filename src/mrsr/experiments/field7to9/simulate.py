"""9.4T-like (HR) and 7T-like (LR) acquisitions of a phantom subject (Ravikumar et al.; docs/experiments/field7to9.md, "Simulation and preprocessing").

assumption: the paper's data are post-mortem MTL scans (7T at 0.4 mm, 9.4T at 0.2 mm); this phantom stand-in
keeps what the methods must undo: factor x coarser voxels, weaker GM/WM contrast, more noise, another bias
field and another pose (so the LR must be upsampled and registered, paper 5.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

from mrsr.cohort import (BIAS_SMOOTH_MM, T1W_TE, T1W_TI, T1W_TR, acquire, noise_sigma, signal_equation,
                         smooth_field, voxel_size)
from mrsr.degrade import add_rician_noise, gaussian_decimate

# assumption: the shared anatomy is the cohort's MPRAGE-like T1w contrast (WM/GM signal ratio ~1.7 at the
# cohort's 3 T tissue values); the two field strengths differ in the contrast scale, bias field, noise,
# resolution and pose below.


@dataclass(frozen=True, eq=False)
class FieldPair:
    """HR (cohort grid) and LR (factor x coarser, moved) images with their affines; pose = LR's world motion."""

    hr: np.ndarray
    hr_affine: np.ndarray
    lr: np.ndarray
    lr_affine: np.ndarray
    pose: np.ndarray  # 4x4 world-space rigid motion of the anatomy in the LR scan


def anatomy_signal(maps: dict[str, np.ndarray], tr: float = T1W_TR, te: float = T1W_TE,
                   ti: float | None = T1W_TI) -> np.ndarray:
    """signal_equation of the subject's pd, t1map, t2map voxel by voxel (0 where T1 or T2 is 0)."""
    t1, t2 = maps["t1map"].astype(np.float64), maps["t2map"].astype(np.float64)
    valid = (t1 > 0) & (t2 > 0)
    signal = signal_equation(maps["pd"], np.where(valid, t1, 1.0), np.where(valid, t2, 1.0), tr, te, ti)
    return np.where(valid, signal, 0.0).astype(np.float32)


def scale_contrast(signal: np.ndarray, fraction: np.ndarray, mask: np.ndarray, contrast: float) -> np.ndarray:
    """Scale tissue deviations from the brain mean by `contrast` (1 = unchanged); background stays 0.

    Works on the signal per unit brain fraction u = S / f, so partial-volume edge voxels scale like
    their tissue: S' = f (m + contrast (u - m)), m = mean of u in the mask.
    """
    unit = np.divide(signal, fraction, out=np.zeros_like(signal), where=fraction > 1e-6)
    mean = float(unit[mask > 0].mean())
    return np.clip(fraction * (mean + contrast * (unit - mean)), 0.0, None).astype(np.float32)


def random_pose(rng: np.random.Generator, max_rotation_deg: float, max_shift_mm: float,
                centre: np.ndarray) -> np.ndarray:
    """4x4 rigid world motion: rotation about `centre` (random axis, |angle| <= max) then a shift (|t| <= max)."""
    axis = rng.standard_normal(3)
    axis /= max(float(np.linalg.norm(axis)), 1e-12)
    angle = np.deg2rad(rng.uniform(-max_rotation_deg, max_rotation_deg))
    direction = rng.standard_normal(3)
    direction /= max(float(np.linalg.norm(direction)), 1e-12)
    shift = direction * rng.uniform(0.0, max_shift_mm)
    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_rotvec(axis * angle).as_matrix()
    pose[:3, 3] = centre - pose[:3, :3] @ centre + shift
    return pose


def move(volume: np.ndarray, affine: np.ndarray, pose: np.ndarray, order: int = 1) -> np.ndarray:
    """Resample a volume whose content moves by the world transform `pose` (same grid, zero outside)."""
    # out(x) = in(pose^-1 x): voxel -> world -> inverse pose -> voxel
    vox = np.linalg.inv(affine) @ np.linalg.inv(pose) @ affine
    return ndimage.affine_transform(volume, vox[:3, :3], offset=vox[:3, 3], order=order,
                                    mode="constant", cval=0.0).astype(np.float32)


def decimated_affine(affine: np.ndarray, factor: int) -> np.ndarray:
    """Affine of gaussian_decimate's output: LR voxel j is the sample at input voxel j*factor + factor//2."""
    scale = np.diag([factor, factor, factor, 1.0]).astype(np.float64)
    scale[:3, 3] = factor // 2
    return np.asarray(affine, dtype=np.float64) @ scale


def simulate_field_pair(
    maps: dict[str, np.ndarray],
    affine: np.ndarray,
    rng: np.random.Generator,
    *,
    hr_contrast: float = 1.0,
    lr_contrast: float = 0.6,
    hr_snr: float = 40.0,
    lr_snr: float = 15.0,
    factor: int = 2,
    bias_strength: float = 0.25,
    bias_smooth_mm: float = BIAS_SMOOTH_MM,
    max_rotation_deg: float = 5.0,
    max_shift_mm: float = 4.0,
) -> FieldPair:
    """A 9.4T-like HR on the cohort grid and a 7T-like LR with factor x coarser voxels in another pose.

    maps needs gm, wm, csf, pd, t1map, t2map, mask (make_subject's keys). HR: anatomy with contrast
    hr_contrast, its own bias field, Rician noise at hr_snr. LR: anatomy with contrast lr_contrast,
    moved by a random rigid pose (resampling, before degradation), its own bias field (scanner frame),
    gaussian_decimate by factor, Rician noise at lr_snr. Both non-negative float32.
    """
    # assumption: 9.4T has stronger GM/WM contrast (hr_contrast 1.0) and SNR 40; 7T contrast 0.6, SNR 15.
    missing = [k for k in ("gm", "wm", "csf", "pd", "t1map", "t2map", "mask") if k not in maps]
    if missing:
        raise ValueError(f"simulate_field_pair: maps lacks {missing} (expected make_subject's maps)")
    if int(factor) != factor or factor < 1:
        raise ValueError(f"factor: expected a positive integer, got {factor}")
    factor = int(factor)
    mask = (maps["mask"] > 0.5).astype(np.float32)
    fraction = (maps["gm"] + maps["wm"] + maps["csf"]).astype(np.float32)
    anatomy = anatomy_signal(maps)
    vox = voxel_size(affine)

    hr_bias = np.exp(bias_strength * smooth_field(mask.shape, vox, bias_smooth_mm, rng))
    hr = acquire(scale_contrast(anatomy, fraction, mask, hr_contrast), mask, hr_bias, hr_snr, rng)

    centre = (affine @ np.append(np.argwhere(mask > 0).mean(axis=0), 1.0))[:3]
    pose = random_pose(rng, max_rotation_deg, max_shift_mm, centre)
    lr_anatomy = move(scale_contrast(anatomy, fraction, mask, lr_contrast), affine, pose)
    lr_mask = move(mask, affine, pose)
    lr_bias = np.exp(bias_strength * smooth_field(mask.shape, vox, bias_smooth_mm, rng))
    lr_biased = lr_anatomy * lr_bias
    # noise is added after decimation, at the LR voxel size
    lr = add_rician_noise(gaussian_decimate(lr_biased, factor), noise_sigma(lr_biased, lr_mask, lr_snr), rng)
    return FieldPair(hr.astype(np.float32), np.asarray(affine, dtype=np.float64), lr.astype(np.float32),
                     decimated_affine(affine, factor), pose)
