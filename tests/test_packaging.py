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
    assert not [r for r in pip if r.startswith(("-e", ".", "/"))], "no local path: Snakemake copies the env file"
    assert {r.replace(" ", "") for r in pip} == {d.replace(" ", "") for d in project["dependencies"]}
    assert "python=3.11" in env["dependencies"]


def test_torch_is_pinned_to_the_cpu_wheel_on_disk() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]


def test_report_dependency_is_declared() -> None:
    """`snakemake --report` imports pygments; the test extra brings it through pytest, so only the
    core dependencies guarantee it for a user who ran `pip install -e .`."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert any(d.split(">")[0].split("=")[0].strip() == "pygments" for d in project["dependencies"])


def test_a_job_script_runs_where_mrsr_is_not_installed(tmp_path) -> None:
    """A job in an environment with every dependency but not mrsr (as in a Snakemake-built conda env) imports
    mrsr from the workflow's src/ through the PYTHONPATH the Snakefile sets: here the provenance job script."""
    import json
    import os
    import site
    import subprocess
    import sys
    import textwrap

    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                            capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies' folder as a plain path: its .pth files (the editable mrsr hook) are not processed
    Path(target, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run([str(python), "-c", "import mrsr"], capture_output=True, text=True, env=clean)
    assert probe.returncode != 0 and "No module named 'mrsr'" in probe.stderr  # really not installed
    out = tmp_path / "provenance.json"
    job = textwrap.dedent(f"""
        import sys, types
        sys.argv = ["job"]
        params = types.SimpleNamespace(config={{"seed": 1}}, source={str(REPO)!r})
        snakemake = types.SimpleNamespace(params=params, output=[{str(out)!r}], log=[{str(tmp_path / "job.log")!r}])
        exec(open({str(REPO / "workflow/scripts/provenance.py")!r}).read())
    """)
    result = subprocess.run([str(python), "-c", job], capture_output=True, text=True,
                            env={**clean, "PYTHONPATH": str(REPO / "src")})
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["config"] == {"seed": 1}
    assert "wrote" in (tmp_path / "job.log").read_text()
