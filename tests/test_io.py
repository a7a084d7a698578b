"""Tests for mrsr.io: validated NIfTI reading, atomic writing, npz round trips."""

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mrsr.io import NiftiError, Volume, check_same_grid, load_npz, read_nifti, save_npz, write_nifti

AFFINE = np.diag([0.4, 0.5, 2.0, 1.0])


def _save_raw(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    """Write a NIfTI with nibabel directly, bypassing write_nifti's checks."""
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def test_round_trip_gz_and_plain(tmp_path):
    data = np.random.default_rng(0).normal(size=(5, 6, 7)).astype(np.float32)
    for name in ("a.nii.gz", "sub/dir/b.nii"):
        write_nifti(tmp_path / name, data, AFFINE)
        vol = read_nifti(tmp_path / name)
        assert vol.data.dtype == np.float32
        np.testing.assert_array_equal(vol.data, data)
        np.testing.assert_allclose(vol.affine, AFFINE)
        assert vol.path == str(tmp_path / name)
        assert vol.voxel_size == pytest.approx((0.4, 0.5, 2.0))


def test_write_dtype_and_no_temp_left(tmp_path):
    write_nifti(tmp_path / "m.nii.gz", np.ones((3, 3, 3)), AFFINE, dtype=np.uint8)
    assert nib.load(str(tmp_path / "m.nii.gz")).get_data_dtype() == np.uint8
    assert [p.name for p in tmp_path.iterdir()] == ["m.nii.gz"]


def test_write_failure_leaves_nothing(tmp_path, monkeypatch):
    def boom(img, filename):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(nib, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        write_nifti(tmp_path / "x.nii.gz", np.zeros((2, 2, 2)), AFFINE)
    assert list(tmp_path.iterdir()) == []


def test_write_rejects_bad_name_and_affine(tmp_path):
    with pytest.raises(NiftiError, match="nii"):
        write_nifti(tmp_path / "x.img", np.zeros((2, 2, 2)), AFFINE)
    with pytest.raises(NiftiError, match="singular"):
        write_nifti(tmp_path / "x.nii", np.zeros((2, 2, 2)), np.zeros((4, 4)))


def test_missing_file(tmp_path):
    path = tmp_path / "nope.nii.gz"
    with pytest.raises(NiftiError) as err:
        read_nifti(path)
    assert str(err.value).startswith(str(path))
    assert "not found" in str(err.value)


def test_truncated_gz_and_garbage(tmp_path):
    good = _save_raw(tmp_path / "good.nii.gz", np.random.default_rng(1).normal(size=(20, 20, 20)).astype(np.float32))
    raw = good.read_bytes()
    bad = tmp_path / "trunc.nii.gz"
    bad.write_bytes(raw[: len(raw) // 2])
    garbage = tmp_path / "garbage.nii"
    garbage.write_bytes(b"not a nifti file at all" * 10)
    for path in (bad, garbage):
        with pytest.raises(NiftiError) as err:
            read_nifti(path)
        assert str(err.value).startswith(str(path))
        assert "cannot read" in str(err.value)


def test_ndim_and_trailing_singletons(tmp_path):
    path = _save_raw(tmp_path / "v.nii", np.zeros((4, 5, 6, 1), np.float32))
    assert read_nifti(path).data.shape == (4, 5, 6)
    assert read_nifti(path, ndim=(3, 4)).data.shape == (4, 5, 6, 1)
    four = _save_raw(tmp_path / "f.nii", np.zeros((4, 5, 6, 3), np.float32))
    with pytest.raises(NiftiError, match=r"expected 3-D data, got shape \(4, 5, 6, 3\)"):
        read_nifti(four)
    assert read_nifti(four, ndim=4).data.shape == (4, 5, 6, 3)
    flat = _save_raw(tmp_path / "s.nii", np.zeros((4, 5, 1), np.float32))
    assert read_nifti(flat, ndim=2).data.shape == (4, 5)


def test_nonfinite_counted(tmp_path):
    data = np.zeros((3, 3, 3), np.float32)
    data[0, 0, 0] = np.nan
    data[1, 1, 1] = np.nan
    data[2, 2, 2] = np.inf
    path = _save_raw(tmp_path / "n.nii", data)
    with pytest.raises(NiftiError, match="2 NaN and 1 Inf"):
        read_nifti(path)
    assert np.isnan(read_nifti(path, allow_nonfinite=True).data).sum() == 2


def test_singular_or_nonfinite_affine(tmp_path):
    affine = AFFINE.copy()
    affine[2, 2] = 0.0
    img = nib.Nifti1Image(np.zeros((3, 3, 3), np.float32), None)
    img.set_sform(affine, code=2)  # the sform is stored as is (a qform would refuse it)
    path = tmp_path / "sing.nii"
    nib.save(img, str(path))
    with pytest.raises(NiftiError, match="singular"):
        read_nifti(path)
    good = _save_raw(tmp_path / "nan.nii", np.zeros((3, 3, 3), np.float32))
    raw = bytearray(good.read_bytes())
    raw[292:296] = np.array([np.nan], "<f4").tobytes()  # srow_x[3] (x offset) of the NIfTI-1 header
    good.write_bytes(bytes(raw))
    with pytest.raises(NiftiError, match="NaN/Inf"):
        read_nifti(good)


def test_empty_shape(tmp_path):
    path = _save_raw(tmp_path / "e.nii", np.zeros((3, 0, 3), np.float32))
    with pytest.raises(NiftiError, match="empty"):
        read_nifti(path)


def test_check_same_grid():
    a = Volume(np.zeros((3, 4, 5), np.float32), AFFINE, "a.nii")
    check_same_grid(a, Volume(np.ones((3, 4, 5, 2), np.float32), AFFINE + 1e-4, "b.nii"))
    shifted = AFFINE.copy()
    shifted[0, 3] = 0.5
    with pytest.raises(NiftiError, match="a.nii and c.nii: affines differ"):
        check_same_grid(a, Volume(np.zeros((3, 4, 5), np.float32), shifted, "c.nii"))
    with pytest.raises(NiftiError, match=r"a.nii and d.nii: different spatial shapes \(3, 4, 5\) vs \(3, 4, 6\)"):
        check_same_grid(a, Volume(np.zeros((3, 4, 6), np.float32), AFFINE, "d.nii"))


def test_npz_round_trip_and_errors(tmp_path):
    path = tmp_path / "deep" / "arrays.npz"
    arrays = {"x": np.arange(6.0).reshape(2, 3), "y": np.array([1, 2], np.int16)}
    save_npz(path, **arrays)
    assert [p.name for p in path.parent.iterdir()] == ["arrays.npz"]
    loaded = load_npz(path)
    assert sorted(loaded) == ["x", "y"]
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == value.dtype
    with pytest.raises(ValueError, match="missing.npz: file not found"):
        load_npz(tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="corrupt.npz: cannot read"):
        load_npz(corrupt)


def test_npz_failure_leaves_nothing(tmp_path, monkeypatch):
    def boom(fh, **arrays):
        fh.write(b"partial")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(RuntimeError):
        save_npz(tmp_path / "a.npz", x=np.zeros(3))
    assert list(tmp_path.iterdir()) == []


def test_empty_mask_names_the_file(tmp_path):
    from mrsr.io import read_mask

    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    empty = tmp_path / "my mask.nii.gz"
    write_nifti(empty, np.zeros((4, 4, 4), np.float32), affine)
    with pytest.raises(NiftiError, match=r"my mask\.nii\.gz: the mask is empty"):
        read_mask(empty)
    good = tmp_path / "mask.nii.gz"
    data = np.zeros((4, 4, 4), np.float32)
    data[1:3, 1:3, 1:3] = 1.0
    write_nifti(good, data, affine)
    mask = read_mask(good, like=Volume(np.zeros((4, 4, 4), np.float32), affine, "img.nii.gz"))
    assert mask.data.dtype == bool and int(mask.data.sum()) == 8
    with pytest.raises(NiftiError, match="mask.nii.gz and img.nii.gz"):
        read_mask(good, like=Volume(np.zeros((4, 4, 5), np.float32), affine, "img.nii.gz"))


def test_npz_is_compressed_and_round_trips(tmp_path):
    import zipfile

    arrays = {"zeros": np.zeros((64, 64), np.float32), "ramp": np.arange(4096, dtype=np.float32).reshape(64, 64)}
    save_npz(tmp_path / "a.npz", **arrays)
    with zipfile.ZipFile(tmp_path / "a.npz") as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    assert (tmp_path / "a.npz").stat().st_size < sum(a.nbytes for a in arrays.values()) / 2
    loaded = np.load(tmp_path / "a.npz")
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)


def test_prediction_writer_stacks_slices_in_source_order_within_the_int16_step(tmp_path) -> None:
    """Slices come back stacked by source index with the in-plane voxel sizes and the slice spacing, each within
    one quantisation step (range / 65535) of the float prediction; a reference row writes only the index."""
    import json

    from mrsr.io import read_nifti
    from mrsr.predictions import PredictionWriter, stack_affine

    rng = np.random.default_rng(3)
    images = {i: rng.normal(size=(5, 6)).astype(np.float32) * 40 for i in (9, 2, 4)}
    writer = PredictionWriter(tmp_path / "p", "field7to9", "unet7")
    for index, image in images.items():
        writer.add_slice("sub-03", index, image, axis=0, voxel_mm=(2.0, 1.0, 0.5))
    [path] = writer.write()
    volume = read_nifti(path)
    assert volume.data.shape == (5, 6, 3)
    np.testing.assert_allclose(volume.affine, stack_affine((2.0, 1.0, 0.5), 0))
    assert volume.voxel_size == (1.0, 0.5, 2.0)
    step = (max(im.max() for im in images.values()) - min(im.min() for im in images.values())) / 65535
    for z, index in enumerate(sorted(images)):
        assert np.abs(volume.data[:, :, z] - images[index]).max() <= step
    card = json.loads((tmp_path / "p/sub-03.json").read_text())
    assert card["source_slices"] == [2, 4, 9] and card["slice_axis"] == 0 and card["method"] == "unet7"
    assert json.loads((tmp_path / "p/predictions.json").read_text())["files"][0]["slices"] == 3
    reference = PredictionWriter(tmp_path / "r", "ixi_sr", "lr", enabled=False)
    reference.add_slice("sub-03", 0, images[2])
    assert reference.write() == [] and [p.name for p in (tmp_path / "r").iterdir()] == ["predictions.json"]
    assert "reference row" in json.loads((tmp_path / "r/predictions.json").read_text())["note"]
