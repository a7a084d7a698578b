"""The metadata every trained model carries (`model.pt`): one type, written by every trainer's job script and
read by the workflow's inference scripts and by `mrsr apply`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrsr.provenance import provenance

REQUIRED = ("experiment", "method_key")
FIELDS = ("experiment", "method_key", "seed", "params", "training", "trained_on", "inference", "extra", "provenance")


def plain(value: Any) -> Any:
    """Convert NumPy scalars/arrays, paths and tuples to plain Python so the file loads with weights_only=True."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value


@dataclass
class ModelMeta:
    """What a trained model is and how it was made.

    experiment: the experiment key (field7to9, deepasl, ixi_sr, dsgan, asl_sr); method_key: the method's config key
    (or construction / variant); seed: the training seed; params: generator parameters (set by the writer from the
    network itself); training: the trainer's record (updates, plateau, validation vs reference); trained_on: the
    data the model saw (what `mrsr apply` compares a scan with); inference: the settings a new scan needs (None: the
    experiment's models are not applied to new scans); extra: experiment-specific keys (fold, dataset, subject...);
    provenance: code, packages and platform (mrsr.provenance), filled in when the model is written.
    """

    experiment: str
    method_key: str
    seed: int | None = None
    params: int | None = None
    training: dict = field(default_factory=dict)
    trained_on: dict = field(default_factory=dict)
    inference: dict | None = None
    extra: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain-Python form for torch.save(weights_only loading); provenance of this process if none is set."""
        return plain({name: getattr(self, name) for name in FIELDS} | {"provenance": self.provenance or provenance()})

    @classmethod
    def from_dict(cls, blob: Mapping[str, Any], source: str | Path) -> ModelMeta:
        """Validate a stored metadata mapping; keys of older files outside the fields land in `extra`."""
        if not isinstance(blob, Mapping):
            raise ValueError(f"model file {source}: its 'meta' is a {type(blob).__name__}, not a mapping")
        missing = [key for key in REQUIRED if not blob.get(key)]
        if missing:
            raise ValueError(f"model file {source}: its metadata lacks {missing} (was it written by mrsr?)")
        known = {name: blob[name] for name in FIELDS if name in blob and name != "extra"}
        extra = {**{k: v for k, v in blob.items() if k not in FIELDS}, **dict(blob.get("extra") or {})}
        return cls(**known, extra=extra)

    def require_inference(self, source: str | Path) -> dict:
        """The inference settings, or a ValueError naming the file when the model has none."""
        if not self.inference:
            raise ValueError(f"model file {source}: experiment {self.experiment!r} model {self.method_key!r} has no "
                             "'inference' settings in its metadata, so it cannot be applied to new scans")
        return self.inference
