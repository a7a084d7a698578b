"""antspyx preprocessing (geometry, N4, upsampling, registration), intensity normalisation, subject splits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from mrsr import preprocess as pp

N = 40
AFFINE = np.array([[1.5, 0, 0, -30.0], [0, 1.5, 0, -28.0], [0, 0, 1.5, -31.0], [0, 0, 0, 1.0]])


def oblique_affine() -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = Rotation.from_euler("xyz", [10, -20, 30], degrees=True).as_matrix() @ np.diag([0.9, 1.1, 2.0])
    affine[:3, 3] = [-20.0, 5.0, 30.0]
    return affine


@pytest.fixture(scope="module")
def radius() -> np.ndarray:
    idx = np.indices((N, N, N)).astype(np.float64)
    return np.sqrt(((idx - (N - 1) / 2) ** 2).sum(axis=0))


@pytest.fixture(scope="module")
def blob(radius: np.ndarray) -> np.ndarray:
    noise = ndimage.gaussian_filter(np.random.default_rng(0).random((N, N, N)), 2.5)
    return (((noise - noise.min()) / np.ptp(noise)) * (radius < 16)).astype(np.float32)


def test_ants_round_trip_keeps_world_geometry() -> None:
    import ants

    affine = oblique_affine()
    data = np.random.default_rng(1).random((5, 6, 7)).astype(np.float32)
    image = pp.to_ants(data, affine)
    assert image.numpy()[1, 2, 3] == data[1, 2, 3]
    # ITK physical points are LPS: flip x and y to compare with the RAS affine
    point = np.array(ants.transform_index_to_physical_point(image, (1, 2, 3))) * [-1, -1, 1]
    np.testing.assert_allclose(point, (affine @ [1, 2, 3, 1])[:3], atol=1e-4)
    back, back_affine = pp.from_ants(image)
    np.testing.assert_array_equal(back, data)
    np.testing.assert_allclose(back_affine, affine, atol=1e-6)


def test_sheared_affine_is_refused() -> None:
    sheared = np.eye(4)
    sheared[0, 1] = 0.3
    with pytest.raises(ValueError, match="shear"):
        pp.to_ants(np.zeros((4, 4, 4)), sheared)


def test_n4_removes_a_known_bias(radius: np.ndarray) -> None:
    idx = np.indices((N, N, N)).astype(np.float64) / N - 0.5
    truth = np.where(radius < 15, 100.0, 0.0)
    truth[radius < 7] = 60.0
    bias = np.exp(0.6 * idx[0] + 0.3 * idx[1])
    image = np.abs(truth * bias + np.random.default_rng(2).normal(0, 1.0, truth.shape)).astype(np.float32)
    shell = (radius > 8) & (radius < 14)  # uniform tissue

    def cv(x: np.ndarray) -> float:
        return float(x[shell].std() / x[shell].mean())

    corrected = pp.n4(image, AFFINE, mask=radius < 15, iterations=(20, 20))
    assert corrected.shape == image.shape and np.isfinite(corrected).all()
    assert cv(image) > 0.1 and cv(corrected) < 0.3 * cv(image)


def test_upsample_covers_the_same_field_of_view() -> None:
    affine = oblique_affine()
    shape = (8, 9, 10)
    coords = np.indices(shape).reshape(3, -1)
    world = (affine[:3, :3] @ coords + affine[:3, 3:]).reshape(3, *shape)
    ramp = (2.0 * world[0] - world[1] + 0.5 * world[2]).astype(np.float32)  # linear in world space
    fine, fine_affine = pp.upsample(ramp, affine, 2)
    assert fine.shape == (16, 18, 20)
    np.testing.assert_allclose(np.linalg.norm(fine_affine[:3, :3], axis=0), np.linalg.norm(affine[:3, :3], axis=0) / 2)

    def grid_centre(shape, aff):
        return (aff @ np.append((np.array(shape) - 1) / 2, 1.0))[:3]

    np.testing.assert_allclose(grid_centre(fine.shape, fine_affine), grid_centre(shape, affine), atol=1e-9)
    # B-spline reproduces a linear function away from the borders, at the fine voxels' world positions
    fc = np.indices(fine.shape).reshape(3, -1)
    fw = (fine_affine[:3, :3] @ fc + fine_affine[:3, 3:]).reshape(3, *fine.shape)
    expected = 2.0 * fw[0] - fw[1] + 0.5 * fw[2]
    inner = (slice(4, -4),) * 3
    np.testing.assert_allclose(fine[inner], expected[inner], atol=0.02 * np.ptp(ramp))


def test_grids_per_axis_finer_and_coarser_keep_the_field_of_view() -> None:
    affine = oblique_affine()
    shape = (8, 9, 10)

    def corners(shp, aff):  # world positions of the field of view's first and last corner
        return [(aff @ np.array([*index, 1.0]))[:3] for index in ((-0.5,) * 3, np.asarray(shp) - 0.5)]

    for factor, expected in (((2, 1, 0.5), (16, 9, 5)), (3, (24, 27, 30))):
        new_shape, new_affine = pp.upsampled_grid(shape, affine, factor)
        assert new_shape == expected
        np.testing.assert_allclose(corners(new_shape, new_affine), corners(shape, affine), atol=1e-9)
    with pytest.raises(ValueError, match="not a whole number"):
        pp.upsampled_grid(shape, affine, (1, 0.5, 1))


def test_register_onto_a_finer_grid_of_the_fixed_space(blob: np.ndarray, radius: np.ndarray) -> None:
    moving = ndimage.shift(blob, (2.0, -1.5, 1.0), order=3).astype(np.float32)
    fine = pp.upsampled_grid(blob.shape, AFFINE, 2)
    warped = pp.register(moving, AFFINE, blob, AFFINE, seed=1, transform="Rigid", aff_iterations=(100, 50), onto=fine)
    assert warped.shape == fine[0]
    up, _ = pp.upsample(blob, AFFINE, 2, interpolation="linear")
    inner = ndimage.zoom(radius, 2, order=0) < 12
    assert np.corrcoef(warped[inner], up[inner])[0, 1] > 0.99


@pytest.mark.parametrize("transform, options", [
    ("Affine", dict(aff_iterations=(100, 50))),
    ("SyN", dict(aff_iterations=(100, 50), reg_iterations=(20, 10))),
])
def test_register_recovers_a_shift(blob: np.ndarray, radius: np.ndarray, transform: str, options: dict) -> None:
    moving = ndimage.shift(blob, (2.0, -1.5, 1.0), order=3).astype(np.float32)
    inner = radius < 12

    def error(x: np.ndarray) -> float:
        return float(np.sqrt(((x - blob)[inner] ** 2).mean()))

    warped = pp.register(moving, AFFINE, blob, AFFINE, seed=1, transform=transform, **options)
    assert warped.shape == blob.shape
    assert error(warped) < 0.1 * error(moving)
    assert np.corrcoef(warped[inner], blob[inner])[0, 1] > 0.99


def test_register_leaves_no_transform_files(blob: np.ndarray, tmp_path, monkeypatch) -> None:
    # ants writes each registration's transforms to temporary files (antspyx: tmp*GenericAffine.mat,
    # tmp*Warp.nii.gz in the temp folder, never deleted); register removes them, also when it resamples onto a grid
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    moving = ndimage.shift(blob, (2.0, -1.5, 1.0), order=3).astype(np.float32)
    pp.register(moving, AFFINE, blob, AFFINE, seed=1, transform="SyN", aff_iterations=(20,), reg_iterations=(5,))
    pp.register(moving, AFFINE, blob, AFFINE, seed=1, transform="Rigid", aff_iterations=(20,),
                onto=pp.upsampled_grid(blob.shape, AFFINE, 2))
    assert list(tmp_path.iterdir()) == []


def test_register_uses_world_geometry(blob: np.ndarray, radius: np.ndarray) -> None:
    # same voxels, but the moving grid sits 3 mm further along x: the result must be shifted back
    shifted = AFFINE.copy()
    shifted[0, 3] += 3.0
    warped = pp.register(blob, shifted, blob, AFFINE, seed=1, transform="Rigid", aff_iterations=(100, 50))
    naive_error = np.abs(ndimage.shift(blob, (2.0, 0, 0), order=1) - blob)[radius < 12].mean()
    assert np.abs(warped - blob)[radius < 12].mean() < 0.1 * naive_error


def test_register_rejects_unknown_transform(blob: np.ndarray) -> None:
    with pytest.raises(ValueError, match="transform 'Bogus'"):
        pp.register(blob, AFFINE, blob, AFFINE, seed=0, transform="Bogus")


def test_register_is_reproducible_in_a_fresh_process(tmp_path) -> None:
    # one ITK thread is set before ITK starts; on this small synthetic volume two seeded SyN runs agree bit
    # for bit (on the phantom's N4-corrected volumes they do not: see register's docstring)
    script = textwrap.dedent("""
        import numpy as np
        from scipy import ndimage
        from mrsr.preprocess import register
        rng = np.random.default_rng(0)
        fixed = ndimage.gaussian_filter(rng.random((32, 32, 32)), 2).astype(np.float32)
        moving = ndimage.shift(fixed, (1.5, -1.0, 0.5), order=3).astype(np.float32)
        kw = dict(seed=3, transform="SyN", aff_iterations=(50, 20), reg_iterations=(10, 5))
        a = register(moving, np.eye(4), fixed, np.eye(4), **kw)
        b = register(moving, np.eye(4), fixed, np.eye(4), **kw)
        print("IDENTICAL" if np.array_equal(a, b) else f"DIFFER {np.abs(a - b).max()}")
    """)
    env = {k: v for k, v in os.environ.items() if k != "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"}
    env["PYTHONPATH"] = str(Path(pp.__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "IDENTICAL" in result.stdout


def test_clip_scale_range() -> None:
    data = np.random.default_rng(3).normal(100, 20, (30, 30, 30)).astype(np.float32)
    data[0, 0, 0], data[1, 1, 1] = 1e6, -1e6  # outliers the percentiles clip
    out = pp.clip_scale(data, 0.1, 99.9, 1000.0)
    assert out.min() == 0.0 and out.max() == pytest.approx(1000.0)
    lo, hi = np.percentile(data, [0.1, 99.9])
    inside = (data > lo) & (data < hi)
    np.testing.assert_allclose(out[inside], (data[inside] - lo) / (hi - lo) * 1000.0, rtol=1e-4, atol=1e-3)
    assert (out == 1000.0).sum() >= 27  # 0.1% of 27,000 voxels sit at the top
    mask = np.zeros(data.shape, bool)
    mask[5:10] = True
    masked = pp.clip_scale(data, 1, 99, 1.0, mask=mask)
    assert masked.min() == 0.0 and masked.max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="constant"):
        pp.clip_scale(np.ones((4, 4, 4)))


def test_normalise_round_trip() -> None:
    rng = np.random.default_rng(4)
    data = rng.gamma(2.0, 50.0, (20, 20, 20)).astype(np.float32)
    mask = data > 40
    z, stats = pp.normalise_zscore(data, mask=mask)
    assert set(stats) == {"min", "max", "mean", "std"}
    assert z[mask].mean() == pytest.approx(0.0, abs=1e-4) and z[mask].std() == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(pp.invert_norm(z, stats), data, rtol=1e-4, atol=1e-3)
    other = data * 2.0
    np.testing.assert_allclose(pp.apply_norm(other, stats), ((other - stats["min"]) / (stats["max"] - stats["min"])
                                                             - stats["mean"]) / stats["std"], rtol=1e-4, atol=1e-4)
    z_all, stats_all = pp.normalise_zscore(data)
    assert stats_all["min"] == pytest.approx(float(data.min())) and z_all.std() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("n, counts", [(2, (1, 0, 1)), (3, (1, 1, 1)), (4, (2, 1, 1)), (6, (4, 1, 1)),
                                       (10, (7, 2, 1)), (44, (31, 9, 4))])
def test_split_counts(n: int, counts: tuple[int, int, int]) -> None:
    subjects = [f"sub-{i:02d}" for i in range(n)]
    split = pp.split_subjects(subjects, (0.7, 0.2, 0.1), seed=0)
    assert tuple(len(split[k]) for k in ("train", "val", "test")) == counts
    assert sorted(sum(split.values(), [])) == subjects  # disjoint and complete


def test_split_is_deterministic_and_order_free() -> None:
    subjects = [f"s{i}" for i in range(20)]
    a = pp.split_subjects(subjects, seed=5)
    assert pp.split_subjects(list(reversed(subjects)), seed=5) == a
    assert any(pp.split_subjects(subjects, seed=s) != a for s in range(6, 9))


def test_split_errors() -> None:
    with pytest.raises(ValueError, match="unique"):
        pp.split_subjects(["a", "a", "b"], seed=0)
    with pytest.raises(ValueError, match="at least 2"):
        pp.split_subjects(["a"], seed=0)
    with pytest.raises(ValueError, match="sum to 1"):
        pp.split_subjects(["a", "b", "c"], (0.5, 0.2, 0.1), seed=0)


def test_clip_scale_and_zscore_invert_to_the_input_scale() -> None:
    """A scan with intensities up to 30,000 comes back on its own scale (within the clip bounds)."""
    rng = np.random.default_rng(3)
    data = np.concatenate([np.zeros(2000), rng.uniform(5000.0, 30000.0, 8000)]).reshape(10, 10, 100).astype(np.float32)
    bounds = pp.clip_bounds(data, 0.1, 99.9)
    z, stats = pp.normalise_zscore(pp.clip_scale(data, 0.1, 99.9, 1000.0))
    back = pp.unclip_scale(pp.invert_norm(z, stats), bounds, 1000.0)
    np.testing.assert_allclose(back, np.clip(data, *bounds), rtol=1e-5, atol=0.05)
    assert back.max() > 29000.0


def test_background_fraction_of_a_head_and_a_cropped_brain() -> None:
    head = np.zeros((20, 20, 20), np.float32)
    head[5:15, 5:15, 5:15] = 100.0  # 1000 of 8000 voxels inside
    assert pp.background_fraction(head) == pytest.approx(7 / 8)
    assert pp.background_fraction(np.full((5, 5, 5), 50.0)) == 0.0


def test_mutual_information_known_values() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((20, 20, 20))
    assert pp.mutual_information(a, a) == pytest.approx(2.0)  # b determines a
    assert pp.mutual_information(a, 1.0 - a) == pytest.approx(2.0)  # contrast-independent (inverted)
    assert pp.mutual_information(a, rng.random(a.shape), bins=8) == pytest.approx(1.0, abs=0.02)  # independent


def _diverging(ants_module, real, fail: int):
    """A stand-in for one ants.registration call: noise for the first `fail` calls, then the real registration."""
    calls = []

    def fake(ants, fixed_img, moving_img, seed, init, settings):
        calls.append((seed, init))
        if len(calls) <= fail:
            noise = np.random.default_rng(seed).random(fixed_img.shape).astype(np.float32)
            return {"warpedmovout": fixed_img.new_image_like(noise)}
        return real(ants, fixed_img, moving_img, seed, init, settings)

    return fake, calls


def test_diverged_registration_is_retried(blob: np.ndarray, monkeypatch) -> None:
    import ants

    moving = ndimage.shift(blob, (2.0, -1.5, 1.0), order=3).astype(np.float32)
    fake, calls = _diverging(ants, pp._ants_registration, fail=1)
    monkeypatch.setattr(pp, "_ants_registration", fake)
    with pytest.warns(UserWarning, match="sub-07: registration diverged and was retried"):
        warped = pp.register(moving, AFFINE, blob, AFFINE, seed=4, transform="Rigid", aff_iterations=(100, 50),
                             label="sub-07")
    assert calls == [(4, None), (5, None)]
    assert pp.mutual_information(warped, blob) > pp.mutual_information(moving, blob)


def test_registration_that_keeps_diverging_stops_naming_the_image(blob: np.ndarray, monkeypatch) -> None:
    import ants

    fake, calls = _diverging(ants, pp._ants_registration, fail=3)
    monkeypatch.setattr(pp, "_ants_registration", fake)
    with pytest.raises(ValueError, match=r"sub-07: registration diverged: normalised mutual information"):
        pp.register(blob, AFFINE, blob, AFFINE, seed=4, transform="Rigid", label="sub-07")
    assert calls == [(4, None), (5, None), (6, "identity")]
