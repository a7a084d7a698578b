"""Command line: `mrsr apply` runs a trained model of any experiment on a NIfTI volume, a folder of them or a
BIDS dataset and writes NIfTI outputs, each with a JSON sidecar naming the model, its training and the code; `mrsr
import-ixi` writes an ixi_sr subject sheet from a folder of IXI T2 volumes.

A model trained by the default workflow has seen only phantom data (simulated from the MNI152 2009
templates): on a real scan it can run, but nothing says its output is right. `apply` warns, naming the
difference, when the scan's voxel size (after upsampling) or the amount of background around the head
differs from what the model was trained on, and always says what the model was trained on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mrsr.apply import APPLIABLE, ApplyOptions, apply_model, mrsr_version


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mrsr", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mrsr {mrsr_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    apply = sub.add_parser("apply", help=f"apply a trained model (model.pt of {', '.join(APPLIABLE)}) to NIfTI volumes",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    apply.add_argument("--model", required=True, type=Path, help="a model.pt written by the workflow")
    apply.add_argument("--input", required=True, type=Path,
                       help="input NIfTI (e.g. a 7T volume), a folder (every *.nii / *.nii.gz in it; deepasl: its "
                            "*_asl series), or a BIDS dataset (a folder with dataset_description.json)")
    apply.add_argument("--output", required=True, type=Path,
                       help="output NIfTI to write (a sidecar .json beside it), or for a folder input an output "
                            "folder (<input name>_sr.nii.gz + .json each), or for a BIDS dataset a derivatives "
                            "folder (same layout, desc-<label> in each name, dataset_description.json)")
    apply.add_argument("--participant-label", nargs="+", default=None, metavar="LABEL",
                       help="BIDS input: only these subjects (labels with or without 'sub-')")
    apply.add_argument("--bids-suffix", default=None,
                       help="BIDS input: the files to take, by suffix (default: the experiment's: T1w for "
                            "field7to9 and dsgan, T2w for ixi_sr, asl for deepasl and asl_sr)")
    apply.add_argument("--t1w", default=None, type=Path,
                       help="asl_sr: the subject's T1w (default: found by BIDS naming in the anat folder beside the "
                            "ASL series' perf folder)")
    apply.add_argument("--upsample", type=int, default=None,
                       help="field7to9 and ixi_sr: upsample the input by this factor first (default: the model's, "
                            "e.g. 2 for 7T->9.4T; use 1 for an input already on the high-resolution grid)")
    apply.add_argument("--axis", type=int, default=None, help="slice axis (default: the model's)")
    apply.add_argument("--scale", choices=["input", "model"], default="input",
                       help="output intensities: 'input' undoes the training normalisation, so the output is on "
                            "the input's intensity scale (field7to9: values beyond the input's 0.1/99.9 percentiles "
                            "come back at those bounds); 'model' keeps the network's scale (field7to9: z-scores; "
                            "ixi_sr: [0, 1])")
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


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 a runtime error (one line naming the file or key), 2 a usage error (argparse)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "import-ixi":
            path = import_ixi(args.folder, args.sheet, args.site)
            print(f"wrote {path}")
            return 0
        options = ApplyOptions(upsample=args.upsample, axis=args.axis, scale=args.scale, device=args.device,
                               batch_size=args.batch_size, precision=args.precision,
                               channels_last=args.channels_last, t1w=str(args.t1w) if args.t1w else None)
        paths = apply_model(args.model, args.input, args.output, options, participants=args.participant_label,
                            bids_suffix=args.bids_suffix)
    except (ValueError, KeyError, FileNotFoundError, OSError) as error:
        print(f"mrsr: error: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"wrote {path} (+ .json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
