"""Random Forest Super-Resolution (RFSR, paper 004 Fig. 4): a forest regresses HR - LR from 5x5 LR neighbourhoods."""

from __future__ import annotations

import gzip
import io
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.ensemble import RandomForestRegressor

from mrsr.degrade import bicubic_resize


def block_mean(img: np.ndarray, factor: int) -> np.ndarray:
    """Mean over factor x factor blocks (cv2 INTER_AREA at an integer factor); edge-padded to a multiple."""
    h, w = img.shape
    ph, pw = -h % factor, -w % factor
    padded = np.pad(img, ((0, ph), (0, pw)), mode="edge") if ph or pw else img
    return padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor).mean(axis=(1, 3))


def rfsr_training_lr(hr_slice: np.ndarray, factor: int = 2) -> np.ndarray:
    """Reference RFSR degradation: Gaussian blur sigma=factor/2, area downsample by factor, bicubic back to HR shape."""
    hr = np.asarray(hr_slice, dtype=np.float64)
    if hr.ndim != 2:
        raise ValueError(f"rfsr_training_lr expects a 2-D slice, got shape {hr.shape}")
    # paper/[R: jshermeyer/RFSR Downscale_Array]: cv2.GaussianBlur sigma (factor/2)*blur with blur=1
    # (BORDER_REFLECT_101 = scipy 'mirror', kernel radius 4 sigma), then cv2.INTER_AREA by 1/factor.
    blurred = gaussian_filter(hr, sigma=factor / 2, mode="mirror", truncate=4.0)
    low = block_mean(blurred, factor)
    # [R] bicubic upsampling back to the HR grid; here the project's one bicubic routine.
    return bicubic_resize(low, shape=hr.shape).astype(np.float32)


def rfsr_features(lr_img: np.ndarray, shift: int = 2) -> np.ndarray:
    """(H*W, (2*shift+1)**2): each pixel's zero-padded neighbourhood minus the centre value, row-major offsets."""
    img = np.asarray(lr_img, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"rfsr_features expects a 2-D image, got shape {img.shape}")
    h, w = img.shape
    size = 2 * shift + 1
    padded = np.pad(img, shift, mode="constant")  # paper/[R]: zero padding by shift_dimension
    # Column k = (dy, dx) with dy, dx in -shift..shift, dy outer (the reference orders the same offsets
    # point-reflected through np.roll; the order is irrelevant to a forest).
    feats = np.stack([padded[dy:dy + h, dx:dx + w] for dy in range(size) for dx in range(size)], axis=-1)
    return (feats - img[..., None]).reshape(h * w, size * size)


def rfsr_pairs(hr_patches: np.ndarray, factor: int, max_samples_per_patch: int | None,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Stacked (features, HR - LR residual) over patches, optionally subsampling pixels per patch."""
    xs, ys = [], []
    for hr in hr_patches:
        lr = rfsr_training_lr(hr, factor)
        x, y = rfsr_features(lr), (np.asarray(hr, dtype=np.float32) - lr).ravel()
        if max_samples_per_patch is not None and max_samples_per_patch < len(y):
            keep = rng.choice(len(y), size=max_samples_per_patch, replace=False)
            x, y = x[keep], y[keep]
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def fit_rfsr(hr_patches: np.ndarray, *, n_estimators: int, max_depth: int | None, seed: int, n_jobs: int = 1,
             factor: int = 2, max_samples_per_patch: int | None = None,
             min_samples_split: int = 2) -> RandomForestRegressor:
    """Train the residual forest on HR patches (N, P, P) degraded by rfsr_training_lr."""
    patches = np.asarray(hr_patches)
    if patches.ndim == 4 and patches.shape[1] == 1:
        patches = patches[:, 0]
    if patches.ndim != 3 or len(patches) == 0:
        raise ValueError(f"fit_rfsr expects HR patches (N, P, P) with N >= 1, got shape {patches.shape}")
    x, y = rfsr_pairs(patches, factor, max_samples_per_patch, np.random.default_rng(seed))
    # paper: RandomForestRegressor(n_estimators=200, max_depth=15). assumption: sklearn's default
    # min_samples_split=2 (the reference notebook uses 200; the paper does not say).
    forest = RandomForestRegressor(n_estimators=n_estimators, max_depth=max_depth,
                                   min_samples_split=min_samples_split, random_state=seed, n_jobs=n_jobs)
    return forest.fit(x, y)


def predict_rfsr(model: RandomForestRegressor, lr_img: np.ndarray) -> np.ndarray:
    """LR image (already on the HR grid) plus the forest's predicted residual."""
    lr = np.asarray(lr_img, dtype=np.float32)
    residual = model.predict(rfsr_features(lr)).reshape(lr.shape)
    return (lr + residual).astype(np.float32)


GZIP_MAGIC = b"\x1f\x8b"


def save_rfsr(path: str | Path, model: RandomForestRegressor, meta: Mapping[str, Any]) -> None:
    """Pickle {'model', 'meta'} to path, gzip-compressed (a forest's arrays shrink about 3.5x), atomically
    (temporary file + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    pickle.dump({"model": model, "meta": dict(meta)}, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=3))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_rfsr(path: str | Path) -> tuple[RandomForestRegressor, dict]:
    """Inverse of save_rfsr; ValueError naming the path when missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"RFSR model file {path} does not exist (expected a file written by save_rfsr)")
    try:
        data = path.read_bytes()
        blob = pickle.loads(gzip.decompress(data) if data[:2] == GZIP_MAGIC else data)  # plain: older files
    except Exception as err:
        raise ValueError(f"RFSR model file {path} is unreadable or corrupt: {err}") from err
    if not isinstance(blob, dict) or not isinstance(blob.get("model"), RandomForestRegressor):
        raise ValueError(f"RFSR model file {path} does not hold {{'model': RandomForestRegressor, 'meta': ...}}")
    return blob["model"], blob.get("meta", {})
