"""ASL-SR scoring: interpolation baselines (nearest, linear, cubic spline) and PSNR / 3-D SSIM after normalising
by the reference's maximum (METHODS.md 1.5), for Experiment 1 (LR -> NR grid) and Experiment 2 (NR -> fine)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

from mrsr.metrics import psnr, ssim

# paper: Table 1 rows; scipy.ndimage.zoom orders 0, 1, 3 (cubic B-spline) [METHODS 1.4]
INTERPOLATIONS = {"nearest": 0, "linear": 1, "spline": 3}
# Experiment 1 references (NR, HR on the NR grid, the phantom's truth) and Experiment 2's (truth, HR); a subject
# sheet's acquired data have NR only. Training volume and target grid (whose T1w is on it) of each experiment.
REFERENCES = {"exp1": {"nr": "nr", "hr": "hr_nr", "truth": "truth_nr"}, "exp2": {"truth": "truth", "hr": "hr"}}
TRAIN_AND_TARGET = {"exp1": ("lr", "t1w_nr"), "exp2": ("nr", "t1w")}
# Figure panels of the data beside each experiment's outputs: {experiment: {panel name: data key}}.
DATA_PANELS = {"exp1": {"lr": "lr", "nr": "nr", "hr": "hr_nr"},
               "exp2": {"nr": "nr", "hr": "hr", "truth": "truth", "t1w": "t1w"}}


def interpolate(volume: np.ndarray, shape: Sequence[int], order: int) -> np.ndarray:
    """scipy.ndimage.zoom to `shape` on the same field of view (grid_mode: voxel edges aligned, as the data)."""
    zoom = np.divide(shape, np.shape(volume))
    out = ndimage.zoom(np.asarray(volume, np.float64), zoom, order=order, mode="nearest", grid_mode=True)
    if out.shape != tuple(shape):
        raise ValueError(f"interpolate: got {out.shape} instead of {tuple(shape)}")
    return out.astype(np.float32)


def score(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """{'psnr', 'ssim'} over the whole volume, both volumes divided by max(ref) [I]: PSNR peak 1, SSIM
    data_range = the normalised reference's range (Gaussian window sigma 1.5, 3-D)."""
    peak = float(np.max(ref))
    if peak <= 0:
        raise ValueError("score: the reference volume has no positive voxel")
    p, r = np.asarray(pred, np.float64) / peak, np.asarray(ref, np.float64) / peak
    return {"psnr": psnr(p, r, 1.0), "ssim": ssim(p, r, float(r.max() - r.min()))}


def interpolations(data: Mapping[str, np.ndarray], experiment: str) -> dict[str, np.ndarray]:
    """{method: volume} of one experiment's no-model rows: the interpolations (Exp. 1; Exp. 2 only linear, as the
    paper's Fig. 4) from the training volume to the target grid. They need no training seed."""
    source, target = TRAIN_AND_TARGET[experiment]
    kinds = INTERPOLATIONS if experiment == "exp1" else {"linear": 1}
    return {k: interpolate(data[source], np.shape(data[target]), order) for k, order in kinds.items()}


def score_subject(data: Mapping[str, np.ndarray], outputs: Mapping[str, Mapping[str, np.ndarray]],
                  subject: str) -> list[dict]:
    """Rows subject, experiment, method, reference, psnr, ssim for every experiment's outputs; NaN scores where the
    data lack the reference (acquired data: no HR, no truth)."""
    missing = {"psnr": math.nan, "ssim": math.nan}
    rows = []
    for experiment, methods in outputs.items():
        for method, volume in methods.items():
            for ref_name, key in REFERENCES[experiment].items():
                rows.append({"subject": subject, "experiment": experiment, "method": method, "reference": ref_name,
                             **(score(volume, data[key]) if key in data else missing)})
    return rows


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
