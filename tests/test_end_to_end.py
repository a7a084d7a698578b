"""A tiny real run of the whole workflow (config/test.yaml): every rule, every method, then the CLI,
the report, a user subject sheet, and a corrupt input file."""

from __future__ import annotations

import json

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mrsr.io import read_nifti
from mrsr.tables import load_paper_values

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FIELD = "results/field7to9"


def snakemake(workdir: Path, *args: str, extra_config: Path | None = None) -> subprocess.CompletedProcess:
    configs = [str(REPO / "config/test.yaml")] + ([str(extra_config)] if extra_config else [])
    cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--cores", "2", "--resources", "gpu=1",
           *args, "--configfile", *configs]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)


@pytest.fixture(scope="module")
def run_dir(tiny_run_dir: Path) -> Path:
    return tiny_run_dir  # tests/conftest.py: one local tiny run per session, shared with test_slurm.py


def test_every_rule_ran(run_dir: Path) -> None:
    log = run_dir / "logs"
    for rule in ["cohort", "field7to9/simulate", "field7to9/n4", "field7to9/register", "field7to9/patches",
                 "field7to9/train", "field7to9/infer", "field7to9/rfsr_train", "field7to9/rfsr_apply"]:
        assert any((log / rule).iterdir()), rule
    assert (run_dir / "results/cohort/subjects.tsv").is_file()


def test_run_writes_its_provenance(run_dir: Path) -> None:
    from mrsr.provenance import git_commit

    record = json.loads((run_dir / "results/provenance.json").read_text())
    repo = Path(__file__).resolve().parents[1]
    assert record["code"]["commit"] == git_commit(repo)["commit"]
    assert record["code"]["module"] == str(repo / "src" / "mrsr")  # jobs import the workflow's own source
    assert record["packages"]["snakemake"] and record["config"]["preset"] == "test"


@pytest.mark.parametrize("table", ["table2", "table3"])
def test_tables_have_every_method_beside_the_paper(run_dir: Path, table: str) -> None:
    paper = load_paper_values("field7to9", table)
    full = pd.read_csv(run_dir / FIELD / f"tables/{table}.csv", index_col="method_key")
    assert list(full.index) == ["input", *paper]  # the no-model reference row first
    frame = full.loc[list(paper)]
    assert np.isfinite(full["PSNR"]).all() and np.isfinite(full["SSIM"]).all()
    np.testing.assert_allclose(frame["PSNR (paper)"], [v["psnr"] for v in paper.values()])
    np.testing.assert_allclose(frame["ΔPSNR"], frame["PSNR"] - frame["PSNR (paper)"])
    np.testing.assert_allclose(full["ΔSSIM vs input"], full["SSIM"] - full.loc["input", "SSIM"])
    scored = pd.read_csv(run_dir / FIELD / "eval/input/seed-0/metrics.tsv", sep="\t")
    assert full.loc["input", "PSNR"] == pytest.approx(scored["psnr"].mean())
    markdown = (run_dir / FIELD / f"tables/{table}.md").read_text()
    assert "Preset: test; seed(s): 0." in markdown and "orderings" in markdown.lower()
    assert "patches_per_subject = 8 (paper preset: 300)" in markdown  # generated from the run's config
    assert "reference row 'input (no model)' on PSNR" in markdown
    assert (run_dir / FIELD / f"tables/{table}.tex").read_text().count("\\\\") >= len(paper) + 1


def test_field_claims_are_scored(run_dir: Path) -> None:
    claims = pd.read_csv(run_dir / FIELD / "claims.csv")
    # 4 updates and 2 test slices: no trained row beats the input row by a paired test, so none learned
    assert len(claims) == 2 and (claims["outcome"] == "untestable").all()
    assert claims["reason"].str.contains("did not beat its no-model reference").all()
    assert (claims["preset"] == "test").all()


def test_exact_parameter_counts_in_tables(run_dir: Path) -> None:
    frame = pd.concat([pd.read_csv(run_dir / FIELD / f"tables/{t}.csv") for t in ("table2", "table3")])
    exact = frame[frame["Method"].str.match(r"^(FCN 1|DCSRN|DCGAN [234]|U-net)")]
    assert (exact["#params"] == exact["#params (paper)"]).all()


def test_figures_are_written(run_dir: Path) -> None:
    figures = sorted((run_dir / FIELD / "figures").glob("*.png"))
    names = {f.stem for f in figures}
    assert {"fig4_rfsr", "fig5_dcsrn_curves", "fig7_cnn_examples", "fig8_gan_examples", "fig12_gan_curves"} <= names
    for png in figures:
        assert png.stat().st_size > 10_000 and png.with_suffix(".pdf").is_file()


def test_metrics_recompute_from_examples(run_dir: Path) -> None:
    from mrsr.io import load_npz
    from mrsr.metrics import psnr

    metrics = pd.read_csv(run_dir / FIELD / "eval/unet7/seed-0/metrics.tsv", sep="\t")
    ex = load_npz(run_dir / FIELD / "eval/unet7/seed-0/examples.npz")
    row = metrics[(metrics["slice"] == int(ex["slice"])) & (metrics["subject"] == str(ex["subject"]))]
    assert row.psnr.iloc[0] == pytest.approx(psnr(ex["gen"], ex["hr"], peak=255.0))


def test_cli_applies_a_trained_model(run_dir: Path, tmp_path: Path) -> None:
    subject = sorted((run_dir / FIELD / "patches").glob("*.npz"))[0].stem
    lr = run_dir / FIELD / f"n4/{subject}/lr.nii.gz"
    out = tmp_path / "pred.nii.gz"
    result = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(run_dir / FIELD / "models/dcsrn_l1/seed-0/model.pt"),
                             "--input", str(lr), "--output", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    pred, src = read_nifti(out), read_nifti(lr)
    assert pred.data.shape == tuple(2 * s for s in src.data.shape)
    np.testing.assert_allclose(pred.voxel_size, np.array(src.voxel_size) / 2, rtol=1e-4)
    assert np.isfinite(pred.data).all() and pred.data.std() > 0


def test_cli_output_is_on_the_input_intensity_scale(run_dir: Path, tmp_path: Path) -> None:
    """A scan with intensities in the tens of thousands comes back in the same range, not in [0, 1000]."""
    from mrsr.io import write_nifti
    from mrsr.preprocess import clip_bounds

    subject = sorted((run_dir / FIELD / "patches").glob("*.npz"))[0].stem
    src = read_nifti(run_dir / FIELD / f"n4/{subject}/lr.nii.gz")
    bright = tmp_path / "bright.nii.gz"
    write_nifti(bright, src.data * (30000.0 / src.data.max()), src.affine)
    out = tmp_path / "pred.nii.gz"
    result = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(run_dir / FIELD / "models/dcsrn_l1/seed-0/model.pt"),
                             "--input", str(bright), "--output", str(out), "--upsample", "1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "trained on T1-weighted 7T-like images, phantom" in result.stderr  # the provenance note
    assert "voxel size" in result.stderr  # not upsampled: twice the training grid's voxel size
    lo, hi = clip_bounds(read_nifti(bright).data, 0.1, 99.9)
    pred = read_nifti(out).data
    assert pred.min() >= lo - 1e-3 * hi and pred.max() <= hi * (1 + 1e-6)
    assert np.percentile(pred, 99) > 0.3 * hi  # on the input's scale, thousands, not [0, 1000]


def test_cli_names_a_corrupt_input(run_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"not a nifti")
    result = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(run_dir / FIELD / "models/fcn1/seed-0/model.pt"),
                             "--input", str(bad), "--output", str(tmp_path / "o.nii.gz")], capture_output=True, text=True)
    assert result.returncode == 1 and str(bad) in result.stderr
    assert not (tmp_path / "o.nii.gz").exists()


def test_report_contains_tables_and_figures(run_dir: Path) -> None:
    result = snakemake(run_dir, "--report", "report.html")
    assert result.returncode == 0, result.stderr[-4000:]
    html = (run_dir / "report.html").read_text(errors="ignore")
    assert "table2" in html and "fig8_gan_examples" in html


def _sheet_dir(run_dir: Path, tmp_path: Path, corrupt: bool) -> Path:
    data = tmp_path / "mydata"
    rows = ["subject\tlr\thr\tmask"]
    for raw in sorted((run_dir / FIELD / "raw").iterdir()):
        (data / raw.name).mkdir(parents=True)
        for name in ("lr", "hr", "mask"):
            shutil.copy(raw / f"{name}.nii.gz", data / raw.name / f"{name}.nii.gz")
        rows.append(f"{raw.name}\t{raw.name}/lr.nii.gz\t{raw.name}/hr.nii.gz\t{raw.name}/mask.nii.gz")
    if corrupt:
        target = data / rows[1].split("\t")[0] / "hr.nii.gz"
        target.write_bytes(gzip.compress(b"\x00" * 100))
    (data / "subjects.tsv").write_text("\n".join(rows) + "\n")
    return data


@pytest.mark.parametrize("corrupt", [False, True])
def test_user_subject_sheet_runs_preprocessing(run_dir: Path, tmp_path: Path, corrupt: bool) -> None:
    data = _sheet_dir(run_dir, tmp_path, corrupt)
    override = tmp_path / "mine.yaml"
    override.write_text(f"field7to9:\n  subject_sheet: {data / 'subjects.tsv'}\n")
    work = tmp_path / "work"
    work.mkdir()
    result = snakemake(work, "--until", "field_patches", "--show-failed-logs", extra_config=override)
    patches = sorted((work / FIELD / "patches").glob("*.npz")) if (work / FIELD / "patches").exists() else []
    if corrupt:
        bad = sorted(data.iterdir())[0] / "hr.nii.gz"
        assert result.returncode != 0
        assert str(bad) in result.stdout + result.stderr
        first = sorted(p.name for p in data.iterdir() if p.is_dir())[0]
        assert not (work / FIELD / f"n4/{first}/hr.nii.gz").exists()
    else:
        assert result.returncode == 0, result.stderr[-4000:]
        assert len(patches) == 3
        assert not (work / "results/cohort").exists()


def test_a_subject_sheet_alone_does_not_build_the_cohort(run_dir: Path, tmp_path: Path) -> None:
    data = _sheet_dir(run_dir, tmp_path, corrupt=False)
    override = tmp_path / "mine.yaml"
    override.write_text(f"experiments: [field7to9]\nfield7to9:\n  subject_sheet: {data / 'subjects.tsv'}\n")
    work = tmp_path / "work"
    work.mkdir()
    result = snakemake(work, "-n", extra_config=override)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "field_n4" in result.stdout and "cohort_subject" not in result.stdout and "cohort_sheet" not in result.stdout


ASL = "results/deepasl"


def test_deepasl_table_and_figures(run_dir: Path) -> None:
    full = pd.read_csv(run_dir / ASL / "tables/table1.csv")
    # the paper's six rows, then the labelled ground-truth-reference row (synthetic set only, no paper values)
    assert list(full["method_key"]) == ["averaging", "dilated", "pr_02", "pr_05", "pr_07", "pr_10", "pr_02_gt"]
    table, gt = full.iloc[:6], full.set_index("method_key").loc["pr_02_gt"]
    for col in ("Syn PSNR", "Syn RMSE", "Syn CCC", "Real PSNR", "Real RMSE", "Real CCC"):
        assert np.isfinite(table[col]).all(), col
        np.testing.assert_allclose(table[f"Δ{col}"], table[col] - table[f"{col} (paper)"])
        assert np.isfinite(gt[col]) == col.startswith("Syn") and np.isnan(gt[f"{col} (paper)"]), col
    np.testing.assert_allclose(table["Syn PSNR (paper)"], [20.3, 25.2, 28.0, 26.9, 25.6, 25.3])
    assert "not the paper's" in gt["Method"] and gt["#params"] == table.set_index("method_key").loc["pr_02", "#params"]
    md = (run_dir / ASL / "tables/table1.md").read_text()
    assert "not the paper's setting; its CBF loss term is against the noise-free CBF" in md
    assert "Preset: test" in md and "Orderings: synthetic: CCC" in md and "Paired tests" in md
    assert "#params: counted from our implementations" in md and "Reference row: Averaging" in md
    assert "Differs from the paper preset" in md and "max_updates = 4 (paper preset: 7200)" in md
    claims = pd.read_csv(run_dir / ASL / "claims.csv", keep_default_na=False)
    assert len(claims) == 6 and (claims["preset"] == "test").all()
    assert set(claims["outcome"]) <= {"held", "not held", "untestable"}
    tests = pd.read_csv(run_dir / ASL / "tables/table1_tests.tsv", sep="\t")
    assert set(tests["dataset"]) == {"synthetic", "real"} and len(tests) == 6
    for fig in ("fig2_synthetic", "fig3_real", "fig4_bland_altman"):
        assert (run_dir / ASL / f"figures/{fig}.png").stat().st_size > 10_000, fig


def test_deepasl_reference_is_the_complete_images_cbf(run_dir: Path) -> None:
    from mrsr.asl import quantify_cbf
    from mrsr.experiments.deepasl.data import kinetics
    from mrsr.io import load_npz

    data = load_npz(run_dir / ASL / "data/synthetic/sub-01.npz")
    assert data["noisy"].shape[0] == 4 and int(data["n_pairs"]) == 10
    brain = data["mask"] > 0
    # paper: f_t = eq. 1 on the complete image (mean of all pairs), for the loss and the scores
    cfg = {"synthetic": {"kinetics": {"tau": 1.6, "pld": 2.2}}}
    np.testing.assert_allclose(data["ref_cbf"], quantify_cbf(data["clean"], data["m0"], kinetics(cfg, "synthetic"),
                                                              brain), rtol=1e-5, atol=1e-4)
    gm, ref = data["gm"][brain], data["truth_cbf"][brain]
    # paper: CBF_GT = 65 PV_GM + 20 PV_WM with PV_WM in [0, 1 - PV_GM]: 65 gm <= ref <= 65 gm + 20 (1 - gm)
    assert (ref >= 65 * gm - 1e-3).all() and (ref <= 65 * gm + 20 * (1 - gm) + 1e-3).all()
    assert ref.max() > 55.0
    # averaging more pairs gives a better PSNR: 80 % vs 20 % of the pairs
    metrics = pd.read_csv(run_dir / ASL / "eval/synthetic/averaging/seed-0/metrics.tsv", sep="\t")
    by_level = metrics.set_index("level")["psnr"]
    assert by_level[0.8] > by_level[0.2] + 3.0


RETRAINED = ("dcsrn_l1", "unet7")  # a supervised CNN and a GAN (bf16 autocast in the default compute setting)


def test_retraining_with_the_same_seed_gives_equal_tables(run_dir: Path) -> None:
    """A rerun from the registered volumes on is bit-reproducible: force two trainings (their checkpoints
    deleted, so they train from scratch), let snakemake infer and rebuild the tables, and compare with the first
    run. (Registration itself is not: ANTs differs between processes, see mrsr.preprocess.register.)"""
    tables = [run_dir / FIELD / f"tables/{t}.csv" for t in ("table2", "table3")]
    before = [pd.read_csv(t) for t in tables]
    models = [f"{FIELD}/models/{m}/seed-0/model.pt" for m in RETRAINED]
    weights = {m: torch.load(run_dir / m, map_location="cpu")["state_dict"] for m in models}
    for method in RETRAINED:
        shutil.rmtree(run_dir / FIELD / f"checkpoints/{method}")
    result = snakemake(run_dir, "--forcerun", *models)
    assert result.returncode == 0, result.stderr[-4000:]
    for model, old in weights.items():
        assert (run_dir / FIELD / "checkpoints").joinpath(Path(model).parts[-3]).is_dir(), model  # it did retrain
        new = torch.load(run_dir / model, map_location="cpu")["state_dict"]
        assert new.keys() == old.keys() and all(torch.equal(new[k], old[k]) for k in old), model
    for table, old in zip(tables, before):
        pd.testing.assert_frame_equal(pd.read_csv(table), old, check_exact=True)


def test_cli_applies_an_ixi_sr_model_to_a_folder_with_sidecars(run_dir: Path, tmp_path: Path) -> None:
    """A folder of two LR scans (the central k-space of a test subject's T2w slices, 2x coarser in-plane) through
    the tiny run's GAN-CPCE: one NIfTI per scan on the 2x finer grid, on the input's intensity scale, and a JSON
    sidecar naming the input, the model, its training and the code; an asl_sr model is refused with exit 1."""
    import json

    from mrsr.degrade import kspace_truncate
    from mrsr.io import load_npz, write_nifti

    hr = np.moveaxis(load_npz(sorted((run_dir / "results/ixi_sr/data").glob("*.npz"))[-1])["hr"], 0, 2)
    lr = np.abs(kspace_truncate(hr.astype(np.complex64), (0.5, 0.5, 1.0))) * 800.0
    scans = tmp_path / "scans"
    for name, scale in (("a.nii.gz", 1.0), ("b.nii.gz", 2.0)):
        write_nifti(scans / name, lr * scale, np.diag([2.0, 2.0, 1.0, 1.0]))
    model = run_dir / "results/ixi_sr/models/cpce/seed-0/model.pt"
    result = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(model), "--input", str(scans),
                             "--output", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    preds = {}
    for name in ("a", "b"):
        pred = preds[name] = read_nifti(tmp_path / "out" / f"{name}_sr.nii.gz")
        assert pred.data.shape == hr.shape and np.allclose(pred.voxel_size, (1.0, 1.0, 1.0))
        assert np.isfinite(pred.data).all()
        card = json.loads((tmp_path / "out" / f"{name}_sr.json").read_text())
        assert card["Sources"] == [str((scans / f"{name}.nii.gz").resolve())]
        assert card["model"]["experiment"] == "ixi_sr" and card["model"]["method"] == "cpce"
        assert card["model"]["training"]["updates"] >= 1 and card["model"]["code"]["commit"]
        assert card["inference"]["upsample_factor"] == 2 and card["provenance"]["packages"]["torch"]
    # on the input's intensity scale: the same scan twice as bright (same [0, 1] network input) comes back twice
    # as bright (the tiny run's 4-update network itself is far from the identity)
    np.testing.assert_allclose(preds["b"].data, 2 * preds["a"].data, rtol=1e-4, atol=1e-4 * preds["a"].data.max())


def test_cli_applies_a_dsgan_edsr_model(run_dir: Path, tmp_path: Path) -> None:
    """A test subject's real LR slices, stacked into a volume on a 2x coarser grid, through the tiny run's
    DSGAN+EDSR: x2 in-plane on the grid that reads LR pixel i as HR pixel 2i + 1, on the input's scale (each slice
    is scaled by its maximum, so a scan twice as bright comes back twice as bright), with its sidecar."""
    from mrsr.io import load_npz, write_nifti

    d = load_npz(sorted((run_dir / "results/dsgan/data").glob("*.npz"))[-1])
    lr = np.moveaxis(d["lr"], 0, 2) * 500.0
    affine = np.diag([2.5, 2.5, 5.0, 1.0])
    for name, scale in (("a.nii.gz", 1.0), ("b.nii.gz", 2.0)):
        write_nifti(tmp_path / "scans" / name, lr * scale, affine)
    model = run_dir / "results/dsgan/models/dsgan/fold-0/seed-0/model.pt"
    result = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(model), "--input", str(tmp_path / "scans"),
                             "--output", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    a, b = (read_nifti(tmp_path / "out" / f"{n}_sr.nii.gz") for n in ("a", "b"))
    assert a.data.shape == (2 * lr.shape[0], 2 * lr.shape[1], lr.shape[2]) and np.isfinite(a.data).all()
    np.testing.assert_allclose(a.voxel_size, (1.25, 1.25, 5.0))
    np.testing.assert_allclose(a.affine @ [1, 1, 0, 1], affine @ [0, 0, 0, 1])  # HR pixel 1 = LR pixel 0
    np.testing.assert_allclose(b.data, 2 * a.data, rtol=1e-4, atol=1e-4 * np.abs(a.data).max())
    card = json.loads((tmp_path / "out/a_sr.json").read_text())
    assert card["model"]["experiment"] == "dsgan" and card["model"]["method"] == "dsgan"
    assert card["inference"]["slice_axis"] == 2 and card["inference"]["denoise"] is True


def test_cli_applies_a_deepasl_model_to_a_bids_folder(run_dir: Path, tmp_path: Path) -> None:
    """Two BIDS ASL series (asl + aslcontext + m0scan) in a folder through the tiny run's PR-λ=0.2: one denoised
    mean-dM volume per series on the ASL grid, named <series>_denoised, the M0 scans not taken as inputs."""
    from test_asl import write_bids_asl

    folder = tmp_path / "perf"
    series = {p: write_bids_asl(folder, prefix=p) for p in ("sub-01", "sub-02")}
    model = next((run_dir / "results/deepasl/models/real/pr_02").rglob("model.pt"))
    result = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(model), "--input", str(folder),
                             "--output", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*.nii.gz")) == ["sub-01_asl_denoised.nii.gz",
                                                                          "sub-02_asl_denoised.nii.gz"]
    for prefix, arrays in series.items():
        out = read_nifti(tmp_path / "out" / f"{prefix}_asl_denoised.nii.gz")
        assert out.data.shape == arrays["dm"].shape and np.isfinite(out.data).all()
        np.testing.assert_allclose(out.affine, arrays["affine"])
        card = json.loads((tmp_path / "out" / f"{prefix}_asl_denoised.json").read_text())
        assert card["model"]["experiment"] == "deepasl" and card["inference"]["dataset"] == "real"
        assert card["inference"]["smooth_fwhm_mm"] == 4.0


def test_trained_rows_write_their_test_set_predictions_as_nifti(run_dir: Path) -> None:
    """Every inference of a trained model writes its test-set predictions as NIfTI (with an index and a sidecar
    each); reference rows write only the index. The stored slice is the float prediction the metrics and figures
    used (the example arrays), within one int16 quantisation step."""
    from mrsr.io import load_npz

    results = run_dir / "results"
    for folder in ("field7to9/predictions/unet7/seed-0", "ixi_sr/predictions/cpce/seed-0",
                   "dsgan/predictions/dsgan/seed-0", "deepasl/predictions/real/pr_02/seed-0",
                   "asl_sr/predictions/exp2/proposed/sub-01/seed-0"):
        index = json.loads((results / folder / "predictions.json").read_text())
        assert index["files"] and all((results / folder / f["file"]).is_file() for f in index["files"]), folder
    for folder in ("ixi_sr/predictions/lr/seed-0", "dsgan/predictions/bicubic/seed-0"):
        assert not list((results / folder).glob("*.nii.gz")), folder  # the index only (and snakemake's timestamp)

    def step(volume) -> float:
        return float(volume.max() - volume.min()) / 65535

    field = load_npz(results / "field7to9/eval/unet7/seed-0/examples.npz")
    folder = results / "field7to9/predictions/unet7/seed-0"
    card = json.loads((folder / f"{field['subject']}.json").read_text())
    stored = read_nifti(folder / f"{field['subject']}.nii.gz").data
    z = card["source_slices"].index(int(field["slice"]))
    assert np.abs(stored[:, :, z] - field["gen"]).max() <= step(stored) * 1.01
    deepasl = load_npz(results / "deepasl/eval/real/pr_02/seed-0/examples.npz")
    for level in range(len(deepasl["levels"])):
        stored = read_nifti(results / f"deepasl/predictions/real/pr_02/seed-0/{deepasl['subject']}_level-{level}"
                                      ".nii.gz").data
        inside = deepasl["mask"] > 0  # stored inside the scoring mask only
        stored_slice = stored[:, :, int(deepasl["slice"])].T
        assert np.abs(stored_slice - deepasl["dm"][level])[inside].max() <= step(stored) * 1.01
        assert np.abs(stored_slice[~inside]).max() <= step(stored)  # 0 up to the int16 quantisation


def block_mean(volume: np.ndarray, k: int) -> np.ndarray:
    """k x k x k block averages (the volume's shape divisible by k)."""
    x, y, z = (s // k for s in volume.shape)
    return volume.reshape(x, k, y, k, z, k).mean(axis=(1, 3, 5))


def write_bids_pcasl_from_cohort(run_dir: Path, root: Path) -> dict:
    """A one-subject BIDS dataset from the tiny run's cohort subject: a T1w at 4 mm (anat) and a pCASL series at
    8 mm (perf: two control/label pairs whose difference is the subject's CBF map inside the brain, the M0 from its
    PD map), on one field of view. Returns the perfusion and the T1w's affine."""
    from mrsr.io import write_nifti

    maps = {n: read_nifti(run_dir / f"results/cohort/sub-01/{n}.nii.gz") for n in ("t1w", "cbf", "pd", "mask")}
    crop = tuple(slice(0, n - n % 8) for n in maps["t1w"].data.shape)
    t1w = block_mean(maps["t1w"].data[crop], 2)
    coarse = {n: block_mean(maps[n].data[crop], 4) for n in ("cbf", "pd", "mask")}

    def coarser(affine: np.ndarray, k: int) -> np.ndarray:  # k x larger voxels, same field of view
        out = affine @ np.diag([k, k, k, 1.0])
        out[:3, 3] = affine[:3, 3] + affine[:3, :3] @ np.full(3, (k - 1) / 2)
        return out

    t1_affine, asl_affine = coarser(maps["t1w"].affine, 2), coarser(maps["t1w"].affine, 4)
    m0 = coarse["pd"] * 1000.0 + 5.0
    dm = coarse["cbf"] * coarse["mask"] * 0.1
    write_nifti(root / "sub-01/perf/sub-01_asl.nii.gz", np.stack([m0, m0 - dm] * 2, -1), asl_affine)
    (root / "sub-01/perf/sub-01_aslcontext.tsv").write_text("volume_type\n" + "control\nlabel\n" * 2)
    write_nifti(root / "sub-01/perf/sub-01_m0scan.nii.gz", m0, asl_affine)
    write_nifti(root / "sub-01/anat/sub-01_T1w.nii.gz", t1w, t1_affine)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "pcasl", "BIDSVersion": "1.9.0"}))
    return {"dm": dm, "t1_affine": t1_affine, "t1_shape": t1w.shape}


def test_cli_applies_an_asl_sr_model_by_training_on_the_scan(run_dir: Path, tmp_path: Path) -> None:
    """A BIDS pCASL series and its subject's T1w (found by BIDS naming) through the tiny run's Experiment 2 model: a
    pyramid trained on the scan with the model's settings gives the perfusion on the 2x finer grid, which is the
    T1w's (same field of view), keeping its input's brain mean (within 10 %); a series without a T1w stops naming
    --t1w."""
    import torch

    from mrsr.train.multiscale import brain_mean_ratio, upsample

    root = tmp_path / "bids"
    scan = write_bids_pcasl_from_cohort(run_dir, root)
    model = run_dir / "results/asl_sr/models/exp2/proposed/sub-01/seed-0/model.pt"
    out = tmp_path / "derivatives"
    result = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(model), "--input", str(root), "--output",
                             str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "a new pyramid was trained on this scan" in result.stderr
    [path] = check_bids_derivatives(out)
    assert path.relative_to(out).as_posix() == "sub-01/perf/sub-01_desc-sr_asl.nii.gz"
    sr = read_nifti(path)
    assert sr.data.shape == scan["t1_shape"] and np.isfinite(sr.data).all()
    np.testing.assert_allclose(sr.affine, scan["t1_affine"], atol=1e-6)
    up = upsample(torch.from_numpy(scan["dm"].astype(np.float32))[None, None], sr.data.shape)[0, 0].numpy()
    assert abs(brain_mean_ratio(sr.data, up) - 1) < 0.1
    card = json.loads(path.with_name(path.name[:-7] + ".json").read_text())
    assert card["model"]["experiment"] == "asl_sr" and card["inference"]["factor"] == [2, 2, 2]
    assert card["inference"]["run"] == "exp2" and "single-image method" in card["warnings"][0]
    (root / "sub-01/anat/sub-01_T1w.nii.gz").unlink()
    missing = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(model), "--input",
                              str(root / "sub-01/perf/sub-01_asl.nii.gz"), "--output", str(tmp_path / "x.nii.gz")],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "no T1w found" in missing.stderr and "--t1w" in missing.stderr


def check_bids_derivatives(root: Path) -> list[Path]:
    """A BIDS-validator-style check of a derivatives folder; returns its NIfTI files. The description names a
    derivative dataset and what generated it; every file sits under sub-<label>[/ses-<label>]/<datatype>/, its name
    carries those entities and a desc, and each NIfTI has a JSON sidecar."""
    import re

    description = json.loads((root / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["BIDSVersion"]
    assert description["Name"] and description["GeneratedBy"][0]["Name"] == "mrsr"
    niftis = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "dataset_description.json"):
        parts = path.relative_to(root).parts
        assert re.fullmatch(r"sub-[A-Za-z0-9]+", parts[0]) and len(parts) in (3, 4), parts
        if len(parts) == 4:
            assert re.fullmatch(r"ses-[A-Za-z0-9]+", parts[1]), parts
        assert re.fullmatch(r"(anat|perf|func|dwi|fmap)", parts[-2]), parts
        prefix = "_".join(parts[:-2]) + "_"
        assert path.name.startswith(prefix), (path.name, prefix)
        assert re.fullmatch(r"sub-[A-Za-z0-9]+(_[a-z]+-[A-Za-z0-9]+)*_desc-[A-Za-z0-9]+_[A-Za-z0-9]+\.(nii\.gz|json)",
                            path.name), path.name
        if path.name.endswith(".nii.gz"):
            assert path.with_name(path.name[:-7] + ".json").is_file(), path
            niftis.append(path)
    return niftis


def test_cli_applies_an_ixi_sr_model_to_a_bids_dataset(run_dir: Path, tmp_path: Path) -> None:
    """A small BIDS dataset (three subjects' T2w, one in a session, and a T1w that is not taken) through the tiny
    run's GAN-CPCE for two participant labels: a derivatives folder that passes a validator-style check."""
    from mrsr.degrade import kspace_truncate
    from mrsr.io import load_npz, write_nifti

    hr = np.moveaxis(load_npz(sorted((run_dir / "results/ixi_sr/data").glob("*.npz"))[-1])["hr"], 0, 2)[..., :4]
    lr = np.abs(kspace_truncate(hr.astype(np.complex64), (0.5, 0.5, 1.0))) * 800.0
    root = tmp_path / "bids"
    for rel in ("sub-01/anat/sub-01_T2w.nii.gz", "sub-01/anat/sub-01_T1w.nii.gz",
                "sub-02/ses-1/anat/sub-02_ses-1_T2w.nii.gz", "sub-03/anat/sub-03_T2w.nii.gz"):
        write_nifti(root / rel, lr, np.diag([2.0, 2.0, 1.0, 1.0]))
    (root / "dataset_description.json").write_text(json.dumps({"Name": "tiny", "BIDSVersion": "1.9.0"}))
    model = run_dir / "results/ixi_sr/models/cpce/seed-0/model.pt"
    out = tmp_path / "derivatives" / "mrsr"
    result = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(model), "--input", str(root), "--output",
                             str(out), "--participant-label", "01", "sub-02"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    niftis = check_bids_derivatives(out)
    assert [p.relative_to(out).as_posix() for p in niftis] == ["sub-01/anat/sub-01_desc-sr_T2w.nii.gz",
                                                               "sub-02/ses-1/anat/sub-02_ses-1_desc-sr_T2w.nii.gz"]
    for path in niftis:
        pred = read_nifti(path)
        assert pred.data.shape == (2 * lr.shape[0], 2 * lr.shape[1], lr.shape[2]) and np.isfinite(pred.data).all()
        np.testing.assert_allclose(pred.voxel_size, (1.0, 1.0, 1.0))
    card = json.loads((out / "sub-01/anat/sub-01_desc-sr_T2w.json").read_text())
    assert card["Sources"] == [str((root / "sub-01/anat/sub-01_T2w.nii.gz").resolve())]
    missing = subprocess.run([str(BIN / "mrsr"), "apply", "--model", str(model), "--input", str(root), "--output",
                              str(tmp_path / "x"), "--participant-label", "09"], capture_output=True, text=True)
    assert missing.returncode == 1 and "participant label(s) 09" in missing.stderr
