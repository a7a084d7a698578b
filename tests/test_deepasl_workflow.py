"""The DeepASL experiment in the workflow: DAG shape of the presets, and a tiny real run on BIDS-shaped data."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from test_workflow import REPO, dag_jobs, rule_counts, run_tiny

METHODS = ["averaging", "dilated", "pr_02", "pr_05", "pr_07", "pr_10"]


def test_default_plans_loso_folds_per_dataset_and_method(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path)
    counts = rule_counts(jobs)
    # 2 datasets x 5 networks x 2 held-out subjects (reduced folds), plus the labelled ground-truth row (synthetic
    # set only); one evaluation per dataset and method
    assert counts["deepasl_train"] == 2 * 5 * 2 + 2
    assert counts["deepasl_infer"] == 2 * 6 + 1
    gt = {(j.wildcards["deepasl_dataset"], j.wildcards["deepasl_fold"]) for j in jobs
          if j.rule.name == "deepasl_train" and j.wildcards["deepasl_method"] == "pr_02_gt"}
    assert gt == {("synthetic", "sub-01"), ("synthetic", "sub-02")}
    assert counts["deepasl_data"] == 2 * 5
    assert counts["deepasl_table"] == 1 and counts["deepasl_figure"] == 3
    folds = {job.wildcards["deepasl_fold"] for job in jobs if job.rule.name == "deepasl_train"}
    assert folds == {"sub-01", "sub-02"}
    train = [job for job in jobs if job.rule.name == "deepasl_train"]
    for job in train:  # the held-out subject's data never reach its model
        assert not any(f"/{job.wildcards['deepasl_fold']}.npz" in str(f) for f in job.input)
        assert len(job.input) == 4


def test_paper_preset_uses_paper_scale(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, [REPO / "config/paper.yaml"])
    train = [job for job in jobs if job.rule.name == "deepasl_train"]
    assert len(train) == (2 * 5 + 1) * 5 * 3  # leave-one-subject-out over all 5 subjects, 3 training seeds
    assert {job.wildcards["seed"] for job in train} == {"0", "1", "2"}
    # each network evaluated once per seed, Averaging (no network) once per dataset
    assert rule_counts(jobs)["deepasl_infer"] == (2 * 5 + 1) * 3 + 2
    pr = next(job for job in train if job.wildcards["deepasl_method"] == "pr_02")
    cfg = pr.params.cfg
    assert (cfg["max_updates"], cfg["batch_size"], cfg["patches_per_fold"], cfg["patch_size"]) == (7200, 500, 18000, 40)
    # paper: 18000 / 500 = 36 updates per epoch x 200 epochs; validation once per epoch, never stopping early
    assert (cfg["stopping"]["check_every"], cfg["stopping"]["stop"]) == (36, False)
    from mrsr.footer import paper_budgets
    assert all(b["updates"] == cfg["max_updates"] for b in paper_budgets("deepasl").values())
    assert pr.params.method["lr_g"] == 1e-4 and pr.params.method["lambda"] == 0.2
    assert cfg["real"]["n_pairs"] == 30 and cfg["synthetic"]["n_pairs"] == 100
    assert cfg["grid"] == {"inplane_mm": 2.7, "slice_mm": 5.0, "matrix": 128, "slices": 17}
    # the footer's differences from the paper preset: none at paper scale (lr 1e-4 is the paper's)
    table = next(job for job in jobs if job.rule.name == "deepasl_table")
    assert table.params.footer["differences"] == [] and table.params.footer["preset"] == "paper"
    infer = next(job for job in jobs if job.rule.name == "deepasl_infer")
    assert infer.params.patch_size == 40  # paper: patch-wise inference


def test_two_seeds_train_and_evaluate_every_network_twice_and_averaging_once(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path, config={"experiments": ["deepasl"], "seeds": [0, 1]})
    counts = rule_counts(jobs)
    # twice the default's 2 x 5 x 2 + 2 trainings and 2 x 5 + 1 network evaluations; Averaging and the data once
    assert counts["deepasl_train"] == 2 * (2 * 5 * 2 + 2) and counts["deepasl_data"] == 2 * 5
    infer = [job for job in jobs if job.rule.name == "deepasl_infer"]
    assert len(infer) == 2 * (2 * 5 + 1) + 2
    assert sorted(job.wildcards["seed"] for job in infer if job.wildcards["deepasl_method"] == "averaging") == ["0"] * 2
    assert counts["deepasl_table"] == 1 and counts["deepasl_figure"] == 3
    table = next(job for job in jobs if job.rule.name == "deepasl_table")
    inputs = [str(f) for f in table.input.metrics]
    assert len(inputs) == 2 * (5 * 2 + 1) + 2 and table.params.seeds == [0, 1]
    # a training record per dataset x network x fold x seed feeds the footer's training lines
    records = [str(f) for f in table.input.records]
    assert len(records) == (2 * 5 + 1) * 2 * 2
    assert "results/deepasl/models/real/pr_02/fold-sub-02/seed-1/loss.json" in records
    assert not any("/real/pr_02_gt/" in r for r in records)  # the ground-truth row: synthetic set only
    assert "results/deepasl/eval/real/pr_02/seed-1/metrics.tsv" in inputs
    assert "results/deepasl/eval/real/averaging/seed-1/metrics.tsv" not in inputs
    # figures show the first seed's networks
    figure = next(job for job in jobs if job.rule.name == "deepasl_figure")
    assert all("/seed-0/" in str(f) for f in figure.input) and figure.params.seeds == [0, 1]


def test_default_footer_lists_the_reductions(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path)
    footer = next(job for job in jobs if job.rule.name == "deepasl_table").params.footer
    diffs = {key: (ours, paper) for key, ours, paper in footer["differences"]}
    assert diffs["max_updates"] == (400, 7200) and diffs["batch_size"] == (8, 500)
    assert diffs["methods.pr_02.lr_g"] == (1e-3, 1e-4) and diffs["stopping.stop"] == (True, False)
    assert footer["data"].startswith("phantom cohort (simulated")


def write_bids(root: Path, n_subjects: int = 3, pairs: int = 6) -> Path:
    """A small BIDS-shaped ASL dataset (asl + aslcontext + m0scan + T1w per subject) and its subject sheet."""
    rng = np.random.default_rng(0)
    shape = (40, 40, 5)
    zz, yy, xx = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij")
    brain = (zz**2 + yy**2 + 0.3 * xx**2) < 0.8
    rows = ["subject\tasl\taslcontext\tm0\tt1w"]
    affine = np.diag([3.0, 3.0, 5.0, 1.0])
    for i in range(1, n_subjects + 1):
        sub = f"sub-{i:02d}"
        perf = root / sub / "perf"
        anat = root / sub / "anat"
        perf.mkdir(parents=True)
        anat.mkdir(parents=True)
        m0 = np.where(brain, 1000.0, 0.0) + rng.normal(0, 5, shape)
        dm = np.where(brain, 8.0 + 4.0 * (xx > 0), 0.0)
        vols, context = [], []
        for _ in range(pairs):
            vols += [m0 + rng.normal(0, 6, shape), m0 - dm + rng.normal(0, 6, shape)]
            context += ["control", "label"]
        nib.save(nib.Nifti1Image(np.stack(vols, axis=-1).astype(np.float32), affine), perf / f"{sub}_asl.nii.gz")
        (perf / f"{sub}_aslcontext.tsv").write_text("volume_type\n" + "\n".join(context) + "\n")
        # the BIDS sidecar states the config's real-set timing (the sidecar wins; the numbers stay the same)
        (perf / f"{sub}_asl.json").write_text(json.dumps({"ArterialSpinLabelingType": "PCASL", "M0Type": "Separate",
                                                          "PostLabelingDelay": 1.6, "LabelingDuration": 1.8}))
        nib.save(nib.Nifti1Image(m0.astype(np.float32), affine), perf / f"{sub}_m0scan.nii.gz")
        nib.save(nib.Nifti1Image(m0.astype(np.float32), affine), anat / f"{sub}_T1w.nii.gz")
        rows.append(f"{sub}\t{sub}/perf/{sub}_asl.nii.gz\t{sub}/perf/{sub}_aslcontext.tsv\t"
                    f"{sub}/perf/{sub}_m0scan.nii.gz\t{sub}/anat/{sub}_T1w.nii.gz")
    sheet = root / "subjects.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    return sheet


def seed_means_of(out: Path, method: str, key: str) -> tuple[float, float]:
    """Mean and sd (ddof 1) over training seeds 0 and 1 of a method's mean metric on the real set, recomputed
    from the metrics files (Averaging's one file, seed-0, stands for both seeds)."""
    seeds = (0, 1) if method != "averaging" else (0, 0)
    values = [pd.read_csv(out / f"eval/real/{method}/seed-{s}/metrics.tsv", sep="\t")[key].mean() for s in seeds]
    return float(np.mean(values)), float(np.std(values, ddof=1))


@pytest.mark.slow
def test_tiny_run_on_a_bids_dataset_with_two_training_seeds(tmp_path: Path) -> None:
    sheet = write_bids(tmp_path / "bids")
    work = tmp_path / "work"
    work.mkdir()
    override = {"experiments": ["deepasl"], "deepasl": {"subject_sheet": str(sheet)}, "seeds": [0, 1]}
    run_tiny(work, override)
    out = work / "results/deepasl"
    # only the real set: the sheet gives no GM/WM maps to build a synthetic set from
    assert not (out / "data/synthetic").exists() and (out / "figures/fig3_real.png").stat().st_size > 10_000
    assert (out / "figures/fig4_bland_altman.pdf").is_file() and not (out / "figures/fig2_synthetic.png").exists()
    table = pd.read_csv(out / "tables/table1.csv")
    assert list(table["method_key"]) == METHODS
    assert np.isfinite(table[["Real PSNR", "Real RMSE", "Real CCC"]].to_numpy()).all()
    np.testing.assert_allclose(table["Real PSNR (paper)"], [23.6, 24.2, 25.1, 24.3, 24.0, 23.9])
    np.testing.assert_allclose(table["ΔReal PSNR"], table["Real PSNR"] - table["Real PSNR (paper)"])
    assert table.set_index("method_key").loc["pr_02", "#params"] == 146785
    md = (out / "tables/table1.md").read_text()
    assert "subject sheet" in md and "Preset: test" in md and "Orderings: real: PSNR" in md and "Assumption:" in md
    assert "BIDS sidecar JSON" in md  # the sidecar's timing is used over the config, and the footer says so
    assert "the ASL sidecar JSON where it states them" in (work / "logs/deepasl/data/real_sub-01.log").read_text()
    # acquired data: nothing in the footer calls them simulated or phantom
    assert "simulated" not in md and "phantom" not in md and "real set: its acquired pCASL" in md
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False).set_index("claim")["outcome"]
    # a network that did not beat Averaging (PSNR (brain), item-paired) makes the claim untestable
    learned = "does NOT beat 'Averaging'" not in md
    assert claims["Every network beats Averaging on the real set (PSNR, RMSE, CCC)"] in (
        ("held", "not held") if learned else ("untestable",))
    assert claims["PR-λ=0.2 beats Dilated Conv on the synthetic set (PSNR, RMSE, CCC)"] == "untestable"
    # Averaging is the input itself: its metrics recompute from the held-out subject's data
    metrics = pd.read_csv(out / "eval/real/averaging/seed-0/metrics.tsv", sep="\t")
    from mrsr.experiments.deepasl.evaluate import subject_metrics
    from mrsr.io import load_npz

    data = load_npz(out / "data/real/sub-01.npz")
    assert data["noisy"].shape == (4, 3, 40, 40)  # 5 slices minus top and bottom
    expected = subject_metrics(data["noisy"], data)
    np.testing.assert_allclose(metrics["psnr"], [r["psnr"] for r in expected], rtol=1e-6)
    # the reference CBF is f(mean of all pairs): in brain ~ 8 / 1000 * M0-normalised factor
    assert float(np.median(data["ref_cbf"][(data["mask"] > 0)])) > 0
    assert (out / "models/real/pr_02/fold-sub-01/seed-0/model.pt").is_file()
    assert_seed_means(out, table.set_index("method_key"), md)
    assert_learning_report(out, table.set_index("method_key"), md)


def assert_learning_report(out: Path, table: pd.DataFrame, md: str) -> None:
    """Brain-masked columns recomputed from the metrics files, one training line per trained row with the
    record's updates and the paired test over (subject, level) items, and the learning-curve figure."""
    from mrsr.experiments.deepasl.evaluate import MAIN, with_items
    from mrsr.learned import beats_reference
    from mrsr.experiments.deepasl.table import seed_average

    for key, column in (("psnr_brain", "Real PSNR (brain)"), ("ssim_brain", "Real SSIM (brain)")):
        recomputed = [seed_means_of(out, m, key)[0] for m in METHODS]
        np.testing.assert_allclose(table[column], recomputed, rtol=1e-12)
    assert table["Real SSIM (brain)"].between(-1, 1).all() and "Real PSNR (brain) (paper)" not in table.columns
    per_seed = {s: pd.concat([pd.read_csv(out / f"eval/real/{m}/seed-{s if m != 'averaging' else 0}/metrics.tsv",
                                          sep="\t") for m in METHODS], ignore_index=True) for s in (0, 1)}
    metrics = seed_average(per_seed, ["psnr_brain"])
    lines = [line for line in md.splitlines() if "Training, " in line]
    assert len(lines) == len(METHODS) - 1  # one per trained row of the one built set (2 seeds x 1 fold each)
    for method, line in zip(METHODS[1:], lines):
        records = [json.loads((out / f"models/real/{method}/fold-sub-01/seed-{s}/loss.json").read_text())
                   for s in (0, 1)]
        assert all(r["updates"] <= 4 and r["reference_val_mse"] > 0 for r in records)
        test = beats_reference(with_items(metrics), method, "averaging", MAIN)
        learned, p = test["beats"], test["p"]
        assert f"{records[0]['updates']}, {records[1]['updates']} updates at batch 8 vs paper ~7,200" in line
        assert ("beats 'Averaging'" if learned else "does NOT beat 'Averaging'") in line and f"p={p:.3g}" in line
    assert (out / "figures/learning_curves_real.png").stat().st_size > 10_000
    assert not (out / "figures/learning_curves_synthetic.png").exists()


def assert_seed_means(out: Path, table: pd.DataFrame, md: str) -> None:
    """Table 1, its tests and claims of a two-seed run hold the seed means, recomputed from the metrics files."""
    assert (out / "models/real/pr_02/fold-sub-01/seed-1/model.pt").is_file()
    assert not (out / "eval/real/averaging/seed-1").exists()  # no network: evaluated once
    for key in ("psnr", "rmse", "ccc"):
        recomputed = pd.DataFrame([seed_means_of(out, m, key) for m in METHODS], index=METHODS)
        np.testing.assert_allclose(table[f"Real {key.upper()}"], recomputed[0], rtol=1e-12)
        np.testing.assert_allclose(table[f"Real {key.upper()} seed sd"], recomputed[1], rtol=1e-9, atol=1e-12)
        assert f"ΔReal {key.upper()} seed sd" not in table.columns  # a Δ's spread is its value's
    assert table.loc["averaging", "Real PSNR seed sd"] == 0 and table.loc["pr_02", "Real PSNR seed sd"] > 0
    assert "Real PSNR std seed sd" not in table.columns
    assert "seed(s): 0, 1." in md and "Training seeds 0, 1: each value is the mean over the seeds" in md
    assert "real set: Ordering flips between seeds: " in md or "real set: No paper ordering flips" in md
    assert "values averaged over the training seeds" in md
    # paired tests on each (subject, level)'s mean over the seeds
    rows = {m: sum(pd.read_csv(out / f"eval/real/{m}/seed-{s}/metrics.tsv", sep="\t")["psnr"] for s in (0, 1)) / 2
            for m in ("pr_02", "dilated")}
    tests = pd.read_csv(out / "tables/table1_tests.tsv", sep="\t").set_index("metric")
    assert tests.loc["psnr", "mean_diff"] == pytest.approx(float((rows["pr_02"] - rows["dilated"]).mean()))
    # the claim reads the seed means: it cannot hold where a mean does not beat Averaging's
    beaten = all((table.loc[m, "Real PSNR"] > table.loc["averaging", "Real PSNR"])
                 and (table.loc[m, "Real RMSE"] < table.loc["averaging", "Real RMSE"])
                 and (table.loc[m, "Real CCC"] > table.loc["averaging", "Real CCC"]) for m in METHODS[1:])
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False).set_index("claim")["outcome"]
    outcome = claims["Every network beats Averaging on the real set (PSNR, RMSE, CCC)"]
    assert outcome == "untestable" if "does NOT beat 'Averaging'" in md else outcome != "held" or beaten


def test_invalid_deepasl_config_fails_naming_the_key(tmp_path: Path) -> None:
    from test_workflow import run_cli

    bad = tmp_path / "bad.yaml"
    bad.write_text("deepasl:\n  methods:\n    pr_02: {label: x, trainer: kinetic, generator: deepasl, lambda: 2.0, "
                   "lr_g: 1.0e-4}\n")
    result = run_cli(["-n", "--configfile", str(bad)], tmp_path)
    assert result.returncode != 0 and "lambda" in result.stdout + result.stderr
    bad.write_text("deepasl:\n  pair_snr: 2.0\n")
    result = run_cli(["-n", "--configfile", str(bad)], tmp_path)
    assert result.returncode != 0 and "pair_snr" in result.stdout + result.stderr
