"""`mrsr apply` for ixi_sr models (GAN-CPCE, GAN-CIRCLE): the training input was an HR slice's central k-space on
the HR grid, so a low-resolution scan is sinc-upsampled in-plane (k-space zero-padding: exactly that input when
the scan holds the central k-space of the HR image), scaled to [0, 1] per volume as in training, and every slice
along the model's axis goes through the network whole."""

from __future__ import annotations

import numpy as np

from mrsr.apply import ApplyOptions, input_warnings
from mrsr.degrade import kspace_zeropad
from mrsr.device import Compute
from mrsr.experiments.ixi_sr.evaluate import predict_slices
from mrsr.io import Volume
from mrsr.preprocess import background_fraction
from mrsr.train import predict_fn
from mrsr.train.meta import ModelMeta

BIDS_SUFFIX = "T2w"  # the files of a BIDS dataset it takes (`mrsr apply --bids-suffix` overrides)
BIDS_DESC = "sr"  # desc entity of its outputs in the derivatives folder


def zeropad_grid(affine: np.ndarray, factors: tuple[int, int, int]) -> np.ndarray:
    """Affine of kspace_zeropad's output: voxel k at input position k / factor (the FFT grid keeps its origin)."""
    return np.asarray(affine, dtype=np.float64) @ np.diag([*(1.0 / np.asarray(factors, dtype=np.float64)), 1.0])


def apply_volume(generator, meta: ModelMeta, volume: Volume,
                 options: ApplyOptions) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(output, its affine, warnings); options.scale 'input' maps [0, 1] back to the input's min/max."""
    settings = meta.inference
    axis = settings["slice_axis"] if options.axis is None else options.axis
    factor = settings["upsample_factor"] if options.upsample is None else options.upsample
    data = np.asarray(volume.data, dtype=np.float32)
    if data.ndim != 3:
        raise ValueError(f"ixi_sr models take a 3-D volume, got shape {data.shape}")
    factors = tuple(1 if a == axis else int(factor) for a in range(3))
    if factor != 1:
        data = kspace_zeropad(data, factors).astype(np.float32)
    affine = zeropad_grid(volume.affine, factors)
    in_plane = tuple(np.delete(np.asarray(Volume(data, affine).voxel_size[:3]), axis))  # trained_on: in-plane
    notes = input_warnings(meta.trained_on, in_plane, background_fraction(volume.data))
    lo, hi = float(data.min()), float(data.max())
    if hi <= lo:
        raise ValueError("the volume is constant: nothing to scale to [0, 1]")
    unit = (data - lo) / (hi - lo)  # training: min-max scaling of each volume
    predict = predict_fn(generator, options.device, options.batch_size,
                         Compute(options.precision, options.channels_last))
    out = np.moveaxis(predict_slices(predict, np.moveaxis(unit, axis, 0), options.batch_size), 0, axis)
    if options.scale == "input":
        out = out * (hi - lo) + lo
    return out, affine, notes
