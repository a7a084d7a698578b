"""Phantom cohort: offline templates, grid geometry, subject invariants and known answers."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from mrsr import cohort
from mrsr.io import read_nifti

SEED = 7


@pytest.fixture(scope="module")
def templates() -> cohort.Templates:
    return cohort.load_templates(2.0)


@pytest.fixture(scope="module")
def subject(templates: cohort.Templates) -> dict[str, np.ndarray]:
    return cohort.make_subject(templates, cohort.subject_rng(SEED, 3))


def test_templates_load_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args, **_kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    cohort._templates_1mm.cache_clear()
    t1, gm, wm, csf, brain, affine = cohort._templates_1mm()
    assert gm.shape == (197, 233, 189) and np.allclose(np.diag(affine)[:3], 1.0)


def test_pv_maps_are_fractions(templates: cohort.Templates) -> None:
    for pv in (templates.gm, templates.wm, templates.csf):
        assert pv.min() >= 0.0 and pv.max() <= 1.0 + 1e-5
    assert (templates.gm + templates.wm + templates.csf).max() <= 1.0 + 1e-5
    assert set(np.unique(templates.mask)) == {0.0, 1.0}
    # the mask is the brain: mostly tissue inside, none far outside
    total = templates.gm + templates.wm + templates.csf
    assert total[templates.mask > 0].mean() > 0.95 and total[templates.mask == 0].max() < 0.5 + 1e-5


@pytest.mark.parametrize("voxel_mm, crop", [(2.0, True), (3.0, False)])
def test_grid_voxel_size_and_world_position(templates: cohort.Templates, voxel_mm: float, crop: bool) -> None:
    grid = templates if (voxel_mm, crop) == (2.0, True) else cohort.load_templates(voxel_mm, crop_to_brain=crop)
    assert np.allclose(grid.voxel_mm, voxel_mm) and np.allclose(np.linalg.norm(grid.affine[:3, :3], axis=0), voxel_mm)
    _t1, gm_1mm, _wm, _csf, _brain, affine_1mm = cohort._templates_1mm()

    def centroid(pv: np.ndarray, affine: np.ndarray) -> np.ndarray:
        idx = np.argwhere(pv > 0)
        w = pv[pv > 0].astype(np.float64)
        return (affine @ np.append((idx * w[:, None]).sum(axis=0) / w.sum(), 1.0))[:3]

    # area averaging keeps the GM volume and its world centroid (i.e. the affine places voxel centres right)
    np.testing.assert_allclose(grid.gm.sum() * voxel_mm**3, gm_1mm.sum(), rtol=1e-4)
    np.testing.assert_allclose(centroid(grid.gm, grid.affine), centroid(gm_1mm, affine_1mm), atol=0.01)


def test_one_mm_grid_is_the_templates_own_voxels() -> None:
    # ixi_sr's 1 mm slices: the 1 mm grid must be the shipped voxels themselves, not a resampled (blurred) copy
    grid = cohort.load_templates(1.0)
    t1_1mm, gm_1mm, _wm, _csf, _brain, affine_1mm = cohort._templates_1mm()
    assert np.allclose(grid.voxel_mm, 1.0)
    offset = (np.linalg.inv(affine_1mm) @ grid.affine)[:3, 3]  # template index of the grid's voxel 0
    np.testing.assert_allclose(offset, np.round(offset), atol=1e-6)
    lo = np.round(offset).astype(int)
    inner = tuple(slice(max(0, -a), min(n, m - a)) for a, n, m in zip(lo, grid.gm.shape, gm_1mm.shape))
    source = tuple(slice(s.start + a, s.stop + a) for s, a in zip(inner, lo))
    np.testing.assert_allclose(grid.gm[inner], gm_1mm[source], atol=1e-6)
    np.testing.assert_allclose(grid.t1[inner], t1_1mm[source], rtol=1e-6, atol=1e-3)


def test_crop_keeps_the_brain_with_margin(templates: cohort.Templates) -> None:
    full = cohort.load_templates(2.0, crop_to_brain=False)
    assert all(c < f + 4 for c, f in zip(templates.gm.shape, full.gm.shape))
    assert np.prod(templates.gm.shape) < 0.6 * np.prod(full.gm.shape)
    for axis in range(3):  # at least 2 voxels (4 mm) of empty margin on every face
        profile = np.moveaxis(templates.mask, axis, 0).reshape(templates.mask.shape[axis], -1).any(axis=1)
        assert not profile[:2].any() and not profile[-2:].any()


def test_subject_keys_shapes_and_values(templates: cohort.Templates, subject: dict[str, np.ndarray]) -> None:
    assert tuple(subject) == cohort.MAP_KEYS
    for key, data in subject.items():
        assert data.shape == templates.gm.shape and data.dtype == np.float32, key
        assert np.isfinite(data).all() and data.min() >= 0.0, key
    outside = subject["mask"] == 0
    assert outside.any() and subject["cbf"][outside].max() == 0.0 and subject["att"][outside].max() == 0.0
    assert (subject["gm"] + subject["wm"] + subject["csf"]).max() <= 1.0 + 1e-5


def test_gm_cbf_matches_the_jittered_value(templates: cohort.Templates, subject: dict[str, np.ndarray]) -> None:
    values = cohort.jitter_tissue(cohort.TISSUE_DEFAULTS, cohort.subject_rng(SEED, 3), 0.05)
    assert values["gm"]["cbf"] != cohort.TISSUE_DEFAULTS["gm"]["cbf"]
    pure_gm = subject["gm"] > 0.95
    assert pure_gm.sum() > 1000
    assert subject["cbf"][pure_gm].mean() == pytest.approx(values["gm"]["cbf"], rel=0.04)
    # everywhere in the brain: CBF = PV mix of the jittered values x a smooth field of mean 1, s.d. ~0.1
    inside = subject["mask"] > 0
    fraction = subject["gm"] + subject["wm"] + subject["csf"]
    mix = sum(subject[t] * values[t]["cbf"] for t in cohort.TISSUES) / np.maximum(fraction, 1e-6)
    perfused = inside & (mix > 5.0)
    ratio = subject["cbf"][perfused] / mix[perfused]
    assert ratio.mean() == pytest.approx(1.0, abs=0.03)
    assert 0.07 < ratio.std() < 0.13


def test_quantitative_maps_are_exact_mixes_without_noise(templates: cohort.Templates) -> None:
    maps = cohort.make_subject(templates, cohort.subject_rng(SEED, 0), jitter=0.0, cbf_heterogeneity=0.0)
    tissue = cohort.TISSUE_DEFAULTS
    fraction = maps["gm"] + maps["wm"] + maps["csf"]
    inside = (maps["mask"] > 0) & (fraction > 0.5)
    expected_t1 = sum(maps[t] * tissue[t]["t1"] for t in cohort.TISSUES) / np.where(inside, fraction, 1)
    np.testing.assert_allclose(maps["t1map"][inside], expected_t1[inside], rtol=1e-4)
    np.testing.assert_allclose(maps["pd"], sum(maps[t] * tissue[t]["pd"] for t in cohort.TISSUES), rtol=1e-5)
    pure_gm = maps["gm"] / np.maximum(fraction, 1e-6) > 0.999
    np.testing.assert_allclose(maps["cbf"][pure_gm & inside], 60.0, rtol=1e-3)
    np.testing.assert_allclose(maps["att"][pure_gm & inside], 0.8, rtol=1e-3)


def test_weighted_image_contrast_and_noise(templates: cohort.Templates, subject: dict[str, np.ndarray]) -> None:
    def mean_in(image: str, tissue: str) -> float:
        return float(subject[image][subject[tissue] > 0.95].mean())

    # MPRAGE-like T1w: WM > GM > CSF; long-TR/TE T2w: CSF brightest
    assert mean_in("t1w", "wm") > 1.3 * mean_in("t1w", "gm") > 1.3 * mean_in("t1w", "csf")
    assert mean_in("t2w", "csf") > 1.5 * max(mean_in("t2w", "gm"), mean_in("t2w", "wm"))
    # background is pure Rician (Rayleigh) noise: mean = sigma sqrt(pi/2), sigma = mean brain signal / snr
    background = (subject["gm"] + subject["wm"] + subject["csf"]) == 0
    sigma = subject["t1w"][subject["mask"] > 0].mean() / 40.0
    assert subject["t1w"][background].mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.15)


def test_subjects_differ_and_are_reproducible(templates: cohort.Templates, subject: dict[str, np.ndarray]) -> None:
    again = cohort.make_subject(templates, cohort.subject_rng(SEED, 3))
    for key in cohort.MAP_KEYS:
        np.testing.assert_array_equal(again[key], subject[key])
    other = cohort.make_subject(templates, cohort.subject_rng(SEED, 4))
    assert np.abs(other["gm"] - subject["gm"]).mean() > 0.01  # different deformation
    assert not np.allclose(other["cbf"], subject["cbf"])


def test_bad_tissue_values_are_named() -> None:
    with pytest.raises(ValueError, match="tissue.wm.*t1"):
        cohort.check_tissue({"gm": cohort.TISSUE_DEFAULTS["gm"], "wm": {"cbf": 20.0}, "csf": {}})
    with pytest.raises(ValueError, match="missing 'csf'"):
        cohort.check_tissue({"gm": cohort.TISSUE_DEFAULTS["gm"], "wm": cohort.TISSUE_DEFAULTS["wm"]})


def test_write_subject_round_trip(tmp_path, templates: cohort.Templates, subject: dict[str, np.ndarray]) -> None:
    maps = {k: subject[k] for k in ("cbf", "mask")}
    paths = cohort.write_subject(tmp_path / "sub-01", "sub-01", maps, templates.affine)
    assert paths == {k: tmp_path / "sub-01" / f"{k}.nii.gz" for k in maps}
    for key, path in paths.items():
        volume = read_nifti(path)
        np.testing.assert_array_equal(volume.data, maps[key])
        np.testing.assert_allclose(volume.affine, templates.affine, atol=1e-5)
