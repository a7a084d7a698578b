"""`mrsr apply` for DeepASL / Dilated Conv models: a BIDS ASL series (`<prefix>_asl.nii[.gz]` with its
`<prefix>_aslcontext.tsv` and `<prefix>_m0scan.nii[.gz]` beside it, and its sidecar JSON if any) is prepared as the
acquired (real) set was: the mean of its control - label pairs, M0 scaled to a brain mean of 100, the real set's
in-plane smoothing; the network removes its noise estimate from every axial slice (patch-wise or whole slices, as
the workflow's inference) and the denoised perfusion image (mean dM) comes back on the input's scale."""

from __future__ import annotations

import numpy as np

from mrsr.apply import ApplyOptions, input_warnings
from mrsr.asl import gaussian_fwhm
from mrsr.bids import bids_files, check_sidecar, read_asl_series
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
