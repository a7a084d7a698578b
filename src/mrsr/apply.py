"""Apply a trained model to new scans: one NIfTI file or a folder of them, one NIfTI output each with a JSON
sidecar saying what produced it. Each experiment whose models take a new scan has a module
`mrsr.experiments.<key>.apply` with `apply_volume(generator, meta, volume, options) -> (data, affine, warnings)`
(and INPUT_NDIM where its input is not a 3-D volume);
the shared code here loads the model, finds the inputs, warns about unlike scans and writes the outputs."""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# experiments whose models `mrsr apply` runs on a new scan (each has mrsr/experiments/<key>/apply.py)
APPLIABLE = ("field7to9", "ixi_sr", "dsgan", "deepasl", "asl_sr")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
VOXEL_TOLERANCE = 0.25  # relative voxel-size difference that triggers a warning
BACKGROUND_RATIO = 0.5  # warn when the scan has less than half the training data's background fraction


@dataclass(frozen=True)
class ApplyOptions:
    """upsample: the input's upsampling factor (None: the model's); axis: slice axis (None: the model's);
    scale: 'input' (outputs on the input's intensity scale) or 'model' (the network's own scale); device, batch
    size, precision (fp32 / bf16) and memory layout of the inference; t1w: the T1w of an ASL input (asl_sr; None:
    found by BIDS naming)."""

    upsample: int | None = None
    axis: int | None = None
    scale: str = "input"
    device: str = "cpu"
    batch_size: int = 64
    precision: str = "fp32"
    channels_last: bool = False
    t1w: str | None = None


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
                     "intensity normalisation assumes a head surrounded by air")
    return notes


def nifti_stem(path: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def plan_outputs(input_path: Path, output_path: Path, *, pattern: str = "*",
                 suffix: str = "_sr") -> list[tuple[Path, Path]]:
    """(input, output) pairs: a file to a file, or every NIfTI of a folder whose name matches `pattern` (glob) to
    `<stem><suffix>.nii.gz` in a folder."""
    if input_path.is_dir():
        inputs = sorted(p for p in input_path.glob(pattern) if p.is_file() and p.name.endswith(NIFTI_SUFFIXES))
        if not inputs:
            what = "NIfTI files (*.nii, *.nii.gz)" if pattern == "*" else f"NIfTI files matching {pattern}"
            raise ValueError(f"{input_path}: a folder without {what}")
        if output_path.exists() and not output_path.is_dir():
            raise ValueError(f"{output_path}: the input is a folder, so the output must be a folder, not a file")
        return [(p, output_path / f"{nifti_stem(p)}{suffix}.nii.gz") for p in inputs]
    if not input_path.is_file():
        raise ValueError(f"input {input_path} does not exist")
    if not output_path.name.endswith(NIFTI_SUFFIXES):
        raise ValueError(f"output {output_path}: give a file name ending in .nii or .nii.gz")
    return [(input_path, output_path)]


BIDS_NAME = re.compile(r"^(sub-[A-Za-z0-9]+(?:_[a-z]+-[A-Za-z0-9]+)*)_([A-Za-z0-9]+)\.nii(\.gz)?$")


def is_bids_root(path: Path) -> bool:
    """A folder with a dataset_description.json: a BIDS dataset (raw or derivative)."""
    return path.is_dir() and (path / "dataset_description.json").is_file()


def derivative_name(name: str, desc: str) -> str:
    """A BIDS file name with its desc entity set (inserted before the suffix, or replacing one), as .nii.gz."""
    match = BIDS_NAME.match(name)
    if not match:
        raise ValueError(f"{name}: not a BIDS file name (sub-<label>[_<key>-<value>...]_<suffix>.nii[.gz])")
    entities = [e for e in match.group(1).split("_") if not e.startswith("desc-")]
    return "_".join([*entities, f"desc-{desc}", match.group(2)]) + ".nii.gz"


def plan_bids(root: Path, output: Path, *, bids_suffix: str, desc: str,
              participants: list[str] | None = None) -> list[tuple[Path, Path]]:
    """(input, output) pairs of a BIDS dataset: every `*_<bids_suffix>.nii[.gz]` under its sub-<label> folders
    (only the given participant labels, with or without 'sub-'), each to the same relative path under the
    derivatives folder `output` with desc-<desc> in its name."""
    subjects = sorted(p for p in root.glob("sub-*") if p.is_dir())
    if participants:
        wanted = {label.removeprefix("sub-") for label in participants}
        missing = sorted(wanted - {p.name.removeprefix("sub-") for p in subjects})
        if missing:
            raise ValueError(f"{root}: no folder for participant label(s) {', '.join(missing)} (found "
                             f"{', '.join(p.name for p in subjects) or 'none'})")
        subjects = [p for p in subjects if p.name.removeprefix("sub-") in wanted]
    pairs = []
    for subject in subjects:
        for source in sorted(subject.rglob(f"*_{bids_suffix}.nii*")):
            if source.is_file() and source.name.endswith(NIFTI_SUFFIXES):
                relative = source.relative_to(root)
                pairs.append((source, output / relative.parent / derivative_name(source.name, desc)))
    if not pairs:
        raise ValueError(f"{root}: a BIDS dataset without *_{bids_suffix}.nii[.gz] files"
                         + (f" for participant(s) {', '.join(participants)}" if participants else ""))
    return pairs


def dataset_description(root: Path) -> dict:
    """dataset_description.json of the derivatives folder `mrsr apply` writes for a BIDS input."""
    return {"Name": f"mrsr apply outputs of {root.name}", "BIDSVersion": "1.9.0", "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "mrsr", "Version": mrsr_version(),
                             "Description": "mrsr apply: a trained model run on each scan (sidecar JSON per file)"}],
            "SourceDatasets": [{"URL": root.resolve().as_uri()}]}


def mrsr_version() -> str:
    """The installed mrsr package's version (`mrsr --version` and the derivatives' GeneratedBy)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mrsr")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


@dataclass(frozen=True)
class Applier:
    """An experiment's apply module: apply_volume, the NIfTI dimensions it takes (INPUT_NDIM, default 3), the
    files of a folder it takes (INPUT_PATTERN, a glob; default every NIfTI), its outputs' name suffix
    (OUTPUT_SUFFIX, default '_sr'), and for a BIDS dataset the file suffix it takes (BIDS_SUFFIX) and the desc
    label of its outputs (BIDS_DESC, default 'sr'); load_model(path, device) -> (generator, method, meta), default
    mrsr.train.load_model (asl_sr loads no network: it trains one on each scan)."""

    apply_volume: Callable
    load_model: Callable
    ndim: int = 3
    pattern: str = "*"
    suffix: str = "_sr"
    bids_suffix: str | None = None
    bids_desc: str = "sr"


def applier(experiment: str, model_path: Path) -> Applier:
    """The experiment's apply module, or a ValueError naming the model and the experiments that can be applied."""
    if experiment not in APPLIABLE:
        raise ValueError(f"model file {model_path}: {experiment!r} models are not applied to new scans by "
                         f"`mrsr apply` (it runs models of {', '.join(APPLIABLE)})")
    from mrsr.train import load_model

    module = importlib.import_module(f"mrsr.experiments.{experiment}.apply")
    return Applier(module.apply_volume, getattr(module, "load_model", load_model),
                   int(getattr(module, "INPUT_NDIM", 3)), getattr(module, "INPUT_PATTERN", "*"),
                   getattr(module, "OUTPUT_SUFFIX", "_sr"), getattr(module, "BIDS_SUFFIX", None),
                   getattr(module, "BIDS_DESC", "sr"))


def sidecar(model_path: Path, input_path: Path, meta, options: ApplyOptions, settings: dict,
            notes: list[str] | tuple = ()) -> dict:
    """What produced an output: the input, the model (experiment, method, seed, training record, training data,
    the code that trained it), the inference settings and code of this run and the warnings it printed."""
    from mrsr.provenance import provenance

    return {
        "Sources": [str(input_path.resolve())],
        "model": {"path": str(model_path.resolve()), "experiment": meta.experiment, "method": meta.method_key,
                  "seed": meta.seed, "parameters": meta.params, "trained_on": meta.trained_on,
                  "training": {k: meta.training.get(k) for k in ("updates", "max_updates", "plateau_reached",
                                                                  "plateau_update") if k in meta.training},
                  "code": meta.provenance.get("code")},
        "inference": {**settings, **asdict(options)},
        "warnings": list(notes),
        "provenance": provenance(),
    }


def apply_model(model_path: Path, input_path: Path, output_path: Path,
                options: ApplyOptions = ApplyOptions(), *, participants: list[str] | None = None,
                bids_suffix: str | None = None) -> list[Path]:
    """Run the model on the input file, every NIfTI of a folder, or the scans of a BIDS dataset (a folder with
    a dataset_description.json: its `*_<bids_suffix>` files, default the experiment's, of the given participants,
    written as a BIDS derivatives folder); write each output and its .json sidecar atomically; return the outputs."""
    from tqdm import tqdm

    from mrsr.io import read_nifti, write_nifti, write_text
    from mrsr.train.io import model_meta

    model_path, input_path, output_path = Path(model_path), Path(input_path), Path(output_path)
    found = applier(model_meta(model_path).experiment, model_path)  # before building any network
    generator, _method, meta = found.load_model(model_path, device=options.device)
    settings = meta.require_inference(model_path)
    if is_bids_root(input_path):
        suffix = bids_suffix or found.bids_suffix
        if not suffix:
            raise ValueError(f"{input_path}: a BIDS dataset; give --bids-suffix (the file suffix to take, e.g. T1w)")
        pairs = plan_bids(input_path, output_path, bids_suffix=suffix, desc=found.bids_desc,
                          participants=participants)
        write_text(output_path / "dataset_description.json",
                   json.dumps(dataset_description(input_path), indent=1))
    elif participants or bids_suffix:
        raise ValueError(f"{input_path}: --participant-label and --bids-suffix need a BIDS dataset (a folder with a "
                         "dataset_description.json)")
    else:
        pairs = plan_outputs(input_path, output_path, pattern=found.pattern, suffix=found.suffix)
    if options.t1w and len(pairs) > 1:
        raise ValueError(f"--t1w {options.t1w} names one T1w but {input_path} holds {len(pairs)} scans: give one "
                         "scan, or leave --t1w out so that each subject's T1w is found by BIDS naming")
    written = []
    for source, target in tqdm(pairs, desc=f"apply {meta.experiment} {meta.method_key}", unit="scan",
                               disable=len(pairs) == 1):
        volume = read_nifti(source, ndim=found.ndim)
        data, affine, notes = found.apply_volume(generator, meta, volume, options)
        for note in notes:
            print(f"mrsr: warning: {source}: {note}", file=sys.stderr)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_nifti(target, np.asarray(data, dtype=np.float32), affine)
        write_text(target.with_name(nifti_stem(target) + ".json"),
                   json.dumps(sidecar(model_path, source, meta, options, settings, notes), indent=1, default=str))
        written.append(target)
    return written
