"""`mrsr apply` says what the model was trained on and warns, naming the difference, about unlike scans."""

from __future__ import annotations

from mrsr.cli import input_warnings

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
