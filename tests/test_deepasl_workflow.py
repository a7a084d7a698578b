"""The DeepASL experiment in the workflow: DAG shape of the presets, and a tiny real run on BIDS-shaped data."""

from __future__ import annotations

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
    # 2 datasets x 5 networks x 2 held-out subjects (reduced folds); one evaluation per dataset and method
    assert counts["deepasl_train"] == 2 * 5 * 2
    assert counts["deepasl_infer"] == 2 * 6
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
    assert len(train) == 2 * 5 * 5  # leave-one-subject-out over all 5 subjects
    pr = next(job for job in train if job.wildcards["deepasl_method"] == "pr_02")
    cfg = pr.params.cfg
    assert (cfg["epochs"], cfg["batch_size"], cfg["patches_per_fold"], cfg["patch_size"]) == (200, 500, 18000, 40)
    assert pr.params.method["lr_g"] == 1e-4 and pr.params.method["lambda"] == 0.2
    assert cfg["real"]["n_pairs"] == 30 and cfg["synthetic"]["n_pairs"] == 100
    assert cfg["grid"] == {"inplane_mm": 2.7, "slice_mm": 5.0, "matrix": 128, "slices": 17}
    # the footer's differences from the paper preset: none at paper scale (lr 1e-4 is the paper's)
    table = next(job for job in jobs if job.rule.name == "deepasl_table")
    assert table.params.footer["differences"] == [] and table.params.footer["preset"] == "paper"
    infer = next(job for job in jobs if job.rule.name == "deepasl_infer")
    assert infer.params.patch_size == 40  # paper: patch-wise inference


def test_default_footer_lists_the_reductions(tmp_path: Path) -> None:
    jobs = dag_jobs(tmp_path)
    footer = next(job for job in jobs if job.rule.name == "deepasl_table").params.footer
    diffs = {key: (ours, paper) for key, ours, paper in footer["differences"]}
    assert diffs["epochs"] == (3, 200) and diffs["methods.pr_02.lr_g"] == (1e-3, 1e-4)
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
        nib.save(nib.Nifti1Image(m0.astype(np.float32), affine), perf / f"{sub}_m0scan.nii.gz")
        nib.save(nib.Nifti1Image(m0.astype(np.float32), affine), anat / f"{sub}_T1w.nii.gz")
        rows.append(f"{sub}\t{sub}/perf/{sub}_asl.nii.gz\t{sub}/perf/{sub}_aslcontext.tsv\t"
                    f"{sub}/perf/{sub}_m0scan.nii.gz\t{sub}/anat/{sub}_T1w.nii.gz")
    sheet = root / "subjects.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    return sheet


@pytest.mark.slow
def test_tiny_run_on_a_bids_dataset(tmp_path: Path) -> None:
    sheet = write_bids(tmp_path / "bids")
    work = tmp_path / "work"
    work.mkdir()
    override = {"experiments": ["deepasl"], "deepasl": {"subject_sheet": str(sheet)}}
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
    # acquired data: nothing in the footer calls them simulated or phantom
    assert "simulated" not in md and "phantom" not in md and "real set: its acquired pCASL" in md
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False).set_index("claim")["held"]
    assert claims["Every network beats Averaging on the real set (PSNR, RMSE, CCC)"] in ("yes", "no")
    assert claims["PR-λ=0.2 beats Dilated Conv on the synthetic set (PSNR, RMSE, CCC)"] == "n/a"
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
