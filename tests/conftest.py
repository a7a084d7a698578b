"""Fixtures shared by several test modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny configuration (config/test.yaml) run once locally, for the session: the end-to-end
    tests inspect it and the SLURM test compares its own run's tables with it."""
    workdir = tmp_path_factory.mktemp("e2e")
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"), "--cores", "2",
           "--resources", "gpu=1", "--configfile", str(REPO / "config/test.yaml")]
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-6000:]
    return workdir


@pytest.fixture(scope="module")
def one_thread():
    """Bitwise comparisons need one fixed thread count (one thread is also fastest for tiny nets)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
