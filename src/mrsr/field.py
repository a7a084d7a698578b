"""7T-like and 9.4T-like acquisitions of a phantom subject (Ravikumar et al., METHODS section 5.2).

assumption: the paper's data are post-mortem MTL scans at 0.2/0.4 mm; this phantom stand-in keeps what the
methods must undo: 2x coarser voxels, weaker GM/WM contrast, more noise, another bias field and another pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

from mrsr.cohort import BIAS_SMOOTH_MM, T1W_TE, T1W_TR, acquire, apply_bias, weighted_image
from mrsr.degrade import add_rician_noise, gaussian_decimate


@dataclass(frozen=True)
class FieldPair:
    hr: np.ndarray
    hr_affine: np.ndarray
    lr: np.ndarray
    lr_affine: np.ndarray


def scale_contrast(image: np.ndarray, mask: np.ndarray, contrast: float) -> np.ndarray:
    """Scale deviations from the brain mean by `contrast` (1 = unchanged), inside the mask."""
    mean = float(image[mask > 0].mean())
    return np.where(mask > 0, mean + contrast * (image - mean), image).clip(0).astype(np.float32)


def rigid_resample(volume: np.ndarray, rotation_deg: np.ndarray, shift_vox: np.ndarray) -> np.ndarray:
    """Rotate about the volume centre and shift (voxels), linear interpolation."""
    matrix = Rotation.from_euler("xyz", rotation_deg, degrees=True).as_matrix()
    centre = (np.array(volume.shape) - 1) / 2
    offset = centre - matrix @ centre + shift_vox
    return ndimage.affine_transform(volume, matrix, offset=offset, order=1, mode="constant").astype(np.float32)


def decimated_affine(affine: np.ndarray, factor: int) -> np.ndarray:
    """Affine of gaussian_decimate's output: voxel j sits at input voxel j*factor + factor//2."""
    scale = np.diag([factor, factor, factor, 1.0])
    scale[:3, 3] = factor // 2
    return affine @ scale


def simulate_field_pair(maps: dict[str, np.ndarray], affine: np.ndarray, rng: np.random.Generator, *,
                        hr_contrast: float = 1.0, lr_contrast: float = 0.6, hr_snr: float = 40.0,
                        lr_snr: float = 15.0, factor: int = 2, bias_strength: float = 0.25,
                        max_rotation_deg: float = 5.0, max_shift_mm: float = 4.0) -> FieldPair:
    """9.4T-like HR on the cohort grid and a 7T-like LR with factor x coarser voxels in another pose."""
    mask = maps["mask"]
    voxel = float(np.linalg.norm(affine[:3, 0]))
    anatomy = weighted_image(maps["pd"], maps["t1map"], maps["t2map"], T1W_TR, T1W_TE)
    hr_clean = scale_contrast(anatomy, mask, hr_contrast)
    hr = acquire(hr_clean, mask, rng, bias_strength=bias_strength, snr=hr_snr, voxel=voxel)
    rotation = rng.uniform(-max_rotation_deg, max_rotation_deg, 3)
    shift = rng.uniform(-max_shift_mm, max_shift_mm, 3) / voxel
    moved = rigid_resample(scale_contrast(anatomy, mask, lr_contrast), rotation, shift)
    moved_mask = rigid_resample(mask, rotation, shift)
    biased = apply_bias(moved, rng, strength=bias_strength, smooth_vox=BIAS_SMOOTH_MM / voxel)
    coarse = gaussian_decimate(biased, factor)
    lr = add_rician_noise(coarse, float(moved[moved_mask > 0.5].mean()) / lr_snr, rng)
    return FieldPair(hr, affine, lr.astype(np.float32), decimated_affine(affine, factor))
