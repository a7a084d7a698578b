"""field7to9 in the workflow: validation data held out from test data, and the session's tiny real run
(config/test.yaml): training records, the footer's training lines, brain columns, learning-curve figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_workflow import REPO, dag_jobs

from mrsr.experiments.field7to9.data import validation_data
from mrsr.io import load_npz
from mrsr.tables import load_paper_values

FIELD = "results/field7to9"
ONLY = {"experiments": ["field7to9"]}


def subjects_of(files) -> set[str]:
    return {Path(f).stem for f in files}


def test_validation_subjects_are_disjoint_from_test_and_training_subjects(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, config=ONLY)
    train = [j for j in jobs if j.rule.name == "field_train"]
    tests = {s for j in jobs if j.rule.name == "field_infer" for s in subjects_of(j.input.test)}
    for job in train:
        val, fitted = subjects_of(job.input.val), subjects_of(job.input.train)
        assert val and not val & tests and not val & fitted and not fitted & tests
    assert len(tests) == 1  # the default's test set is one subject (the footer says so)


@pytest.fixture(scope="module")
def run_dir(tiny_run_dir: Path) -> Path:
    """The session's tiny run (tests/conftest.py): field7to9's jobs there are those of a run of field7to9 alone."""
    return tiny_run_dir


def test_validation_samples_are_the_validation_subjects_patches(run_dir: Path, tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, [REPO / "config/test.yaml"], ONLY)  # the tiny run's plan
    train = next(j for j in jobs if j.rule.name == "field_train")
    val_files = [run_dir / f for f in train.input.val]
    test_files = [run_dir / f for f in next(j for j in jobs if j.rule.name == "field_infer").input.test]
    assert val_files and not set(val_files) & set(test_files)
    val = validation_data(val_files, 4)  # config/test.yaml: val_patches 4
    pool = np.concatenate([load_npz(f)["lr_patches"] for f in val_files])
    assert len(val) == 4 and all(any(np.array_equal(v, p) for p in pool) for v in val.lr)
    # no validation patch comes from a test subject's volume
    test_volumes = [load_npz(f)["lr"] for f in test_files]
    assert not any(np.isin(v.ravel()[:16], vol).all() for v in val.lr for vol in test_volumes)


def test_every_model_carries_a_validated_training_record(run_dir: Path) -> None:
    records = sorted((run_dir / FIELD / "models").glob("*/seed-0/loss.json"))
    assert len(records) == 16
    for path in records:
        record = json.loads(path.read_text())
        assert record["max_updates"] == 4 and record["updates"] == 4 and record["batch_size"] == 8
        assert record["reference_val_mse"] > 0 and np.isfinite(record["val_mse"])
        log = pd.read_csv(path.with_suffix(".csv"))
        assert log["update"].tolist() == [2, 4] and log["val_mse"].notna().all()  # check_every 2


@pytest.mark.parametrize("table", ["table2", "table3"])
def test_tables_have_brain_columns_and_a_training_line_per_trained_row(run_dir: Path, table: str) -> None:
    paper = load_paper_values("field7to9", table)
    frame = pd.read_csv(run_dir / FIELD / f"tables/{table}.csv", index_col="method_key")
    items = pd.read_csv(run_dir / FIELD / f"tables/{table}_items.tsv", sep="\t")
    for column, metric in (("PSNR (brain)", "psnr_brain"), ("SSIM (brain)", "ssim_brain")):
        assert np.isfinite(frame[column]).all()
        means = items[items["seed"] == 0].groupby("method")[metric].mean()
        np.testing.assert_allclose(frame[column], means.loc[frame.index])
    # inside the brain the input's error is larger than over the whole slice (background is easy)
    assert frame.loc["input", "PSNR (brain)"] < frame.loc["input", "PSNR"]
    md = (run_dir / FIELD / f"tables/{table}.md").read_text()
    status = json.loads((run_dir / FIELD / f"tables/{table}_status.json").read_text())
    for key in paper:
        label = frame.loc[key, "Method"]
        line = next(line for line in md.splitlines() if f"Training, {label}:" in line)
        budget = 2910 if table == "table2" else 8730
        assert f"4 updates at batch 8 vs paper ~{budget:,}" in line and "paired t-test over 2 test slices" in line
        assert ("does NOT beat" in line) == (not status["status"][key]["learned"])
    assert "Test set: 1 subject" in md and "PSNR (brain)" in md


def test_learning_curve_figures_and_claims(run_dir: Path) -> None:
    for table in ("table2", "table3"):
        png = run_dir / FIELD / f"figures/learning_{table}.png"
        assert png.stat().st_size > 10_000 and png.with_suffix(".pdf").is_file()
    claims = pd.read_csv(run_dir / FIELD / "claims.csv")  # scored with status and per-slice samples
    assert len(claims) == 2 and (claims["outcome"] == "untestable").all()
    assert claims["reason"].str.contains("unet7 did not beat its no-model reference").any()
