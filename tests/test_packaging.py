"""The conda environment for cluster users lists exactly the pyproject dependencies."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_conda_env_matches_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "envs/mrsr.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    requirements = {r.replace(" ", "") for r in pip if not r.startswith("-e")}
    assert requirements == {d.replace(" ", "") for d in project["dependencies"]}
    assert "python=3.11" in env["dependencies"]


def test_torch_is_pinned_to_the_cpu_wheel_on_disk() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]


def test_report_dependency_is_declared() -> None:
    """`snakemake --report` imports pygments; the test extra brings it through pytest, so only the
    core dependencies guarantee it for a user who ran `pip install -e .`."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert any(d.split(">")[0].split("=")[0].strip() == "pygments" for d in project["dependencies"])
