"""ASL-SR scoring: interpolation baselines (nearest, linear, cubic spline) and PSNR / 3-D SSIM after normalising
by the reference's maximum (docs/experiments/asl_sr.md, "Metrics and baselines"), for Experiment 1 (LR -> NR grid) and Experiment 2 (NR -> fine); the
same inside a head mask of the reference ('_brain'), and brain PSNR per interior transaxial slice (the items of the
paired tests)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

from mrsr.metrics import brain_mask, brain_metrics, interior_slices, psnr, ssim

# paper: Table 1 rows; scipy.ndimage.zoom orders 0, 1, 3 (cubic B-spline) [docs/experiments/asl_sr.md, "Metrics and baselines"]
INTERPOLATIONS = {"nearest": 0, "linear": 1, "spline": 3}
# Experiment 1 references (NR, HR on the NR grid, the phantom's truth) and Experiment 2's (truth, HR); a subject
# sheet's acquired data have NR only. Training volume and target grid (whose T1w is on it) of each experiment.
REFERENCES = {"exp1": {"nr": "nr", "hr": "hr_nr", "truth": "truth_nr"}, "exp2": {"truth": "truth", "hr": "hr"}}
TRAIN_AND_TARGET = {"exp1": ("lr", "t1w_nr"), "exp2": ("nr", "t1w")}
# Figure panels of the data beside each experiment's outputs: {experiment: {panel name: data key}}.
# The volume each experiment's head mask is drawn from: the first of these the data have (HR on that grid, else NR).
MASK_SOURCES = {"exp1": ("hr_nr", "nr"), "exp2": ("hr", "truth")}
SLICE_AXIS = 2  # transaxial (Z, the slice axis)
SLICE_COLUMNS = ("subject", "experiment", "method", "reference", "item", "psnr_brain")
DATA_PANELS = {"exp1": {"lr": "lr", "nr": "nr", "hr": "hr_nr"},
               "exp2": {"nr": "nr", "hr": "hr", "truth": "truth", "t1w": "t1w"}}


def interpolate(volume: np.ndarray, shape: Sequence[int], order: int) -> np.ndarray:
    """scipy.ndimage.zoom to `shape` on the same field of view (grid_mode: voxel edges aligned, as the data)."""
    zoom = np.divide(shape, np.shape(volume))
    out = ndimage.zoom(np.asarray(volume, np.float64), zoom, order=order, mode="nearest", grid_mode=True)
    if out.shape != tuple(shape):
        raise ValueError(f"interpolate: got {out.shape} instead of {tuple(shape)}")
    return out.astype(np.float32)


def score(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray | None = None) -> dict[str, float]:
    """{'psnr', 'ssim'} over the whole volume, both volumes divided by max(ref) [I]: PSNR peak 1, SSIM
    data_range = the normalised reference's range (Gaussian window sigma 1.5, 3-D); with a mask also
    {'psnr_brain', 'ssim_brain'} inside it (mrsr.metrics.brain_metrics, same normalisation)."""
    peak = float(np.max(ref))
    if peak <= 0:
        raise ValueError("score: the reference volume has no positive voxel")
    p, r = np.asarray(pred, np.float64) / peak, np.asarray(ref, np.float64) / peak
    span = float(r.max() - r.min())
    out = {"psnr": psnr(p, r, 1.0), "ssim": ssim(p, r, span)}
    if mask is not None:
        brain = brain_metrics(p, r, peak=1.0, ssim_range=span, mask=mask)
        out.update(psnr_brain=brain["psnr_brain"], ssim_brain=brain["ssim_brain"])
    return out


def interpolations(data: Mapping[str, np.ndarray], experiment: str) -> dict[str, np.ndarray]:
    """{method: volume} of one experiment's no-model rows: the interpolations (Exp. 1; Exp. 2 only linear, as the
    paper's Fig. 4) from the training volume to the target grid. They need no training seed."""
    source, target = TRAIN_AND_TARGET[experiment]
    kinds = INTERPOLATIONS if experiment == "exp1" else {"linear": 1}
    return {k: interpolate(data[source], np.shape(data[target]), order) for k, order in kinds.items()}


def slice_psnr(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray, slices: Sequence[int]) -> list[float]:
    """Brain PSNR (peak 1 after dividing by the volume's max(ref), as score) of each transaxial slice."""
    peak = float(np.max(ref))
    p, r = np.asarray(pred, np.float64) / peak, np.asarray(ref, np.float64) / peak
    return [psnr(p[..., z][mask[..., z]], r[..., z][mask[..., z]], 1.0) for z in slices]


def head_mask(data: Mapping[str, np.ndarray], experiment: str, scoring: Mapping) -> np.ndarray | None:
    """The experiment's head mask (brain_mask of the first of MASK_SOURCES the data have; None without one)."""
    source = next((k for k in MASK_SOURCES[experiment] if k in data), None)
    if source is None:
        return None
    return brain_mask(data[source], fraction=float(scoring["mask_fraction"]), dilate=int(scoring["mask_dilate"]))


def test_slices(mask: np.ndarray, scoring: Mapping) -> list[int]:
    """Interior transaxial slices of the mask that hold mask voxels (interior_slices, scoring.test_slices)."""
    return [z for z in interior_slices(mask, int(scoring["test_slices"]), axis=SLICE_AXIS) if mask[..., z].any()]


def score_subject(data: Mapping[str, np.ndarray], outputs: Mapping[str, Mapping[str, np.ndarray]],
                  subject: str, scoring: Mapping) -> tuple[list[dict], list[dict]]:
    """Rows subject, experiment, method, reference, psnr, ssim, psnr_brain, ssim_brain for every experiment's
    outputs (NaN where the data lack the reference: acquired data have no HR, no truth), and per-slice rows
    subject, experiment, method, reference, item ('<subject>/z<k>'), psnr_brain. scoring: the config's
    asl_sr.scoring."""
    missing = {"psnr": math.nan, "ssim": math.nan, "psnr_brain": math.nan, "ssim_brain": math.nan}
    rows, slice_rows = [], []
    for experiment, methods in outputs.items():
        mask = head_mask(data, experiment, scoring)
        slices = test_slices(mask, scoring) if mask is not None else []
        for method, volume in methods.items():
            for ref_name, key in REFERENCES[experiment].items():
                found = key in data and mask is not None
                head = {"subject": subject, "experiment": experiment, "method": method, "reference": ref_name}
                rows.append({**head, **(score(volume, data[key], mask) if found else missing)})
                if found:
                    slice_rows += [{**head, "item": f"{subject}/z{z}", "psnr_brain": v}
                                   for z, v in zip(slices, slice_psnr(volume, data[key], mask, slices))]
    return rows, slice_rows


def example_slices(volumes: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Central slices of {experiment: {name: volume}} keyed '<experiment>.<name>.<view>' (figure panels)."""
    return {f"{experiment}.{name}.{view}": np.ascontiguousarray(image)
            for experiment, named in volumes.items() for name, volume in named.items()
            for view, image in central_slices(volume).items()}


def data_panels(data: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """{experiment: {name: volume}} of the data shown beside the outputs (acquired data: no HR, no truth)."""
    return {experiment: {name: data[key] for name, key in panels.items() if key in data}
            for experiment, panels in DATA_PANELS.items()}


def central_slices(volume: np.ndarray) -> dict[str, np.ndarray]:
    """Sagittal (fixed X) and transaxial (fixed Z) central slices, rotated for display (anterior/superior up)."""
    x, z = volume.shape[0] // 2, volume.shape[2] // 2
    return {"sagittal": np.rot90(volume[x, :, :]), "transaxial": np.rot90(volume[:, :, z])}
