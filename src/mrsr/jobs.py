"""The start of every workflow job script that runs a network: its log, torch threads, device, compute settings,
training seed and checkpoint policy, from the `snakemake` object Snakemake gives the script."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mrsr.device import Compute, select_device
from mrsr.runlog import log_to


@dataclass(frozen=True)
class Job:
    """log: the rule's log; device: the GPU the `gpu` resource asked for, else the CPU; compute: params.compute
    (precision, layout; default fp32 contiguous); seed: the `seed` wildcard (None without one); keep_checkpoints:
    the top-level config value (default False: checkpoints go once the model is written)."""

    log: logging.Logger
    device: Any
    compute: Compute
    seed: int | None
    keep_checkpoints: bool


def start_job(smk: Any) -> Job:
    """Log to the rule's log, give torch the rule's threads, pick the device; call first in a job script."""
    import torch

    log = log_to(smk.log[0])
    torch.set_num_threads(int(smk.threads))
    device = select_device(int(smk.resources.get("gpu", 0)))
    compute = Compute(**(smk.params.get("compute") or {}))
    seed = int(smk.wildcards["seed"]) if "seed" in smk.wildcards.keys() else None
    job = Job(log, device, compute, seed, bool(smk.config.get("keep_checkpoints", False)))
    log.info("device %s, %s, %d torch threads, seed %s", device, compute, int(smk.threads), seed)
    return job
