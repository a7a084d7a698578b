"""Tests for mrsr.patches: grids, exact stitching, paired random sampling."""

import numpy as np
import pytest

from mrsr import patches


@pytest.mark.parametrize(
    ("shape", "size", "stride"),
    [((96, 96), 64, 20), ((100, 73), 64, 20), ((64, 64), 64, 20), ((50, 31), 16, 5), ((17, 40), 8, 3)],
)
def test_grid_covers_every_pixel(shape, size, stride):
    positions = patches.grid_positions(shape, size, stride)
    covered = np.zeros(shape, int)
    for r, c in positions:
        assert 0 <= r <= shape[0] - size and 0 <= c <= shape[1] - size
        covered[r : r + size, c : c + size] += 1
    assert covered.min() >= 1
    rows = sorted({r for r, _ in positions})
    assert rows[0] == 0 and rows[-1] == shape[0] - size
    assert all(0 < b - a <= stride for a, b in zip(rows, rows[1:]))
    assert len(positions) == len(set(positions))


def test_grid_known_positions():
    assert patches.grid_positions((96, 70), 64, 20) == [(0, 0), (0, 6), (20, 0), (20, 6), (32, 0), (32, 6)]


def test_grid_and_extract_errors():
    with pytest.raises(ValueError, match="30x70 is smaller than the patch size 64"):
        patches.grid_positions((30, 70), 64, 20)
    with pytest.raises(ValueError, match="stride"):
        patches.grid_positions((64, 64), 32, 0)
    with pytest.raises(ValueError, match="2-D"):
        patches.extract_grid(np.zeros((4, 64, 64)), 32, 16)


def test_extract_grid_returns_source_crops():
    img = np.arange(50 * 45, dtype=np.float32).reshape(50, 45)
    cut, positions = patches.extract_grid(img, 16, 7)
    assert cut.shape == (len(positions), 16, 16)
    for patch, (r, c) in zip(cut, positions):
        np.testing.assert_array_equal(patch, img[r : r + 16, c : c + 16])


def test_pad_to_min():
    img = np.arange(12.0).reshape(3, 4)
    padded, shape = patches.pad_to_min(img, 6)
    assert shape == (3, 4) and padded.shape == (6, 6)
    np.testing.assert_array_equal(padded[:3, :4], img)
    np.testing.assert_array_equal(padded[3, :4], img[1])  # reflect (edge not repeated)
    same, _ = patches.pad_to_min(np.zeros((8, 9)), 6)
    assert same.shape == (8, 9)


@pytest.mark.parametrize("shape", [(96, 96), (101, 77), (64, 64), (70, 130), (30, 45), (5, 90), (1, 1)])
def test_predict_identity_is_exact(shape):
    img = np.random.default_rng(sum(shape)).normal(size=shape).astype(np.float32)
    out = patches.predict_image(lambda b: b, img, size=64, stride=20, crop=4, batch_size=7)
    assert out.shape == img.shape and out.dtype == np.float32
    assert np.array_equal(out, img)


@pytest.mark.parametrize("shape", [(96, 96), (83, 117)])
def test_predict_plus_one(shape):
    img = np.random.default_rng(1).random(shape).astype(np.float32)
    out = patches.predict_image(lambda b: b + 1, img, size=32, stride=10, crop=4)
    assert np.array_equal(out, img + np.float32(1))


def test_stitch_averages_overlaps_after_crop():
    # Patch k holds the constant k; interior pixels get the mean over the cropped patches covering them.
    shape, size, stride, crop = (40, 20), 20, 10, 2
    positions = patches.grid_positions(shape, size, stride)
    assert positions == [(0, 0), (10, 0), (20, 0)]
    values = np.array([0.0, 3.0, 6.0])
    stack = np.broadcast_to(values[:, None, None], (3, size, size))
    out = patches.stitch(stack, positions, shape, crop)
    np.testing.assert_array_equal(out[:12, 0], 0.0)  # patch 0 alone (keeps its top border, loses 2 at bottom)
    np.testing.assert_array_equal(out[12:18, 0], 1.5)  # patches 0 and 1
    np.testing.assert_array_equal(out[18:22, 0], 3.0)  # 0, 1, 2 -> mean 3
    np.testing.assert_array_equal(out[22:28, 0], 4.5)  # patches 1 and 2
    np.testing.assert_array_equal(out[28:, 0], 6.0)  # patch 2 alone (keeps its bottom border)


def test_stitch_uncovered_pixels_raise():
    img = np.zeros((96, 96), np.float32)
    with pytest.raises(ValueError, match=r"size - 2\*crop >= stride"):
        patches.predict_image(lambda b: b, img, size=32, stride=30, crop=4)
    cut, positions = patches.extract_grid(img, 32, 16)
    with pytest.raises(ValueError, match="crop"):
        patches.stitch(cut, positions, img.shape, 16)
    with pytest.raises(ValueError, match="positions"):
        patches.stitch(cut[:-1], positions, img.shape, 4)
    with pytest.raises(ValueError, match="expected the same"):
        patches.predict_image(lambda b: b[:, :, :8], img, size=32, stride=16, crop=4)


def _locate(value: float, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """Slice, row, column of a value in an arange-filled (S,H,W) volume."""
    return np.unravel_index(int(value), shape)


def test_random_patch_pairs_are_paired_source_crops():
    shape, size = (4, 40, 50), 16
    hr = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    lr = -3.0 * hr
    lr_p, hr_p = patches.random_patch_pairs(lr, hr, 25, size, np.random.default_rng(0))
    assert lr_p.shape == hr_p.shape == (25, 1, size, size)
    assert lr_p.dtype == hr_p.dtype == np.float32
    starts = set()
    for a, b in zip(lr_p[:, 0], hr_p[:, 0]):
        s, r, c = _locate(b[0, 0], shape)
        starts.add((s, r, c))
        np.testing.assert_array_equal(b, hr[s, r : r + size, c : c + size].astype(np.float32))
        np.testing.assert_array_equal(a, lr[s, r : r + size, c : c + size].astype(np.float32))
    assert len(starts) > 20 and len({s for s, _, _ in starts}) == 4


def test_random_patch_pairs_deterministic_and_skips_small_slices():
    slices = [np.zeros((10, 60)), np.ones((40, 33)), np.full((8, 8), 2.0)]
    a = patches.random_patch_pairs(slices, slices, 30, 32, np.random.default_rng(5))
    b = patches.random_patch_pairs(slices, slices, 30, 32, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[1], 1.0)  # only the 40x33 slice is large enough
    with pytest.raises(ValueError, match="no slice is at least 64x64"):
        patches.random_patch_pairs(slices, slices, 3, 64, np.random.default_rng(0))
    with pytest.raises(ValueError, match="slice 1"):
        patches.random_patch_pairs(slices, [slices[0], np.ones((40, 34)), slices[2]], 3, 8, np.random.default_rng(0))


def test_random_patch_pairs_foreground_rejection():
    shape, size = (2, 64, 64), 16
    hr = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    fg = np.zeros(shape, bool)
    fg[1, 40:, 40:] = True
    rng = np.random.default_rng(1)
    _, hr_p = patches.random_patch_pairs(hr, hr, 40, size, rng, foreground=fg, min_foreground=0.5, max_tries=1000)
    for b in hr_p[:, 0]:
        s, r, c = _locate(b[0, 0], shape)
        assert fg[s, r : r + size, c : c + size].mean() >= 0.5
    # Impossible threshold: retries are bounded and the last draw is accepted.
    _, hr_any = patches.random_patch_pairs(
        hr, hr, 5, size, np.random.default_rng(1), foreground=fg, min_foreground=1.1, max_tries=3
    )
    assert hr_any.shape == (5, 1, size, size)
