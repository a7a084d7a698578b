"""BIDS ASL files of one subject-sheet row (asl, aslcontext, m0[, mask]): the volume types, the control - label
pairs, M0 and the brain mask on the ASL grid. Arrays keep the NIfTI axis order (X, Y, Z)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrsr.io import NiftiError, read_mask, read_nifti

MASK_FRACTION = 0.2  # assumption: without a mask, brain = M0 above 20 % of its 99th percentile


@dataclass(frozen=True, eq=False)
class AslSeries:
    """One subject's acquired ASL: pairs (R, X, Y, Z) control - label, mean control, M0 and mask (X, Y, Z)."""

    pairs: np.ndarray
    control: np.ndarray
    m0: np.ndarray
    mask: np.ndarray
    affine: np.ndarray
    path: str

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
    share the ASL grid; errors name the file."""
    asl = read_nifti(row["asl"], ndim=4)
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
                     path=str(row["asl"]))
