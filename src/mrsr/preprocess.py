"""Preprocessing with antspyx: N4, upsampling, registration; intensity clipping and normalisation; splits."""

from __future__ import annotations

import numpy as np

_NORM_EPS = 1e-8


def to_ants(data: np.ndarray, affine: np.ndarray):
    """A float32 ANTs image with the world geometry of (data, affine)."""
    import ants
    import nibabel as nib

    image = nib.Nifti1Image(np.asarray(data, dtype=np.float32), np.asarray(affine, dtype=np.float64))
    image.header.set_xyzt_units("mm", "sec")
    return ants.from_nibabel_nifti(image)


def from_ants(image) -> tuple[np.ndarray, np.ndarray]:
    """(data float32, affine) of an ANTs image."""
    import ants

    nifti = ants.to_nibabel_nifti(image)
    return np.asarray(nifti.get_fdata(dtype=np.float32)), np.asarray(nifti.affine, dtype=np.float64)


def n4(data: np.ndarray, affine: np.ndarray, mask: np.ndarray | None = None, *, shrink_factor: int = 2,
       iterations: tuple[int, ...] = (50, 50, 30)) -> np.ndarray:
    """N4 bias-field correction (Tustison 2010), optionally inside a mask."""
    import ants

    image = to_ants(np.clip(data, 0, None), affine)
    ants_mask = to_ants((mask > 0).astype(np.float32), affine) if mask is not None else None
    corrected = ants.n4_bias_field_correction(
        image, mask=ants_mask, shrink_factor=shrink_factor,
        convergence={"iters": list(iterations), "tol": 1e-7},
    )
    return from_ants(corrected)[0]


def upsample(data: np.ndarray, affine: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample to `factor` x finer voxels over the same field of view (B-spline)."""
    import ants

    image = to_ants(data, affine)
    spacing = tuple(float(s) / factor for s in image.spacing)
    # interp_type 4 = B-spline in ants.resample_image
    fine = ants.resample_image(image, spacing, use_voxels=False, interp_type=4)
    return from_ants(fine)


def register(moving: np.ndarray, moving_affine: np.ndarray, fixed: np.ndarray, fixed_affine: np.ndarray, *,
             seed: int, transform: str = "SyN", reg_iterations: tuple[int, ...] = (40, 20, 0),
             single_thread: bool = True) -> np.ndarray:
    """Register moving to fixed (ANTs: rigid+affine+deformable for 'SyN') and return it on the fixed grid."""
    import ants

    # seeded with one ITK thread; note: in antspyx 0.6.3 repeated runs still differ slightly (max ~0.1% of range)
    ants.config.set_ants_deterministic(single_thread, seed_value=seed)
    fixed_img, moving_img = to_ants(fixed, fixed_affine), to_ants(moving, moving_affine)
    result = ants.registration(
        fixed=fixed_img, moving=moving_img, type_of_transform=transform, reg_iterations=tuple(reg_iterations),
    )
    return from_ants(result["warpedmovout"])[0]


def clip_scale(data: np.ndarray, lo_pct: float = 0.1, hi_pct: float = 99.9, out_max: float = 1000.0,
               mask: np.ndarray | None = None) -> np.ndarray:
    """Clip to the [lo, hi] percentiles (over the mask if given) and scale to [0, out_max] (paper 5.1)."""
    values = data[mask > 0] if mask is not None else data
    lo, hi = np.percentile(values, [lo_pct, hi_pct])
    if hi <= lo:
        raise ValueError(f"cannot scale an image whose {lo_pct}/{hi_pct} percentiles are equal ({lo})")
    return ((np.clip(data, lo, hi) - lo) / (hi - lo) * out_max).astype(np.float32)


def normalise_zscore(data: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Scale to [0, 1], then z-score (paper 5.2); returns the stats so apply_norm can repeat it."""
    lo, hi = float(data.min()), float(data.max())
    unit = (data - lo) / max(hi - lo, _NORM_EPS)
    values = unit[mask > 0] if mask is not None else unit
    stats = {"min": lo, "max": hi, "mean": float(values.mean()), "std": float(max(values.std(), _NORM_EPS))}
    return apply_norm(data, stats), stats


def apply_norm(data: np.ndarray, stats: dict[str, float]) -> np.ndarray:
    """The normalisation of normalise_zscore with given stats."""
    unit = (data - stats["min"]) / max(stats["max"] - stats["min"], _NORM_EPS)
    return ((unit - stats["mean"]) / stats["std"]).astype(np.float32)


def split_subjects(subjects: list[str], fractions: tuple[float, float, float] = (0.7, 0.2, 0.1), *,
                   seed: int) -> dict[str, list[str]]:
    """Seeded split by subject; every split gets at least one subject (paper: 70/20/10).

    Counts: test = max(1, round(n*f_test)), val = max(1, round(n*f_val)), train = the rest
    (6 subjects -> 4/1/1, 44 -> 31/9/4).
    """
    n = len(subjects)
    if n < 3:
        raise ValueError(f"need at least 3 subjects for a train/val/test split, got {n}")
    if len(set(subjects)) != n:
        raise ValueError("subject ids must be unique")
    total = sum(fractions)
    n_test = max(1, round(n * fractions[2] / total))
    n_val = max(1, round(n * fractions[1] / total))
    order = np.random.default_rng(seed).permutation(sorted(subjects)).tolist()
    return {
        "train": sorted(order[n_test + n_val:]),
        "val": sorted(order[n_test:n_test + n_val]),
        "test": sorted(order[:n_test]),
    }
