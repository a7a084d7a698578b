"""Test-set predictions as NIfTI, to be opened in a viewer: each inference job writes, per test subject, the
predicted 2-D test slices stacked along the third axis (in the order of their source slice index) or a predicted
volume, as int16 with the NIfTI scale factor (a quantisation step of the file's range / 65535: for looking at, not
for scoring; every metric is computed from the float predictions), with a JSON sidecar naming the experiment, the
method, the subject and the source slices. Reference rows (no trained model) are not written: they are fixed
functions of the input. The folder's `predictions.json` lists what it holds."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mrsr.io import write_nifti_scaled, write_text

INDEX = "predictions.json"


def stack_affine(voxel_mm: Sequence[float], axis: int) -> np.ndarray:
    """Affine of slices taken along `axis` of a volume with voxel_mm and stacked along the third axis: the two
    in-plane voxel sizes, then the slice spacing."""
    voxel = [float(v) for v in voxel_mm]
    in_plane = [v for i, v in enumerate(voxel) if i != axis]
    return np.diag([*in_plane, voxel[axis], 1.0])


class PredictionWriter:
    """Collects one job's test-set predictions and writes them into `folder` (created, with its index, even when
    nothing is written: `enabled` False for a reference row)."""

    def __init__(self, folder: str | Path, experiment: str, method: str, *, enabled: bool = True) -> None:
        self.folder, self.experiment, self.method, self.enabled = Path(folder), experiment, method, enabled
        self.slices: dict[tuple[str, int], list[tuple[int, np.ndarray]]] = defaultdict(list)
        self.voxels: dict[tuple[str, int], tuple[float, ...]] = {}
        self.volumes: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}

    def add_slice(self, subject: str, index: int, image: np.ndarray, *, axis: int = 2,
                  voxel_mm: Sequence[float] = (1.0, 1.0, 1.0)) -> None:
        """A predicted 2-D test slice: source slice `index` along `axis` of the subject's volume (voxel_mm)."""
        if self.enabled:
            self.slices[(str(subject), int(axis))].append((int(index), np.asarray(image, np.float32)))
            self.voxels[(str(subject), int(axis))] = tuple(float(v) for v in voxel_mm)

    def add_volume(self, name: str, volume: np.ndarray, affine: np.ndarray, content: str = "predicted volume") -> None:
        """A predicted 3-D volume (file `name`, e.g. the subject), with its grid's affine and what it holds."""
        if self.enabled:
            self.volumes[str(name)] = (np.asarray(volume, np.float32), np.asarray(affine, np.float64), content)

    def _name(self, subject: str, axis: int) -> str:
        several = sum(1 for s, _ in self.slices if s == subject) > 1
        return f"{subject}_axis-{axis}" if several else subject

    def write(self) -> list[Path]:
        """Write every subject's NIfTI and sidecar, then the folder's index; returns the NIfTI paths."""
        self.folder.mkdir(parents=True, exist_ok=True)
        written, entries = [], []
        base = {"experiment": self.experiment, "method": self.method, "storage": "int16 with scale factor "
                "(quantisation step: the file's range / 65535); for viewing, metrics come from float predictions"}
        for (subject, axis), items in sorted(self.slices.items()):
            items = sorted(items, key=lambda item: item[0])
            path = self.folder / f"{self._name(subject, axis)}.nii.gz"
            write_nifti_scaled(path, np.stack([image for _, image in items], axis=2),
                               stack_affine(self.voxels[(subject, axis)], axis))
            card = {**base, "subject": subject, "content": "predicted test slices stacked along the third axis "
                    "(not a scanner-space volume)", "slice_axis": axis,
                    "source_slices": [index for index, _ in items]}
            write_text(path.with_name(path.name[:-7] + ".json"), json.dumps(card, indent=1))
            written.append(path)
            entries.append({"file": path.name, "subject": subject, "slices": len(items)})
        for name, (volume, affine, content) in sorted(self.volumes.items()):
            path = self.folder / f"{name}.nii.gz"
            write_nifti_scaled(path, volume, affine)
            write_text(path.with_name(path.name[:-7] + ".json"),
                       json.dumps({**base, "name": name, "content": content}, indent=1))
            written.append(path)
            entries.append({"file": path.name, "name": name, "shape": list(volume.shape)})
        index = {**base, "files": entries}
        if not self.enabled:
            index["note"] = "a reference row (no trained model): its output is a fixed function of the input, not written"
        write_text(self.folder / INDEX, json.dumps(index, indent=1))
        return written
