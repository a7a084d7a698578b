"""ASL-SR data. From the phantom cohort: pCASL perfusion (Buxton general kinetic model, label 1.5 s, PLD 1.2 s)
averaged at three qualities, HR (44 min: fine grid, noise sigma), NR (5.5 min: coarser voxels, noise
sigma * noise_ratio) and LR (NR downsampled in-plane), the T1w on the fine grid and the noise-free truth. From a
subject sheet: the acquired averaged perfusion is NR, LR is derived the same way, the T1w is registered to the ASL
with ANTs; there is no HR and no truth. Arrays keep the NIfTI axis order (X, Y, Z); Z is the slice axis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mrsr.asl import pcasl_general_signal, resample_to_grid
from mrsr.bids import ASL_TYPES, AslSeries, check_sidecar, read_asl_series
from mrsr.degrade import add_gaussian_noise
from mrsr.io import read_nifti

M0_BRAIN_MEAN = 100.0  # assumption: M0 = cohort PD scaled to a brain mean of 100 (sets dM's scale only)
GRIDS = ("fine", "nr", "lr")
SHEET_COLUMNS = ("asl", "aslcontext", "m0", "t1w", "mask")  # the files of a subject-sheet row


def grids(cfg: Mapping, nr: tuple[Sequence[float], Sequence[int]] | None = None,
          where: str = "") -> dict[str, tuple[tuple[float, ...], tuple[int, ...]]]:
    """{grid: (voxel_mm, shape)} of the fine (HR and T1), NR and LR grids; all share one field of view. The
    phantom's grids come from asl_sr.grid.fine_*; acquired data give the NR grid (`nr`, from the file `where`),
    and the fine grid is nr_factor x finer."""
    g = cfg["grid"]
    nr_factor, lr_factor = np.asarray(g["nr_factor"], int), np.asarray(g["lr_factor"], int)
    if nr is None:
        fine = (np.asarray(g["fine_voxel_mm"], float), np.asarray(g["fine_matrix"], int))
        _check_divides(fine[1], nr_factor, "nr_factor", "fine matrix")
        out = {"fine": fine, "nr": (fine[0] * nr_factor, fine[1] // nr_factor)}
    else:
        vox, shape = np.asarray(nr[0], float), np.asarray(nr[1], int)
        out = {"fine": (vox / nr_factor, shape * nr_factor), "nr": (vox, shape)}
    _check_divides(out["nr"][1], lr_factor, "lr_factor", f"NR matrix{f' of {where}' if where else ''}")
    out["lr"] = (out["nr"][0] * lr_factor, out["nr"][1] // lr_factor)
    return {k: (tuple(float(v) for v in vx), tuple(int(s) for s in sh)) for k, (vx, sh) in out.items()}


def _check_divides(shape: np.ndarray, factor: np.ndarray, key: str, what: str) -> None:
    """ValueError naming asl_sr.grid.<key> unless factor divides shape on every axis."""
    if np.any(shape % factor):
        raise ValueError(f"asl_sr.grid.{key}: {factor.tolist()} must divide the {what} {shape.tolist()}")


def to_grid(volume: np.ndarray, voxel_in: Sequence[float], grid: tuple) -> np.ndarray:
    """A volume resampled (box-averaged where coarser) onto a grid (voxel_mm, shape), centred."""
    return resample_to_grid(volume, voxel_in, grid[0], grid[1])


def perfusion(maps: Mapping[str, np.ndarray], cfg: Mapping) -> np.ndarray:
    """Noise-free dM on the cohort grid from its CBF, ATT and T1 maps, inside the brain mask."""
    mask = maps["mask"] > 0.5
    m0 = maps["pd"] * (M0_BRAIN_MEAN / float(maps["pd"][mask].mean()))
    k = cfg["kinetics"]
    dm = pcasl_general_signal(maps["cbf"], maps["att"], maps["t1map"], float(k["tau"]), float(k["pld"]),
                              alpha=float(k["alpha"]), t1_blood=float(k["t1_blood"]),
                              partition=float(k["partition"]), m0=m0)
    return (dm * mask).astype(np.float32)


def simulate_subject(maps: Mapping[str, np.ndarray], voxel_in: float, cfg: Mapping,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One subject: hr/truth/t1w/mask on the fine grid; nr/truth_nr/hr_nr/t1w_nr/mask_nr on the NR grid; lr and
    t1w_lr on the LR grid; voxel sizes as <grid>_voxel_mm. maps: cohort cbf, att, t1map, pd, t1w, mask, gm."""
    g = grids(cfg)
    vin = (float(voxel_in),) * 3
    dm = perfusion(maps, cfg)
    truth = to_grid(dm, vin, g["fine"])
    gm = to_grid(maps["gm"], vin, g["fine"]) >= 0.5
    if not gm.any():
        raise ValueError("asl_sr: no fine-grid voxel with GM fraction >= 0.5; cannot set the noise level")
    sigma = float(truth[gm].mean()) / float(cfg["hr_snr_gm"])
    hr = add_gaussian_noise(truth, sigma, rng)
    truth_nr = to_grid(dm, vin, g["nr"])
    nr = add_gaussian_noise(truth_nr, sigma * float(cfg["noise_ratio"]), rng)
    lr = resample_to_grid(nr, g["nr"][0], g["lr"][0], g["lr"][1])
    t1w = to_grid(maps["t1w"], vin, g["fine"])
    out = {"hr": hr, "truth": truth, "t1w": t1w, "mask": to_grid(maps["mask"], vin, g["fine"]) > 0.5,
           "nr": nr, "truth_nr": truth_nr, "hr_nr": resample_to_grid(hr, g["fine"][0], g["nr"][0], g["nr"][1]),
           "t1w_nr": resample_to_grid(t1w, g["fine"][0], g["nr"][0], g["nr"][1]),
           "mask_nr": to_grid(maps["mask"], vin, g["nr"]) > 0.5,
           "lr": lr, "t1w_lr": resample_to_grid(t1w, g["fine"][0], g["lr"][0], g["lr"][1]),
           "sigma_hr": np.float32(sigma)}
    for name, (vox, _) in g.items():
        out[f"{name}_voxel_mm"] = np.asarray(vox, dtype=np.float32)
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


# ---------------------------------------------------------------- subject sheet (acquired data)


def registered_t1w(path: str, series: AslSeries, fine: tuple[Sequence[int], np.ndarray], reg: Mapping,
                   seed: int) -> np.ndarray:
    """The T1w registered to the ASL (ANTs, reg['transform'], fixed image reg['fixed']: the M0 or the mean control)
    and resampled onto the fine grid (shape, affine) in the ASL's space."""
    from mrsr.preprocess import register

    t1w = read_nifti(path)
    fixed = {"m0": series.m0, "control": series.control}[reg["fixed"]]
    return register(t1w.data, t1w.affine, fixed, series.affine, seed=seed, transform=reg["transform"],
                    aff_iterations=reg["aff_iterations"], onto=fine, label=f"T1w {path} onto the ASL {reg['fixed']}")


def load_sheet_subject(row: Mapping[str, str], cfg: Mapping, seed: int) -> dict[str, np.ndarray]:
    """One subject-sheet row (asl, aslcontext, m0, t1w[, mask]): NR = the acquired averaged perfusion (mean
    control - label) on the ASL grid, LR = NR downsampled by grid.lr_factor, the registered T1w on the fine,
    NR and LR grids, the mask and M0 on the NR grid, voxel sizes. No HR, no truth."""
    from mrsr.preprocess import upsampled_grid

    series = read_asl_series(row)
    check_sidecar(series.sidecar, asl_types=ASL_TYPES, experiment="asl_sr")  # any labelling; an M0 image needed
    g = grids(cfg, (series.voxel_size, series.m0.shape), where=str(row["asl"]))
    fine = upsampled_grid(g["nr"][1], series.affine, cfg["grid"]["nr_factor"])
    nr = series.perfusion
    t1w = registered_t1w(row["t1w"], series, fine, cfg["registration"], seed)
    out = {"nr": nr, "lr": resample_to_grid(nr, g["nr"][0], *g["lr"]),
           "t1w": t1w, "t1w_nr": resample_to_grid(t1w, g["fine"][0], *g["nr"]),
           "t1w_lr": resample_to_grid(t1w, g["fine"][0], *g["lr"]),
           "mask_nr": series.mask, "m0": series.m0}
    for name, (vox, _) in g.items():
        out[f"{name}_voxel_mm"] = np.asarray(vox, dtype=np.float32)
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}
