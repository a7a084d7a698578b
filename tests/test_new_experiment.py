"""A sixth experiment added by docs/contributing.md's checklist alone (issue 20).

The repository's files are copied into a temporary git repository, and the toy experiment of tests/toy_experiment/
(moving-average denoising of noisy 1-D step signals: a package with data, evaluation, figures, a table module,
claims, assumptions, paper values and budget; its rules, scripts, schema, report captions and docs page) is added at
the same paths. Nothing else changes: no `include:` line in the Snakefile (it includes workflow/rules/<key>.smk for
every package under src/mrsr/experiments) and no config section (the toy's section is its schema's defaults, and so
is its paper preset). The tree's Snakefile then plans the toy, and runs it, with `--config experiments=[toy]`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
TOY = Path(__file__).resolve().parent / "toy_experiment"  # the toy's files, at their paths in the tree
# Where an experiment's files live (docs/contributing.md, Layout): the only paths adding the toy may touch.
OWN = ("src/mrsr/experiments/toy/", "workflow/rules/toy.smk", "workflow/rules/toy_common.smk",
       "workflow/scripts/toy/", "workflow/schemas/toy.schema.yaml", "workflow/report/toy/",
       "docs/experiments/toy.md")
# The package of the checklist's step 1.
PACKAGE = {"__init__.py", "data.py", "evaluate.py", "figures.py", "table.py", "claims.yaml", "assumptions.yaml",
           "paper_values.yaml", "paper_budget.yaml"}
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def git(tree: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=tree, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def repository_copy(dest: Path) -> Path:
    """The repository's working tree as git sees it (tracked files and untracked ones not ignored) copied into
    dest, committed there as a fresh git repository."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip(f"the repository's files are listed with git: {listed.stderr.strip()}")
    for name in filter(None, listed.stdout.split("\0")):
        if (REPO / name).is_file():  # a tracked file deleted in the working tree is left out
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "-c", "user.name=mrsr tests", "-c", "user.email=tests@mrsr.invalid", "commit", "-q", "-m", "base")
    return dest


def snakemake(tree: Path, *args: str) -> subprocess.CompletedProcess:
    """The tree's Snakefile, run in the tree with the tree's source first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run([SNAKEMAKE, "-s", str(tree / "Snakefile"), "--cores", "2", *args], cwd=tree, env=env,
                          capture_output=True, text=True)


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake run: rule -> jobs."""
    rows = output.split("Job stats:", 1)[1].splitlines()[3:]
    counts = {}
    for row in rows:
        name, count = row.split()
        if name == "total":
            return counts
        counts[name] = int(count)
    raise AssertionError(f"no end to the job stats in {output[-2000:]}")


@pytest.fixture(scope="module")
def toy_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = repository_copy(tmp_path_factory.mktemp("toy-tree"))
    shutil.copytree(TOY, tree, dirs_exist_ok=True)
    return tree


def test_the_toy_adds_only_its_own_files(toy_tree: Path) -> None:
    status = git(toy_tree, "status", "--porcelain", "--untracked-files=all").splitlines()
    changed = [line for line in status if not line.startswith("?? ")]
    assert not changed, f"adding the toy changed files of the repository: {changed}"
    added = [line[3:] for line in status]
    assert added and all(path.startswith(OWN) for path in added), [p for p in added if not p.startswith(OWN)]
    assert all(any(path.startswith(own) for path in added) for own in OWN)  # every step of the checklist
    assert PACKAGE <= {Path(p).name for p in added if p.startswith("src/mrsr/experiments/toy/")}
    assert not any(path.startswith("config/") for path in added)  # the toy has no config section


def test_dry_run_plans_the_toy_and_its_claims(toy_tree: Path) -> None:
    result = snakemake(toy_tree, "-n", "--config", "experiments=[toy]")
    assert result.returncode == 0, result.stderr[-4000:]
    # the phantom cohort is not built (uses_cohort), each method is scored once, the scorecard gathers the toy
    assert job_counts(result.stdout) == {"toy_data": 1, "toy_eval": 2, "toy_table": 1, "toy_figure": 1,
                                         "scorecard": 1, "provenance": 1, "all": 1}
    scorecard = re.search(r"rule scorecard:\n\s+input: ([^\n]*)", result.stdout)
    assert scorecard and scorecard.group(1).split(", ") == ["results/toy/claims.csv"], result.stdout[-4000:]


def test_the_toy_runs_with_its_schema_defaults(toy_tree: Path) -> None:
    """A real run: the section and the paper preset are the schema's defaults, so the footer reports no difference;
    the claim is scored and reaches the scorecard."""
    result = snakemake(toy_tree, "--config", "experiments=[toy]")
    assert result.returncode == 0, result.stderr[-6000:]
    results = toy_tree / "results"
    table = pd.read_csv(results / "toy/tables/table1.csv", index_col="method_key")
    assert list(table.index) == ["noisy", "mean"] and table.loc["mean", "PSNR"] > table.loc["noisy", "PSNR"]
    footer = (results / "toy/tables/table1.md").read_text()
    assert "Config: every toy value equals the paper preset (config/paper.yaml)." in footer
    assert "Assumption: Signals: 12 piecewise-constant 1-D signals of 64 samples, Gaussian noise of s.d. 0.1." in footer
    assert "Every trained method beats the reference row 'Noisy input' on PSNR." in footer
    scorecard = pd.read_csv(results / "scorecard.csv")
    assert list(scorecard["experiment"]) == ["toy"] and list(scorecard["outcome"]) == ["held"]
    assert "paired test" in scorecard["reason"][0] and "n = 12" in scorecard["evidence"][0]
    assert (results / "toy/figures/example.png").stat().st_size > 0


def test_a_package_without_rules_stops_the_workflow(tmp_path: Path) -> None:
    tree = repository_copy(tmp_path)
    (tree / "src/mrsr/experiments/norules").mkdir()
    (tree / "src/mrsr/experiments/norules/__init__.py").write_text('"""An experiment without rules."""\n')
    result = snakemake(tree, "-n")
    assert result.returncode != 0
    assert ("experiment package src/mrsr/experiments/norules/ has no rules file workflow/rules/norules.smk"
            in result.stderr + result.stdout), result.stderr[-4000:]
