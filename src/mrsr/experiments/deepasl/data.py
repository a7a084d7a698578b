"""DeepASL datasets: per-subject arrays (noise levels, complete dM, reference CBF, M0, mask, GM, and the simulated
truth CBF where known) built from the phantom cohort's maps ("synthetic" and "real-like" sets) or from a BIDS ASL
series ("real")."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from mrsr.asl import (
    Kinetics, cbf_scale, control_label, drop_end_slices, gaussian_fwhm, noise_level_means, noise_sigma,
    pcasl_general_signal, perfusion_signal, quantify_cbf, resample_to_grid, subsample, training_patches,
)
from mrsr.bids import AslSidecar, check_sidecar, read_asl_series
from mrsr.io import read_nifti

if TYPE_CHECKING:  # torch is imported by the training step only
    from mrsr.train import TrainData

DATASETS = ("synthetic", "real")
M0_BRAIN_MEAN = 100.0  # assumption: M0 (and dM with it) scaled so the brain-mean M0 is 100; CBF is unchanged


def kinetics(cfg: Mapping, dataset: str) -> Kinetics:
    """Kinetics of a dataset: cfg[dataset]['kinetics'] (tau, pld) over cfg['constants'] (alpha, t1_blood, partition)."""
    return Kinetics.from_config({**dict(cfg.get("constants") or {}), **dict(cfg[dataset]["kinetics"])})


LABELLING = ("PCASL", "CASL")  # eq. (1) is the (pseudo-)continuous labelling model


def sidecar_kinetics(kin: Kinetics, sidecar: AslSidecar | None) -> Kinetics:
    """kin with the BIDS sidecar's PostLabelingDelay (pld) and LabelingDuration (tau) where it states them: a scan's
    own timing over the config's deepasl.real.kinetics."""
    if sidecar is None:
        return kin
    stated = {"pld": sidecar.pld, "tau": sidecar.labeling_duration}
    return dataclasses.replace(kin, **{k: v for k, v in stated.items() if v is not None})


def to_zyx(volume: np.ndarray) -> np.ndarray:
    """(X, Y, Z[, ...]) NIfTI array to (Z, Y, X) slices-first order (axial slices along the third axis)."""
    return np.ascontiguousarray(np.swapaxes(np.asarray(volume, dtype=np.float32), 0, 2))


def phantom_on_grid(maps: Mapping[str, np.ndarray], voxel_in: float, grid: Mapping) -> dict[str, np.ndarray]:
    """Cohort maps (X, Y, Z, isotropic voxel_in mm) on the acquisition grid, (Z, Y, X)."""
    vox = (float(grid["slice_mm"]), float(grid["inplane_mm"]), float(grid["inplane_mm"]))
    shape = (int(grid["slices"]), int(grid["matrix"]), int(grid["matrix"]))
    return {k: resample_to_grid(to_zyx(v), (voxel_in,) * 3, vox, shape) for k, v in maps.items()}


MODELS = ("single_compartment", "general")
REFERENCES = ("complete", "ground_truth")


def gm_mean(dm: np.ndarray, gm: np.ndarray, mask: np.ndarray) -> float:
    """Mean dM over brain voxels with GM fraction >= 0.5."""
    sel = (gm >= 0.5) & mask
    if not sel.any():
        raise ValueError("no voxel with GM fraction >= 0.5: cannot set the noise level from GM perfusion SNR")
    return float(dm[sel].mean())


def phantom_truth(maps: Mapping[str, np.ndarray], spec: Mapping, dataset: str) -> np.ndarray:
    """The CBF a set is simulated from: cohort CBF (real-like) or 65 PV_GM + 20 PV_WM (synthetic, paper)."""
    if dataset == "synthetic":
        return float(spec["cbf_gm"]) * maps["gm"] + float(spec["cbf_wm"]) * maps["wm"]
    return maps["cbf"]


def phantom_signal(maps: Mapping[str, np.ndarray], voxel_in: float, cfg: Mapping, dataset: str,
                   g: Mapping[str, np.ndarray], m0_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """(truth CBF, noise-free dM) of one set on the acquisition grid, by the set's forward model.

    single_compartment: eq. (1) inverted on the grid (the paper's synthetic set). general: Buxton et al.'s (1998)
    model with the cohort's ATT and tissue-T1 maps, evaluated on the cohort grid and then resampled, as the
    coarse voxels of an acquisition integrate the signal of the tissue they contain.
    """
    spec, kin = cfg[dataset], kinetics(cfg, dataset)
    mask = g["mask"] > 0.5
    truth = phantom_truth(g, spec, dataset) * mask
    model = spec.get("model", "single_compartment")
    if model == "single_compartment":
        return truth, perfusion_signal(truth, g["pd"] * m0_factor, kin)
    if model != "general":
        raise ValueError(f"deepasl.{dataset}.model: expected one of {MODELS}, got {model!r}")
    for key in ("att", "t1map"):
        if key not in maps:
            raise ValueError(f"deepasl.{dataset}.model 'general' needs the cohort's {key} map")
    fine = pcasl_general_signal(phantom_truth(maps, spec, dataset) * (maps["mask"] > 0.5), maps["att"],
                                maps["t1map"], kin.tau, kin.pld, alpha=kin.alpha, t1_blood=kin.t1_blood,
                                partition=kin.partition, m0=maps["pd"] * m0_factor)
    return truth, phantom_on_grid({"dm": fine}, voxel_in, cfg["grid"])["dm"] * mask


def finish(pairs: np.ndarray, m0: np.ndarray, mask: np.ndarray, gm: np.ndarray, truth: np.ndarray | None,
           kin: Kinetics, levels: list[float], drop: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Noise levels, complete image, reference CBF and CBF scale of one subject; end slices dropped.

    ref_cbf is the paper's reference f_t = eq. (1) applied to the complete image (mean of all pairs);
    truth (the CBF the data were simulated from, None for acquired data) is kept as truth_cbf.
    """
    cut = lambda v: drop_end_slices(v, drop, axis=v.ndim - 3)  # noqa: E731
    pairs, m0, mask, gm = cut(pairs), cut(m0), cut(mask) > 0.5, cut(gm)
    clean = pairs.mean(axis=0)
    out = {
        "noisy": noise_level_means(pairs, levels, rng),
        "clean": clean.astype(np.float32),
        "ref_cbf": quantify_cbf(clean, m0, kin, mask),
        "scale": cbf_scale(m0, kin, mask),
        "m0": m0.astype(np.float32),
        "mask": mask.astype(np.float32),
        "gm": (gm * mask).astype(np.float32),
        "levels": np.asarray(levels, dtype=np.float32),
        "n_pairs": np.asarray(len(pairs)),
        "kinetics": np.asarray([kin.tau, kin.pld, kin.alpha, kin.t1_blood, kin.partition], dtype=np.float32),
    }
    if truth is not None:
        out["truth_cbf"] = (cut(truth) * mask).astype(np.float32)
    return out


def loss_reference(data: Mapping[str, np.ndarray], cfg: Mapping, dataset: str,
                   choice: str | None = None) -> np.ndarray:
    """f_t of the CBF loss term: the complete image's CBF (paper) or, with deepasl.<dataset>.cbf_reference
    'ground_truth', the noise-free CBF the set was simulated from; `choice` (a method's own cbf_reference)
    overrides the set's."""
    choice = choice or cfg[dataset].get("cbf_reference", "complete")
    if choice == "complete":
        return data["ref_cbf"]
    if choice != "ground_truth":
        raise ValueError(f"deepasl.{dataset}.cbf_reference: expected one of {REFERENCES}, got {choice!r}")
    if "truth_cbf" not in data:
        raise ValueError(f"deepasl.{dataset}.cbf_reference 'ground_truth': this set has no ground truth "
                         "(acquired data); use 'complete'")
    return data["truth_cbf"]


def simulate_phantom(maps: Mapping[str, np.ndarray], voxel_in: float, cfg: Mapping, dataset: str,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One phantom subject of the synthetic or real-like set (cfg: the deepasl config section).

    maps: cohort maps pd, gm, wm, cbf, mask (+ att, t1map for the general model) in (X, Y, Z).
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset: expected one of {DATASETS}, got {dataset!r}")
    g = phantom_on_grid({k: maps[k] for k in ("pd", "gm", "wm", "cbf", "mask")}, voxel_in, cfg["grid"])
    mask = g["mask"] > 0.5
    m0_factor = M0_BRAIN_MEAN / float(g["pd"][mask].mean())
    m0 = g["pd"] * m0_factor
    # paper: the synthetic noise s.d. comes from the acquired (real) repetitions, so both sets share one sigma,
    # set by the single-pair GM perfusion SNR of the real-like acquisition (its own forward model).
    real_truth, real_dm = phantom_signal(maps, voxel_in, cfg, "real", g, m0_factor)
    sigma = noise_sigma(gm_mean(real_dm, g["gm"], mask), float(cfg["pair_snr_gm"]))
    spec = cfg[dataset]
    kin = kinetics(cfg, dataset)
    truth, dm = (real_truth, real_dm) if dataset == "real" else phantom_signal(maps, voxel_in, cfg, dataset, g,
                                                                                m0_factor)
    voxel = (float(cfg["grid"]["slice_mm"]), float(cfg["grid"]["inplane_mm"]), float(cfg["grid"]["inplane_mm"]))
    pairs = control_label(m0, dm, int(spec["n_pairs"]), sigma * float(spec["noise_scale"]), rng,
                          motion_mm=float(spec["motion_mm"]), voxel_mm=voxel)
    if spec["smooth_fwhm_mm"] > 0:
        pairs = gaussian_fwhm(pairs, float(spec["smooth_fwhm_mm"]), (1.0, *voxel), axes=(2, 3))
        m0 = gaussian_fwhm(m0, float(spec["smooth_fwhm_mm"]), voxel, axes=(1, 2))  # assumption: SI_PD smoothed too
    return finish(pairs, m0, mask.astype(np.float32), g["gm"], truth, kin, list(cfg["noise_levels"]),
                  int(cfg["drop_end_slices"]), rng)


# ---------------------------------------------------------------- BIDS ASL


def load_bids_subject(row: Mapping[str, str], cfg: Mapping, dataset: str,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A subject-sheet row (asl, aslcontext, m0[, mask][, gm, wm]) as the real set, or the synthetic set
    generated from its M0 and GM/WM maps with the phantom's recipe."""
    series = read_asl_series(row)
    check_sidecar(series.sidecar, asl_types=LABELLING, experiment="deepasl")
    m0, mask = series.m0, series.mask
    gm = read_nifti(row["gm"]).data if row.get("gm") else mask.astype(np.float32)
    factor = M0_BRAIN_MEAN / float(m0[mask].mean())
    vox = series.voxel_size
    spec = cfg[dataset]
    # the acquired (real) set is quantified with its own timing; the synthetic set is simulated with the config's
    kin = sidecar_kinetics(kinetics(cfg, dataset), series.sidecar) if dataset == "real" else kinetics(cfg, dataset)
    m0z, maskz, gmz = to_zyx(m0 * factor), to_zyx(mask), to_zyx(gm)
    real = np.stack([to_zyx(p * factor) for p in series.pairs])
    if dataset == "real":
        if spec["smooth_fwhm_mm"] > 0:
            real = gaussian_fwhm(real, float(spec["smooth_fwhm_mm"]), (1.0, vox[2], vox[1], vox[0]), axes=(2, 3))
        return finish(real, m0z, maskz.astype(np.float32), gmz, None, kin, list(cfg["noise_levels"]),
                      int(cfg["drop_end_slices"]), rng)
    if spec.get("model", "single_compartment") != "single_compartment":
        raise ValueError(f"deepasl.{dataset}.model: a subject sheet gives no ATT or tissue-T1 maps; only "
                         "'single_compartment' can simulate its synthetic set")
    wm = to_zyx(read_nifti(row["wm"]).data)
    truth = (float(spec["cbf_gm"]) * gmz + float(spec["cbf_wm"]) * wm) * maskz
    # paper: voxel-wise noise s.d. estimated from the acquired repetitions
    sigma = real.std(axis=0, ddof=1) / np.sqrt(2.0) * float(spec["noise_scale"])
    pairs = control_label(m0z, perfusion_signal(truth, m0z, kin), int(spec["n_pairs"]), sigma, rng)
    return finish(pairs, m0z, maskz.astype(np.float32), gmz, truth, kin, list(cfg["noise_levels"]),
                  int(cfg["drop_end_slices"]), rng)


# ---------------------------------------------------------------- training and validation patches of a fold


def validation_slices(mask: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n slice indices (sorted) of a (Z, H, W) brain mask, drawn among the slices holding brain: a subject's
    held-out validation slices whenever it is a training subject (never trained on). n = 0 gives none."""
    brain = np.flatnonzero(np.asarray(mask).reshape(len(mask), -1).max(axis=1) > 0)
    if n < 0 or (n > 0 and n >= len(brain)):
        raise ValueError(f"deepasl.validation.slices_per_subject: {n} must be >= 0 and leave a training slice "
                         f"among the {len(brain)} slices with brain")
    return np.sort(rng.choice(brain, size=n, replace=False)).astype(np.int64)


def slice_patches(data: Mapping[str, np.ndarray], cfg: Mapping, dataset: str, slices: np.ndarray,
                  augmentations: int, cbf_reference: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """training_patches (input, residual target, aux) of the given slices of one subject (aux's CBF reference:
    loss_reference with cbf_reference)."""
    z = np.asarray(slices, dtype=np.int64)
    ref = loss_reference(data, cfg, dataset, cbf_reference)
    return training_patches(data["noisy"][:, z], data["clean"][z], ref[z], data["scale"][z], data["mask"][z],
                            size=int(cfg["patch_size"]), augmentations=augmentations,
                            min_brain=float(cfg["min_brain"]))


def fold_data(subjects: Mapping[str, Mapping[str, np.ndarray]], cfg: Mapping, dataset: str,
              seed: int, cbf_reference: str | None = None) -> tuple[TrainData, TrainData | None]:
    """(training, validation) patches of one fold from its training subjects ({name: data step arrays}).

    Each subject's 'val_slices' (drawn by the data step) give the validation patches (one rigid variant,
    at most deepasl.validation.patches of them); its other slices the training patches (every rigid variant,
    at most deepasl.patches_per_fold). No validation slices: (training, None). cbf_reference: a method's own
    reference of the CBF loss term (None: deepasl.<dataset>.cbf_reference)."""
    train, val = [], []
    for name, data in subjects.items():
        if "val_slices" not in data:
            raise KeyError(f"{name}: no 'val_slices' in the data step's arrays; rebuild the deepasl data")
        held = np.asarray(data["val_slices"], dtype=np.int64)
        rest = np.setdiff1d(np.arange(data["mask"].shape[0]), held)
        train.append(slice_patches(data, cfg, dataset, rest, int(cfg["augmentations"]), cbf_reference))
        if len(held):
            val.append(slice_patches(data, cfg, dataset, held, 1, cbf_reference))
    return _sampled(train, seed, 7, cfg["patches_per_fold"]), (
        _sampled(val, seed, 8, cfg["validation"]["patches"]) if val else None)


def _sampled(parts: list[tuple[np.ndarray, ...]], seed: int, stream: int, n: int | None) -> TrainData:
    """Concatenated patches, a random subset of at most n (seeded by (seed, stream))."""
    from mrsr.train import TrainData  # local: keeps torch out of the data step
    x, y, aux = (np.concatenate(p) for p in zip(*parts))
    keep = subsample(np.random.default_rng([seed, stream]), len(x), n)
    return TrainData(x[keep], y[keep], aux[keep])
