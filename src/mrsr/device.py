"""Device selection (CPU / CUDA with per-GPU locks), global seeding, and numeric precision / memory layout."""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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


# ---------------------------------------------------------------- precision and memory layout

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class Compute:
    """How tensors are computed: `precision` fp32 (plain) or bf16 (autocast mixed precision) and the memory
    layout (`channels_last` for NHWC convolutions). Parameters, optimiser state, checkpoints and saved
    models stay fp32 in every setting; the default (fp32, contiguous) changes nothing at all."""

    precision: str = "fp32"
    channels_last: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"config key 'compute.precision' must be one of {', '.join(PRECISIONS)}, "
                             f"got {self.precision!r}")
        if not isinstance(self.channels_last, bool):
            raise ValueError(f"config key 'compute.channels_last' must be true or false, got {self.channels_last!r}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None, method: Mapping[str, Any] | None = None) -> Compute:
        """Compute from an experiment's config section (its optional `compute` mapping), each key overridden by
        the method entry's own optional `compute` where given; defaults otherwise."""
        merged: dict[str, Any] = {}
        for where, part in (("compute", section), ("method's compute", method)):
            compute = (part or {}).get("compute") or {}
            unknown = sorted(set(compute) - {"precision", "channels_last"})
            if unknown:
                raise ValueError(f"config key '{where}' has unknown key(s) {unknown}; expected precision, "
                                 "channels_last")
            merged.update(compute)
        return cls(**merged)

    @property
    def is_default(self) -> bool:
        """True for plain fp32 in the contiguous layout (the behaviour before this setting existed)."""
        return self == Compute()

    def memory_format(self, ndim: int = 4) -> Any:
        """The layout of an ndim-rank tensor: channels-last (NHWC for 4-D, NDHWC for 5-D) where set, else
        torch.contiguous_format (also for ranks that have no channels-last layout)."""
        import torch

        if not self.channels_last:
            return torch.contiguous_format
        return {4: torch.channels_last, 5: torch.channels_last_3d}.get(ndim, torch.contiguous_format)

    def autocast(self, device: Any) -> contextlib.AbstractContextManager:
        """Context for forward passes: bf16 autocast on device's type, or nothing at all for fp32."""
        import torch

        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)

    def module(self, module: Any) -> Any:
        """module with its 4-D (2-D convolution) and 5-D (3-D convolution) parameters and buffers in this layout
        (weights stay fp32); unchanged for the contiguous layout. (nn.Module.to(memory_format=channels_last)
        would raise on 5-D weights.)"""
        if not self.channels_last:
            return module
        import torch

        with torch.no_grad():
            for t in (*module.parameters(), *module.buffers()):
                if t.ndim in (4, 5):
                    t.data = t.data.contiguous(memory_format=self.memory_format(t.ndim))
        return module

    def tensor(self, x: Any) -> Any:
        """A 4-D or 5-D tensor in this layout; unchanged for the contiguous layout or other ranks."""
        return x.contiguous(memory_format=self.memory_format(x.ndim)) if self.channels_last and x.ndim in (4, 5) else x


def fp32_outputs(module: Any) -> Any:
    """Make module's floating-point output fp32 (a forward hook): losses and metrics then run in fp32 under
    bf16 autocast. The hook returns None for fp32 outputs, so fp32 runs are untouched."""
    import torch

    def hook(_module: Any, _inputs: Any, output: Any) -> Any:
        if isinstance(output, torch.Tensor) and output.is_floating_point() and output.dtype != torch.float32:
            return output.float()
        return None

    module.register_forward_hook(hook)
    return module


def at_least_fp32(x: Any) -> Any:
    """x as float32 if its dtype is a narrower float (bf16, fp16); float32 and float64 tensors unchanged."""
    import torch

    return x.float() if x.is_floating_point() and torch.finfo(x.dtype).bits < 32 else x


@contextlib.contextmanager
def no_autocast() -> Any:
    """Leave any active autocast (for backward passes and optimiser steps, as torch recommends)."""
    import torch

    active = [t for t in ("cpu", "cuda") if torch.is_autocast_enabled(t)]
    with contextlib.ExitStack() as stack:
        for device_type in active:
            stack.enter_context(torch.autocast(device_type=device_type, enabled=False))
        yield
