"""Command line: `mrsr apply` runs a trained model on a new NIfTI volume; `mrsr import-ixi` writes an
ixi_sr subject sheet from a folder of IXI T2 volumes.

A model trained by the default workflow has seen only phantom data (simulated from the MNI152 2009
templates): on a real scan it can run, but nothing says its output is right. `apply` warns, naming the
difference, when the scan's voxel size (after upsampling) or the amount of background around the head
differs from what the model was trained on, and always says what the model was trained on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mrsr")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mrsr", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mrsr {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    apply = sub.add_parser("apply", help="apply a trained model (model.pt) to a NIfTI volume",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    apply.add_argument("--model", required=True, type=Path, help="a model.pt written by the workflow")
    apply.add_argument("--input", required=True, type=Path, help="input NIfTI (e.g. a 7T volume)")
    apply.add_argument("--output", required=True, type=Path, help="output NIfTI to write")
    apply.add_argument("--upsample", type=int, default=None,
                       help="upsample the input by this factor first (default: the model's, e.g. 2 for 7T->9.4T; "
                            "use 1 for an input already on the high-resolution grid)")
    apply.add_argument("--axis", type=int, default=None, help="slice axis (default: the model's first)")
    apply.add_argument("--scale", choices=["input", "zscore"], default="input",
                       help="output intensities: 'input' undoes the z-score and the percentile clip-and-scale, so "
                            "the output is on the input's intensity scale (values beyond the input's 0.1/99.9 "
                            "percentiles come back at those bounds); 'zscore' keeps the model's z-scores")
    apply.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1)")
    apply.add_argument("--batch-size", type=int, default=64)
    apply.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                       help="fp32, or bf16 autocast (faster on CPUs with bf16 instructions and on GPUs)")
    apply.add_argument("--channels-last", action="store_true", help="NHWC memory layout for the convolutions")
    ixi = sub.add_parser("import-ixi", help="write an ixi_sr subject sheet from a folder of IXI*-T2.nii.gz files")
    ixi.add_argument("folder", type=Path, help="folder holding IXI T2 volumes (e.g. IXI002-Guys-0828-T2.nii.gz)")
    ixi.add_argument("sheet", type=Path, help="subject sheet (TSV) to write; paths in it are relative to it")
    ixi.add_argument("--site", default=None, help="keep one site only (the paper: Guys, Philips 1.5T)")
    return parser


VOXEL_TOLERANCE = 0.25  # relative voxel-size difference that triggers a warning
BACKGROUND_RATIO = 0.5  # warn when the scan has less than half the training data's background fraction


def input_warnings(trained_on: dict, voxel_mm: tuple[float, ...], background: float) -> list[str]:
    """Differences between a scan (voxel size on the model's grid, background fraction) and the training data."""
    notes = []
    if trained_on.get("data"):
        notes.append(f"the model was trained on {trained_on.get('contrast', 'unknown contrast')} images, "
                     f"{trained_on['data']}, experiment {trained_on.get('experiment', '?')}")
    want = trained_on.get("voxel_mm")
    if want and any(abs(v - w) > VOXEL_TOLERANCE * w for v, w in zip(voxel_mm, want)):
        got = "x".join(f"{v:.3g}" for v in voxel_mm)
        notes.append(f"voxel size {got} mm after upsampling differs from the training grid's "
                     f"{'x'.join(f'{w:.3g}' for w in want)} mm by more than {VOXEL_TOLERANCE:.0%}")
    trained_bg = trained_on.get("background_fraction")
    if trained_bg and background < BACKGROUND_RATIO * trained_bg:
        notes.append(f"only {background:.0%} of the scan is background (training volumes: {trained_bg:.0%}); the "
                     "percentile clipping and min/max normalisation assume a head surrounded by air")
    return notes


def import_ixi(folder: Path, sheet: Path, site: str | None = None) -> Path:
    """Write the ixi_sr subject sheet (subject, t2w, site) of an IXI folder; t2w paths relative to the sheet."""
    import os

    from mrsr.experiments.ixi_sr.data import ixi_rows
    from mrsr.sheets import write_sheet

    rows = ixi_rows(folder, site)
    sheet = sheet.resolve()
    for row in rows:
        row["t2w"] = os.path.relpath((folder / row["t2w"]).resolve(), sheet.parent)
    write_sheet(sheet, rows)
    return sheet


def apply_model(model_path: Path, input_path: Path, output_path: Path, *, upsample_factor: int | None = None,
                axis: int | None = None, scale: str = "input", device: str = "cpu", batch_size: int = 64,
                precision: str = "fp32", channels_last: bool = False) -> Path:
    """Normalise as in training, predict every slice with dense patches + stitching, write a NIfTI."""
    import torch
    from tqdm import tqdm

    from mrsr.device import Compute
    from mrsr.io import Volume, read_nifti, write_nifti
    from mrsr.patches import predict_image
    from mrsr.preprocess import (background_fraction, clip_bounds, clip_scale, invert_norm, normalise_zscore,
                                 unclip_scale, upsample)
    from mrsr.train import load_model, predict_fn

    generator, _method, meta = load_model(model_path, device=device)
    settings = meta.get("inference")
    if not settings:
        raise ValueError(f"{model_path}: no 'inference' settings in the model's metadata (was it written by mrsr?)")
    volume = read_nifti(input_path)
    factor = settings["upsample_factor"] if upsample_factor is None else upsample_factor
    data, affine = (volume.data, volume.affine) if factor == 1 else upsample(volume.data, volume.affine, factor)
    for note in input_warnings(meta.get("trained_on", {}), Volume(data, affine).voxel_size[:3],
                               background_fraction(volume.data)):
        print(f"mrsr: warning: {input_path}: {note}", file=sys.stderr)
    lo, hi = settings["clip_percentiles"]
    bounds = clip_bounds(data, lo, hi)
    normalised, stats = normalise_zscore(clip_scale(data, lo, hi, settings["scale_max"]))
    axis = settings["axes"][0] if axis is None else axis
    predict_batch = predict_fn(generator, torch.device(device), batch_size, Compute(precision, channels_last))
    slices = np.moveaxis(normalised, axis, 0)
    out = np.empty_like(slices)
    for i in tqdm(range(slices.shape[0]), desc=f"apply {model_path.parent.parent.name}", unit="slice"):
        out[i] = predict_image(predict_batch, slices[i], size=settings["patch_size"], stride=settings["stride"],
                               crop=settings["crop"], batch_size=batch_size)
    out = np.moveaxis(out, 0, axis)
    if scale == "input":
        out = unclip_scale(invert_norm(out, stats), bounds, settings["scale_max"])
    write_nifti(output_path, out.astype(np.float32), affine)
    return output_path


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 a runtime error (one line naming the file or key), 2 a usage error (argparse)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "import-ixi":
            path = import_ixi(args.folder, args.sheet, args.site)
            print(f"wrote {path}")
            return 0
        path = apply_model(args.model, args.input, args.output, upsample_factor=args.upsample, axis=args.axis,
                           scale=args.scale, device=args.device, batch_size=args.batch_size,
                           precision=args.precision, channels_last=args.channels_last)
    except (ValueError, KeyError, FileNotFoundError, OSError) as error:
        print(f"mrsr: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
