"""Learning-rate schedules as config values (a method's `schedule` key), applied by the training loop per epoch.

`{constant_epochs: C, decay_epochs: D, final_factor: f}`: the base lr for epochs 1..C, then a linear
decay reaching base * f at epoch C + D (and kept there). Lyu et al. 2019: lr 1e-4 for epochs 1-50,
linear decay to 2e-6 over epochs 51-100 = {constant_epochs: 50, decay_epochs: 50, final_factor: 0.02}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

SCHEDULE_KEYS = ("constant_epochs", "decay_epochs", "final_factor")


def check_schedule(schedule: Mapping[str, Any]) -> dict[str, float]:
    """Validated schedule dict; ValueError naming the method key 'schedule' otherwise."""
    if not isinstance(schedule, Mapping) or set(schedule) != set(SCHEDULE_KEYS):
        raise ValueError(f"method key 'schedule' must be a mapping with exactly the keys {SCHEDULE_KEYS}, "
                         f"got {schedule!r}")
    out = {k: float(schedule[k]) for k in SCHEDULE_KEYS}
    if out["constant_epochs"] < 0 or out["decay_epochs"] < 0 or not 0 <= out["final_factor"]:
        raise ValueError(f"method key 'schedule': epochs must be >= 0 and final_factor >= 0, got {schedule!r}")
    return out


def lr_factor(schedule: Mapping[str, Any] | None, epoch: int) -> float:
    """Multiplier of the base learning rate for 1-based `epoch` (1.0 without a schedule)."""
    if schedule is None:
        return 1.0
    s = check_schedule(schedule)
    past = epoch - s["constant_epochs"]
    if past <= 0:
        return 1.0
    if s["decay_epochs"] == 0 or past >= s["decay_epochs"]:
        return s["final_factor"]
    return 1.0 + (s["final_factor"] - 1.0) * past / s["decay_epochs"]


def optimizers(trainer: object) -> list[torch.optim.Optimizer]:
    """Every torch optimiser held as an attribute of a trainer (opt_g, opt_d, optimizer, ...)."""
    return [v for v in vars(trainer).values() if isinstance(v, torch.optim.Optimizer)]


def apply_schedule(trainer: object, schedule: Mapping[str, Any] | None, epoch: int) -> float:
    """Set lr = initial_lr * lr_factor(epoch) in every param group of the trainer's optimisers; return the factor."""
    factor = lr_factor(schedule, epoch)
    for opt in optimizers(trainer):
        for group in opt.param_groups:
            group.setdefault("initial_lr", group["lr"])  # saved with the optimiser state, so resumes keep it
            group["lr"] = group["initial_lr"] * factor
    return factor
