"""Phantom cohort from nilearn's shipped MNI152 2009 templates: anatomy, quantitative maps, weighted images."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from mrsr.degrade import add_rician_noise
from mrsr.io import write_nifti

# 3 T tissue values; source: ASLDRO (same ICBM 2009a space) and consensus values, see DESIGN.md "Data".
# assumption: PD 0.8 / 0.7 / 1.0 (relative proton density), not given by ASLDRO.
TISSUE_DEFAULTS: dict[str, dict[str, float]] = {
    "gm": {"cbf": 60.0, "att": 0.8, "t1": 1.33, "t2": 0.08, "pd": 0.8},
    "wm": {"cbf": 20.0, "att": 1.2, "t1": 0.83, "t2": 0.11, "pd": 0.7},
    "csf": {"cbf": 0.0, "att": 0.0, "t1": 3.0, "t2": 0.3, "pd": 1.0},
}
# assumption: sequence timings of the simulated weighted images (seconds)
T1W_TR, T1W_TE = 0.5, 0.01
T2W_TR, T2W_TE = 4.0, 0.1
TISSUES = ("gm", "wm", "csf")
BIAS_SMOOTH_MM = 40.0  # assumption: spatial scale of the bias fields


@dataclass(frozen=True)
class Templates:
    """Template T1 and partial-volume maps on the cohort grid."""
    t1: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    mask: np.ndarray
    affine: np.ndarray


def load_templates(voxel_mm: float, crop_to_brain: bool = True, margin: int = 2) -> Templates:
    """MNI152 2009 T1, GM, WM and brain mask (shipped inside nilearn) at `voxel_mm`, cropped to the brain."""
    from nilearn import datasets, image

    def grid(img) -> np.ndarray:
        target = np.diag([voxel_mm] * 3 + [1.0])
        target[:3, 3] = img.affine[:3, 3]
        return image.resample_img(img, target_affine=target, interpolation="linear",
                                  force_resample=True, copy_header=True)

    t1 = grid(datasets.load_mni152_template(resolution=1))
    affine = np.asarray(t1.affine, dtype=np.float64)
    with warnings.catch_warnings():
        # the brain mask is resampled linearly on purpose, then thresholded at 0.5
        warnings.filterwarnings("ignore", message="Resampling binary images")
        vols = [np.asarray(grid(f(resolution=1)).get_fdata(), dtype=np.float32) for f in (
            datasets.load_mni152_gm_template, datasets.load_mni152_wm_template, datasets.load_mni152_brain_mask)]
    gm, wm, brain = (np.clip(v, 0, 1) for v in vols)
    mask = brain > 0.5
    gm, wm = gm * mask, wm * mask
    total = gm + wm
    over = total > 1
    gm[over], wm[over] = gm[over] / total[over], wm[over] / total[over]
    # assumption: CSF = what the brain mask holds beyond GM and WM
    csf = np.clip(mask - gm - wm, 0, 1).astype(np.float32)
    t1_data = np.asarray(t1.get_fdata(), dtype=np.float32)
    arrays = [t1_data, gm, wm, csf, mask.astype(np.float32)]
    if crop_to_brain:
        arrays, affine = _crop(arrays, mask, affine, margin)
    return Templates(*arrays, affine=affine)


def _crop(arrays: list[np.ndarray], mask: np.ndarray, affine: np.ndarray, margin: int):
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(axis=0) - margin, 0)
    hi = np.minimum(idx.max(axis=0) + margin + 1, mask.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    shifted = affine.copy()
    shifted[:3, 3] = affine[:3, :3] @ lo + affine[:3, 3]
    return [a[box].copy() for a in arrays], shifted


def subject_rng(seed: int, subject_index: int) -> np.random.Generator:
    """Independent, reproducible random stream per subject."""
    return np.random.default_rng([seed, subject_index])


def smooth_field(shape: tuple[int, ...], sigma_vox: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random field scaled to [-1, 1]."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_vox, mode="reflect")
    return (field / max(np.abs(field).max(), 1e-12)).astype(np.float32)


def deform(volumes: list[np.ndarray], displacement: np.ndarray, order: int = 1) -> list[np.ndarray]:
    """Warp volumes by a displacement field (voxels, shape (3, *shape))."""
    coords = np.indices(volumes[0].shape, dtype=np.float32) + displacement
    return [ndimage.map_coordinates(v, coords, order=order, mode="nearest").astype(np.float32) for v in volumes]


def jitter_tissue(tissue: dict[str, dict[str, float]], jitter: float, rng: np.random.Generator) -> dict:
    """Per-subject tissue values: multiplicative normal jitter, kept positive."""
    return {t: {k: float(v * max(1.0 + jitter * rng.standard_normal(), 0.1)) for k, v in vals.items()}
            for t, vals in tissue.items()}


def mix(pv: dict[str, np.ndarray], tissue: dict, key: str, tissues=TISSUES) -> np.ndarray:
    """Partial-volume weighted tissue value."""
    return sum(pv[t] * tissue[t][key] for t in tissues).astype(np.float32)


def weighted_image(pd: np.ndarray, t1: np.ndarray, t2: np.ndarray, tr: float, te: float) -> np.ndarray:
    """Spin-echo signal PD (1 - exp(-TR/T1)) exp(-TE/T2) (zero where T1/T2 are zero)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        signal = pd * (1 - np.exp(-tr / t1)) * np.exp(-te / t2)
    return np.nan_to_num(signal).astype(np.float32)


def make_subject(templates: Templates, rng: np.random.Generator, *, tissue: dict | None = None,
                 jitter: float = 0.05, deform_mm: float = 3.0, deform_smooth_mm: float = 12.0,
                 cbf_heterogeneity: float = 0.1, bias_strength: float = 0.2, snr: float = 40.0) -> dict[str, np.ndarray]:
    """One phantom subject: PV maps, quantitative maps (no bias/noise) and noisy, biased T1w/T2w images."""
    voxel = float(np.linalg.norm(templates.affine[:3, 0]))
    shape = templates.gm.shape
    displacement = np.stack([smooth_field(shape, deform_smooth_mm / voxel, rng) for _ in range(3)])
    gm, wm, csf, mask = deform([templates.gm, templates.wm, templates.csf, templates.mask],
                               displacement * (deform_mm / voxel))
    mask = (mask > 0.5).astype(np.float32)
    pv = {"gm": gm * mask, "wm": wm * mask, "csf": csf * mask}
    values = jitter_tissue(tissue or TISSUE_DEFAULTS, jitter, rng)
    t1map, t2map, pd = (mix(pv, values, k) for k in ("t1", "t2", "pd"))
    heterogeneity = 1 + cbf_heterogeneity * smooth_field(shape, deform_smooth_mm / voxel, rng)
    cbf = mix(pv, values, "cbf") * heterogeneity * mask
    perfused = pv["gm"] + pv["wm"]
    with np.errstate(divide="ignore", invalid="ignore"):
        att = np.where(perfused > 0, mix(pv, values, "att", ("gm", "wm")) / perfused, 0).astype(np.float32)
    maps = {"gm": pv["gm"], "wm": pv["wm"], "csf": pv["csf"], "pd": pd, "t1map": t1map, "t2map": t2map,
            "cbf": cbf.astype(np.float32), "att": att, "mask": mask}
    for name, (tr, te) in {"t1w": (T1W_TR, T1W_TE), "t2w": (T2W_TR, T2W_TE)}.items():
        clean = weighted_image(pd, t1map, t2map, tr, te)
        maps[name] = acquire(clean, mask, rng, bias_strength=bias_strength, snr=snr, voxel=voxel)
    return maps


def acquire(clean: np.ndarray, mask: np.ndarray, rng: np.random.Generator, *, bias_strength: float, snr: float,
            voxel: float, bias_smooth_mm: float = BIAS_SMOOTH_MM) -> np.ndarray:
    """A magnitude image: smooth multiplicative bias, then Rician noise at `snr` (mean brain signal / sigma)."""
    sigma = float(clean[mask > 0].mean()) / snr
    biased = apply_bias(clean, rng, strength=bias_strength, smooth_vox=bias_smooth_mm / voxel)
    return add_rician_noise(biased, sigma, rng).astype(np.float32)


def apply_bias(clean: np.ndarray, rng: np.random.Generator, *, strength: float, smooth_vox: float) -> np.ndarray:
    """Multiply by a smooth random bias field exp(strength * field), field in [-1, 1]."""
    return (clean * np.exp(strength * smooth_field(clean.shape, smooth_vox, rng))).astype(np.float32)


def write_subject(outdir: Path, subject_id: str, maps: dict[str, np.ndarray], affine: np.ndarray) -> dict[str, Path]:
    """Write every map as `{outdir}/{key}.nii.gz`."""
    outdir = Path(outdir)
    paths = {}
    for key, data in maps.items():
        paths[key] = outdir / f"{key}.nii.gz"
        write_nifti(paths[key], data, affine)
    return paths
