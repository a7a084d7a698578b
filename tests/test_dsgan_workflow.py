"""The dsgan experiment in the workflow: DAG shape of the presets and the shared tiny run's outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mrsr.io import load_npz
from test_workflow import REPO, dag_jobs, rule_counts

METHODS = ["bicubic", "zf", "gb", "dsgan", "dsn"]


def test_default_plans_one_dsgan_job_per_subject_and_edsr_per_construction_and_fold(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path)
    counts = rule_counts(jobs)
    assert counts["dsgan_data"] == 6 and counts["dsgan_kernelgan"] == 6  # not one job per slice
    assert counts["dsgan_train"] == 4 * 2 and counts["dsgan_dsn"] == 2 and counts["dsgan_infer"] == 5
    assert counts["dsgan_table"] == 1 and counts["dsgan_figure"] == 6
    for job in jobs:
        if job.rule.name == "dsgan_train":
            assert job.resources["gpu"] == 1
            fold = int(job.wildcards["dsgan_fold"])
            held_out = {f"sub-{i + 1:02d}" for i in range(6) if i % 2 == fold}
            assert not any(Path(f).stem in held_out for f in job.input)  # no held-out subject in training


def test_paper_preset_uses_paper_scale(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, [REPO / "config/paper.yaml"])
    counts = rule_counts(jobs)
    assert counts["dsgan_kernelgan"] == 24 and counts["dsgan_train"] == 4 * 5 and counts["dsgan_dsn"] == 5
    cfg = next(job for job in jobs if job.rule.name == "dsgan_train").params.cfg
    assert cfg["slices_per_subject"] == 72 and cfg["kernelgan"]["iterations"] == 3000
    assert cfg["kernelgan"]["lambda_update_every"] == 200 and cfg["kernelgan"]["lr"] == 2e-4
    assert (cfg["edsr"]["n_blocks"], cfg["edsr"]["channels"], cfg["edsr"]["patch_size"]) == (16, 64, 48)
    assert cfg["edsr"]["rotations"] == 8 and cfg["gb_sigma"] == 1.5
    footer = next(job for job in jobs if job.rule.name == "dsgan_table").params.footer
    assert footer["preset"] == "paper" and footer["differences"] == []


@pytest.mark.slow
def test_tiny_run_outputs(tiny_run_dir: Path) -> None:
    out = tiny_run_dir / "results/dsgan"
    metrics = pd.concat([pd.read_csv(out / f"eval/{m}/seed-0/metrics.tsv", sep="\t") for m in METHODS])
    assert set(metrics["method"]) == set(METHODS) and len(metrics) == 5 * 3  # 3 subjects x 1 slice each
    assert metrics["ssim"].between(-1, 1).all() and metrics["psnr"].between(0, 80).all()
    assert np.isfinite(metrics["brisque"]).all()
    table2 = pd.read_csv(out / "tables/table2.csv", index_col=0)
    assert list(table2.index) == ["bicubic", "zf", "gb", "dsgan"]
    assert "BRISQUE (LIVE model)" in table2.columns and table2.loc["dsgan", "SSIM (paper)"] == 0.627
    assert table2.loc["gb", "#params"] == 259_713  # EDSR with the test preset's 1 block
    mean_psnr = metrics.groupby("method")["psnr"].mean()
    assert table2.loc["dsgan", "PSNR"] == pytest.approx(mean_psnr["dsgan"])
    assert list(pd.read_csv(out / "tables/table3.csv", index_col=0).index) == ["dsn", "dsgan"]
    md = (out / "tables/table2.md").read_text()
    for line in ("Preset: test", "kernelgan.iterations = 8 (paper preset: 3000)", "Bicubic", "t-test DSGAN+EDSR",
                 "Kernel (phantom only)", "not the paper's liver"):
        assert line in md
    tests = pd.read_csv(out / "tables/ttest_gb_vs_dsgan.tsv", sep="\t")
    assert set(tests["metric"]) == {"brisque", "ssim", "psnr"} and tests["p_t"].between(0, 1).all()
    claims = pd.read_csv(out / "claims.csv")
    assert len(claims) == 6 and set(claims["held"]) <= {"yes", "no", "n/a"}
    kernels = pd.read_csv(out / "tables/kernels.tsv", sep="\t", index_col=0)
    assert kernels.loc["dsgan", "n"] == 3 and kernels["kernel_distance"].between(0, 5).all()
    k = load_npz(out / "kernelgan/sub-01.npz")
    data = load_npz(out / "data/sub-01.npz")
    assert k["lr"].shape == data["lr"].shape == data["gb"].shape == data["zf"].shape
    assert data["hr"].shape[1:] == tuple(2 * s for s in data["lr"].shape[1:])
    for fig in ("fig3_gb_vs_real", "fig4_examples", "fig5_mscn", "fig6_profiles", "fig7_dsn_vs_dsgan", "kernels"):
        assert (out / f"figures/{fig}.png").stat().st_size > 5000


def test_subject_sheet_replaces_the_phantom(tmp_path: Path) -> None:
    import nibabel as nib

    rows = ["subject\tlr\thr"]
    for i in range(3):
        for kind, shape, voxel in (("lr", (10, 10, 4), 2.0), ("hr", (20, 20, 4), 1.0)):
            nib.save(nib.Nifti1Image(np.ones(shape, np.float32), np.diag([voxel, voxel, 2.0, 1.0])),
                     tmp_path / f"p{i}_{kind}.nii.gz")
        rows.append(f"p{i}\tp{i}_lr.nii.gz\tp{i}_hr.nii.gz")
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    jobs = dag_jobs(tmp_path, config={"experiments": ["dsgan"], "dsgan": {"subject_sheet": str(sheet)}})
    counts = rule_counts(jobs)
    assert counts["dsgan_data"] == 3 and "cohort_subject" not in counts  # no phantom needed
    data_job = next(job for job in jobs if job.rule.name == "dsgan_data")
    assert {Path(f).name for f in data_job.input} == {f"{data_job.wildcards['dsgan_subject']}_{k}.nii.gz"
                                                     for k in ("lr", "hr")}
    table = next(job for job in jobs if job.rule.name == "dsgan_table")
    assert table.params.footer["data"] == f"subject sheet {sheet}"
