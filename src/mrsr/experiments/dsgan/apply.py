"""`mrsr apply` for dsgan's EDSR models (any training-set construction: DSGAN, DSN, GB, ZF, the upper bound): a
low-resolution scan goes slice by slice along the model's axis through EDSR (x2 in-plane), each slice as in testing:
NLM-denoised first where the model's test input was, scaled to [0, 1] by its maximum. The output grid reads LR pixel
i as HR pixel 2i + 1, the convention every dsgan construction was trained on (docs/experiments/dsgan.md)."""

from __future__ import annotations

import numpy as np

from mrsr.apply import ApplyOptions, input_warnings
from mrsr.device import Compute
from mrsr.experiments.dsgan.data import FACTOR, GRID_OFFSET, nlm
from mrsr.io import Volume
from mrsr.preprocess import background_fraction
from mrsr.train import predict_fn
from mrsr.train.meta import ModelMeta

BIDS_SUFFIX = "T1w"  # the files of a BIDS dataset it takes (`mrsr apply --bids-suffix` overrides)
BIDS_DESC = "sr"  # desc entity of its outputs in the derivatives folder


def sr_grid(affine: np.ndarray, axis: int, factor: int = FACTOR, offset: int = GRID_OFFSET) -> np.ndarray:
    """Affine of the x`factor` output: in-plane output pixel j sits at LR position (j - offset) / factor (LR pixel i
    is HR pixel factor * i + offset); the slice axis keeps its positions."""
    step = np.eye(4)
    for a in range(3):
        if a != axis:
            step[a, a] = 1.0 / factor
            step[a, 3] = -offset / factor
    return np.asarray(affine, dtype=np.float64) @ step


def apply_volume(generator, meta: ModelMeta, volume: Volume,
                 options: ApplyOptions) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(output, its affine, warnings); options.scale 'input' maps each slice back to its own maximum."""
    settings = meta.inference
    if options.upsample not in (None, 1):
        raise ValueError("dsgan models take the LR scan on its own grid (they upsample x2 themselves): leave "
                         "--upsample unset")
    axis = int(settings["slice_axis"] if options.axis is None else options.axis)
    data = np.asarray(volume.data, dtype=np.float64)
    if data.ndim != 3:
        raise ValueError(f"dsgan models take a 3-D volume, got shape {data.shape}")
    in_plane = tuple(np.delete(np.asarray(volume.voxel_size[:3]), axis) / FACTOR)  # trained_on: the HR grid
    notes = input_warnings(meta.trained_on, in_plane, background_fraction(data))
    predict = predict_fn(generator, options.device, options.batch_size,
                         Compute(options.precision, options.channels_last))
    slices = []
    for lr in np.moveaxis(data, axis, 0):
        peak = float(lr.max())
        if peak <= 0:  # an empty slice (outside the field of view): zeros on the output grid
            slices.append(np.zeros([FACTOR * n for n in lr.shape], dtype=np.float32))
            continue
        unit = lr / peak  # training and test slices: scaled by their slice maximum
        if settings.get("denoise"):
            unit = nlm(unit, settings["nlm"])
        out = predict(unit[None, None].astype(np.float32))[0, 0]
        slices.append(out * peak if options.scale == "input" else out)
    return np.moveaxis(np.stack(slices), 0, axis).astype(np.float32), sr_grid(volume.affine, axis), notes
