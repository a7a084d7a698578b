"""DeepASL datasets: per-subject arrays (noise levels, complete dM, reference CBF, M0, mask, GM) built from
the phantom cohort's maps ("synthetic" and "real-like" sets) or from a BIDS ASL series ("real")."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mrsr.asl import (
    Kinetics, cbf_scale, control_label, drop_end_slices, gaussian_fwhm, noise_level_means, noise_sigma,
    perfusion_signal, quantify_cbf, resample_to_grid,
)
from mrsr.io import read_mask, read_nifti

DATASETS = ("synthetic", "real")
M0_BRAIN_MEAN = 100.0  # assumption: M0 (and dM with it) scaled so the brain-mean M0 is 100; CBF is unchanged


def kinetics(cfg: Mapping, dataset: str) -> Kinetics:
    """Kinetics of a dataset: cfg[dataset]['kinetics'] (tau, pld) over cfg['constants'] (alpha, t1_blood, partition)."""
    return Kinetics.from_config({**dict(cfg.get("constants") or {}), **dict(cfg[dataset]["kinetics"])})


def to_zyx(volume: np.ndarray) -> np.ndarray:
    """(X, Y, Z[, ...]) NIfTI array to (Z, Y, X) slices-first order (axial slices along the third axis)."""
    return np.ascontiguousarray(np.swapaxes(np.asarray(volume, dtype=np.float32), 0, 2))


def phantom_on_grid(maps: Mapping[str, np.ndarray], voxel_in: float, grid: Mapping) -> dict[str, np.ndarray]:
    """Cohort maps (X, Y, Z, isotropic voxel_in mm) on the acquisition grid, (Z, Y, X)."""
    vox = (float(grid["slice_mm"]), float(grid["inplane_mm"]), float(grid["inplane_mm"]))
    shape = (int(grid["slices"]), int(grid["matrix"]), int(grid["matrix"]))
    return {k: resample_to_grid(to_zyx(v), (voxel_in,) * 3, vox, shape) for k, v in maps.items()}


def gm_signal(cbf: np.ndarray, m0: np.ndarray, gm: np.ndarray, kin: Kinetics) -> float:
    """Mean dM over voxels with GM fraction >= 0.5."""
    sel = gm >= 0.5
    if not sel.any():
        raise ValueError("no voxel with GM fraction >= 0.5: cannot set the noise level from GM perfusion SNR")
    return float(perfusion_signal(cbf, m0, kin)[sel].mean())


def finish(pairs: np.ndarray, m0: np.ndarray, mask: np.ndarray, gm: np.ndarray, truth: np.ndarray | None,
           kin: Kinetics, levels: list[float], drop: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Noise levels, complete image, reference CBF and CBF scale of one subject; end slices dropped.

    truth: the known CBF (synthetic set) or None, where the reference is f(mean of all pairs) (real set).
    """
    cut = lambda v: drop_end_slices(v, drop, axis=v.ndim - 3)  # noqa: E731
    pairs, m0, mask, gm = cut(pairs), cut(m0), cut(mask) > 0.5, cut(gm)
    clean = pairs.mean(axis=0)
    ref = quantify_cbf(clean, m0, kin, mask) if truth is None else cut(truth) * mask
    return {
        "noisy": noise_level_means(pairs, levels, rng),
        "clean": clean.astype(np.float32),
        "ref_cbf": ref.astype(np.float32),
        "scale": cbf_scale(m0, kin, mask),
        "m0": m0.astype(np.float32),
        "mask": mask.astype(np.float32),
        "gm": (gm * mask).astype(np.float32),
        "levels": np.asarray(levels, dtype=np.float32),
        "n_pairs": np.asarray(len(pairs)),
        "kinetics": np.asarray([kin.tau, kin.pld, kin.alpha, kin.t1_blood, kin.partition], dtype=np.float32),
    }


def simulate_phantom(maps: Mapping[str, np.ndarray], voxel_in: float, cfg: Mapping, dataset: str,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One phantom subject of the synthetic or real-like set (cfg: the deepasl config section)."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset: expected one of {DATASETS}, got {dataset!r}")
    g = phantom_on_grid(maps, voxel_in, cfg["grid"])
    mask = g["mask"] > 0.5
    m0 = g["pd"] * (M0_BRAIN_MEAN / float(g["pd"][mask].mean()))
    real_kin = kinetics(cfg, "real")
    # paper: the synthetic noise s.d. comes from the acquired (real) repetitions, so both sets share one sigma,
    # set by the single-pair GM perfusion SNR of the real-like acquisition.
    sigma = noise_sigma(gm_signal(g["cbf"], m0, g["gm"], real_kin), float(cfg["pair_snr_gm"]))
    spec = cfg[dataset]
    kin = kinetics(cfg, dataset)
    if dataset == "synthetic":
        # paper: CBF_GT = 65 PV_GM + 20 PV_WM
        truth = (float(spec["cbf_gm"]) * g["gm"] + float(spec["cbf_wm"]) * g["wm"]) * mask
    else:
        truth = g["cbf"] * mask
    dm = perfusion_signal(truth, m0, kin)
    voxel = (float(cfg["grid"]["slice_mm"]), float(cfg["grid"]["inplane_mm"]), float(cfg["grid"]["inplane_mm"]))
    pairs = control_label(m0, dm, int(spec["n_pairs"]), sigma * float(spec["noise_scale"]), rng,
                          motion_mm=float(spec["motion_mm"]), voxel_mm=voxel)
    if spec["smooth_fwhm_mm"] > 0:
        pairs = gaussian_fwhm(pairs, float(spec["smooth_fwhm_mm"]), (1.0, *voxel), axes=(2, 3))
        m0 = gaussian_fwhm(m0, float(spec["smooth_fwhm_mm"]), voxel, axes=(1, 2))  # assumption: SI_PD smoothed too
    return finish(pairs, m0, mask.astype(np.float32), g["gm"], truth if dataset == "synthetic" else None, kin,
                  list(cfg["noise_levels"]), int(cfg["drop_end_slices"]), rng)


# ---------------------------------------------------------------- BIDS ASL


def read_aslcontext(path: str | Path) -> list[str]:
    """Volume types of a BIDS aslcontext.tsv (column volume_type), lower case."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or "volume_type" not in rows[0]:
        raise ValueError(f"{path}: expected a TSV with a 'volume_type' column (BIDS aslcontext.tsv)")
    return [r["volume_type"].strip().lower() for r in rows]


def bids_pairs(asl: np.ndarray, context: list[str], where: str) -> np.ndarray:
    """(R, X, Y, Z) control - label pairs of a 4-D ASL series, i-th control with i-th label."""
    if asl.ndim != 4 or asl.shape[3] != len(context):
        raise ValueError(f"{where}: {asl.shape} does not match {len(context)} aslcontext rows")
    control = [i for i, t in enumerate(context) if t == "control"]
    label = [i for i, t in enumerate(context) if t == "label"]
    if not control or len(control) != len(label):
        raise ValueError(f"{where}: needs equal numbers of control and label volumes, got {len(control)} "
                         f"and {len(label)}")
    return np.stack([asl[..., c] - asl[..., lab] for c, lab in zip(control, label)])


def load_bids_subject(row: Mapping[str, str], cfg: Mapping, dataset: str,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A subject-sheet row (asl, aslcontext, m0[, mask][, gm, wm]) as the real set, or the synthetic set
    generated from its M0 and GM/WM maps with the phantom's recipe."""
    asl = read_nifti(row["asl"], ndim=4)
    m0 = read_nifti(row["m0"], ndim=(3, 4)).data
    m0 = m0.mean(axis=3) if m0.ndim == 4 else m0
    if m0.shape != asl.data.shape[:3]:
        raise ValueError(f"{row['m0']}: shape {m0.shape} differs from the ASL grid {asl.data.shape[:3]}")
    if row.get("mask"):
        mask = read_mask(row["mask"]).data
    else:
        mask = m0 > 0.2 * np.percentile(m0, 99)  # assumption: brain = M0 above 20% of its 99th percentile
    gm = read_nifti(row["gm"]).data if row.get("gm") else mask.astype(np.float32)
    factor = M0_BRAIN_MEAN / float(m0[mask].mean())
    vox = asl.voxel_size
    spec = cfg[dataset]
    kin = kinetics(cfg, dataset)
    m0z, maskz, gmz = to_zyx(m0 * factor), to_zyx(mask), to_zyx(gm)
    real = np.stack([to_zyx(p) for p in bids_pairs(asl.data * factor, read_aslcontext(row["aslcontext"]),
                                                   str(row["asl"]))])
    if dataset == "real":
        if spec["smooth_fwhm_mm"] > 0:
            real = gaussian_fwhm(real, float(spec["smooth_fwhm_mm"]), (1.0, vox[2], vox[1], vox[0]), axes=(2, 3))
        return finish(real, m0z, maskz.astype(np.float32), gmz, None, kin, list(cfg["noise_levels"]),
                      int(cfg["drop_end_slices"]), rng)
    wm = to_zyx(read_nifti(row["wm"]).data)
    truth = (float(spec["cbf_gm"]) * gmz + float(spec["cbf_wm"]) * wm) * maskz
    # paper: voxel-wise noise s.d. estimated from the acquired repetitions
    sigma = real.std(axis=0, ddof=1) / np.sqrt(2.0) * float(spec["noise_scale"])
    pairs = control_label(m0z, perfusion_signal(truth, m0z, kin), int(spec["n_pairs"]), sigma, rng)
    return finish(pairs, m0z, maskz.astype(np.float32), gmz, truth, kin, list(cfg["noise_levels"]),
                  int(cfg["drop_end_slices"]), rng)
