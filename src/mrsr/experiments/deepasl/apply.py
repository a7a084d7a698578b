"""`mrsr apply` for DeepASL / Dilated Conv models: a BIDS ASL series (`<prefix>_asl.nii[.gz]` with its
`<prefix>_aslcontext.tsv` and `<prefix>_m0scan.nii[.gz]` beside it, and its sidecar JSON if any) is prepared as the
acquired (real) set was: the mean of its control - label pairs, M0 scaled to a brain mean of 100, the real set's
in-plane smoothing; the network removes its noise estimate from every axial slice (patch-wise or whole slices, as
the workflow's inference) and the denoised perfusion image (mean dM) comes back on the input's scale."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mrsr.apply import ApplyOptions, input_warnings
from mrsr.asl import gaussian_fwhm
from mrsr.bids import check_sidecar, read_asl_series
from mrsr.device import Compute
from mrsr.experiments.deepasl.data import LABELLING, M0_BRAIN_MEAN, to_zyx
from mrsr.experiments.deepasl.evaluate import denoise
from mrsr.io import Volume
from mrsr.preprocess import background_fraction
from mrsr.train import predict_fn
from mrsr.train.meta import ModelMeta

INPUT_NDIM = 4  # the ASL series: control and label volumes along the 4th axis
INPUT_PATTERN = "*_asl.nii*"  # in a folder: the ASL series, not their M0 scans
OUTPUT_SUFFIX = "_denoised"
BIDS_SUFFIX = "asl"  # the files of a BIDS dataset it takes
BIDS_DESC = "denoised"  # desc entity of its outputs in the derivatives folder


def bids_files(asl_path: str | Path) -> dict[str, str]:
    """The sheet row of a BIDS ASL series: its aslcontext and M0 files by BIDS naming, or a ValueError naming the
    file that is missing."""
    asl_path = Path(asl_path)
    match = re.match(r"^(.*)_asl\.nii(\.gz)?$", asl_path.name)
    if not match:
        raise ValueError(f"{asl_path}: deepasl models take a BIDS ASL series named <prefix>_asl.nii[.gz] (its "
                         "aslcontext.tsv and m0scan beside it)")
    prefix = asl_path.parent / match.group(1)
    context = Path(f"{prefix}_aslcontext.tsv")
    if not context.is_file():
        raise ValueError(f"{asl_path}: its volume types file {context} is missing")
    m0 = next((Path(f"{prefix}_m0scan{ext}") for ext in (".nii.gz", ".nii") if Path(f"{prefix}_m0scan{ext}").is_file()),
              None)
    if m0 is None:
        raise ValueError(f"{asl_path}: its M0 image {prefix}_m0scan.nii.gz is missing (a separate M0 scan is needed)")
    return {"asl": str(asl_path), "aslcontext": str(context), "m0": str(m0)}


def apply_volume(generator, meta: ModelMeta, volume: Volume,
                 options: ApplyOptions) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(denoised mean dM on the ASL grid, its affine, warnings); options.scale 'model' keeps the M0-normalised
    scale the network saw (brain-mean M0 = 100)."""
    if options.upsample not in (None, 1) or options.axis not in (None, 2):
        raise ValueError("deepasl models denoise axial slices on the scan's own grid: leave --upsample and --axis "
                         "unset")
    settings = meta.inference
    series = read_asl_series(bids_files(volume.path))
    check_sidecar(series.sidecar, asl_types=LABELLING, experiment="deepasl")
    factor = M0_BRAIN_MEAN / float(series.m0[series.mask].mean())
    voxel = series.voxel_size
    dm = gaussian_fwhm(to_zyx(series.perfusion * factor), float(settings["smooth_fwhm_mm"]),
                       (voxel[2], voxel[1], voxel[0]), axes=(1, 2))
    notes = input_warnings(meta.trained_on, voxel[:2], background_fraction(series.m0))
    predict = predict_fn(generator, options.device, options.batch_size,
                         Compute(options.precision, options.channels_last))
    patch = settings.get("patch_size")
    mask = to_zyx(series.mask.astype(np.float32))
    out = denoise(dm[None], predict, patch_size=patch, mask=mask if patch else None)[0]
    out = np.swapaxes(out, 0, 2)  # back to the NIfTI's (X, Y, Z)
    return (out if options.scale == "model" else out / factor), series.affine, notes
