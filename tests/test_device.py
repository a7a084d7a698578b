"""Device selection, per-GPU locks and seeding."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mrsr import device as dev

SRC = str(Path(dev.__file__).resolve().parents[1])

HOLDER = """
import sys
sys.path.insert(0, {src!r})
from mrsr.device import acquire_gpu_lock
print(acquire_gpu_lock(2, {lock_dir!r}), flush=True)
sys.stdin.read()  # hold the lock until the parent closes stdin
"""


def start_holder(lock_dir: Path) -> tuple[subprocess.Popen, str]:
    """Subprocess that takes a GPU lock, reports the index and holds it until stdin closes."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(src=SRC, lock_dir=str(lock_dir))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


SELECTOR = """
import os, sys
sys.path.insert(0, {src!r})
import torch
torch.cuda.is_available = lambda: True  # a workstation with two GPUs, faked
torch.cuda.device_count = lambda: 2
os.environ.pop("CUDA_VISIBLE_DEVICES", None)
os.environ.pop("SLURM_JOB_ID", None)
from mrsr.device import select_device
print(select_device(1, lock_dir={lock_dir!r}), flush=True)
sys.stdin.read()  # keep the device until the parent closes stdin, like a running training job
"""


def start_selector(lock_dir: Path) -> tuple[subprocess.Popen, str]:
    """Subprocess that picks a device as a GPU job does (select_device) and holds it."""
    proc = subprocess.Popen([sys.executable, "-c", SELECTOR.format(src=SRC, lock_dir=str(lock_dir))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=10)


def test_two_processes_get_different_gpus_and_a_third_gets_none(tmp_path):
    p1, first = start_holder(tmp_path)
    p2, second = start_holder(tmp_path)
    p3, third = start_holder(tmp_path)
    try:
        assert {first, second} == {"0", "1"}
        assert third == "None"
    finally:
        for p in (p1, p2, p3):
            release(p)
    # a dead holder's lock is released by the kernel
    p4, fourth = start_holder(tmp_path)
    release(p4)
    assert fourth == "0"


def test_two_concurrent_gpu_jobs_on_a_two_gpu_workstation_get_different_devices(tmp_path):
    # what `snakemake --resources gpu=2` on a two-GPU workstation runs: two GPU jobs at once
    (p1, first), (p2, second) = start_selector(tmp_path), start_selector(tmp_path)
    try:
        assert {first, second} == {"cuda:0", "cuda:1"}
    finally:
        release(p1)
        release(p2)


def test_slurm_assigned_gpu_is_used_without_locks(monkeypatch, tmp_path):
    # SLURM gave this job the node's second GPU: CUDA_VISIBLE_DEVICES=1 makes it cuda:0 in the job
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert dev.select_device(1, lock_dir=tmp_path / "locks") == torch.device("cuda:0")
    assert not (tmp_path / "locks").exists()  # the scheduler owns the device: no workstation lock


def test_lock_is_idempotent_within_a_process(tmp_path):
    assert dev.acquire_gpu_lock(2, tmp_path) == 0
    assert dev.acquire_gpu_lock(2, tmp_path) == 0  # not a second GPU for the same process
    proc, other = start_holder(tmp_path)
    release(proc)
    assert other == "1"


def test_cpu_when_no_gpu_requested_or_available(monkeypatch):
    assert dev.select_device(0) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dev.select_device(1) == torch.device("cpu")


def test_scheduler_assigned_devices_use_cuda0(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "123")
    assert dev.select_device(1) == torch.device("cuda:0")
    monkeypatch.delenv("SLURM_JOB_ID")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert dev.select_device(1) == torch.device("cuda:0")


def test_workstation_uses_the_locked_gpu(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    holder, taken = start_holder(tmp_path)
    try:
        assert taken == "0"
        assert dev.select_device(1, lock_dir=tmp_path) == torch.device("cuda:1")
    finally:
        release(holder)


def test_seed_everything_repeats_all_generators():
    def draw() -> tuple:
        return random.random(), float(np.random.rand()), float(torch.rand(()))

    dev.seed_everything(5)
    a = draw()
    dev.seed_everything(5)
    assert draw() == a
    dev.seed_everything(6)
    assert draw() != a
    assert torch.are_deterministic_algorithms_enabled()


@pytest.fixture(autouse=True)
def _restore_determinism():
    yield
    torch.use_deterministic_algorithms(False)


def test_at_least_fp32_widens_only_narrow_floats():
    import torch

    from mrsr.device import at_least_fp32

    assert at_least_fp32(torch.ones(2, dtype=torch.bfloat16)).dtype == torch.float32
    assert at_least_fp32(torch.ones(2, dtype=torch.float16)).dtype == torch.float32
    for dtype in (torch.float32, torch.float64, torch.int64):
        x = torch.ones(2, dtype=dtype)
        assert at_least_fp32(x) is x
