"""`mrsr apply` for field7to9 models: upsample the scan as the 7T inputs were, normalise as in training (percentile
clip-and-scale, z-score), predict every slice with dense patches and stitching, undo the normalisation."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from mrsr.apply import ApplyOptions, input_warnings
from mrsr.device import Compute
from mrsr.io import Volume
from mrsr.patches import predict_image
from mrsr.preprocess import (background_fraction, clip_bounds, clip_scale, invert_norm, normalise_zscore,
                             unclip_scale, upsample)
from mrsr.train import predict_fn
from mrsr.train.meta import ModelMeta

BIDS_SUFFIX = "T1w"  # the files of a BIDS dataset it takes (`mrsr apply --bids-suffix` overrides)
BIDS_DESC = "sr"  # desc entity of its outputs in the derivatives folder


def apply_volume(generator, meta: ModelMeta, volume: Volume,
                 options: ApplyOptions) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(output, its affine, warnings). options.scale 'input': values beyond the input's clip percentiles come back
    at those bounds; 'model': the model's z-scores."""
    settings = meta.inference
    factor = settings["upsample_factor"] if options.upsample is None else options.upsample
    data, affine = (volume.data, volume.affine) if factor == 1 else upsample(volume.data, volume.affine, factor)
    notes = input_warnings(meta.trained_on, Volume(data, affine).voxel_size[:3], background_fraction(volume.data))
    lo, hi = settings["clip_percentiles"]
    bounds = clip_bounds(data, lo, hi)
    normalised, stats = normalise_zscore(clip_scale(data, lo, hi, settings["scale_max"]))
    axis = settings["axes"][0] if options.axis is None else options.axis
    predict_batch = predict_fn(generator, options.device, options.batch_size,
                               Compute(options.precision, options.channels_last))
    slices = np.moveaxis(normalised, axis, 0)
    out = np.empty_like(slices)
    for i in tqdm(range(slices.shape[0]), desc=f"field7to9 {meta.method_key}", unit="slice"):
        out[i] = predict_image(predict_batch, slices[i], size=settings["patch_size"], stride=settings["stride"],
                               crop=settings["crop"], batch_size=options.batch_size)
    out = np.moveaxis(out, 0, axis)
    if options.scale == "input":
        out = unclip_scale(invert_norm(out, stats), bounds, settings["scale_max"])
    return out, affine, notes
