"""The dsgan experiment in the workflow: DAG shape of the presets and training seeds, the shared tiny run's outputs
and a tiny run with two training seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mrsr.experiments.dsgan.data import upsample_on_grid
from mrsr.io import load_npz
from mrsr.metrics import brain_mask, brain_metrics
from mrsr.stats import paired_better
from mrsr.train.dsgan import kernel_distance
from test_workflow import REPO, dag_jobs, rule_counts, run_tiny_from

METHODS = ["bicubic", "zf", "gb", "dsgan", "dsn", "hidden"]
TRAINED = ["zf", "gb", "dsgan", "dsn", "hidden"]  # "hidden": the upper bound (the phantom's hidden degradation)
COLUMNS = {"psnr": "PSNR", "ssim": "SSIM", "brisque": "BRISQUE (LIVE model)"}
LABELS = {"zf": "ZF+EDSR", "gb": "GB+EDSR", "dsgan": "DSGAN+EDSR", "dsn": "DSN+EDSR (proxy)",
          "hidden": "Hidden degradation+EDSR (upper bound)"}


def check_learning_outputs(out: Path, seeds: list[int], subjects: list[str], folds: int) -> None:
    """Budgets, validation, brain columns and training footer lines of a finished dsgan run, against values
    recomputed here from its data and metrics files."""
    import json

    data = {s: load_npz(out / f"data/{s}.npz") for s in subjects}
    for d in data.values():  # validation slices are other slices than the training/test ones
        assert len(d["val_slices"]) and set(d["val_slices"]).isdisjoint(d["slices"])
        assert d["val_hr"].shape[1:] == d["hr"].shape[1:]
    for m in TRAINED:
        for fold in range(folds):
            train = [s for i, s in enumerate(subjects) if i % folds != fold]
            ref = np.mean([np.mean((upsample_on_grid(lr, hr.shape) - hr) ** 2) for s in train
                           for lr, hr in zip(data[s]["val_lr_nlm"], data[s]["val_hr"])])
            for seed in seeds:
                rec = json.loads((out / f"models/{m}/fold-{fold}/seed-{seed}/loss.json").read_text())
                # validation = the fold's training subjects' validation slices, never a held-out subject's
                assert rec["reference_val_mse"] == pytest.approx(ref, rel=1e-4)
                assert 1 <= rec["updates"] <= rec["max_updates"] and rec["plateau_reached"] in (True, False)
                log = pd.read_csv(out / f"models/{m}/fold-{fold}/seed-{seed}/loss.csv")
                assert {"update", "val_mse", "val_mse_smooth"} <= set(log.columns)
    # brain columns: one slice recomputed by hand, the table's column the mean of the per-slice values
    bic = pd.read_csv(out / "eval/bicubic/seed-0/metrics.tsv", sep="\t")
    d = data[subjects[0]]
    hr, lr = d["hr"][0], d["lr_nlm"][0]
    lo, hi = float(hr.min()), float(hr.max())
    want = brain_metrics((upsample_on_grid(lr, hr.shape) - lo) / (hi - lo), (hr - lo) / (hi - lo), peak=1.0,
                         ssim_range=1.0, mask=brain_mask(hr))
    row = bic[(bic.subject == subjects[0]) & (bic.slice == 0)].iloc[0]
    assert row["psnr_brain"] == pytest.approx(want["psnr_brain"], rel=1e-5)
    assert row["ssim_brain"] == pytest.approx(want["ssim_brain"], rel=1e-5)
    assert row["psnr_brain"] != pytest.approx(row["psnr"])  # the mask changes the score
    per_slice = {m: pd.concat([pd.read_csv(out / f"eval/{m}/seed-{s}/metrics.tsv", sep="\t") for s in seeds])
                 .groupby(["subject", "slice"])["psnr_brain"].mean() for m in TRAINED}
    per_slice["bicubic"] = bic.set_index(["subject", "slice"])["psnr_brain"]
    for table, methods in (("table2", ["zf", "gb", "dsgan", "hidden"]), ("table3", ["dsn", "dsgan"])):
        frame = pd.read_csv(out / f"tables/{table}.csv", index_col=0)
        assert {"PSNR (brain)", "SSIM (brain)"} <= set(frame.columns)
        md = (out / f"tables/{table}.md").read_text()
        for m in methods:
            assert frame.loc[m, "PSNR (brain)"] == pytest.approx(per_slice[m].mean(), rel=1e-6)
            beats, p = paired_better(per_slice[m].to_numpy(), per_slice["bicubic"].loc[per_slice[m].index].to_numpy(),
                                     True)
            recs = [json.loads((out / f"models/{m}/fold-{f}/seed-{s}/loss.json").read_text())
                    for f in range(folds) for s in seeds]
            updates = ", ".join(str(r["updates"]) for r in recs)
            verdict = "beats 'Bicubic'" if beats else "does NOT beat 'Bicubic'"
            line = next(x for x in md.splitlines() if f"Training, {LABELS[m]} (" in x)
            assert f": {updates} updates at batch {recs[0]['batch_size']} vs paper ~300,000" in line
            assert verdict in line and ("plateau" in line)
            assert f"{LABELS[m]} p={p:.3g}" in md


def test_default_plans_one_dsgan_job_per_subject_and_edsr_per_construction_and_fold(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path)
    counts = rule_counts(jobs)
    assert counts["dsgan_data"] == 6 and counts["dsgan_kernelgan"] == 6  # not one job per slice
    # four compared constructions and the upper bound (the hidden degradation), each an EDSR per fold
    assert counts["dsgan_train"] == 5 * 2 and counts["dsgan_dsn"] == 2 and counts["dsgan_infer"] == 6
    assert counts["dsgan_table"] == 1 and counts["dsgan_figure"] == 7
    for job in jobs:
        if job.rule.name == "dsgan_train":
            assert job.resources["gpu"] == 1
            fold = int(job.wildcards["dsgan_fold"])
            held_out = {f"sub-{i + 1:02d}" for i in range(6) if i % 2 == fold}
            assert not any(Path(f).stem in held_out for f in job.input)  # no held-out subject in training


def test_paper_preset_uses_paper_scale(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, [REPO / "config/paper.yaml"])
    counts = rule_counts(jobs)
    # three training seeds: DSGAN per subject, EDSR per construction and fold, DSN per fold, each per seed
    assert counts["dsgan_data"] == 24 and counts["dsgan_kernelgan"] == 24 * 3
    assert counts["dsgan_train"] == 5 * 5 * 3 and counts["dsgan_dsn"] == 5 * 3
    assert counts["dsgan_infer"] == 5 * 3 + 1 and counts["dsgan_table"] == 1  # Bicubic once
    cfg = next(job for job in jobs if job.rule.name == "dsgan_train").params.cfg
    assert cfg["slices_per_subject"] == 72 and cfg["kernelgan"]["iterations"] == 3000
    assert cfg["kernelgan"]["lambda_update_every"] == 200 and cfg["kernelgan"]["lr"] == 2e-4
    assert (cfg["edsr"]["n_blocks"], cfg["edsr"]["channels"], cfg["edsr"]["patch_size"]) == (16, 64, 48)
    assert cfg["edsr"]["rotations"] == 8 and cfg["gb_sigma"] == 1.5
    footer = next(job for job in jobs if job.rule.name == "dsgan_table").params.footer
    assert footer["preset"] == "paper" and footer["differences"] == [] and footer["seeds"] == [0, 1, 2]


def test_two_seeds_double_the_trained_jobs_only(tmp_path: Path) -> None:
    one = rule_counts(dag_jobs(tmp_path / "one", config={"experiments": ["dsgan"]}))
    jobs = dag_jobs(tmp_path / "two", config={"experiments": ["dsgan"], "seeds": [0, 1]})
    two = rule_counts(jobs)
    for rule in ("dsgan_kernelgan", "dsgan_dsn", "dsgan_train"):
        assert two[rule] == 2 * one[rule], rule
    assert (one["dsgan_infer"], two["dsgan_infer"]) == (6, 2 * 5 + 1)  # the trained methods twice, Bicubic once
    for rule in ("dsgan_data", "dsgan_table", "dsgan_figure"):
        assert two[rule] == one[rule], rule
    for job in jobs:
        seed = dict(job.wildcards.items()).get("seed")
        if job.rule.name in ("dsgan_train", "dsgan_infer") and seed is not None:
            trained = [f for f in job.input if "/kernelgan/" in f or "/dsn/" in f or "/models/" in f]
            assert all(f"/seed-{seed}/" in f for f in trained), job  # each seed's EDSR on its own DSGAN/DSN
        if job.rule.name == "dsgan_infer" and job.wildcards["dsgan_method"] == "bicubic":
            assert seed == "0"
    table = next(job for job in jobs if job.rule.name == "dsgan_table")
    assert sorted(table.input.reference) == ["results/dsgan/eval/bicubic/seed-0/metrics.tsv"]
    assert sorted(table.input.metrics) == sorted(f"results/dsgan/eval/{m}/seed-{s}/metrics.tsv"
                                                 for m in TRAINED for s in (0, 1))
    assert len(table.input.kernelgan) == 2 * 6
    figure = next(job for job in jobs if job.rule.name == "dsgan_figure")
    assert all("/seed-0/" in f for f in figure.input if "/data/" not in f)  # figures show the first seed


@pytest.mark.slow
def test_tiny_run_outputs(tiny_run_dir: Path) -> None:
    out = tiny_run_dir / "results/dsgan"
    metrics = pd.concat([pd.read_csv(out / f"eval/{m}/seed-0/metrics.tsv", sep="\t") for m in METHODS])
    assert set(metrics["method"]) == set(METHODS) and len(metrics) == 6 * 3  # 3 subjects x 1 slice each
    assert metrics["ssim"].between(-1, 1).all() and metrics["psnr"].between(0, 80).all()
    assert np.isfinite(metrics["brisque"]).all()
    table2 = pd.read_csv(out / "tables/table2.csv", index_col=0)
    assert list(table2.index) == ["bicubic", "zf", "gb", "dsgan", "hidden"]  # the upper bound last, no paper value
    assert "BRISQUE (LIVE model)" in table2.columns and table2.loc["dsgan", "SSIM (paper)"] == 0.627
    assert np.isnan(table2.loc["hidden", "SSIM (paper)"])
    assert table2.loc["gb", "#params"] == 259_713  # EDSR with the test preset's 1 block
    mean_psnr = metrics.groupby("method")["psnr"].mean()
    assert table2.loc["dsgan", "PSNR"] == pytest.approx(mean_psnr["dsgan"])
    assert not any("seed sd" in c for c in table2.columns)  # one training seed: no spread columns
    assert list(pd.read_csv(out / "tables/table3.csv", index_col=0).index) == ["dsn", "dsgan"]
    md = (out / "tables/table2.md").read_text()
    for line in ("Preset: test", "kernelgan.iterations = 8 (paper preset: 3000)", "Bicubic", "t-test DSGAN+EDSR",
                 "Kernel (phantom only)", "not the paper's liver", "Hidden degradation+EDSR is an upper bound",
                 "Learned kernel before KernelGAN's normalisation"):
        assert line in md
    for text in (md, (out / "tables/table3.md").read_text()):
        assert "Training seeds" not in text and "between seeds" not in text  # one training seed: no seeds lines
    tests = pd.read_csv(out / "tables/ttest_gb_vs_dsgan.tsv", sep="\t")
    assert set(tests["metric"]) == {"brisque", "ssim", "psnr"} and tests["p_t"].between(0, 1).all()
    claims = pd.read_csv(out / "claims.csv")
    assert len(claims) == 6 and set(claims["outcome"]) <= {"held", "not held", "untestable"}
    kernels = pd.read_csv(out / "tables/kernels.tsv", sep="\t", index_col=0)
    assert kernels.loc["dsgan", "n"] == 3 and kernels["kernel_distance"].between(0, 5).all()
    k = load_npz(out / "kernelgan/seed-0/sub-01.npz")
    # the raw kernel's sum and phase (which the distance does not see): the mean over the slices' kernels
    learned = np.concatenate([load_npz(out / f"kernelgan/seed-0/{s}.npz")["kernels"] for s in ("sub-01", "sub-02", "sub-03")])
    assert kernels.loc["dsgan", "kernel_sum"] == pytest.approx(learned.sum(axis=(1, 2)).mean(), rel=1e-5)
    assert {"phase_row", "phase_col"} <= set(kernels.columns) and {"phase_row", "phase_col"} <= set(k["log_columns"])
    sums = learned.sum(axis=(1, 2))
    assert f"{int(np.sum(sums < 0.5))} of {len(sums)} kernels (slices x seeds) have a raw sum below 0.5" in md
    data = load_npz(out / "data/sub-01.npz")
    assert k["lr"].shape == data["lr"].shape == data["gb"].shape == data["zf"].shape == data["hidden"].shape
    assert data["hr"].shape[1:] == tuple(2 * s for s in data["lr"].shape[1:])
    for fig in ("fig3_gb_vs_real", "fig4_examples", "fig5_mscn", "fig6_profiles", "fig7_dsn_vs_dsgan", "kernels",
                "learning_curves"):
        assert (out / f"figures/{fig}.png").stat().st_size > 5000
    check_learning_outputs(out, [0], ["sub-01", "sub-02", "sub-03"], 2)


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
    assert counts["dsgan_train"] == 4 * 2  # no upper bound: acquired data have no known degradation
    data_job = next(job for job in jobs if job.rule.name == "dsgan_data")
    assert {Path(f).name for f in data_job.input} == {f"{data_job.wildcards['dsgan_subject']}_{k}.nii.gz"
                                                     for k in ("lr", "hr")}
    table = next(job for job in jobs if job.rule.name == "dsgan_table")
    assert table.params.footer["data"] == f"subject sheet {sheet}"


def _seed_metrics(out: Path, method: str, seed: int) -> pd.DataFrame:
    return pd.read_csv(out / f"eval/{method}/seed-{seed}/metrics.tsv", sep="\t")


@pytest.mark.slow
def test_tiny_run_with_two_seeds_reports_seed_means_and_spread(tiny_run_dir: Path, tmp_path: Path) -> None:
    run_tiny_from(tiny_run_dir, tmp_path, {"experiments": ["dsgan"], "seeds": [0, 1]})
    out = tmp_path / "results/dsgan"
    assert not (out / "eval/bicubic/seed-1").exists()  # no training: scored once
    assert not np.array_equal(load_npz(out / "kernelgan/seed-0/sub-01.npz")["kernels"],
                              load_npz(out / "kernelgan/seed-1/sub-01.npz")["kernels"])  # DSGAN retrained per seed
    for table, methods in (("table2", ["zf", "gb", "dsgan"]), ("table3", ["dsn", "dsgan"])):
        frame = pd.read_csv(out / f"tables/{table}.csv", index_col=0)
        assert "PSNR std seed sd" not in frame.columns
        for method in methods:
            per_seed = [_seed_metrics(out, method, s) for s in (0, 1)]
            for key, column in COLUMNS.items():
                values = [m[key].mean() for m in per_seed]
                assert frame.loc[method, column] == pytest.approx(np.mean(values))
                assert frame.loc[method, f"{column} seed sd"] == pytest.approx(np.std(values, ddof=1))
                assert frame.loc[method, f"{column} std"] == pytest.approx(np.mean([m[key].std() for m in per_seed]))
            assert frame.loc[method, "ΔPSNR"] == pytest.approx(frame.loc[method, "PSNR"] - frame.loc[method, "PSNR (paper)"])
    table2 = pd.read_csv(out / "tables/table2.csv", index_col=0)
    assert table2.loc["bicubic", "PSNR"] == pytest.approx(_seed_metrics(out, "bicubic", 0)["psnr"].mean())
    assert table2.loc["bicubic", "PSNR seed sd"] == 0.0
    # t-test on the per-slice values averaged over the seeds
    avg = {m: (_seed_metrics(out, m, 0)["psnr"] + _seed_metrics(out, m, 1)["psnr"]) / 2 for m in ("dsgan", "gb")}
    tests = pd.read_csv(out / "tables/ttest_gb_vs_dsgan.tsv", sep="\t", index_col="metric")
    assert tests.loc["psnr", "p_t_better"] == pytest.approx(
        stats.ttest_rel(avg["dsgan"], avg["gb"], alternative="greater").pvalue)
    # kernel distance: mean over seeds of each seed's mean over slices
    hidden = load_npz(out / "data/sub-01.npz")["kernel"]
    per_seed = [np.mean([kernel_distance(np.flip(k), hidden) for p in sorted((out / f"kernelgan/seed-{s}").glob("*.npz"))
                         for k in load_npz(p)["kernels"]]) for s in (0, 1)]
    kernels = pd.read_csv(out / "tables/kernels.tsv", sep="\t", index_col=0)
    assert kernels.loc["dsgan", "kernel_distance"] == pytest.approx(np.mean(per_seed))
    assert kernels.loc["dsgan", "kernel_distance seed sd"] == pytest.approx(np.std(per_seed, ddof=1))
    md = (out / "tables/table2.md").read_text()
    for line in ("Preset: test; seed(s): 0, 1.", "Training seeds 0, 1: each value is the mean over the seeds",
                 "paired over slices, per-slice values averaged over the training seeds", "averaged over 2 training seeds"):
        assert line in md
    assert "Ordering flips between seeds" in md or "No paper ordering flips between seeds." in md
    check_learning_outputs(out, [0, 1], ["sub-01", "sub-02", "sub-03"], 2)
    claims = pd.read_csv(out / "claims.csv").set_index("claim")
    claim = claims.loc["DSGAN+EDSR beats GB+EDSR on SSIM and PSNR"]
    failed = [m for m in ("dsgan", "gb") if f"Training, {LABELS[m]} (" in md and "does NOT beat 'Bicubic'" in
              next(x for x in md.splitlines() if f"Training, {LABELS[m]} (" in x)]
    if failed:  # a row that did not learn makes the claim untestable (status passed to the scorecard)
        assert claim["outcome"] == "untestable"
        assert all(f"{m} did not beat its no-model reference" in claim["reason"] for m in failed)
    else:
        assert f"psnr: dsgan {table2.loc['dsgan', 'PSNR']:.4g} vs gb {table2.loc['gb', 'PSNR']:.4g}" in claim["evidence"]
