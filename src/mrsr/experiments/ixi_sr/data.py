"""Slices, k-space LR, patches and the IXI importer of the ixi_sr experiment (docs/experiments/ixi_sr.md, "Data")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mrsr.degrade import bicubic_resize, decimate, kspace_zerofill
from mrsr.io import load_npz
from mrsr.metrics import brain_mask, interior_slices
from mrsr.patches import extract_grid

# paper: LR keeps the central 25 % of k-space = the central half along each axis, on the same grid.
KSPACE_FRACTION = 0.5
IXI_NAME = re.compile(r"^(IXI\d+)-([A-Za-z]+)-(\d+)-T2\.nii(\.gz)?$")


def kspace_lr(hr: np.ndarray, fraction: float = KSPACE_FRACTION) -> np.ndarray:
    """|IFFT2(central `fraction` per axis of FFT2(hr))| on hr's grid, no window, no noise (paper)."""
    if hr.ndim != 2:
        raise ValueError(f"kspace_lr expects a 2-D slice, got shape {hr.shape}")
    return kspace_zerofill(hr, fraction, apply_window=False)


def bicubic_reference(hr: np.ndarray, factor: int = 2) -> np.ndarray:
    """Reference row: every factor-th sample of hr, bicubic-resized (skimage) back to hr's grid."""
    return bicubic_resize(decimate(hr, factor), shape=hr.shape)


def normalise_volume(volume: np.ndarray) -> np.ndarray:
    """assumption: min-max scaling of each volume to [0, 1] (the paper does not state its normalisation)."""
    volume = np.asarray(volume, dtype=np.float64)
    lo, hi = float(volume.min()), float(volume.max())
    if hi <= lo:
        raise ValueError("normalise_volume: the volume is constant")
    return ((volume - lo) / (hi - lo)).astype(np.float32)


def fit_slice(img: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad (centred) or centre-crop a 2-D slice to size x size."""
    out = np.zeros((size, size), dtype=img.dtype)
    src, dst = [], []
    for n in img.shape:
        if n >= size:
            a = (n - size) // 2
            src.append(slice(a, a + size))
            dst.append(slice(0, size))
        else:
            a = (size - n) // 2
            src.append(slice(0, n))
            dst.append(slice(a, a + n))
    out[tuple(dst)] = img[tuple(src)]
    return out


def volume_slices(volume: np.ndarray, *, size: int, axis: int, min_foreground: float,
                  threshold: float = 0.05, step: int = 1) -> np.ndarray:
    """HR slices (N, size, size) along `axis` of a [0, 1] volume whose fraction of voxels above
    `threshold` is at least `min_foreground` (drops slices outside the head); every `step`-th of those, from the
    first."""
    if step < 1:
        raise ValueError(f"config ixi_sr.slice_step must be >= 1, got {step}")
    moved = np.moveaxis(np.asarray(volume, dtype=np.float32), axis, 0)
    keep = [s for s in moved if np.mean(s > threshold) >= min_foreground][::step]
    if not keep:
        raise ValueError(f"no slice along axis {axis} has a foreground fraction >= {min_foreground}")
    return np.stack([fit_slice(s, size) for s in keep])


def slice_pairs(volume: np.ndarray, *, size: int, axis: int, min_foreground: float,
                val_slices: int = 0, step: int = 1) -> dict[str, np.ndarray]:
    """{'hr', 'lr', 'val'}: slice stacks (N, size, size) float32 of one subject's T2w volume (every `step`-th
    qualifying slice) and a boolean (N,) marking the `val_slices` slices held out for validation (spread through
    the brain's interior; 0 for a test subject: none)."""
    hr = volume_slices(normalise_volume(volume), size=size, axis=axis, min_foreground=min_foreground, step=step)
    return with_lr({"hr": hr, "val": validation_flags(hr, val_slices)})


def with_lr(data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """data with 'lr': the k-space truncated LR of each of its 'hr' slices. The data rule stores HR only (LR is a
    function of it), and every reader rebuilds LR here."""
    hr = np.asarray(data["hr"], dtype=np.float32)
    return {**data, "lr": np.stack([kspace_lr(s) for s in hr]).astype(np.float32)}


def load_slice_pairs(path: str | Path) -> dict[str, np.ndarray]:
    """One subject's slices as the data rule wrote them ('hr', 'val', 'voxel_mm'), with their LR added."""
    return with_lr(load_npz(path))


def brain_patches(x: np.ndarray, y: np.ndarray, min_foreground: float,
                  threshold: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) patch pairs whose target has at least `min_foreground` of its pixels above `threshold` (on the
    [0, 1] scale): validation scores the brain, not the zero padding around it."""
    fraction = (np.asarray(y).reshape(len(y), -1) > threshold).mean(axis=1)
    keep = fraction >= min_foreground
    return x[keep], y[keep]


def validation_flags(hr: np.ndarray, n: int) -> np.ndarray:
    """Boolean (N,) over a subject's slice stack: True for n slices spread through the brain's interior (none if
    n is 0). ValueError if n would leave fewer than one training slice."""
    flags = np.zeros(len(hr), dtype=bool)
    if n <= 0:
        return flags
    if n >= len(hr):
        raise ValueError(f"config ixi_sr.val_slices: {n} validation slices leave no training slice of {len(hr)}")
    flags[interior_slices(brain_mask(hr), n, axis=0)] = True
    return flags


def split_slices(data: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(training slices, validation slices) of one subject's slice_pairs output ({'lr', 'hr'} each)."""
    val = np.asarray(data["val"], dtype=bool)
    return ({k: data[k][~val] for k in ("lr", "hr")}, {k: data[k][val] for k in ("lr", "hr")})


def patch_pairs(lr: np.ndarray, hr: np.ndarray, size: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Aligned (N, 1, size, size) LR/HR patches on a dense grid over every slice (paper: 64x64)."""
    xs, ys = [], []
    for a, b in zip(lr, hr):
        xs.append(extract_grid(a, size, stride)[0])
        ys.append(extract_grid(b, size, stride)[0])
    return np.concatenate(xs)[:, None].astype(np.float32), np.concatenate(ys)[:, None].astype(np.float32)


def ixi_rows(folder: str | Path, site: str | None = None) -> list[dict[str, str]]:
    """Subject-sheet rows {subject, t2w, site} of the IXI*-T2.nii(.gz) files in a folder (sorted by subject).

    IXI names are IXI<id>-<site>-<scan>-T2.nii.gz; `site` (e.g. 'Guys', case-insensitive) keeps one site.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"IXI folder not found: {folder}")
    rows = []
    for path in sorted(folder.iterdir()):
        match = IXI_NAME.match(path.name)
        if not match or (site and match.group(2).lower() != site.lower()):
            continue
        rows.append({"subject": match.group(1), "t2w": path.name, "site": match.group(2)})
    if not rows:
        which = f" from site {site!r}" if site else ""
        raise ValueError(f"{folder}: no IXI T2 files{which} (expected names like IXI002-Guys-0828-T2.nii.gz)")
    return rows
