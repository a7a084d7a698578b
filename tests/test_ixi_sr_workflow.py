"""The ixi_sr experiment in the workflow: DAG of the presets, and the shared tiny run's outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_workflow import REPO, dag_jobs, rule_counts, run_tiny

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


def test_two_training_seeds_double_the_network_jobs_only(tmp_path: Path) -> None:
    one = rule_counts(dag_jobs(tmp_path / "one", config={"experiments": ["ixi_sr"]}))
    jobs = dag_jobs(tmp_path / "two", config={"experiments": ["ixi_sr"], "seeds": [0, 1]})
    two = rule_counts(jobs)
    assert two["ixi_sr_train"] == 2 * one["ixi_sr_train"] == 4
    infer = {(j.wildcards["ixi_sr_method"], j.wildcards["seed"]) for j in jobs if j.rule.name == "ixi_sr_infer"}
    # the no-model rows (LR, bicubic) are scored once, at the data seed; each network once per seed
    assert infer == {("lr", "0"), ("bicubic", "0"), ("cpce", "0"), ("cpce", "1"), ("circle", "0"), ("circle", "1")}
    assert one["ixi_sr_infer"] == 4 and two["ixi_sr_table"] == one["ixi_sr_table"] == 1
    assert two["ixi_sr_data"] == one["ixi_sr_data"] and two["ixi_sr_figure"] == 1
    table = next(j for j in jobs if j.rule.name == "ixi_sr_table")
    assert sorted(table.input.networks) == [f"results/ixi_sr/eval/{m}/seed-{s}/metrics.tsv"
                                            for m in ("circle", "cpce") for s in (0, 1)]
    figure = next(j for j in jobs if j.rule.name == "ixi_sr_figure")
    assert all("/seed-0/" in f for f in figure.input) and figure.params.seed == 0


def test_paper_preset_dry_run_uses_paper_scale(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, [REPO / "config/paper.yaml"], config={"experiments": ["ixi_sr"]})
    counts = rule_counts(jobs)  # the paper preset trains seeds 0, 1, 2
    assert counts["ixi_sr_train"] == 2 * 3 and counts["ixi_sr_infer"] == 2 * 3 + 2 and counts["ixi_sr_table"] == 1
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
    assert not any(c.endswith("seed sd") for c in table.columns)  # one seed: no spread columns
    md = (out / "tables/table1.md").read_text()
    assert "Training seeds" not in md and "flips" not in md
    assert "random VGG" in md and "Preset: test" in md and "reference row 'LR (k-space truncated) [addition]'" in md
    assert "epochs = 2 (paper preset: 100)" in md  # differences from the paper preset are listed
    claims = pd.read_csv(out / "claims.csv")
    assert len(claims) == 2 and set(claims["outcome"]) <= {"held", "not held"}
    metrics = pd.read_csv(out / "eval/lr/seed-0/metrics.tsv", sep="\t")
    assert metrics["ssim"].between(0, 1).all() and metrics["psnr"].gt(0).all()
    log = pd.read_csv(out / "models/cpce/seed-0/loss.csv")
    assert list(log["train_lr_factor"]) == [1.0, 0.02]
    for name in ("fig4_slices", "fig5_zoom", "loss_curves"):
        assert (out / f"figures/{name}.png").stat().st_size > 1000


def slice_mean(out: Path, method: str, seed: int, metric: str) -> float:
    return float(pd.read_csv(out / f"eval/{method}/seed-{seed}/metrics.tsv", sep="\t")[metric].mean())


@pytest.mark.slow
def test_tiny_run_with_two_seeds_shows_seed_means_and_spread(tmp_path: Path) -> None:
    run_tiny(tmp_path, {"experiments": ["ixi_sr"], "seeds": [0, 1]})
    out = tmp_path / "results/ixi_sr"
    table = pd.read_csv(out / "tables/table1.csv", index_col=0)
    assert list(table.index) == ROWS
    assert list(table.columns) == ["Method", "SSIM", "SSIM seed sd", "SSIM (paper)", "ΔSSIM", "PSNR", "PSNR seed sd",
                                   "PSNR (paper)", "ΔPSNR", "#params", "#params (paper)"]
    assert not (out / "eval/lr/seed-1").exists() and not (out / "eval/bicubic/seed-1").exists()
    means = {}
    for metric, column in (("ssim", "SSIM"), ("psnr", "PSNR")):
        for method in ("cpce", "circle"):
            per_seed = [slice_mean(out, method, seed, metric) for seed in (0, 1)]
            assert per_seed[0] != per_seed[1], (method, metric)  # two trainings, two results
            assert table.loc[method, column] == pytest.approx(np.mean(per_seed), rel=1e-12)
            assert table.loc[method, f"{column} seed sd"] == pytest.approx(np.std(per_seed, ddof=1), rel=1e-9)
            means[method, metric] = per_seed
        for method in ("lr", "bicubic"):  # no model: the same values in every seed
            assert table.loc[method, column] == pytest.approx(slice_mean(out, method, 0, metric), rel=1e-12)
            assert table.loc[method, f"{column} seed sd"] == 0
        np.testing.assert_allclose(table[f"Δ{column}"], table[column] - table[f"{column} (paper)"])
    md = (out / "tables/table1.md").read_text()
    assert "Preset: test; seed(s): 0, 1." in md and "Training seeds 0, 1: each value is the mean over the seeds" in md
    flips = [m for m in ("ssim", "psnr") if (means["cpce", m][0] > means["circle", m][0])
             != (means["cpce", m][1] > means["circle", m][1])]
    if flips:
        assert f"Ordering flips between seeds: {flips[0].upper()}: GAN-CPCE better than GAN-CIRCLE" in md
    else:
        assert "No paper ordering flips between seeds." in md
    claims = pd.read_csv(out / "claims.csv").set_index("claim")
    beats = all(table.loc["cpce", c] > table.loc["circle", c] for c in ("SSIM", "PSNR"))  # on the seed means
    assert claims.loc["GAN-CPCE beats GAN-CIRCLE on SSIM and PSNR", "outcome"] == ("held" if beats else "not held")
    assert f"ssim: cpce {table.loc['cpce', 'SSIM']:.4g} vs circle {table.loc['circle', 'SSIM']:.4g}" in \
        claims.loc["GAN-CPCE beats GAN-CIRCLE on SSIM and PSNR", "evidence"]
    for name in ("fig4_slices", "fig5_zoom", "loss_curves"):
        assert (out / f"figures/{name}.png").stat().st_size > 1000
