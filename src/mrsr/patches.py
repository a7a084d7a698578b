"""2-D patch sampling, dense grids and overlap-averaged stitching; the one stitching routine."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Position = tuple[int, int]


def _axis_starts(length: int, size: int, stride: int) -> list[int]:
    """Patch starts every `stride` along one axis, plus one flush with the far border."""
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return starts


def grid_positions(shape: tuple[int, int], size: int, stride: int) -> list[Position]:
    """Top-left corners of a dense grid of size x size patches covering an image of `shape`."""
    height, width = shape
    if size < 1 or stride < 1:
        raise ValueError(f"patch size and stride must be >= 1, got size {size}, stride {stride}")
    if height < size or width < size:
        raise ValueError(f"image {height}x{width} is smaller than the patch size {size}; pad it first (pad_to_min)")
    return [(r, c) for r in _axis_starts(height, size, stride) for c in _axis_starts(width, size, stride)]


def pad_to_min(img: np.ndarray, size: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad a 2-D image at its far ends so both sides are >= size; return it and the original shape."""
    img = np.asarray(img)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {img.shape}")
    pad = [(0, max(0, size - n)) for n in img.shape]
    padded = np.pad(img, pad, mode="reflect") if any(p for _, p in pad) else img
    return padded, (img.shape[0], img.shape[1])


def extract_grid(img: np.ndarray, size: int, stride: int) -> tuple[np.ndarray, list[Position]]:
    """Cut a 2-D image into the `grid_positions` patches; returns (N, size, size) and the positions."""
    img = np.asarray(img)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {img.shape}")
    positions = grid_positions(img.shape, size, stride)
    rows, cols = np.array(positions).T
    patches = sliding_window_view(img, (size, size))[rows, cols]
    return patches, positions


def stitch(patches: np.ndarray, positions: Sequence[Position], shape: tuple[int, int], crop: int) -> np.ndarray:
    """Average overlapping patches into an image after dropping `crop` pixels from each patch side.

    A side touching the image border keeps its pixels, so border pixels are covered. Sums are
    taken in float64, so averaging copies of one float32 value returns it exactly.
    """
    patches = np.asarray(patches)
    if patches.ndim != 3 or patches.shape[1] != patches.shape[2] or len(patches) != len(positions):
        raise ValueError(
            f"expected patches (N, size, size) with N = {len(positions)} positions, got shape {patches.shape}"
        )
    # paper: validation/test patches are stitched with overlap averaging after cropping 4 px per border.
    size = patches.shape[1]
    height, width = shape
    if crop < 0 or 2 * crop >= size:
        raise ValueError(f"crop {crop} must be >= 0 and < half the patch size {size}")
    total = np.zeros(shape, dtype=np.float64)
    count = np.zeros(shape, dtype=np.int32)
    for patch, (r, c) in zip(patches, positions):
        if r < 0 or c < 0 or r + size > height or c + size > width:
            raise ValueError(f"patch at {(r, c)} of size {size} lies outside the image {height}x{width}")
        top = 0 if r == 0 else crop
        left = 0 if c == 0 else crop
        bottom = size if r + size == height else size - crop
        right = size if c + size == width else size - crop
        total[r + top : r + bottom, c + left : c + right] += patch[top:bottom, left:right]
        count[r + top : r + bottom, c + left : c + right] += 1
    uncovered = int((count == 0).sum())
    if uncovered:
        raise ValueError(
            f"{uncovered} pixels are covered by no cropped patch; need size - 2*crop >= stride "
            f"(size {size}, crop {crop})"
        )
    out_dtype = patches.dtype if np.issubdtype(patches.dtype, np.floating) else np.float64
    return (total / count).astype(out_dtype)


def predict_image(
    fn: Callable[[np.ndarray], np.ndarray],
    img: np.ndarray,
    *,
    size: int,
    stride: int,
    crop: int,
    batch_size: int = 64,
) -> np.ndarray:
    """Apply a patch model fn((B,1,s,s)) -> (B,1,s,s) to a whole 2-D image; float32 (H,W) result.

    The image is reflect-padded to at least size x size, cut by `extract_grid`, run in batches,
    stitched by `stitch` and cropped back to its shape.
    """
    padded, (height, width) = pad_to_min(np.asarray(img, dtype=np.float32), size)
    patches, positions = extract_grid(padded, size, stride)
    outputs = []
    for start in range(0, len(patches), batch_size):
        batch = np.ascontiguousarray(patches[start : start + batch_size, None])
        out = np.asarray(fn(batch))
        if out.shape != batch.shape:
            raise ValueError(f"model returned shape {out.shape} for input batch {batch.shape}; expected the same")
        outputs.append(out[:, 0])
    stitched = stitch(np.concatenate(outputs), positions, padded.shape, crop)
    return np.ascontiguousarray(stitched[:height, :width])


def _foreground_fraction(foreground: np.ndarray | None, s: int, r: int, c: int, size: int) -> float:
    """Foreground fraction of one candidate patch (1.0 when no foreground is given)."""
    if foreground is None:
        return 1.0
    return float(foreground[s][r : r + size, c : c + size].mean())


def random_patch_pairs(
    lr: np.ndarray | Sequence[np.ndarray],
    hr: np.ndarray | Sequence[np.ndarray],
    n: int,
    size: int,
    rng: np.random.Generator,
    foreground: np.ndarray | Sequence[np.ndarray] | None = None,
    min_foreground: float = 0.0,
    max_tries: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw n paired size x size patches (same slice and location in lr and hr) as float32 (n,1,size,size).

    lr/hr are (S,H,W) arrays or sequences of 2-D slices (shapes may differ between slices, e.g. slices
    along several axes). Slices at least `size` in both dims are chosen uniformly, then a uniform
    location. With `foreground`, a patch whose foreground fraction is below min_foreground is redrawn
    up to max_tries times, after which the last draw is accepted.
    """
    if len(lr) != len(hr) or (foreground is not None and len(foreground) != len(lr)):
        raise ValueError(f"lr, hr (and foreground) must hold the same number of slices, got {len(lr)}, {len(hr)}")
    for i, (a, b) in enumerate(zip(lr, hr)):
        if np.shape(a) != np.shape(b) or np.ndim(a) != 2:
            raise ValueError(f"slice {i}: lr shape {np.shape(a)} and hr shape {np.shape(b)} must be equal and 2-D")
        if foreground is not None and np.shape(foreground[i]) != np.shape(a):
            raise ValueError(f"slice {i}: foreground shape {np.shape(foreground[i])} differs from {np.shape(a)}")
    eligible = [i for i, a in enumerate(lr) if min(np.shape(a)) >= size]
    if not eligible:
        raise ValueError(f"no slice is at least {size}x{size} (patch size); got {len(lr)} smaller slices")
    lr_out = np.empty((n, 1, size, size), dtype=np.float32)
    hr_out = np.empty((n, 1, size, size), dtype=np.float32)
    for k in range(n):
        for _ in range(max(1, max_tries)):
            s = eligible[int(rng.integers(len(eligible)))]
            height, width = np.shape(lr[s])
            r, c = int(rng.integers(height - size + 1)), int(rng.integers(width - size + 1))
            if _foreground_fraction(foreground, s, r, c, size) >= min_foreground:
                break
        lr_out[k, 0] = lr[s][r : r + size, c : c + size]
        hr_out[k, 0] = hr[s][r : r + size, c : c + size]
    return lr_out, hr_out
