"""The ixi_sr experiment in the workflow: DAG of the presets, and the shared tiny run's outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from test_workflow import REPO, dag_jobs, rule_counts

NETWORKS = {"cpce", "circle"}
ROWS = ["lr", "bicubic", "cpce", "circle"]


def test_default_plans_split_by_subject_with_gpu_tags(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, config={"experiments": ["ixi_sr"]})
    counts = rule_counts(jobs)
    assert counts["ixi_sr_data"] == 6 and counts["ixi_sr_train"] == 2 and counts["ixi_sr_infer"] == 4
    for job in jobs:
        if job.rule.name == "ixi_sr_train":
            assert job.resources["gpu"] == 1
            assert sorted(Path(f).stem for f in job.input) == ["sub-01", "sub-02", "sub-03", "sub-04"]
        if job.rule.name == "ixi_sr_infer":
            assert job.resources["gpu"] == (1 if job.wildcards["ixi_sr_method"] in NETWORKS else 0)
            assert sorted(Path(f).stem for f in job.input if f.endswith(".npz")) == ["sub-05", "sub-06"]


def test_paper_preset_dry_run_uses_paper_scale(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, [REPO / "config/paper.yaml"], config={"experiments": ["ixi_sr"]})
    train = {job.wildcards["ixi_sr_method"]: job for job in jobs if job.rule.name == "ixi_sr_train"}
    cfg = train["cpce"].params.cfg
    assert (cfg["slice_size"], cfg["patch_size"], cfg["epochs"], cfg["max_patches"]) == (256, 64, 100, None)
    assert cfg["schedule"] == {"constant_epochs": 50, "decay_epochs": 50, "final_factor": 0.02}
    assert train["cpce"].params.method["batch_size"] == 128 and train["circle"].params.method["batch_size"] == 64
    assert train["cpce"].params.method["n_critic"] == 4 and train["cpce"].params.method["lambda_p"] == 0.1
    table = next(job for job in jobs if job.rule.name == "ixi_sr_table")
    assert table.params.footer["differences"] == [] or all(
        not d[0].startswith("ixi_sr") for d in table.params.footer["differences"])


def test_tiny_run_table_claims_and_figures(tiny_run_dir: Path) -> None:
    out = tiny_run_dir / "results/ixi_sr"
    table = pd.read_csv(out / "tables/table1.csv", index_col=0)
    assert list(table.index) == ROWS
    assert table["SSIM"].between(0, 1).all() and (table["PSNR"] > 0).all()
    assert table.loc["cpce", "SSIM (paper)"] == pytest.approx(0.9563)
    assert table.loc["circle", "#params"] == 611_418 and table.loc["cpce", "#params"] == 62_016
    md = (out / "tables/table1.md").read_text()
    assert "random VGG" in md and "Preset: test" in md and "reference row 'LR (k-space truncated) [addition]'" in md
    assert "epochs = 2 (paper preset: 100)" in md  # differences from the paper preset are listed
    claims = pd.read_csv(out / "claims.csv")
    assert len(claims) == 2 and set(claims["held"]) <= {"yes", "no"}
    metrics = pd.read_csv(out / "eval/lr/seed-0/metrics.tsv", sep="\t")
    assert metrics["ssim"].between(0, 1).all() and metrics["psnr"].gt(0).all()
    log = pd.read_csv(out / "models/cpce/seed-0/loss.csv")
    assert list(log["train_lr_factor"]) == [1.0, 0.02]
    for name in ("fig4_slices", "fig5_zoom", "loss_curves"):
        assert (out / f"figures/{name}.png").stat().st_size > 1000
