"""Training plan of the ixi_sr networks: budget keys of a method entry and the paper's schedule in updates."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

SCHEDULE_KEYS = ("constant_fraction", "decay_fraction", "final_factor")
BUDGET_KEYS = ("label", "batch_size", "max_updates", "stopping")  # method-entry keys that are not the trainer's


def schedule_in_passes(schedule: Mapping[str, Any], max_updates: int, n_batches: int) -> dict[str, float]:
    """The loop's per-pass schedule {constant_epochs, decay_epochs, final_factor} of a schedule given as fractions of
    max_updates (config ixi_sr.schedule; paper: 50 + 50 of 100 epochs = 0.5, 0.5), with n_batches updates a pass.

    The loop sets the learning rate once per pass over the data, so the constant phase is rounded up to whole passes
    (at least one): a budget of less than one pass trains at the constant rate throughout, never at the decayed one."""
    if set(schedule) != set(SCHEDULE_KEYS):
        raise ValueError(f"config ixi_sr.schedule: expected exactly the keys {SCHEDULE_KEYS}, got {sorted(schedule)}")
    if n_batches < 1 or max_updates < 1:
        raise ValueError(f"schedule_in_passes: needs max_updates >= 1 and n_batches >= 1, got {max_updates}, {n_batches}")
    passes = max_updates / n_batches
    return {"constant_epochs": float(max(1, math.ceil(float(schedule["constant_fraction"]) * passes - 1e-9))),
            "decay_epochs": float(schedule["decay_fraction"]) * passes,
            "final_factor": float(schedule["final_factor"])}


def trainer_method(entry: Mapping[str, Any], schedule: Mapping[str, float]) -> dict[str, Any]:
    """What the trainer gets of a config method entry: everything but its label and budget keys, plus the schedule."""
    return {**{k: v for k, v in entry.items() if k not in BUDGET_KEYS}, "schedule": dict(schedule)}
