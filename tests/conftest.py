"""Fixtures shared by several test modules, and how the suite runs in parallel.

The README's test command runs pytest-xdist with two workers (pyproject: addopts). Tests are sent to workers by
group (`--dist loadgroup`): every test of a module shares its module's group, so a module-scoped fixture (a
workflow run, the SLURM cluster) is built once, on one worker; every test that reads the session's tiny run
(`tiny_run_dir`) is in the group "tiny", so that run is made once, on one worker, while the other worker runs
the rest. These two longest groups are collected first. Each worker gives torch one thread: two single-threaded
workers use the two cores better than one worker with two threads on these small networks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
TINY = "tiny_run_dir"


@pytest.fixture(scope="session", autouse=True)
def torch_threads():
    """One torch thread per xdist worker (set after collection, which imports every test module)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
    yield


# The longest groups first, so that neither is left to start when the other worker has finished the rest.
FIRST = ("tiny", "test_slurm")


def group_of(item: pytest.Item) -> str:
    return "tiny" if TINY in getattr(item, "fixturenames", ()) else item.module.__name__


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))
    items.sort(key=lambda item: FIRST.index(group_of(item)) if group_of(item) in FIRST else len(FIRST))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop early if xdist did not apply the groups (xdist 3.8 marks them in item._nodeid, which pytest 9.2 no
    longer reads): two workers would each start the SLURM cluster and the tiny run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and session.config.getvalue("loadgroup") and any("@" not in item.nodeid for item in session.items):
        raise pytest.UsageError("pytest-xdist did not apply the test groups (--dist loadgroup); install the pytest "
                                "version pyproject.toml pins, or run with -n 0")


def run_tiny_workflow(workdir: Path) -> None:
    """The tiny configuration (config/test.yaml), every experiment, run locally in workdir."""
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"), "--cores", "2",
           "--resources", "gpu=1", "--configfile", str(REPO / "config/test.yaml")]
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-6000:]


@pytest.fixture(scope="session")
def tiny_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny configuration run once locally for the session (once for all xdist workers: a file lock lets
    the first worker that needs it make it); the end-to-end tests inspect it or start from a copy of it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        workdir = tmp_path_factory.mktemp("e2e")
        run_tiny_workflow(workdir)
        return workdir
    shared = tmp_path_factory.getbasetemp().parent  # this session's folder, above the workers' own
    workdir, done = shared / "e2e", shared / "e2e.done"
    with FileLock(str(shared / "e2e.lock")):
        if not done.exists():
            shutil.rmtree(workdir, ignore_errors=True)  # a failed attempt of another worker
            workdir.mkdir()
            run_tiny_workflow(workdir)
            done.touch()
    return workdir


@pytest.fixture(scope="module")
def one_thread():
    """Bitwise comparisons need one fixed thread count (one thread is also fastest for tiny nets)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
