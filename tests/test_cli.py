"""`mrsr apply` says what the model was trained on and warns, naming the difference, about unlike scans."""

from __future__ import annotations

from mrsr.apply import input_warnings

TRAINED = {"experiment": "field7to9", "data": "phantom (simulated)", "contrast": "T1-weighted 7T-like",
           "voxel_mm": [2.0, 2.0, 2.0], "background_fraction": 0.6}


def test_a_scan_like_the_training_data_only_gets_the_provenance_note() -> None:
    notes = input_warnings(TRAINED, (2.1, 1.9, 2.0), 0.55)
    assert len(notes) == 1 and "T1-weighted 7T-like" in notes[0] and "phantom" in notes[0]


def test_voxel_size_and_background_differences_are_named() -> None:
    notes = input_warnings(TRAINED, (0.5, 0.5, 2.0), 0.1)
    assert any("voxel size 0.5x0.5x2 mm" in n and "2x2x2 mm" in n for n in notes)
    assert any("only 10% of the scan is background (training volumes: 60%)" in n for n in notes)


def test_models_without_a_record_get_no_warning() -> None:
    assert input_warnings({}, (0.5, 0.5, 0.5), 0.0) == []


def test_version_and_exit_codes(tmp_path, capsys) -> None:
    import pytest

    from mrsr.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("mrsr ")
    missing = tmp_path / "none.pt"
    code = main(["apply", "--model", str(missing), "--input", str(tmp_path / "x.nii.gz"),
                 "--output", str(tmp_path / "y.nii.gz")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and str(missing) in err and len(err.splitlines()) == 1  # runtime error: exit 1, one line
    with pytest.raises(SystemExit) as usage:
        main(["apply", "--model", str(missing)])  # --input/--output missing: a usage error
    assert usage.value.code == 2


def test_ixi_sr_apply_sinc_upsamples_in_plane_keeps_geometry_and_intensities() -> None:
    """With an identity network, ixi_sr's apply returns the k-space zero-padded scan on the input's scale: twice the
    in-plane voxels over the same field of view (voxel 0 stays where it was), the slice axis untouched, the mean
    kept; the training-grid note names the data."""
    import numpy as np
    import torch

    from mrsr.apply import ApplyOptions
    from mrsr.degrade import kspace_truncate
    from mrsr.experiments.ixi_sr.apply import apply_volume
    from mrsr.io import Volume
    from mrsr.train.meta import ModelMeta

    z, y, x = np.meshgrid(*(np.linspace(-1, 1, n) for n in (40, 32, 6)), indexing="ij")
    hr = 1000.0 * np.exp(-(z**2 + y**2) / 0.3) * (1 + 0.1 * x) + 50.0  # smooth head-like blob, 1 mm grid
    lr = np.abs(kspace_truncate(hr.astype(np.complex128), (0.5, 0.5, 1.0))).astype(np.float32)
    affine = np.diag([2.0, 2.0, 1.0, 1.0])
    affine[:3, 3] = (-40.0, -30.0, 5.0)
    meta = ModelMeta("ixi_sr", "cpce", 0, trained_on={"data": "phantom", "contrast": "T2w", "experiment": "ixi_sr",
                                                      "voxel_mm": [1.0, 1.0]},
                     inference={"slice_axis": 2, "upsample_factor": 2, "normalise": "min-max per volume"})
    out, out_affine, notes = apply_volume(torch.nn.Identity(), meta, Volume(lr, affine), ApplyOptions(batch_size=4))
    assert out.shape == (40, 32, 6) and np.allclose(np.diag(out_affine)[:3], (1.0, 1.0, 1.0))
    np.testing.assert_allclose(out_affine[:3, 3], affine[:3, 3])  # the FFT grid keeps its origin
    np.testing.assert_allclose(out, hr, rtol=0, atol=2e-3 * hr.max())  # a band-limited blob comes back whole
    assert out.mean() == np.float32(out.mean()) and abs(out.mean() / lr.mean() - 1) < 1e-3
    assert len(notes) == 1 and "T2w" in notes[0]  # 1 mm in-plane after upsampling: as trained
    coarse = apply_volume(torch.nn.Identity(), meta, Volume(lr, np.diag([4.0, 4.0, 1.0, 1.0])), ApplyOptions())[2]
    assert any("voxel size 2x2 mm after upsampling" in n and "1x1 mm" in n for n in coarse)


def test_apply_refuses_models_of_other_experiments_naming_them(tmp_path) -> None:
    import pytest

    from mrsr.apply import applier, plan_outputs

    with pytest.raises(ValueError, match=r"m.pt: 'cohort' models are not applied.*field7to9, ixi_sr, dsgan, deepasl, "
                                         r"asl_sr\)"):
        applier("cohort", tmp_path / "m.pt")
    (tmp_path / "in").mkdir()
    with pytest.raises(ValueError, match="without NIfTI files"):
        plan_outputs(tmp_path / "in", tmp_path / "out")
    (tmp_path / "in" / "a.nii.gz").write_bytes(b"")
    (tmp_path / "in" / "b.nii").write_bytes(b"")
    (tmp_path / "in" / "notes.txt").write_text("x")
    assert plan_outputs(tmp_path / "in", tmp_path / "out") == [
        (tmp_path / "in" / "a.nii.gz", tmp_path / "out" / "a_sr.nii.gz"),
        (tmp_path / "in" / "b.nii", tmp_path / "out" / "b_sr.nii.gz")]
    # an experiment's own pattern and suffix (deepasl: the ASL series of a folder, not their M0 scans)
    (tmp_path / "in" / "s_asl.nii.gz").write_bytes(b"")
    assert plan_outputs(tmp_path / "in", tmp_path / "out", pattern="*_asl.nii*", suffix="_denoised") == [
        (tmp_path / "in" / "s_asl.nii.gz", tmp_path / "out" / "s_asl_denoised.nii.gz")]
    with pytest.raises(ValueError, match=r"without NIfTI files matching \*_m0scan"):
        plan_outputs(tmp_path / "in", tmp_path / "out", pattern="*_m0scan.nii*")
    with pytest.raises(ValueError, match="must be a folder"):
        plan_outputs(tmp_path / "in", tmp_path / "in" / "notes.txt")
    with pytest.raises(ValueError, match="ending in .nii"):
        plan_outputs(tmp_path / "in" / "a.nii.gz", tmp_path / "out.png")


def test_bids_derivative_names_and_plan(tmp_path) -> None:
    import pytest

    from mrsr.apply import derivative_name, is_bids_root, plan_bids

    assert derivative_name("sub-01_T2w.nii.gz", "sr") == "sub-01_desc-sr_T2w.nii.gz"
    assert derivative_name("sub-01_ses-2_acq-lr_T1w.nii", "sr") == "sub-01_ses-2_acq-lr_desc-sr_T1w.nii.gz"
    assert derivative_name("sub-01_desc-raw_asl.nii.gz", "denoised") == "sub-01_desc-denoised_asl.nii.gz"
    with pytest.raises(ValueError, match="scan.nii.gz: not a BIDS file name"):
        derivative_name("scan.nii.gz", "sr")
    root = tmp_path / "bids"
    for rel in ("sub-01/anat/sub-01_T2w.nii.gz", "sub-01/anat/sub-01_T1w.nii.gz",
                "sub-02/ses-1/anat/sub-02_ses-1_T2w.nii.gz", "sub-03/anat/sub-03_T2w.nii"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    assert not is_bids_root(root)
    (root / "dataset_description.json").write_text("{}")
    assert is_bids_root(root)
    out = tmp_path / "derivatives"
    assert plan_bids(root, out, bids_suffix="T2w", desc="sr", participants=["01", "sub-02"]) == [
        (root / "sub-01/anat/sub-01_T2w.nii.gz", out / "sub-01/anat/sub-01_desc-sr_T2w.nii.gz"),
        (root / "sub-02/ses-1/anat/sub-02_ses-1_T2w.nii.gz", out / "sub-02/ses-1/anat/sub-02_ses-1_desc-sr_T2w.nii.gz")]
    assert len(plan_bids(root, out, bids_suffix="T2w", desc="sr")) == 3  # every participant
    with pytest.raises(ValueError, match="no folder for participant label.*07.*found sub-01, sub-02, sub-03"):
        plan_bids(root, out, bids_suffix="T2w", desc="sr", participants=["07"])
    with pytest.raises(ValueError, match="without \\*_FLAIR.nii"):
        plan_bids(root, out, bids_suffix="FLAIR", desc="sr")


def test_apply_reads_an_asl_sr_pyramid_file_without_building_it(tmp_path) -> None:
    # asl_sr writes a pyramid (no single generator): `apply` reads its metadata only, and a pyramid without
    # inference settings (written before they were recorded) is refused naming the file
    import pytest
    import torch

    from mrsr.apply import apply_model
    from mrsr.train.meta import ModelMeta

    torch.save({"state_dicts": [], "methods": [], "meta": ModelMeta("asl_sr", "proposed", 0).to_dict()},
               tmp_path / "model.pt")
    with pytest.raises(ValueError, match="model.pt.*has no 'inference' settings"):
        apply_model(tmp_path / "model.pt", tmp_path / "in.nii.gz", tmp_path / "out.nii.gz")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt has no 'meta' record"):
        apply_model(tmp_path / "other.pt", tmp_path / "in.nii.gz", tmp_path / "out.nii.gz")
    # one --t1w for a folder of several series would register them all to one subject's T1w
    from mrsr.apply import ApplyOptions

    meta = ModelMeta("asl_sr", "proposed", 0, inference={"factor": [2, 2, 2]}).to_dict()
    torch.save({"state_dicts": [], "methods": [], "meta": meta}, tmp_path / "model.pt")
    for name in ("sub-01_asl.nii.gz", "sub-02_asl.nii.gz"):
        (tmp_path / "perf" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "perf" / name).write_bytes(b"")
    with pytest.raises(ValueError, match="--t1w t1.nii.gz names one T1w but .*perf holds 2 scans"):
        apply_model(tmp_path / "model.pt", tmp_path / "perf", tmp_path / "out", ApplyOptions(t1w="t1.nii.gz"))
    assert not (tmp_path / "out").exists()


def test_find_t1w_by_bids_naming(tmp_path) -> None:
    """The T1w of an ASL series' subject and session, from the anat folder beside its perf folder; none or several
    found stops with a message saying to give --t1w."""
    import pytest

    from mrsr.bids import find_t1w

    for rel in ("sub-01/perf/sub-01_asl.nii.gz", "sub-01/anat/sub-01_T1w.nii.gz", "sub-01/anat/sub-01_T2w.nii.gz",
                "sub-02/ses-a/perf/sub-02_ses-a_asl.nii.gz", "sub-02/ses-a/anat/sub-02_ses-a_T1w.nii",
                "sub-02/ses-b/anat/sub-02_ses-b_T1w.nii.gz", "sub-03/perf/sub-03_asl.nii.gz",
                "sub-03/anat/sub-03_run-1_T1w.nii.gz", "sub-03/anat/sub-03_run-2_T1w.nii.gz"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    assert find_t1w(tmp_path / "sub-01/perf/sub-01_asl.nii.gz") == tmp_path / "sub-01/anat/sub-01_T1w.nii.gz"
    assert find_t1w(tmp_path / "sub-02/ses-a/perf/sub-02_ses-a_asl.nii.gz") == \
        tmp_path / "sub-02/ses-a/anat/sub-02_ses-a_T1w.nii"
    with pytest.raises(ValueError, match=r"sub-03_asl.nii.gz: 2 \(sub-03_run-1_T1w.nii.gz, sub-03_run-2.*--t1w"):
        find_t1w(tmp_path / "sub-03/perf/sub-03_asl.nii.gz")
    with pytest.raises(ValueError, match="scan_asl.nii.gz: no T1w found.*give the T1w with --t1w"):
        find_t1w(tmp_path / "scan_asl.nii.gz")
