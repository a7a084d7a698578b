"""Device selection (CPU / CUDA with per-GPU locks) and global seeding."""

from __future__ import annotations

import fcntl
import os
import random
import tempfile
import warnings
from pathlib import Path
from typing import IO

import numpy as np

# Open lock files, keyed by lock directory: kept open so the flock lives as long as the process.
_HELD: dict[str, tuple[int, IO]] = {}

LOCK_DIR_ENV = "MRSR_GPU_LOCK_DIR"


def default_lock_dir() -> Path:
    """Directory of the per-GPU lock files ($MRSR_GPU_LOCK_DIR, else <tmp>/mrsr-gpu-locks)."""
    return Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / "mrsr-gpu-locks")


def acquire_gpu_lock(n_gpus: int, lock_dir: str | Path) -> int | None:
    """Lock the first free GPU index in [0, n_gpus) for this process's lifetime; None if all are taken."""
    key = str(Path(lock_dir).resolve())
    if key in _HELD:  # idempotent: one process holds at most one GPU per lock directory
        return _HELD[key][0]
    Path(lock_dir).mkdir(parents=True, exist_ok=True)
    for index in range(n_gpus):
        path = Path(lock_dir) / f"gpu-{index}.lock"
        try:
            handle = open(path, "a+")
        except OSError:
            continue
        try:
            # flock locks belong to the open file description: released when the process dies.
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _HELD[key] = (index, handle)
        return index
    return None


def _scheduler_assigns_devices() -> bool:
    """True under SLURM or when CUDA_VISIBLE_DEVICES was set by someone else."""
    return bool(os.environ.get("SLURM_JOB_ID")) or "CUDA_VISIBLE_DEVICES" in os.environ


def select_device(gpu_resource: int, lock_dir: str | Path | None = None):
    """torch.device for a job given its Snakemake `gpu` resource; CPU unless gpu>0 and CUDA exists."""
    import torch

    if int(gpu_resource or 0) <= 0 or not torch.cuda.is_available():
        return torch.device("cpu")
    if _scheduler_assigns_devices():
        return torch.device("cuda:0")
    index = acquire_gpu_lock(torch.cuda.device_count(), lock_dir or default_lock_dir())
    if index is None:
        # assumption: more GPU jobs than GPUs (e.g. --resources gpu larger than the device count);
        # share cuda:0 rather than fail or wait forever.
        warnings.warn("all GPUs are locked by other mrsr jobs; sharing cuda:0", stacklevel=2)
        index = 0
    return torch.device(f"cuda:{index}")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU + CUDA) and request deterministic kernels."""
    import torch

    # cuBLAS needs this for deterministic GEMMs; must be set before the first CUDA call.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
