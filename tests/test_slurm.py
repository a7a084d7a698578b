"""The tiny workflow on a real single-node SLURM cluster through profiles/slurm.

tests/slurm/cluster.sh installs slurm-wlm and munge (apt-get, root) if missing and starts munged,
slurmctld and slurmd on localhost with two fake GPUs declared as gres. The workflow then makes
field7to9's Table 2 and RFSR row (TARGETS) with `--profile profiles/slurm` as shipped; the command line only
adds what this accounting-free test cluster and a quick test need (squeue for status, no account, short polling, three jobs at a time,
one torch thread as in the local run). The evidence is threefold: the scheduler's own record of
every job (`scontrol show job`: rule, GPU request, CPUs, memory, time limit, state), the first line
of every rule log (written inside the job: SLURM_JOB_ID, SLURM_GPUS_ON_NODE, CUDA_VISIBLE_DEVICES),
and the tables, compared with those of a local run started from the SLURM run's registered volumes (ANTs is
not bit-reproducible between processes; the registered volumes are compared with a local registration at ANTs'
own tolerance).
Local rules (`localrule: True`: sheet, tables, figures, `all`) run on the submit host, not through sbatch
(here field_table).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml

from test_workflow import CPU_BY_DEFAULT, dag_jobs, gpu_rules, workflow_rules

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLUSTER = REPO / "tests/slurm/cluster.sh"
# The SLURM run makes field7to9's outputs only: its GPU rules.
GPU_RULES = {rule for rule in gpu_rules() if rule.startswith("field_")}
# Rules the profile itself gives a GPU: those that always ask for one, and the CPU-by-default network rules
# (deepasl_infer, ixi_sr_infer and dsgan_infer ask for one per method in their rules).
PROFILE_GPU_RULES = {rule.name for rule in workflow_rules() if rule.resources.get("gpu") == 1} | CPU_BY_DEFAULT
# The small gathering steps run on the submit host (`localrule: True`): the subject sheet, every experiment's tables,
# claims, figures and learning curves, the scorecard and the provenance record; found by these names, so a new
# experiment's steps are covered without editing a list.
LOCAL_KINDS = re.compile(r"^(all|cohort_sheet|scorecard|provenance)$|_(table|claims|figure|learning_curves)$")
# The experiment of the foundation issue only: other experiments have their own tests.
ONLY_FIELD = "experiments: [field7to9]\n"
# What the cluster makes: Table 2 (its five CNNs, trained and applied in GPU jobs, and the input row) and the RFSR
# row, from simulation, N4 and registration on: every kind of job field7to9 sends through sbatch, half the jobs of
# the whole experiment (Table 3's GANs are more of the same rules); field_table runs on the submit host.
TARGETS = ["results/field7to9/tables/table2.csv", "results/field7to9/eval/rfsr/seed-0/metrics.tsv"]
SKIP_EXIT = 77

pytestmark = pytest.mark.slow


def configfiles(workdir: Path) -> list[Path]:
    only = workdir / "only_field7to9.yaml"
    only.write_text(ONLY_FIELD)
    return [REPO / "config/test.yaml", only]


def run_snakemake(workdir: Path, args: list[str], env: dict | None = None) -> SimpleNamespace:
    """Make TARGETS of the tiny configuration in `workdir`; return the process and its wall time."""
    cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), *TARGETS, *args,
           "--configfile", *map(str, configfiles(workdir))]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return SimpleNamespace(workdir=workdir, proc=proc, seconds=time.monotonic() - start)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Environment for SLURM clients of a fresh local cluster; the cluster is stopped afterwards."""
    if shutil.which("bash") is None:
        pytest.skip("SLURM test cluster not set up: no bash")
    root = tmp_path_factory.mktemp("slurm")
    start = subprocess.run(["bash", str(CLUSTER), "start", str(root)], capture_output=True, text=True,
                           timeout=1200)
    try:
        if start.returncode == SKIP_EXIT:
            reason = [line for line in start.stderr.splitlines() if line.startswith("SKIP:")]
            pytest.skip(f"SLURM cannot be set up on this machine: {(reason or [start.stderr])[-1]}")
        if start.returncode != 0:
            logs = "".join(f"\n--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                           for p in sorted((root / "log").glob("*.log")))
            pytest.fail(f"SLURM test cluster did not come up:\n{start.stderr[-3000:]}{logs}")
        yield {**os.environ, "SLURM_CONF": str(root / "slurm.conf")}
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop", str(root)], capture_output=True, timeout=120)


def scheduler_jobs(env: dict) -> dict[str, dict[str, str]]:
    """Every job slurmctld knows (finished ones are kept for MinJobAge), keyed by job id."""
    out = subprocess.run(["scontrol", "show", "job", "--oneliner"], env=env, capture_output=True,
                         text=True, check=True).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if "JobId" in fields:
            jobs[fields["JobId"]] = fields
    return jobs


def job_environment(log: Path) -> dict[str, str]:
    """The scheduler variables a rule logged first thing (mrsr.runlog.log_to)."""
    first = log.read_text(errors="replace").splitlines()[0]
    return dict(re.findall(r"(\w+)=(\S+)", first))


@pytest.fixture(scope="module")
def slurm_run(cluster: dict, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    workdir = tmp_path_factory.mktemp("slurm_run")
    run = run_snakemake(workdir, [
        "--profile", str(REPO / "profiles/slurm"),
        # no accounting database on the test cluster: no sacct, no account
        "--slurm-status-command", "squeue", "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "5", "--slurm-keep-successful-logs",
        "--latency-wait", "5", "--jobs", "3",
        # one torch thread per job, as in the local run (the profile's cpus_per_gpu is still requested)
        "--set-threads", "field_train=1", "field_infer=1",
    ], env=cluster)
    run.jobs = scheduler_jobs(cluster)
    (workdir / "plan").mkdir()
    run.plan = dag_jobs(workdir / "plan", configfiles(workdir), targets=TARGETS)
    print(f"SLURM run: {run.seconds:.0f} s, {len(run.jobs)} sbatch jobs")
    return run


# ANTs registration is not bit-reproducible between processes, even with one ITK thread and a fixed seed
# (mrsr.preprocess.register: SyN voxels differ by up to ~0.05, 0.5-0.9 % of the brain mean on average), and training
# amplifies that (measured 2026-12-05: FCN 1's brain MSE 0.62 vs 0.57, DCSRN P's MSE 1.29 vs 1.17 between a SLURM
# run and a local one). So the SLURM run's results are compared with a local run started from the same registered
# volumes: everything downstream (patches, training, inference, tables) must agree; the registration itself
# is compared with a local registration of the SLURM run's N4-corrected volumes at ANTs' own tolerance.
SHARED_INPUTS = ("results/cohort", "results/field7to9/raw", "results/field7to9/n4", "results/field7to9/registered")
PREPROCESS_LOGS = ("logs/cohort", "logs/field7to9/simulate", "logs/field7to9/n4", "logs/field7to9/register")


def copy_outputs(source: Path, target: Path, folders: tuple[str, ...]) -> None:
    """Copy a run's output folders into another work folder (copy2 keeps the mtimes Snakemake compares)."""
    for rel in folders:
        shutil.copytree(source / rel, target / rel)


@pytest.fixture(scope="module")
def local_run(slurm_run: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A local run (no SLURM) of the same configuration, started from the SLURM run's registered volumes."""
    workdir = tmp_path_factory.mktemp("local_from_slurm_inputs")
    copy_outputs(slurm_run.workdir, workdir, SHARED_INPUTS)
    run = run_snakemake(workdir, ["--cores", "2", "--resources", "gpu=1", "--rerun-triggers", "mtime",
                                  "--set-threads", "field_train=1", "field_infer=1"])
    print(f"local run from the SLURM run's registered volumes: {run.seconds:.0f} s")
    return run


def rule_of(job: dict[str, str]) -> str:
    """Rule name from the plugin's sbatch --comment 'rule_<name>_wildcards_<values>'."""
    return re.fullmatch(r"rule_(\w+?)(_wildcards_.*)?", job["Comment"]).group(1)


def declared_local_rules() -> set[str]:
    """Rules marked `localrule: True` in workflow/rules/*.smk."""
    text = "\n".join(p.read_text() for p in sorted((REPO / "workflow/rules").glob("*.smk")))
    blocks = re.split(r"^rule ", text, flags=re.M)[1:]
    return {block.split(":")[0] for block in blocks if re.search(r"^    localrule: True", block, re.M)}


LOCAL_RULES = declared_local_rules() | {"all"}


def split_plan(plan: list) -> tuple[list, list]:
    return ([job for job in plan if job.rule.name in LOCAL_RULES],
            [job for job in plan if job.rule.name not in LOCAL_RULES])


def test_local_rules_are_the_gathering_steps_and_ask_no_gpu() -> None:
    rules = {rule.name: rule for rule in workflow_rules()}
    assert {name for name in rules if LOCAL_KINDS.search(name)} == LOCAL_RULES
    assert {"all", "scorecard", "field_table", "dsgan_figure"} <= LOCAL_RULES
    assert not [name for name in LOCAL_RULES if rules[name].resources.get("gpu") == 1]


def test_profile_asks_gpus_for_the_gpu_rules_only() -> None:
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert {"slurm_partition", "slurm_account", "mem_mb", "runtime"} <= set(profile["default-resources"])
    for rule, resources in profile["set-resources"].items():
        if rule in PROFILE_GPU_RULES:
            assert resources["gpu"] == 1 and resources["cpus_per_gpu"] >= 1, rule
            assert "attempt" in str(resources["mem_mb"]) and "attempt" in str(resources["runtime"]), rule
        else:
            assert not {"gpu", "gpu_model", "cpus_per_gpu"} & set(resources), rule
    assert PROFILE_GPU_RULES <= set(profile["set-resources"])


def test_no_workflow_profile_overrides_the_slurm_profile() -> None:
    # Snakemake applies profiles/default next to the Snakefile on top of --profile, key by key
    for default in (REPO / "profiles/default", REPO / "workflow/profiles/default"):
        for path in default.glob("*.yaml"):
            assert not {"set-resources", "default-resources", "executor"} & set(yaml.safe_load(path.read_text()) or {}), path


def test_every_non_local_job_went_through_sbatch(slurm_run: SimpleNamespace) -> None:
    plan_local, plan_remote = split_plan(slurm_run.plan)
    assert {job.rule.name for job in plan_local} == {"field_table"}
    assert {job.rule.name for job in plan_remote} == {"cohort_subject", "field_simulate", "field_n4", "field_register",
                                                      "field_patches", "field_input_eval", "field_train",
                                                      "field_infer", "field_rfsr_train", "field_rfsr_apply"}
    assert Counter(rule_of(j) for j in slurm_run.jobs.values()) == Counter(j.rule.name for j in plan_remote)
    for job in slurm_run.jobs.values():
        assert (job["JobState"], job["ExitCode"]) == ("COMPLETED", "0:0"), job
        assert Path(job["WorkDir"]) == slurm_run.workdir
    seen: dict[str, str] = {}
    for job in plan_remote:
        env = job_environment(slurm_run.workdir / job.log[0])
        job_id = env["SLURM_JOB_ID"]
        assert job_id in slurm_run.jobs, (job.log[0], env)
        assert rule_of(slurm_run.jobs[job_id]) == job.rule.name
        assert job_id not in seen, f"{job.log[0]} and {seen.get(job_id)} ran in one SLURM job"
        seen[job_id] = job.log[0]
    assert len(seen) == len(slurm_run.jobs)
    for job in plan_local:
        if job.log:  # `all` has none
            assert job_environment(slurm_run.workdir / job.log[0])["SLURM_JOB_ID"] == "-", job.log[0]


def test_gpu_rules_requested_one_gpu_and_ran_with_it(slurm_run: SimpleNamespace) -> None:
    runtime = {"field_train": "04:00:00", "field_infer": "01:00:00"}  # profile: 240 / 60 min at attempt 1
    n_gpu = 0
    for job in split_plan(slurm_run.plan)[1]:
        env = job_environment(slurm_run.workdir / job.log[0])
        record = slurm_run.jobs[env["SLURM_JOB_ID"]]
        if job.rule.name in GPU_RULES:
            n_gpu += 1
            assert record.get("TresPerJob") == "gres:gpu:1", record  # sbatch --gpus=1
            assert record.get("CpusPerTres") == "gres:gpu:4", record  # --cpus-per-gpu=4
            assert record["MinMemoryNode"] == "8000M" and record["TimeLimit"] == runtime[job.rule.name]
            assert env["SLURM_GPUS_ON_NODE"] == "1", job.log[0]
            assert env["CUDA_VISIBLE_DEVICES"] in {"0", "1"}, job.log[0]
        else:
            assert "gpu" not in record.get("TresPerJob", "") + record.get("TresPerNode", ""), record
            assert record["NumCPUs"] == "1" and record["TimeLimit"] == "01:00:00", record
            assert env["SLURM_GPUS_ON_NODE"] == "-", job.log[0]
    assert n_gpu == 10  # Table 2's five networks, trained and applied


def test_rerun_submits_nothing_more(slurm_run: SimpleNamespace, cluster: dict) -> None:
    """Resuming is rerunning the same command: with everything done it plans no job."""
    rerun = run_snakemake(slurm_run.workdir, ["--profile", str(REPO / "profiles/slurm"), "--dry-run",
                                              "--slurm-status-command", "squeue", "--slurm-no-account"],
                          env=cluster)
    assert "Nothing to be done" in rerun.proc.stdout + rerun.proc.stderr
    assert len(scheduler_jobs(cluster)) == len(slurm_run.jobs)


# Same registered volumes, same seeds, one torch thread per job in both runs: the remaining differences are
# floating-point summation order between processes. Counts and labels must match exactly.
TOLERANCE = {"rtol": 1e-3, "atol": 1e-4}
EXACT = re.compile(r"#params|axis|slice|\(paper\)")
ANTS_TOLERANCE = 0.02  # mean |difference| inside the brain over the brain mean; measured 0.5-0.9 % (preprocess.py)


def test_local_run_started_from_the_slurm_run_registration(local_run: SimpleNamespace) -> None:
    for rel in PREPROCESS_LOGS:
        assert not (local_run.workdir / rel).exists(), f"the local run redid {rel}"
    assert (local_run.workdir / "logs/field7to9/patches").is_dir()


@pytest.fixture(scope="module")
def local_registration(slurm_run: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SLURM run's N4-corrected volumes registered again locally (no SLURM)."""
    workdir = tmp_path_factory.mktemp("local_registration")
    copy_outputs(slurm_run.workdir, workdir, SHARED_INPUTS[:-1])
    run_snakemake(workdir, ["--cores", "2", "--rerun-triggers", "mtime", "--until", "field_register"])
    return workdir


def test_registered_volumes_agree_with_a_local_registration(slurm_run: SimpleNamespace,
                                                            local_registration: Path) -> None:
    registered = sorted((slurm_run.workdir / "results/field7to9/registered").glob("*/lr.nii.gz"))
    assert len(registered) == 3
    for path in registered:
        rel = path.relative_to(slurm_run.workdir)
        ours, theirs = (np.asarray(nib.load(run / rel).dataobj) for run in (slurm_run.workdir, local_registration))
        mask = np.asarray(nib.load(slurm_run.workdir / "results/field7to9/raw" / path.parent.name / "mask.nii.gz")
                          .dataobj) > 0
        assert ours.shape == theirs.shape == mask.shape, rel
        brain_mean = float(np.abs(theirs[mask]).mean())
        assert float(np.abs(ours - theirs)[mask].mean()) <= ANTS_TOLERANCE * brain_mean, rel


def test_outputs_equal_a_local_run(slurm_run: SimpleNamespace, local_run: SimpleNamespace) -> None:
    results = "results/field7to9"
    files = [f"{results}/tables/table2.csv"]
    files += sorted(str(p.relative_to(slurm_run.workdir))
                    for p in (slurm_run.workdir / results / "eval").glob("*/seed-*/metrics.tsv"))
    assert len(files) == 1 + 7  # Table 2's 5 networks, RFSR and the "input (no model)" row
    for rel in files:
        sep = "\t" if rel.endswith(".tsv") else ","
        ours, theirs = (pd.read_csv(run.workdir / rel, sep=sep) for run in (slurm_run, local_run))
        assert list(ours.columns) == list(theirs.columns), rel
        for column in ours.columns:
            if EXACT.search(column) or not pd.api.types.is_numeric_dtype(ours[column]):
                pd.testing.assert_series_equal(ours[column], theirs[column], check_exact=True, obj=f"{rel}: {column}")
            else:
                np.testing.assert_allclose(ours[column], theirs[column], **TOLERANCE, err_msg=f"{rel}: {column}")
