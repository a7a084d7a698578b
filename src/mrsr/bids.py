"""BIDS ASL files of one subject-sheet row (asl, aslcontext, m0[, mask]): the volume types, the control - label
pairs, M0 and the brain mask on the ASL grid, and the ASL series' sidecar JSON (labelling type, post-labelling delay,
labelling duration, M0 type) where there is one. Arrays keep the NIfTI axis order (X, Y, Z)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrsr.io import NiftiError, read_mask, read_nifti

MASK_FRACTION = 0.2  # assumption: without a mask, brain = M0 above 20 % of its 99th percentile
ASL_TYPES = ("PCASL", "CASL", "PASL")  # BIDS ArterialSpinLabelingType values
M0_IMAGE_TYPES = ("Separate", "Included")  # M0Type values for which an M0 image exists (the sheet's m0 column)


@dataclass(frozen=True)
class AslSidecar:
    """What an ASL series' BIDS sidecar JSON states (None where it is silent): ArterialSpinLabelingType (upper
    case), M0Type, PostLabelingDelay and LabelingDuration in seconds."""

    path: str
    asl_type: str | None = None
    m0_type: str | None = None
    pld: float | None = None
    labeling_duration: float | None = None


def sidecar_path(asl_path: str | Path) -> Path:
    """The BIDS sidecar of an ASL NIfTI: the same name with .json instead of .nii or .nii.gz."""
    asl_path = Path(asl_path)
    return asl_path.with_name(re.sub(r"\.nii(\.gz)?$", "", asl_path.name) + ".json")


def _seconds(meta: Mapping, key: str, where: Path) -> float | None:
    """A sidecar's time field in seconds: a number, or a list of equal numbers (one per volume); None if absent."""
    value = meta.get(key)
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ValueError(f"{where}: field {key} must be a non-negative number of seconds (or a list of them), "
                         f"got {value!r}")
    if len(set(float(v) for v in values)) > 1:
        raise ValueError(f"{where}: field {key} varies between volumes ({sorted(set(values))}): multi-delay ASL "
                         "is not supported (one post-labelling delay and labelling duration per series)")
    return float(values[0])


def read_asl_sidecar(asl_path: str | Path) -> AslSidecar | None:
    """The sidecar JSON beside an ASL NIfTI, or None if there is none; errors name the file and the field."""
    path = sidecar_path(asl_path)
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a JSON object (a BIDS sidecar)")
    kind = meta.get("ArterialSpinLabelingType")
    if kind is not None and str(kind).upper() not in ASL_TYPES:
        raise ValueError(f"{path}: field ArterialSpinLabelingType must be one of {', '.join(ASL_TYPES)}, "
                         f"got {kind!r}")
    return AslSidecar(path=str(path), asl_type=None if kind is None else str(kind).upper(),
                      m0_type=meta.get("M0Type"), pld=_seconds(meta, "PostLabelingDelay", path),
                      labeling_duration=_seconds(meta, "LabelingDuration", path))



def check_sidecar(sidecar: AslSidecar | None, *, asl_types: Sequence[str], experiment: str) -> None:
    """ValueError naming the sidecar file and field where it contradicts what the experiment models: a labelling
    type outside asl_types, or an M0Type without an M0 image."""
    if sidecar is None:
        return
    if sidecar.asl_type is not None and sidecar.asl_type not in asl_types:
        raise ValueError(f"{sidecar.path}: field ArterialSpinLabelingType is {sidecar.asl_type!r}, but {experiment} "
                         f"models {' or '.join(asl_types)} data")
    if sidecar.m0_type is not None and sidecar.m0_type not in M0_IMAGE_TYPES:
        raise ValueError(f"{sidecar.path}: field M0Type is {sidecar.m0_type!r}, but {experiment} needs an M0 image "
                         f"(M0Type {' or '.join(M0_IMAGE_TYPES)}; the subject sheet's m0 column)")


@dataclass(frozen=True, eq=False)
class AslSeries:
    """One subject's acquired ASL: pairs (R, X, Y, Z) control - label, mean control, M0 and mask (X, Y, Z)."""

    pairs: np.ndarray
    control: np.ndarray
    m0: np.ndarray
    mask: np.ndarray
    affine: np.ndarray
    path: str
    sidecar: AslSidecar | None = None

    @property
    def voxel_size(self) -> tuple[float, float, float]:
        """Voxel edge lengths (mm) from the affine's column norms."""
        return tuple(float(v) for v in np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0)))

    @property
    def perfusion(self) -> np.ndarray:
        """The averaged perfusion image: mean over the control - label pairs."""
        return self.pairs.mean(axis=0).astype(np.float32)


def read_aslcontext(path: str | Path) -> list[str]:
    """Volume types of a BIDS aslcontext.tsv (column volume_type), lower case."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or "volume_type" not in rows[0]:
        raise ValueError(f"{path}: expected a TSV with a 'volume_type' column (BIDS aslcontext.tsv)")
    return [(r["volume_type"] or "").strip().lower() for r in rows]


def volume_indices(context: list[str], kind: str) -> list[int]:
    """Positions of the volumes of one type ('control', 'label', ...) in an aslcontext."""
    return [i for i, t in enumerate(context) if t == kind]


def bids_pairs(asl: np.ndarray, context: list[str], where: str) -> np.ndarray:
    """(R, X, Y, Z) control - label pairs of a 4-D ASL series, the i-th control with the i-th label."""
    if asl.ndim != 4 or asl.shape[3] != len(context):
        raise ValueError(f"{where}: the series has shape {asl.shape}, which does not match the {len(context)} "
                         "aslcontext rows (expected one row per volume)")
    control, label = volume_indices(context, "control"), volume_indices(context, "label")
    if not control or len(control) != len(label):
        raise ValueError(f"{where}: needs equal numbers of control and label volumes, got {len(control)} "
                         f"and {len(label)}")
    return np.stack([asl[..., c] - asl[..., lab] for c, lab in zip(control, label)])


def read_asl_series(row: Mapping[str, str]) -> AslSeries:
    """Read a sheet row's asl (4-D), aslcontext, m0 (3-D or 4-D, averaged) and optional mask, all checked to
    share the ASL grid, and the ASL series' sidecar JSON if it has one; errors name the file."""
    asl = read_nifti(row["asl"], ndim=4)
    sidecar = read_asl_sidecar(row["asl"])
    context = read_aslcontext(row["aslcontext"])
    where = f"{row['asl']} with {row['aslcontext']}"
    pairs = bids_pairs(asl.data, context, where)
    m0 = read_nifti(row["m0"], ndim=(3, 4))
    if m0.data.shape[:3] != asl.data.shape[:3]:
        raise NiftiError(f"{row['m0']}: shape {m0.data.shape[:3]} differs from the ASL grid {asl.data.shape[:3]} "
                         f"of {row['asl']}")
    m0_data = m0.data.mean(axis=3) if m0.data.ndim == 4 else m0.data
    if row.get("mask"):
        mask = read_mask(row["mask"], like=asl).data
    else:
        mask = m0_data > MASK_FRACTION * np.percentile(m0_data, 99)
    control = asl.data[..., volume_indices(context, "control")].mean(axis=3)
    return AslSeries(pairs=pairs.astype(np.float32), control=control.astype(np.float32),
                     m0=m0_data.astype(np.float32), mask=np.asarray(mask, bool), affine=asl.affine,
                     path=str(row["asl"]), sidecar=sidecar)


def bids_files(asl_path: str | Path) -> dict[str, str]:
    """The sheet row of a BIDS ASL series: its aslcontext and M0 files by BIDS naming, or a ValueError naming the
    file that is missing."""
    asl_path = Path(asl_path)
    match = re.match(r"^(.*)_asl\.nii(\.gz)?$", asl_path.name)
    if not match:
        raise ValueError(f"{asl_path}: ASL models take a BIDS ASL series named <prefix>_asl.nii[.gz] (its "
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


def find_t1w(asl_path: str | Path) -> Path:
    """The T1w of a BIDS ASL series' subject (and session): the one `*_T1w.nii[.gz]` in the `anat` folder beside
    its `perf` folder whose name starts with the series' sub-/ses- entities, or a ValueError saying to give one."""
    asl_path = Path(asl_path)
    entities = [e for e in asl_path.name.split("_") if e.startswith(("sub-", "ses-"))]
    prefix = "_".join(entities)
    anat = asl_path.parent.parent / "anat"
    found = sorted(p for p in anat.glob(f"{prefix}*_T1w.nii*") if p.name.endswith((".nii", ".nii.gz"))) \
        if prefix and anat.is_dir() else []
    if len(found) != 1:
        what = "no" if not found else f"{len(found)} ({', '.join(p.name for p in found)})"
        raise ValueError(f"{asl_path}: {what} T1w found by BIDS naming ({anat}/{prefix or 'sub-<label>'}*_T1w.nii.gz); "
                         "give the T1w with --t1w")
    return found[0]
