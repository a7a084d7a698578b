"""RFSR: features, training degradation, fit/predict, save/load."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from mrsr.experiments.field7to9.rfsr import (block_mean, fit_rfsr, load_rfsr, predict_rfsr, rfsr_features, rfsr_training_lr,
                       save_rfsr)


def test_features_of_a_known_array():
    img = np.arange(25, dtype=np.float32).reshape(5, 5)
    feats = rfsr_features(img)
    assert feats.shape == (25, 25)
    # centre pixel (2, 2) = 12: its full 5x5 neighbourhood is the whole image, minus 12
    np.testing.assert_array_equal(feats[12], np.arange(25) - 12)
    # corner pixel (0, 0) = 0: rows/cols -2, -1 are zero padding; offset (dy, dx) at column 5*(dy+2)+(dx+2)
    expected = np.zeros((5, 5), dtype=np.float32)
    expected[2:, 2:] = img[:3, :3]
    np.testing.assert_array_equal(feats[0], expected.ravel() - 0.0)
    # pixel (0, 1) = 1: padding minus the centre gives -1
    assert feats[1][0] == -1.0 and feats[1][12] == 0.0 and feats[1][13] == 1.0  # right neighbour 2 - 1


def test_block_mean_is_area_average():
    img = np.arange(16, dtype=np.float64).reshape(4, 4)
    np.testing.assert_array_equal(block_mean(img, 2), [[2.5, 4.5], [10.5, 12.5]])
    assert block_mean(np.ones((5, 3)), 2).shape == (3, 2)


def test_training_lr_shape_and_smoothing():
    rng = np.random.default_rng(0)
    hr = rng.normal(size=(32, 32)).astype(np.float32)
    lr = rfsr_training_lr(hr, factor=2)
    assert lr.shape == hr.shape and lr.dtype == np.float32
    # blurred + decimated white noise keeps far less variance; a constant image stays constant
    assert lr.var() < 0.25 * hr.var()
    np.testing.assert_allclose(rfsr_training_lr(np.full((16, 16), 3.0)), 3.0, atol=1e-5)


def smooth_patches(n: int, size: int, seed: int) -> np.ndarray:
    """Patches with edges and texture at several scales."""
    rng = np.random.default_rng(seed)
    fields = [gaussian_filter(rng.normal(size=(size, size)), s) for s in (0.7, 1.5) for _ in range(n)]
    return np.stack([fields[i] + fields[n + i] for i in range(n)]).astype(np.float32)


def test_fit_predict_improves_over_the_lr_input(tmp_path):
    hr = smooth_patches(6, 24, seed=1)
    model = fit_rfsr(hr, n_estimators=10, max_depth=8, seed=0, max_samples_per_patch=300)
    assert model.n_features_in_ == 25
    mse_lr, mse_sr = [], []
    for patch in hr:
        lr = rfsr_training_lr(patch)
        sr = predict_rfsr(model, lr)
        assert sr.shape == patch.shape and sr.dtype == np.float32
        mse_lr.append(np.mean((lr - patch) ** 2))
        mse_sr.append(np.mean((sr - patch) ** 2))
    assert np.mean(mse_sr) < 0.8 * np.mean(mse_lr)
    held_out = smooth_patches(3, 24, seed=9)
    lr_err = np.mean([np.mean((rfsr_training_lr(p) - p) ** 2) for p in held_out])
    sr_err = np.mean([np.mean((predict_rfsr(model, rfsr_training_lr(p)) - p) ** 2) for p in held_out])
    assert sr_err < 0.9 * lr_err

    path = tmp_path / "rf.pkl"
    save_rfsr(path, model, {"seed": 0})
    loaded, meta = load_rfsr(path)
    assert meta == {"seed": 0}
    lr = rfsr_training_lr(hr[0])
    np.testing.assert_array_equal(predict_rfsr(loaded, lr), predict_rfsr(model, lr))
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    plain = tmp_path / "plain.pkl"  # a file written before compression still loads
    plain.write_bytes(pickle.dumps({"model": model, "meta": {"seed": 1}}))
    assert load_rfsr(plain)[1] == {"seed": 1}


def test_fit_is_seeded():
    hr = smooth_patches(2, 16, seed=2)
    a = fit_rfsr(hr, n_estimators=3, max_depth=4, seed=3, max_samples_per_patch=100)
    b = fit_rfsr(hr, n_estimators=3, max_depth=4, seed=3, max_samples_per_patch=100)
    lr = rfsr_training_lr(hr[0])
    np.testing.assert_array_equal(predict_rfsr(a, lr), predict_rfsr(b, lr))


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(ValueError, match="missing.pkl"):
        load_rfsr(tmp_path / "missing.pkl")
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="bad.pkl"):
        load_rfsr(bad)
