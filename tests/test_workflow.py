"""The Snakemake workflow through its Python API: config validation, DAG shape, GPU tags, a tiny real run."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.api import DAGSettings, OutputSettings, ResourceSettings, SnakemakeApi
from snakemake.settings.types import ConfigSettings, ExecutionSettings

REPO = Path(__file__).resolve().parents[1]
# Rules whose script runs a network (calls mrsr.jobs.start_job) but that run on the CPU by default: DSGAN's
# batch-1 13x13 networks keep the CPU run parallel; the SLURM profile gives them a GPU.
CPU_BY_DEFAULT = {"dsgan_kernelgan"}
# Inference jobs of the no-model reference rows ask for no GPU: (rule, wildcard, values).
NO_NETWORK = [("deepasl_infer", "deepasl_method", {"averaging"}), ("ixi_sr_infer", "ixi_sr_method", {"lr", "bicubic"}),
              ("dsgan_infer", "dsgan_method", {"bicubic"})]


@functools.cache
def workflow_rules() -> tuple:
    """The Snakefile's rules as parsed with the default config (name, declared resources, script)."""
    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow = api.workflow(resource_settings=ResourceSettings(cores=2, resources={"gpu": 1}),
                                config_settings=ConfigSettings(), snakefile=REPO / "Snakefile",
                                workdir=Path(tempfile.mkdtemp(prefix="mrsr-rules-")))
        return tuple(workflow._workflow.rules)


def gpu_rules() -> set[str]:
    """Rules that declare a `gpu` resource (a number, or a function of the wildcards)."""
    return {rule.name for rule in workflow_rules() if "gpu" in rule.resources}


def network_rules() -> set[str]:
    """Rules whose script starts with mrsr.jobs.start_job: every script that trains or runs a network."""
    return {rule.name for rule in workflow_rules()
            if rule.script and "start_job(snakemake)" in (REPO / "workflow/rules" / rule.script).read_text()}


def dag_jobs(workdir: Path, configfiles: list[Path] = (), config: dict | None = None,
             targets: list[str] = ()) -> list:
    """Dry-run the workflow (all jobs forced; for `targets`, or the default target) and return its jobs."""
    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(cores=2, resources={"gpu": 1}),
            config_settings=ConfigSettings(config=config or {}, configfiles=list(configfiles)),
            snakefile=REPO / "Snakefile",
            workdir=workdir,
        )
        dag = workflow.dag(DAGSettings(forceall=True, targets=set(targets)))
        dag.execute_workflow(executor="dryrun")
        return list(workflow._workflow.dag.jobs)


def run_tiny(workdir: Path, config: dict) -> None:
    """Run the tiny configuration (config/test.yaml) with `config` on top, locally, in workdir."""
    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(cores=2, resources={"gpu": 1}),
            config_settings=ConfigSettings(config=config, configfiles=[REPO / "config/test.yaml"]),
            snakefile=REPO / "Snakefile",
            workdir=workdir,
        )
        workflow.dag(DAGSettings()).execute_workflow(
            executor="local", execution_settings=ExecutionSettings(keep_incomplete=False))


def run_tiny_from(base: Path, workdir: Path, config: dict) -> None:
    """run_tiny in workdir, started from a copy of the finished run in base (mtimes and Snakemake's metadata kept):
    only the jobs that `config` adds or changes run, e.g. a second training seed and the tables."""
    shutil.copytree(base, workdir, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns("locks"))
    run_tiny(workdir, config)


def rule_counts(jobs: list) -> dict[str, int]:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.rule.name] = counts.get(job.rule.name, 0) + 1
    return counts


def methods_of(configfile: Path) -> list[str]:
    return list(yaml.safe_load((REPO / "config/config.yaml").read_text())["field7to9"]["methods"])


@pytest.mark.parametrize("preset", [None, "config/paper.yaml", "config/test.yaml"])
def test_dry_run_plans_every_method_with_gpu_tags(tmp_path: Path, preset: str | None) -> None:
    jobs = dag_jobs(tmp_path, [REPO / preset] if preset else [])
    counts = rule_counts(jobs)
    n_methods = len(methods_of(REPO / "config/config.yaml"))
    n_seeds = 3 if preset == "config/paper.yaml" else 1  # the paper preset trains seeds 0, 1, 2
    assert n_methods == 16
    assert counts["field_train"] == counts["field_infer"] == n_methods * n_seeds
    # no training seed: the input row is scored once; RFSR only feeds Fig. 4, which shows the first seed
    assert counts["field_input_eval"] == counts["field_rfsr_train"] == counts["field_rfsr_apply"] == 1
    assert counts["field_table"] == 2
    for job in jobs:
        gpu = job.resources.get("gpu", 0)
        no_network = any(job.rule.name == rule and job.wildcards[w] in values for rule, w, values in NO_NETWORK)
        assert gpu == (1 if job.rule.name in gpu_rules() and not no_network else 0), job.rule.name


def test_rules_that_run_networks_are_the_gpu_rules() -> None:
    """Found from the rules themselves: every rule whose script runs a network declares a gpu resource (except
    the documented CPU-by-default ones), and no other rule does."""
    assert {"field_train", "deepasl_infer", "asl_sr_train", "dsgan_train"} <= gpu_rules()
    assert CPU_BY_DEFAULT <= network_rules()
    assert gpu_rules() == network_rules() - CPU_BY_DEFAULT


def test_the_workflow_registers_every_experiment_package(tmp_path: Path) -> None:
    """One list of experiments: the subpackages of mrsr.experiments, each with its rules and schema."""
    from mrsr.experiments import experiment_keys

    assert {"asl_sr", "deepasl", "dsgan", "field7to9", "ixi_sr"} <= set(experiment_keys())  # and any added one
    result = run_cli(["-n", "--config", "experiments=[nope]"], tmp_path)
    assert f"expected some of {experiment_keys()}" in result.stderr + result.stdout
    for key in experiment_keys():
        assert (REPO / f"workflow/schemas/{key}.schema.yaml").is_file(), key
        assert (REPO / f"docs/experiments/{key}.md").is_file(), key


def test_paper_preset_uses_paper_scale(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, [REPO / "config/paper.yaml"])
    counts = rule_counts(jobs)
    assert counts["cohort_subject"] == 44
    seeds = {(job.wildcards["field_method"], job.wildcards["seed"]) for job in jobs if job.rule.name == "field_train"}
    assert seeds == {(m, s) for m in methods_of(REPO / "config/config.yaml") for s in ("0", "1", "2")}
    train = {job.wildcards["field_method"]: job for job in jobs if job.rule.name == "field_train"}
    assert train["dcsrn_l1"].params.max_updates == 2910 and train["unet7"].params.max_updates == 8730
    assert train["unet7"].params.stopping["stop"] is False and train["unet7"].params.val_patches is None
    assert train["unet7"].params.batch_size == 32
    assert train["unet7"].params.method["lr_g"] == 2e-3 and train["unet7"].params.method["lr_d"] == 2e-4
    assert train["pix2pix9"].params.method["lr_g"] == 5e-5


def test_two_training_seeds_double_the_trained_jobs_only(tmp_path: Path) -> None:
    only = {"experiments": ["field7to9"]}
    one = rule_counts(dag_jobs(tmp_path / "one", config=only))
    jobs = dag_jobs(tmp_path / "two", config={**only, "seeds": [0, 1]})
    two = rule_counts(jobs)
    assert two["field_train"] == two["field_infer"] == 2 * one["field_train"] == 32
    trained = {"field_train", "field_infer"}
    assert {r: n for r, n in two.items() if r not in trained} == {r: n for r, n in one.items() if r not in trained}
    assert two["field_table"] == 2 and two["field_input_eval"] == 1 and two["field_rfsr_train"] == 1
    table = next(j for j in jobs if j.rule.name == "field_table" and j.wildcards["field_table"] == "table2")
    methods = sorted(f.split("/")[-3] for f in table.input.methods)
    assert sorted(f.split("/")[-2] for f in table.input.methods) == ["seed-0"] * 5 + ["seed-1"] * 5
    assert methods == sorted(2 * ["fcn1", "fcn2", "dcsrn_l1", "dcsrn_l2", "dcsrn_p"])
    assert [f for f in table.input if "/input/" in f] == ["results/field7to9/eval/input/seed-0/metrics.tsv"]
    figures = [f for j in jobs if j.rule.name == "field_figure" for f in j.input]
    assert figures and all("/seed-0/" in f for f in figures)  # figures show the first seed


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    snakemake = Path(sys.executable).with_name("snakemake")
    return subprocess.run([str(snakemake), "-s", str(REPO / "Snakefile"), *args], cwd=cwd,
                          capture_output=True, text=True)


def test_invalid_config_fails_before_any_job_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("field7to9:\n  patch_size: big\n")
    result = run_cli(["-n", "--configfile", str(bad)], tmp_path)
    assert result.returncode != 0
    assert "patch_size" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


def test_unknown_config_key_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("field7to9:\n  patchsize: 64\n")
    result = run_cli(["-n", "--configfile", str(bad)], tmp_path)
    assert result.returncode != 0
    assert "patchsize" in result.stderr + result.stdout


def test_unknown_experiment_is_named_with_the_known_ones(tmp_path: Path) -> None:
    result = run_cli(["-n", "--config", "experiments=[field7to9,ixi]"], tmp_path)
    out = result.stderr + result.stdout
    assert result.returncode != 0 and "ModuleNotFoundError" not in out
    assert "unknown ['ixi']" in out and "'ixi_sr'" in out and "'field7to9'" in out


def test_bad_subject_sheet_fails_naming_the_file(tmp_path: Path) -> None:
    sheet = tmp_path / "subjects.tsv"
    sheet.write_text("subject\tlr\thr\ns1\tmissing_lr.nii.gz\tmissing_hr.nii.gz\n")
    override = tmp_path / "mine.yaml"
    override.write_text(f"field7to9:\n  subject_sheet: {sheet}\n")
    result = run_cli(["-n", "--configfile", str(override)], tmp_path)
    assert result.returncode != 0
    out = result.stderr + result.stdout
    assert str(sheet) in out and "missing_lr.nii.gz" in out


def test_lint_passes(tmp_path: Path) -> None:
    result = run_cli(["--lint"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_snakefmt_check_passes() -> None:
    snakefmt = Path(sys.executable).with_name("snakefmt")
    result = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow/rules"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_converged_preset_plans_the_default_data_with_larger_budgets(tmp_path: Path) -> None:
    """config/converged.yaml validates, keeps the default's data and raises every trained method's budget."""
    import yaml

    converged = yaml.safe_load((REPO / "config/converged.yaml").read_text())
    default = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert "cohort" not in converged and set(converged) - {"preset"} <= set(default["experiments"])
    budgets = {"field7to9": [converged["field7to9"][g]["max_updates"] > default["field7to9"][g]["max_updates"]
                             for g in ("cnn", "gan")],
               "deepasl": [converged["deepasl"]["max_updates"] > default["deepasl"]["max_updates"]],
               "ixi_sr": [m["max_updates"] > default["ixi_sr"]["methods"][k]["max_updates"]
                          for k, m in converged["ixi_sr"]["methods"].items()],
               "dsgan": [converged["dsgan"][n]["max_updates"] > default["dsgan"][n]["max_updates"] for n in ("dsn", "edsr")],
               "asl_sr": [converged["asl_sr"]["max_updates"] > default["asl_sr"]["max_updates"]]}
    assert all(all(v) for v in budgets.values()), budgets
    result = run_cli(["-n", "--configfile", str(REPO / "config/converged.yaml"), "--config", "experiments=[dsgan]"],
                     tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
