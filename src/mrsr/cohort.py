"""Phantom cohort from nilearn's shipped MNI152 2009 templates: anatomy, quantitative maps, weighted images.

Every subject is built on the template grid: a smooth random deformation of the partial-volume (PV) maps,
jittered tissue values, PV-weighted quantitative maps (no bias, no noise), and T1w/T2w magnitude images
from signal equations with a smooth bias field and Rician noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from mrsr.degrade import add_rician_noise
from mrsr.io import write_nifti

TISSUES = ("gm", "wm", "csf")
TISSUE_KEYS = ("cbf", "att", "t1", "t2", "pd")
# Units: CBF ml/100g/min, ATT s, T1 s, T2 s, PD relative.
TISSUE_DEFAULTS: dict[str, dict[str, float]] = {
    "gm": {"cbf": 60.0, "att": 0.8, "t1": 1.33, "t2": 0.08, "pd": 0.8},
    "wm": {"cbf": 20.0, "att": 1.2, "t1": 0.83, "t2": 0.11, "pd": 0.7},
    # CSF has no perfusion, so its ATT never enters the perfusion-weighted ATT mix (ASLDRO stores 1000 s).
    "csf": {"cbf": 0.0, "att": 0.0, "t1": 3.0, "t2": 0.3, "pd": 1.0},
}
TISSUE_SOURCE = (
    "3 T values of ASLDRO's hrgt_icbm_2009a_nls_3t ground truth (CBF, ATT, T1, T2; same ICBM 2009a space); "
    "PD 0.8/0.7/1.0 is an assumption (ASLDRO gives none)"
)
MAP_KEYS = ("t1w", "t2w", "pd", "gm", "wm", "csf", "t1map", "t2map", "cbf", "att", "mask")

# assumption: smoothness (Gaussian sigma) of the random bias and CBF-heterogeneity fields.
BIAS_SMOOTH_MM = 50.0
# assumption: T1w sequence timings (s), MPRAGE-like inversion recovery.
T1W_TR, T1W_TI, T1W_TE = 2.0, 0.9, 0.003
CBF_SMOOTH_MM = 15.0


@dataclass(frozen=True, eq=False)
class Templates:
    """Template T1 intensity and PV maps (GM, WM, CSF; sum <= 1), binary brain mask, on one grid."""

    t1: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    mask: np.ndarray
    affine: np.ndarray

    @property
    def voxel_mm(self) -> tuple[float, float, float]:
        """Voxel edge lengths from the affine's column norms."""
        return voxel_size(self.affine)


def voxel_size(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel edge lengths (mm) of a 4x4 affine."""
    return tuple(float(v) for v in np.linalg.norm(np.asarray(affine)[:3, :3], axis=0))


@lru_cache(maxsize=1)
def _templates_1mm() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The shipped 1 mm templates: t1, gm, wm, csf, brain fraction and affine (read once per process)."""
    from nilearn import datasets

    t1_img = datasets.load_mni152_template(resolution=1)
    t1 = np.asarray(t1_img.get_fdata(), dtype=np.float32)
    gm = np.clip(np.asarray(datasets.load_mni152_gm_template(resolution=1).get_fdata(), np.float32), 0, 1)
    wm = np.clip(np.asarray(datasets.load_mni152_wm_template(resolution=1).get_fdata(), np.float32), 0, 1)
    # The shipped T1 is skull-stripped: its nonzero voxels are the brain (one component, no holes).
    brain = (t1 > 0).astype(np.float32)
    gm, wm = gm * brain, wm * brain
    total = gm + wm
    over = total > 1.0
    gm[over] /= total[over]
    wm[over] /= total[over]
    # assumption: CSF = brain mask minus GM and WM (no CSF template ships with nilearn).
    csf = np.clip(brain - gm - wm, 0.0, 1.0)
    return t1, gm, wm, csf, brain, np.asarray(t1_img.affine, dtype=np.float64)


def _box_weights(n_in: int, edge0: float, step: float, n_out: int) -> np.ndarray:
    """(n_out, n_in) area weights: overlap of output voxel [edge0 + j step, +step) with input voxel [i-.5, i+.5)."""
    out_lo = edge0 + step * np.arange(n_out)[:, None]
    in_lo = np.arange(n_in)[None, :] - 0.5
    overlap = np.minimum(out_lo + step, in_lo + 1.0) - np.maximum(out_lo, in_lo)
    return (np.clip(overlap, 0.0, None) / step).astype(np.float32)


def _box_resample(volume: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """Apply one weight matrix per axis (separable area averaging), touching only the input columns used."""
    out = volume
    for axis, w in enumerate(weights):
        used = np.flatnonzero(w.any(axis=0))
        part = np.take(out, used, axis=axis)
        out = np.moveaxis(np.tensordot(w[:, used], part, axes=([1], [axis])), 0, axis)
    return np.ascontiguousarray(out, dtype=np.float32)


def _output_grid(brain: np.ndarray, voxel_mm: float, crop: bool, margin_vox: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower edge (input index units) and shape of the output grid, centred on the kept extent."""
    if crop:
        idx = np.argwhere(brain > 0)
        lo = idx.min(axis=0) - margin_vox
        length = idx.max(axis=0) - idx.min(axis=0) + 1 + 2 * margin_vox
    else:
        lo = np.zeros(3)
        length = np.array(brain.shape, dtype=float)
    shape = np.ceil(length / voxel_mm - 1e-9).astype(int)
    edge0 = lo - 0.5 - (shape * voxel_mm - length) / 2.0
    return edge0, shape


def load_templates(voxel_mm: float, crop_to_brain: bool = True, margin_mm: float = 4.0) -> Templates:
    """MNI152 2009 T1, GM, WM, CSF and brain mask (shipped inside nilearn, no download) on a voxel_mm grid.

    Resampling is area-weighted (box) averaging of the 1 mm maps, so PV maps stay fractions that sum to
    <= 1 and partial voxels at the brain edge keep their true brain fraction. Brain mask: the template
    T1's nonzero voxels (it is skull-stripped), then brain fraction >= 0.5 on the output grid.
    crop_to_brain keeps the brain's bounding box plus margin_mm (zero-padded beyond the template's
    field of view, where the brain stem touches it). The affine places every voxel centre exactly.
    """
    if not voxel_mm > 0:
        raise ValueError(f"voxel_mm: expected a positive voxel size in mm, got {voxel_mm}")
    t1, gm, wm, csf, brain, affine_1mm = _templates_1mm()
    step = voxel_mm / voxel_size(affine_1mm)[0]
    edge0, shape = _output_grid(brain, step, crop_to_brain, margin_mm / voxel_size(affine_1mm)[0])
    weights = [_box_weights(n, e, step, m) for n, e, m in zip(brain.shape, edge0, shape)]
    t1_o, gm_o, wm_o, csf_o, brain_o = (_box_resample(v, weights) for v in (t1, gm, wm, csf, brain))
    grid = np.diag([step, step, step, 1.0])
    grid[:3, 3] = edge0 + step / 2.0  # input index of output voxel 0's centre
    mask = (brain_o >= 0.5).astype(np.float32)
    return Templates(t1_o, gm_o, wm_o, csf_o, mask, affine_1mm @ grid)


def subject_rng(seed: int, subject_index: int) -> np.random.Generator:
    """Independent, reproducible random stream per subject (subjects can be built in parallel jobs)."""
    return np.random.default_rng([int(seed), int(subject_index)])


def smooth_field(shape: tuple[int, ...], voxel_mm: tuple[float, ...], sigma_mm: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Gaussian-filtered white noise (sigma_mm), zero mean and unit s.d.

    Drawn on a grid coarser by about sigma/3 and linearly interpolated up, which keeps it fast for wide
    kernels (the field is smooth at that scale anyway).
    """
    sigma_vox = np.array([sigma_mm / v for v in voxel_mm])
    step = np.maximum(1, np.floor(sigma_vox / 3.0)).astype(int)
    coarse_shape = tuple(int(math.ceil(n / s)) + 1 for n, s in zip(shape, step))
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape), sigma_vox / step, mode="wrap")
    coords = np.meshgrid(*[np.arange(n) / s for n, s in zip(shape, step)], indexing="ij", sparse=True)
    full = ndimage.map_coordinates(coarse, np.broadcast_arrays(*coords), order=1, mode="nearest")
    return ((full - full.mean()) / max(float(full.std()), 1e-12)).astype(np.float32)


def random_displacement(shape: tuple[int, ...], voxel_mm: tuple[float, ...], deform_mm: float,
                        smooth_mm: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random displacement (3, *shape) in voxels whose largest magnitude is deform_mm."""
    mm = np.stack([smooth_field(shape, voxel_mm, smooth_mm, rng) for _ in range(3)])
    mm *= deform_mm / max(float(np.sqrt((mm**2).sum(axis=0)).max()), 1e-12)
    return mm / np.asarray(voxel_mm, dtype=np.float32)[:, None, None, None]


def warp(volumes: list[np.ndarray], displacement: np.ndarray, order: int = 1) -> list[np.ndarray]:
    """Pull-back warp: out(x) = in(x + displacement(x)), voxels, zero outside the grid."""
    coords = np.indices(volumes[0].shape, dtype=np.float32) + displacement
    return [ndimage.map_coordinates(v, coords, order=order, mode="constant", cval=0.0).astype(np.float32)
            for v in volumes]


def check_tissue(tissue: dict) -> dict[str, dict[str, float]]:
    """Validate a tissue-value dict (gm/wm/csf -> cbf/att/t1/t2/pd) and return it as floats."""
    out = {}
    for t in TISSUES:
        if t not in tissue:
            raise ValueError(f"tissue: missing '{t}' (expected keys {', '.join(TISSUES)})")
        values = tissue[t]
        missing = [k for k in TISSUE_KEYS if k not in values]
        if missing:
            raise ValueError(f"tissue.{t}: missing {missing} (expected keys {', '.join(TISSUE_KEYS)})")
        out[t] = {k: float(values[k]) for k in TISSUE_KEYS}
        bad = [k for k in ("t1", "t2") if not out[t][k] > 0] + [k for k in ("cbf", "att", "pd") if out[t][k] < 0]
        if bad:
            raise ValueError(f"tissue.{t}: {bad} out of range (T1, T2 > 0; CBF, ATT, PD >= 0), got {out[t]}")
    return out


def jitter_tissue(tissue: dict, rng: np.random.Generator, jitter: float) -> dict[str, dict[str, float]]:
    """Per-subject tissue values: each value times a lognormal factor with relative s.d. ~ jitter, median 1."""
    tissue = check_tissue(tissue)
    return {t: {k: v * float(np.exp(jitter * rng.standard_normal())) for k, v in tissue[t].items()}
            for t in TISSUES}


def _pv_mix(pv: dict[str, np.ndarray], values: dict, key: str, weight: str | None = None) -> tuple:
    """(sum_t f_t w_t v_t, sum_t f_t w_t): a PV mix of tissue values, optionally weighted by another value."""
    num = sum(pv[t] * values[t][key] * (values[t][weight] if weight else 1.0) for t in TISSUES)
    den = sum(pv[t] * (values[t][weight] if weight else 1.0) for t in TISSUES)
    return num, den


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den where den > 0, else 0."""
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float32), where=den > 1e-6).astype(np.float32)


def signal_equation(pd, t1, t2, tr: float, te: float, ti: float | None = None):
    """Magnitude signal of arrays or scalars (T1, T2 > 0).

    ti None: saturation recovery / spin echo PD (1 - exp(-TR/T1)) exp(-TE/T2).
    ti given: inversion recovery PD |1 - 2 exp(-TI/T1) + exp(-TR/T1)| exp(-TE/T2) (MPRAGE-like T1w).
    """
    recovery = 1.0 - np.exp(-tr / t1) if ti is None else np.abs(1.0 - 2.0 * np.exp(-ti / t1) + np.exp(-tr / t1))
    return pd * recovery * np.exp(-te / t2)


def tissue_signal(values: dict, tr: float, te: float, ti: float | None = None) -> dict[str, float]:
    """Per-tissue magnitude signal (signal_equation) of tissue values gm/wm/csf -> t1/t2/pd."""
    return {t: float(signal_equation(values[t]["pd"], values[t]["t1"], values[t]["t2"], tr, te, ti))
            for t in TISSUES}


def noise_sigma(image: np.ndarray, mask: np.ndarray, snr: float) -> float:
    """Noise s.d. for a given SNR: mean signal inside the mask / snr."""
    if not snr > 0:
        raise ValueError(f"snr: expected a positive signal-to-noise ratio, got {snr}")
    return float(image[mask > 0.5].mean()) / snr


def acquire(clean: np.ndarray, mask: np.ndarray, bias: np.ndarray, snr: float,
            rng: np.random.Generator) -> np.ndarray:
    """Magnitude image: clean x bias, plus Rician noise with sigma = mean brain signal / snr."""
    biased = (clean * bias).astype(np.float32)
    return add_rician_noise(biased, noise_sigma(biased, mask, snr), rng).astype(np.float32)


def make_subject(
    templates: Templates,
    rng: np.random.Generator,
    *,
    tissue: dict | None = None,
    jitter: float = 0.05,
    deform_mm: float = 3.0,
    deform_smooth_mm: float = 12.0,
    cbf_heterogeneity: float = 0.1,
    cbf_smooth_mm: float = CBF_SMOOTH_MM,
    bias_strength: float = 0.2,
    bias_smooth_mm: float = BIAS_SMOOTH_MM,
    snr: float = 40.0,
    tr: float = T1W_TR,
    ti: float | None = T1W_TI,
    te: float = T1W_TE,
    t2w_tr: float = 6.0,
    t2w_te: float = 0.1,
) -> dict[str, np.ndarray]:
    """One phantom subject on the template grid (float32 maps, keys MAP_KEYS).

    The tissue values are drawn first: jitter_tissue(tissue, rng, jitter) on a generator in the same
    state returns this subject's values. Then: smooth deformation of the PV maps and mask (linear
    interpolation); quantitative maps t1map, t2map, cbf, att (no bias, no noise) as PV mixes normalised
    by the voxel's brain fraction (cbf also x a smooth heterogeneity field of mean 1, and 0 outside the
    mask; att weighted by perfusion, 0 where nothing is perfused); pd (= M0, the equilibrium
    magnetisation, also clean) = sum_t f_t PD_t; t1w and t2w = PV mix of per-tissue signals x one
    bias field exp(bias_strength * z) (z smooth, unit s.d.) + Rician noise at `snr`.
    """
    # assumption: T1w is MPRAGE-like inversion recovery (T1W_TR/TI/TE = 2.0/0.9/0.003 s): WM > GM > CSF;
    # T2w is a long-TR spin echo (TR 6 s, TE 100 ms): CSF brightest. With ASLDRO's T2 (GM 80 ms < WM 110 ms)
    # WM is slightly brighter than GM in T2w, unlike in vivo.
    values = jitter_tissue(TISSUE_DEFAULTS if tissue is None else tissue, rng, jitter)
    shape, vox = templates.gm.shape, templates.voxel_mm
    displacement = random_displacement(shape, vox, deform_mm, deform_smooth_mm, rng)
    gm, wm, csf, brain = warp([templates.gm, templates.wm, templates.csf, templates.mask], displacement)
    mask = (brain >= 0.5).astype(np.float32)
    pv = {"gm": gm, "wm": wm, "csf": csf}
    fraction = gm + wm + csf

    heterogeneity = np.exp(cbf_heterogeneity * smooth_field(shape, vox, cbf_smooth_mm, rng))
    heterogeneity /= float(heterogeneity[mask > 0].mean())
    maps = {
        "gm": gm, "wm": wm, "csf": csf, "mask": mask,
        "pd": _pv_mix(pv, values, "pd")[0].astype(np.float32),
        "t1map": _ratio(_pv_mix(pv, values, "t1")[0], fraction),
        "t2map": _ratio(_pv_mix(pv, values, "t2")[0], fraction),
        "cbf": (_ratio(_pv_mix(pv, values, "cbf")[0], fraction) * heterogeneity * mask).astype(np.float32),
        "att": (_ratio(*_pv_mix(pv, values, "att", weight="cbf")) * mask).astype(np.float32),
    }

    # assumption: one receive-coil bias field per subject, shared by its T1w and T2w (same session).
    bias = np.exp(bias_strength * smooth_field(shape, vox, bias_smooth_mm, rng))
    for name, signal in (("t1w", tissue_signal(values, tr, te, ti)), ("t2w", tissue_signal(values, t2w_tr, t2w_te))):
        clean = sum(pv[t] * signal[t] for t in TISSUES).astype(np.float32)
        maps[name] = acquire(clean, mask, bias, snr, rng)
    return {k: maps[k] for k in MAP_KEYS}


def write_subject(outdir: Path, subject_id: str, maps: dict[str, np.ndarray], affine: np.ndarray) -> dict[str, Path]:
    """Write every map as `{outdir}/{key}.nii.gz` (float32); returns key -> path."""
    outdir = Path(outdir)
    paths = {}
    for key, data in maps.items():
        data = np.asarray(data)
        if data.ndim != 3:
            raise ValueError(f"subject {subject_id}: map '{key}' must be a 3-D array, got shape {data.shape}")
        paths[key] = outdir / f"{key}.nii.gz"
        write_nifti(paths[key], data, affine)
    return paths
