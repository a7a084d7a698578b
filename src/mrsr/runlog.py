"""Logging for workflow scripts: everything (logging, warnings, tqdm, tracebacks) goes to the rule's log."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

# Where a job ran and what the scheduler gave it: the first line of every rule's log.
SCHEDULER_VARS = ("SLURM_JOB_ID", "SLURM_GPUS_ON_NODE", "CUDA_VISIBLE_DEVICES")


def log_to(path: str | Path) -> logging.Logger:
    """Send logging and stderr of this process to `path`; return the 'mrsr' logger."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "w", buffering=1)
    sys.stderr = handle
    logging.basicConfig(
        stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
    logging.captureWarnings(True)
    logger = logging.getLogger("mrsr")
    logger.info("%s", job_environment())
    return logger


def job_environment() -> str:
    """One line naming the host and the scheduler variables (SLURM job, GPUs, visible devices)."""
    values = " ".join(f"{name}={os.environ.get(name, '-')}" for name in SCHEDULER_VARS)
    return f"host={socket.gethostname()} {values}"
