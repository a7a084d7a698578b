"""The ixi_sr experiment in the workflow: DAG of the presets, and the shared tiny run's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mrsr.experiments.ixi_sr.data import brain_patches, load_slice_pairs, patch_pairs
from mrsr.footer import paper_budgets
from mrsr.metrics import brain_mask
from mrsr.stats import paired_better
from test_workflow import REPO, dag_jobs, rule_counts, run_tiny_from

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
        if job.rule.name == "ixi_sr_data":  # the 1 mm rebuild of the subject, not the 2 mm cohort's file
            assert list(job.input) == [f"results/cohort/grid-1mm/{job.wildcards['ixi_sr_subject']}/t2w.nii.gz"]
        if job.rule.name == "cohort_subject_on_grid":
            assert job.params.voxel_mm == 1.0 and list(job.output)[0].endswith("/t2w.nii.gz")
    assert counts["cohort_subject_on_grid"] == 6
    table = next(job for job in jobs if job.rule.name == "ixi_sr_table")
    assert not any(d[0] == "cohort.voxel_mm" for d in table.params.footer["differences"])


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
    assert (cfg["slice_size"], cfg["patch_size"], cfg["max_patches"]) == (256, 64, None)
    assert cfg["schedule"] == {"constant_fraction": 0.5, "decay_fraction": 0.5, "final_factor": 0.02}
    assert train["cpce"].params.method["batch_size"] == 128 and train["circle"].params.method["batch_size"] == 64
    assert train["cpce"].params.method["max_updates"] == 306_300 and train["circle"].params.method["max_updates"] == 612_500
    assert not train["cpce"].params.method["stopping"]["stop"]  # the paper trains its 100 epochs
    assert train["cpce"].params.method["n_critic"] == 4 and train["cpce"].params.method["lambda_p"] == 0.1
    assert "cohort_subject_on_grid" not in counts  # the paper preset's cohort is already on the 1 mm grid
    assert {tuple(job.input) for job in jobs if job.rule.name == "ixi_sr_data"} == {
        (f"results/cohort/sub-0{i}/t2w.nii.gz",) for i in range(1, 7)}
    table = next(job for job in jobs if job.rule.name == "ixi_sr_table")
    assert table.params.footer["differences"] == [] or all(
        not d[0].startswith("ixi_sr") for d in table.params.footer["differences"])


@pytest.fixture(scope="module")
def ixi_tiny(tiny_run_dir: Path) -> Path:
    """The session's tiny run (tests/conftest.py; 4 updates per network)."""
    return tiny_run_dir


def test_tiny_run_table_claims_and_figures(ixi_tiny: Path) -> None:
    out = ixi_tiny / "results/ixi_sr"
    table = pd.read_csv(out / "tables/table1.csv", index_col=0)
    assert list(table.index) == ROWS
    assert table["SSIM"].between(0, 1).all() and (table["PSNR"] > 0).all()
    assert table["SSIM (brain)"].between(0, 1).all() and (table["PSNR (brain)"] > 0).all()
    assert "PSNR (brain) (paper)" not in table.columns and "ΔPSNR (brain)" not in table.columns
    assert table.loc["cpce", "SSIM (paper)"] == pytest.approx(0.9563)
    assert table.loc["circle", "#params"] == 611_418 and table.loc["cpce", "#params"] == 62_016
    assert not any(c.endswith("seed sd") for c in table.columns)  # one seed: no spread columns
    md = (out / "tables/table1.md").read_text()
    assert "Training seeds" not in md and "flips" not in md
    assert "random VGG" in md and "Preset: test" in md and "reference row 'LR (k-space truncated) [addition]'" in md
    assert "methods.cpce.max_updates = 4 (paper preset: 306300)" in md  # differences from the paper preset
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False)
    learned = [brain_verdict(out, m)[0] for m in NETWORKS]
    plateau = [json.loads((out / f"models/{m}/seed-0/loss.json").read_text())["plateau_reached"] for m in NETWORKS]
    # both claims compare the trained rows: untestable unless both beat LR inside the brain and reached a plateau
    expected = {"held", "not held"} if all(learned) and all(plateau) else {"untestable"}
    assert len(claims) == 2 and set(claims["outcome"]) <= expected
    metrics = pd.read_csv(out / "eval/lr/seed-0/metrics.tsv", sep="\t")
    assert metrics["ssim"].between(0, 1).all() and metrics["psnr"].gt(0).all()
    log = pd.read_csv(out / "models/cpce/seed-0/loss.csv")
    assert list(log["train_lr_factor"]) == [1.0, 0.02]
    for name in ("fig4_slices", "fig5_zoom", "loss_curves", "learning_curves"):
        assert (out / f"figures/{name}.png").stat().st_size > 1000


def brain_verdict(out: Path, method: str) -> tuple[bool, float]:
    """The expected 'beats LR inside the brain' of a network: paired over the test slices on PSNR (brain)."""
    net = pd.read_csv(out / f"eval/{method}/seed-0/metrics.tsv", sep="\t")
    ref = pd.read_csv(out / "eval/lr/seed-0/metrics.tsv", sep="\t")
    assert list(net["slice"]) == list(ref["slice"])
    return paired_better(net["psnr_brain"], ref["psnr_brain"], True)


def test_tiny_run_footer_has_one_training_line_per_network(ixi_tiny: Path) -> None:
    out = ixi_tiny / "results/ixi_sr"
    md = (out / "tables/table1.md").read_text()
    lines = [line for line in md.splitlines() if line.startswith("- Training, ")]
    assert [line.split(":")[0] for line in lines] == ["- Training, GAN-CPCE", "- Training, GAN-CIRCLE"]
    n_test = len(pd.read_csv(out / "eval/lr/seed-0/metrics.tsv", sep="\t"))
    for method, line in zip(("cpce", "circle"), lines):
        record = json.loads((out / f"models/{method}/seed-0/loss.json").read_text())
        assert record["updates"] == 4 and record["batch_size"] == 8
        assert f": 4 updates at batch 8 vs paper ~{paper_budgets('ixi_sr')[method]['updates']:,} (" in line
        assert ("plateau reached" if record["plateau_reached"] else "plateau not reached") in line
        beats, p = brain_verdict(out, method)
        assert ("beats 'LR" if beats else "does NOT beat 'LR") in line
        assert f"over {n_test} test slices, p = {p:.3g}" in line
        assert f"validation MSE {record['val_mse']:.3g} (LR {record['reference_val_mse']:.3g})" in line
        log = pd.read_csv(out / f"models/{method}/seed-0/loss.csv")
        assert list(log["update"]) == [2, 4] and log["val_mse"].notna().all()


def test_tiny_run_validation_slices_come_from_training_subjects_only(ixi_tiny: Path) -> None:
    out = ixi_tiny / "results/ixi_sr"
    train = [load_slice_pairs(out / f"data/{s}.npz") for s in ("sub-01", "sub-02")]
    test = load_slice_pairs(out / "data/sub-03.npz")
    assert all(d["val"].sum() == 1 for d in train) and not test["val"].any()
    val_hr = np.concatenate([d["hr"][d["val"]] for d in train])
    test_hr = {s.tobytes() for s in test["hr"]}
    assert not any(s.tobytes() in test_hr for s in val_hr)  # validation disjoint from the test slices
    record = json.loads((out / "models/cpce/seed-0/loss.json").read_text())
    cfg = {**yaml.safe_load((REPO / "config/config.yaml").read_text())["ixi_sr"],
           **yaml.safe_load((REPO / "config/test.yaml").read_text())["ixi_sr"]}
    pairs = [patch_pairs(d["lr"][d["val"]], d["hr"][d["val"]], cfg["patch_size"], cfg["patch_stride"]) for d in train]
    x, y = brain_patches(np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]),
                         cfg["val_min_foreground"])
    assert 0 < len(y) < sum(len(p[1]) for p in pairs)  # background patches of those slices left out
    assert record["reference_val_mse"] == pytest.approx(np.mean((x - y) ** 2), rel=1e-5)  # LR of exactly those patches


def brain_centroid(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Intensity-weighted centroid (pixels) of a slice inside a mask."""
    w = np.where(mask, img, 0.0).astype(np.float64)
    return np.array([(np.indices(img.shape)[a] * w).sum() / w.sum() for a in range(2)])


def test_tiny_run_slices_on_the_phantom_grid_lr_without_offset_or_shift(ixi_tiny: Path) -> None:
    # the phantom T2w is rebuilt on ixi_sr.phantom_voxel_mm (the tiny config's differs from its cohort's grid)
    grid = yaml.safe_load((REPO / "config/test.yaml").read_text())["ixi_sr"]["phantom_voxel_mm"]
    assert grid != yaml.safe_load((REPO / "config/test.yaml").read_text())["cohort"]["voxel_mm"]
    for subject in ("sub-01", "sub-02", "sub-03"):
        d = load_slice_pairs(ixi_tiny / f"results/ixi_sr/data/{subject}.npz")
        np.testing.assert_allclose(d["voxel_mm"], [grid, grid])
        masks = brain_mask(d["hr"])
        for lr, hr, mask in zip(d["lr"], d["hr"], masks):
            # k-space truncation keeps DC: the brain mean moves only by the magnitude's rectified ringing
            assert abs(lr[mask].mean() / hr[mask].mean() - 1) < 0.015
            # and the same sampling grid: no shift of the brain between LR and HR
            np.testing.assert_allclose(brain_centroid(lr, mask), brain_centroid(hr, mask), atol=0.1)


def slice_mean(out: Path, method: str, seed: int, metric: str) -> float:
    return float(pd.read_csv(out / f"eval/{method}/seed-{seed}/metrics.tsv", sep="\t")[metric].mean())


@pytest.mark.slow
def test_tiny_run_with_two_seeds_shows_seed_means_and_spread(tiny_run_dir: Path, tmp_path: Path) -> None:
    run_tiny_from(tiny_run_dir, tmp_path, {"experiments": ["ixi_sr"], "seeds": [0, 1]})
    out = tmp_path / "results/ixi_sr"
    table = pd.read_csv(out / "tables/table1.csv", index_col=0)
    assert list(table.index) == ROWS
    assert list(table.columns) == ["Method", "SSIM", "SSIM seed sd", "SSIM (paper)", "ΔSSIM", "PSNR", "PSNR seed sd",
                                   "PSNR (paper)", "ΔPSNR", "SSIM (brain)", "SSIM (brain) seed sd", "PSNR (brain)",
                                   "PSNR (brain) seed sd", "#params", "#params (paper)"]
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
    outcome = claims.loc["GAN-CPCE beats GAN-CIRCLE on SSIM and PSNR", "outcome"]
    if any("does NOT beat" in line for line in md.splitlines() if line.startswith("- Training, ")):
        assert outcome == "untestable"  # a trained row that did not beat LR cannot test the claim
    elif not beats:  # the means alone already fail "beats"
        assert outcome == "not held"
    for name in ("fig4_slices", "fig5_zoom", "loss_curves", "learning_curves"):
        assert (out / f"figures/{name}.png").stat().st_size > 1000
