"""`mrsr apply` for asl_sr: the method is single-image (Cui et al. train a pyramid on the scan they super-resolve),
so a model file is a recipe here, not weights for a new scan: a new pyramid is trained on the scan itself with the
model's settings (network, losses, updates per scale, plateau rule, seed) and its last generator gives the SR
volume, as the workflow's own-data path (subject sheet) does. Input: a BIDS ASL series (`<prefix>_asl.nii[.gz]`
with its aslcontext.tsv and m0scan) and a T1w (`--t1w`, or found by BIDS naming in the subject's `anat` folder),
registered to the M0 with ANTs. The output is the averaged perfusion image (mean control - label) on a grid the
model's factor finer (Experiment 2's factor: the fine T1 grid), on the input's intensity scale."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from mrsr.apply import ApplyOptions, input_warnings
from mrsr.bids import bids_files, find_t1w
from mrsr.device import Compute
from mrsr.experiments.asl_sr.data import load_sheet_subject
from mrsr.io import Volume
from mrsr.preprocess import background_fraction, upsampled_grid
from mrsr.train.io import model_meta
from mrsr.train.meta import ModelMeta

INPUT_NDIM = 4  # the ASL series: control and label volumes along the 4th axis
INPUT_PATTERN = "*_asl.nii*"  # in a folder: the ASL series, not their M0 scans
BIDS_SUFFIX = "asl"


def load_model(path: str | Path, device: str = "cpu") -> tuple[None, None, ModelMeta]:
    """No network to load: a pyramid is trained on every scan. Returns (None, None, the file's metadata)."""
    return None, None, model_meta(path)


def apply_volume(_generator, meta: ModelMeta, volume: Volume,
                 options: ApplyOptions) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(SR perfusion on the grid `factor` x finer, its affine, notes): a pyramid trained on this scan's averaged
    perfusion (with the registered T1w on the ASL grid), then its last generator on [up(perfusion), T1w on the fine
    grid]. options.scale 'model' returns the pyramid's normalised units (perfusion / its 99th percentile)."""
    from mrsr.train.multiscale import train_pyramid

    if options.upsample is not None or options.axis is not None:
        raise ValueError("asl_sr models super-resolve the whole volume by the model's factor: leave --upsample and "
                         "--axis unset")
    settings = meta.inference
    row = {**bids_files(volume.path), "t1w": str(options.t1w or find_t1w(volume.path))}
    factor = [int(f) for f in settings["factor"]]
    cfg = {"grid": {"nr_factor": factor, "lr_factor": [1, 1, 1]}, "registration": settings["registration"]}
    data = load_sheet_subject(row, cfg, meta.seed)  # nr: the acquired perfusion; t1w / t1w_nr: registered T1w
    _, affine = upsampled_grid(data["nr"].shape, volume.affine, factor)
    compute = Compute(options.precision, options.channels_last)
    with tempfile.TemporaryDirectory(prefix="mrsr-asl_sr-") as ckpt_dir:
        pyramid = train_pyramid(settings["method"], data["nr"], data["t1w_nr"],
                                max_updates=int(settings["max_updates"]), seed=meta.seed, device=options.device,
                                ckpt_dir=ckpt_dir, stopping=settings["stopping"], compute=compute,
                                keep_checkpoints=False)
    sr = pyramid.super_resolve(data["nr"], data["t1w"], data["t1w"].shape, compute)
    notes = [f"asl_sr is a single-image method: a new pyramid was trained on this scan with the model's settings "
             f"({', '.join(str(r['updates']) for r in pyramid.records)} updates per scale, coarse to fine; "
             f"plateau reached at {sum(bool(r['plateau_reached']) for r in pyramid.records)} of "
             f"{len(pyramid.records)} scales); the model file's weights are not used",
             *input_warnings(meta.trained_on, tuple(float(v) for v in data["fine_voxel_mm"]),
                             background_fraction(data["m0"]))]
    return (sr / pyramid.asl_norm if options.scale == "model" else sr), affine, notes
