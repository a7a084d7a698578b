"""7T/9.4T phantom pair: grids, geometry of the LR voxels and pose, contrast, noise."""

from __future__ import annotations

import numpy as np
import pytest

from mrsr import cohort
from mrsr.experiments.field7to9 import simulate as field
from mrsr.degrade import gaussian_decimate

QUIET = dict(bias_strength=0.0, hr_snr=1e6, lr_snr=1e6)  # noise- and bias-free for geometry checks


@pytest.fixture(scope="module")
def subject() -> tuple[dict[str, np.ndarray], np.ndarray]:
    templates = cohort.load_templates(2.0)
    return cohort.make_subject(templates, cohort.subject_rng(3, 1)), templates.affine


@pytest.fixture(scope="module")
def pair(subject) -> field.FieldPair:
    maps, affine = subject
    return field.simulate_field_pair(maps, affine, np.random.default_rng(11))


def world_centroid(image: np.ndarray, affine: np.ndarray) -> np.ndarray:
    w = image.astype(np.float64)
    idx = np.indices(image.shape).reshape(3, -1)
    return (affine @ np.append((idx * w.ravel()).sum(axis=1) / w.sum(), 1.0))[:3]


@pytest.mark.parametrize("factor", [2, 3])
def test_grids(subject, factor: int) -> None:
    maps, affine = subject
    pair = field.simulate_field_pair(maps, affine, np.random.default_rng(0), factor=factor)
    assert pair.hr.shape == maps["mask"].shape and np.allclose(pair.hr_affine, affine)
    # LR voxel j is the blurred HR sample at j*factor + factor//2
    sl = slice(factor // 2, None, factor)
    assert pair.lr.shape == maps["mask"][sl, sl, sl].shape
    assert np.allclose(np.linalg.norm(pair.lr_affine[:3, :3], axis=0), factor * np.linalg.norm(affine[:3, :3], axis=0))
    np.testing.assert_allclose(pair.lr_affine @ [0, 0, 0, 1], affine @ ([factor // 2] * 3 + [1]))
    for image in (pair.hr, pair.lr):
        assert image.dtype == np.float32 and np.isfinite(image).all() and image.min() >= 0.0


def test_lr_without_motion_is_the_decimated_anatomy(subject) -> None:
    maps, affine = subject
    pair = field.simulate_field_pair(maps, affine, np.random.default_rng(0), lr_contrast=1.0,
                                     max_rotation_deg=0.0, max_shift_mm=0.0, **QUIET)
    np.testing.assert_allclose(pair.pose, np.eye(4), atol=1e-12)
    expected = gaussian_decimate(pair.hr, 2)
    assert np.abs(pair.lr - expected).max() < 1e-3 * pair.hr.max()


def test_lr_pose_moves_the_anatomy_in_world_space(subject) -> None:
    maps, affine = subject
    pair = field.simulate_field_pair(maps, affine, np.random.default_rng(5), max_rotation_deg=5.0,
                                     max_shift_mm=4.0, lr_contrast=1.0, **QUIET)
    rotation = np.degrees(np.arccos(np.clip((np.trace(pair.pose[:3, :3]) - 1) / 2, -1, 1)))
    assert rotation <= 5.0 + 1e-9 and np.allclose(pair.pose[:3, :3] @ pair.pose[:3, :3].T, np.eye(3))
    hr_centre, lr_centre = world_centroid(pair.hr, pair.hr_affine), world_centroid(pair.lr, pair.lr_affine)
    moved = (pair.pose @ np.append(hr_centre, 1.0))[:3]
    assert np.linalg.norm(moved - hr_centre) > 0.5  # this draw really moves it
    np.testing.assert_allclose(lr_centre, moved, atol=0.3)


def test_hr_has_more_gm_wm_contrast_than_lr(subject, pair: field.FieldPair) -> None:
    maps, affine = subject

    def contrast(image: np.ndarray, gm: np.ndarray, wm: np.ndarray) -> float:
        g, w = image[gm > 0.9].mean(), image[wm > 0.9].mean()
        return abs(w - g) / (w + g)

    hr_c = contrast(pair.hr, maps["gm"], maps["wm"])
    lr_gm, lr_wm = (gaussian_decimate(field.move(maps[t], affine, pair.pose), 2) for t in ("gm", "wm"))
    lr_c = contrast(pair.lr, lr_gm, lr_wm)
    assert hr_c > 0.1 and lr_c < 0.8 * hr_c


def test_lr_is_noisier(pair: field.FieldPair) -> None:
    def background_over_brain(image: np.ndarray) -> float:
        return float(np.percentile(image, 10) / np.percentile(image, 90))

    assert background_over_brain(pair.lr) > 1.5 * background_over_brain(pair.hr)


def test_reproducible_and_validated(subject, pair: field.FieldPair) -> None:
    maps, affine = subject
    again = field.simulate_field_pair(maps, affine, np.random.default_rng(11))
    np.testing.assert_array_equal(again.hr, pair.hr)
    np.testing.assert_array_equal(again.lr, pair.lr)
    with pytest.raises(ValueError, match="t2map"):
        field.simulate_field_pair({k: v for k, v in maps.items() if k != "t2map"}, affine, np.random.default_rng(0))
