"""Huang et al. 2021 (dsgan) library: parameter counts, the generator's kernel, regularisers, constructions, BRISQUE,
tables combined over training seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import ndimage
from scipy.special import gamma

from mrsr import metrics
from mrsr.experiments.dsgan import data
from mrsr.experiments.dsgan import table as T
from mrsr.nets import build, count_params
from mrsr.tables import combine_seeds
from mrsr.train import TrainData, fit
from mrsr.train.dsgan import (
    DSGANTrainer, bicubic_kernel_x2, bicubic_loss, boundaries_loss, boundary_mask, centre_loss, kernel_distance,
    kernel_phase, sparse_loss, sum2one_loss,
)


@pytest.mark.parametrize("name, expected", [("dsgan_g", 150_656), ("dsgan_d", 30_977), ("edsr", 1_367_553),
                                            ("dsn_proxy", 112_001)])
def test_parameter_counts(name: str, expected: int) -> None:
    assert count_params(build(name)) == expected


def test_shapes() -> None:
    torch.manual_seed(0)
    assert build("dsgan_g")(torch.zeros(1, 1, 64, 64)).shape == (1, 1, 26, 26)
    assert build("dsgan_d")(torch.zeros(2, 1, 26, 26)).shape == (2, 1, 20, 20)
    assert build("edsr", n_blocks=2)(torch.zeros(1, 1, 12, 10)).shape == (1, 1, 24, 20)
    assert build("dsn_proxy")(torch.zeros(1, 1, 16, 12)).shape == (1, 1, 8, 6)


def test_kernel_equals_generator_on_delta() -> None:
    torch.manual_seed(1)
    g = build("dsgan_g").double()
    with torch.no_grad():
        kc = g.kernel()
        # G(x) = conv2d(x, kc, stride 2) for any x
        x = torch.randn(1, 1, 40, 40, dtype=torch.float64)
        assert torch.allclose(g(x), torch.nn.functional.conv2d(x, kc[None, None], stride=2), atol=1e-12)
        # G applied to a delta image returns the kernel: y[i, j] = kc[p - 2i, p - 2j]; deltas at even and odd
        # positions recover every tap
        recovered = torch.zeros(13, 13, dtype=torch.float64)
        for pr in (24, 25):
            for pc in (24, 25):
                delta = torch.zeros(1, 1, 37, 37, dtype=torch.float64)
                delta[0, 0, pr, pc] = 1.0
                y = g(delta)[0, 0]
                for i in range(y.shape[0]):
                    for j in range(y.shape[1]):
                        u, v = pr - 2 * i, pc - 2 * j
                        if 0 <= u < 13 and 0 <= v < 13:
                            recovered[u, v] = y[i, j]
        assert torch.allclose(recovered, kc, atol=1e-12)


def test_applied_generator_has_no_intensity_offset() -> None:
    torch.manual_seed(3)
    g = build("dsgan_g")
    with torch.no_grad():
        for layer in g.layers:  # positive weights: a blur kernel whose sum is far from 1
            layer.weight.abs_()
        total = float(g.kernel().sum())
    assert abs(total - 1.0) > 0.05
    np.testing.assert_allclose(data.apply_generator(g, np.full((40, 40), 0.3)), 0.3, rtol=1e-6)  # constant in, out
    yy, xx = np.mgrid[0:48, 0:48]
    hr = 0.5 + 0.3 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    lr = data.apply_generator(g, hr)
    assert lr.shape == (24, 24) and abs(lr.mean() - hr.mean()) < 0.01


def blob(shape: tuple[int, int], centre: tuple[float, float], sigma: float = 2.5) -> np.ndarray:
    """A Gaussian blob at a sub-pixel centre: its centre of mass locates a construction's sampling grid."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / (2 * sigma**2))


def lr_position(lr: np.ndarray) -> np.ndarray:
    """The HR position (row, col) of an LR image's centre of mass, reading LR pixel i as HR pixel 2i + 1."""
    return 2 * np.array(ndimage.center_of_mass(lr)) + 1


@pytest.mark.parametrize("centre", [(47.0, 47.0), (48.0, 49.0), (47.3, 48.7)])
def test_every_construction_shares_the_real_lr_grid(centre: tuple[float, float]) -> None:
    hr = blob((96, 96), centre)
    hidden = data.anisotropic_gaussian(13, (1.8, 0.6), 30.0)
    real = data.real_lr(hr, hidden, (0.0, 0.0), 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(lr_position(real), centre, atol=0.1)  # the real LR: LR pixel i = HR pixel 2i + 1
    # a learned kernel whose centre of mass sits where training pins it (6.5, 6.5), half-way between pixels, and
    # one off it: G(HR) lands on the real LR's grid either way
    half = np.pad(blob((12, 12), (5.5, 5.5), 1.3), ((0, 1), (0, 1)))
    off = blob((13, 13), (5.2, 7.1), 1.1) * 3.0
    constructions = {"gb": data.gb_lr(hr, 1.5), "zf": data.zf_lr(hr, 1.0, 1 / 16), "hidden": data.hidden_lr(hr, hidden),
                     "g_half": data.apply_kernel(hr, half), "g_off": data.apply_kernel(hr, off)}
    for name, lr in constructions.items():
        assert lr.shape == real.shape, name
        np.testing.assert_allclose(lr_position(lr), lr_position(real), atol=0.1, err_msg=name)


def test_applied_generator_is_its_kernel_on_the_grid() -> None:
    torch.manual_seed(4)
    g = build("dsgan_g").double()
    with torch.no_grad():
        for layer in g.layers:
            layer.weight.abs_()
        k = g.kernel().numpy()
    hr = blob((64, 64), (30.4, 33.0), 3.0)
    np.testing.assert_allclose(data.apply_generator(g, hr), data.apply_kernel(hr, k), atol=1e-6)
    np.testing.assert_allclose(lr_position(data.apply_generator(g, hr)), (30.4, 33.0), atol=0.1)


def test_bicubic_upsampling_reads_the_lr_grid() -> None:
    hr = blob((64, 64), (30.6, 33.2), 3.0)
    up = data.upsample_on_grid(data.gb_lr(hr, 0.5), hr.shape)
    assert up.shape == hr.shape
    np.testing.assert_allclose(ndimage.center_of_mass(up), (30.6, 33.2), atol=0.1)


def test_bicubic_kernel_matches_kernelgan() -> None:
    k = bicubic_kernel_x2()
    assert k.shape == (8, 8) and math.isclose(k.sum(), 1.0)
    # KernelGAN's hard-coded first row starts 0.0001373291015625, 0.0004119873046875, -0.0013275146484375
    assert k[0, :3] == pytest.approx([0.0001373291015625, 0.0004119873046875, -0.0013275146484375])


def test_bicubic_reference_sits_where_the_centre_target_puts_g() -> None:
    # a 13x13 kernel holding KernelGAN's bicubic kernel with its centre of mass on the target (6.5, 6.5): G's output
    # is then exactly the padded, shaved bicubic reference [R]
    k = np.zeros((13, 13))
    k[3:11, 3:11] = bicubic_kernel_x2()
    assert kernel_phase(k) == pytest.approx((0.0, 0.0), abs=1e-12)
    x = torch.rand(1, 1, 64, 64, dtype=torch.float64)
    fake = torch.nn.functional.conv2d(x, torch.tensor(k)[None, None], stride=2)
    assert bicubic_loss(fake, x, torch.tensor(bicubic_kernel_x2())[None, None]).item() < 1e-20
    shifted = torch.nn.functional.conv2d(x, torch.tensor(np.roll(k, 1, 1))[None, None], stride=2)
    assert bicubic_loss(shifted, x, torch.tensor(bicubic_kernel_x2())[None, None]).item() > 1e-4


def test_discriminator_starts_from_kernelgans_init() -> None:
    torch.manual_seed(0)
    d = build("dsgan_d")
    norms = [m for m in d.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(float(m.bias.abs().max()) == 0.0 for m in convs + norms)
    weights = torch.cat([m.weight.flatten() for m in norms])
    assert abs(float(weights.mean()) - 1.0) < 0.01 and 0.01 < float(weights.std()) < 0.03


def test_regularisers_on_hand_made_kernels() -> None:
    delta = torch.zeros(13, 13)
    delta[6, 6] = 1.0
    assert sum2one_loss(delta).item() == pytest.approx(0.0)
    assert sum2one_loss(2 * delta).item() == pytest.approx(1.0)
    mask = torch.tensor(boundary_mask(13))
    assert boundaries_loss(delta, mask).item() == 0.0  # the centre 9x9 is not penalised
    corner = torch.zeros(13, 13)
    corner[0, 0] = 1.0
    g = np.exp(-np.arange(-6, 7) ** 2 / (2 * 13.0**2))
    expected_corner = 30 * (1 - g[0] * g[0] / 1.0) / 169
    assert boundaries_loss(corner, mask).item() == pytest.approx(expected_corner, rel=1e-5)
    assert sparse_loss(delta).item() == pytest.approx(1 / 169)
    assert sparse_loss(torch.full((13, 13), 1 / 169)).item() == pytest.approx((1 / 169) ** 0.2, rel=1e-5)
    # centre of mass of the delta is (6, 6); target 6.5 -> MSE 0.25
    assert centre_loss(delta, 6.5).item() == pytest.approx(0.25)
    two = torch.zeros(13, 13)
    two[6:8, 6:8] = 0.25
    assert centre_loss(two, 6.5).item() == pytest.approx(0.0, abs=1e-12)


def test_fermi_window_and_zf_by_hand() -> None:
    n = 16
    r, c = np.mgrid[:n, :n]
    img = 1.0 + 0.5 * np.cos(2 * np.pi * 2 * c / n)  # a cosine at 2 cycles per field of view, inside the kept band
    out = data.zf_lr(img, 1.0, 1.0 / 16)
    assert out.shape == (8, 8)
    # kept grid of 8: k = 2 sits at r = 2 / 4 = 0.5 of the half-width; window normalised by its DC value; LR pixel
    # i samples HR column 2i + 1
    w = lambda rr: 1 / (1 + math.exp((rr - 1.0) / (1 / 16)))  # noqa: E731
    amp = 0.5 * w(0.5) / w(0.0)
    expected = 1.0 + amp * np.cos(2 * np.pi * 2 * (2 * np.arange(8) + 1) / n)
    assert np.allclose(out[3], expected, atol=1e-12)


def test_acquisition_psf_is_the_truncated_k_space_of_the_lr_scan() -> None:
    f = 1.25 / 2.7  # the LR scan's k-space extent relative to the HR's (2.7 mm vs 1.25 mm voxels)
    k = data.acquisition_psf(13, f)
    assert k.sum() == pytest.approx(1.0) and np.allclose(k, k.T) and np.allclose(k, k[::-1, ::-1])
    row = k[6] / k[6].sum()
    assert row[6] == row.max() and row.min() < 0  # negative lobes: the ringing a Gaussian cannot make
    assert row[6 + 2] > 0 > row[6 + 3]  # the first zero one LR voxel (1 / f = 2.16 px) from the centre
    response = lambda nu: float(np.sum(row * np.cos(2 * np.pi * nu * (np.arange(13) - 6))))  # noqa: E731
    assert response(0.1) > 0.8  # inside the LR scan's band (|nu| < f / 2 = 0.23; 13 taps ripple)
    assert abs(response(0.4)) < 0.1  # outside it: not acquired


def test_gb_and_real_lr() -> None:
    rng = np.random.default_rng(0)
    flat = np.full((32, 32), 3.0)
    assert np.allclose(data.gb_lr(flat, 1.5), 3.0)
    k = data.anisotropic_gaussian(13, (2.0, 0.7), 30.0)
    assert k.sum() == pytest.approx(1.0) and k[6, 6] == k.max()
    lr = data.real_lr(flat, k, (0.3, -0.2), 0.0, rng)
    assert lr.shape == (16, 16) and np.allclose(lr, 3.0)
    # distance: the true kernel is 0 from itself, a Gaussian of sigma 1.5 is farther than the kernel itself shifted
    gb = data.anisotropic_gaussian(13, (1.5, 1.5), 0.0)
    assert kernel_distance(k, k) == pytest.approx(0.0, abs=1e-9)
    assert kernel_distance(np.roll(k, 1, axis=0), k) < 0.05 < kernel_distance(gb, k)


@pytest.mark.parametrize("crop", [4, 5])
def test_crop_probability_map_windows(crop: int) -> None:
    rng = np.random.default_rng(0)
    img = rng.random((12, 14))
    means = data.window_means(img, crop)
    assert means.shape == (12 - crop + 1, 14 - crop + 1)
    assert means[2, 3] == pytest.approx(img[2:2 + crop, 3:3 + crop].mean())
    flat = np.zeros((16, 16))
    flat[:, 10:] = 1.0  # one vertical edge between columns 9 and 10: only windows covering it are likely
    prob = data.gradient_probability_map(flat, crop)
    assert prob.sum() == pytest.approx(1.0)
    assert prob[:, 0].max() < prob[:, 8].min()
    crops = data.sample_crops(flat, prob, crop, 50, rng)
    assert crops.shape == (50, 1, crop, crop) and (crops.std(axis=(1, 2, 3)) > 0).mean() > 0.5


def test_noise_estimate_and_nlm() -> None:
    rng = np.random.default_rng(0)
    clean = np.add.outer(np.linspace(0, 1, 96), np.linspace(0, 0.5, 96))  # a plane: invisible to the mask
    noisy = clean + rng.normal(0, 0.05, clean.shape)
    assert data.noise_sd(noisy) == pytest.approx(0.05, rel=0.05)
    denoised = data.nlm(noisy, {"h": 0.8, "patch_size": 5, "patch_distance": 6})
    assert np.std(denoised - clean) < 0.6 * np.std(noisy - clean)


@pytest.mark.parametrize("k", range(8))
def test_rotations_keep_the_lr_on_the_hr_grid(k: int) -> None:
    # an off-centre blob: its LR (samples 2i + 1) and HR crops must still agree after every rotation
    hr = blob((41, 41), (17.3, 23.6), 2.5)
    lr, hr_crop = data.rotate_pair(hr[1::2, 1::2], hr, k, 12)
    assert lr.shape == (12, 12) and hr_crop.shape == (24, 24)
    np.testing.assert_allclose(lr_position(lr), ndimage.center_of_mass(hr_crop), atol=0.1)
    if k % 2 == 0:  # 90-degree turns are exact: the LR is the augmented HR's samples 2i + 1
        np.testing.assert_array_equal(lr, hr_crop[1::2, 1::2])


def test_edsr_pairs_are_the_construction_of_their_hr() -> None:
    rng = np.random.default_rng(0)
    hr = ndimage.gaussian_filter(rng.random((64, 64)), 3.0)
    lr = hr[1::2, 1::2]
    x, y = data.edsr_pairs([lr], [hr], 8, 16, 4, rng)  # 0, 45, 90, 135 degrees
    assert x.shape == (16, 1, 8, 8) and y.shape == (16, 1, 16, 16)
    for a, b in zip(x[:, 0], y[:, 0]):  # the LR patch is the augmented HR patch's samples 2i + 1 ...
        right = float(np.abs(a - b[1::2, 1::2]).max())
        wrong = min(float(np.abs(a - b[r::2, c::2]).max()) for r, c in ((0, 0), (0, 1), (1, 0)))
        assert right < 0.1 * float(np.std(hr)) and right < 0.25 * wrong  # ... up to the 45-degree interpolation
    assert sum(float(np.abs(a - b[1::2, 1::2]).max()) < 1e-6 for a, b in zip(x[:, 0], y[:, 0])) >= 4  # 90: exact


def test_dsgan_trainer_on_the_shared_loop(tmp_path) -> None:
    rng = np.random.default_rng(0)
    hr = rng.random((20, 1, 64, 64)).astype(np.float32)
    lr = rng.random((20, 1, 26, 26)).astype(np.float32)
    method = {"trainer": "dsgan", "generator": "dsgan_g", "lr_g": 2e-4, "lr_d": 2e-4, "lambda_update_every": 5,
              "bic_threshold": 10.0, "bic_patience": 1, "constraints_below": 1.0}
    g = fit(method, TrainData(hr, lr), None, max_updates=20, batch_size=1, seed=0, device="cpu", ckpt_dir=tmp_path / "c",
            log_csv=tmp_path / "log.csv", progress=False).generator
    assert g.kernel().shape == (13, 13)
    trainer = DSGANTrainer(method, torch.device("cpu"), patch_size=64)
    trainer.load_state_dict(torch.load(next((tmp_path / "c").glob("check-*.pt")), weights_only=True)["trainer"])
    # 20 iterations: similar after 1, lambda_bic 5 -> 0.05 at iteration 5 -> 5e-4 at 10 (centre, sparse on) -> ...
    assert trainer.iteration == 20 and trainer.lambdas["bicubic"] == pytest.approx(5e-6)
    assert trainer.lambdas["centre"] == 1.0 and trainer.lambdas["sparse"] == 5.0


# ---------------------------------------------------------------- BRISQUE


def test_mscn_and_ggd_on_known_statistics() -> None:
    assert np.allclose(metrics.mscn(np.full((20, 20), 0.4))[5:-5, 5:-5], 0.0)
    rng = np.random.default_rng(0)
    gauss = rng.normal(0, 0.7, 200_000)
    alpha, var = metrics.ggd_fit(gauss)
    assert alpha == pytest.approx(2.0, abs=0.03) and var == pytest.approx(0.49, rel=0.01)
    alpha, _ = metrics.ggd_fit(rng.laplace(0, 1, 200_000))
    assert alpha == pytest.approx(1.0, abs=0.03)


def test_aggd_by_hand() -> None:
    x = np.array([-2.0, -2.0, 1.0, 1.0, 1.0, 1.0])
    alpha, mean, sl2, sr2 = metrics.aggd_fit(x)
    assert (sl2, sr2) == (4.0, 1.0)
    g = 2.0
    r_hat = (8 / 6) ** 2 / (12 / 6)
    r_norm = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    grid = metrics.ALPHA_GRID
    ratio = gamma(2 / grid) ** 2 / (gamma(1 / grid) * gamma(3 / grid))
    assert alpha == pytest.approx(grid[np.argmin(np.abs(ratio - r_norm))])
    expected_mean = (1 - 2) * gamma(2 / alpha) / gamma(1 / alpha) * math.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    assert mean == pytest.approx(expected_mean)


def test_half_scale_bicubic_by_hand() -> None:
    img = np.arange(36, dtype=float).reshape(6, 6)
    out = metrics.half_scale_bicubic(img)
    # a linear ramp is reproduced exactly at the interior sample positions 2i + 0.5: row 1 -> 2.5 * 6, col 1 -> 2.5
    assert out.shape == (3, 3) and out[1, 1] == pytest.approx(2.5 * 6 + 2.5)


def test_brisque_svr_by_hand_and_live_model() -> None:
    model = {"sv": np.array([np.zeros(36), np.ones(36)]), "coef": np.array([2.0, -1.0]), "rho": 0.5, "gamma": 0.1,
             "min": np.full(36, -1.0), "max": np.full(36, 1.0)}  # identity scaling
    f = np.full(36, 0.5)
    expected = 2.0 * math.exp(-0.1 * 36 * 0.25) - 1.0 * math.exp(-0.1 * 36 * 0.25) - 0.5
    assert metrics.svr_score(f, model) == pytest.approx(expected)
    live = metrics.load_brisque_model()
    assert live["sv"].shape == (770, 36) and live["rho"] == -155.845 and live["gamma"] == 0.05
    from skimage import data as skdata
    img = skdata.camera() / 255.0
    # libsvm's own prediction on the brisque package's features is -7.879 (docs/experiments/dsgan.md, "BRISQUE"); our features differ
    # only by the alpha grid and the GGD (vs AGGD) MSCN variance
    score = metrics.brisque(img, live)
    assert score == pytest.approx(-7.879, abs=0.05)
    assert metrics.brisque(ndimage.gaussian_filter(img, 2.0), live) > score + 50


def test_sheet_lr_is_registered_and_halved() -> None:
    z, y, x = np.mgrid[:8, :40, :40]
    hr = np.exp(-((x - 22.0) ** 2 + (y - 18.0) ** 2) / 60.0) * np.ones_like(z) + 0.5 * (np.hypot(x - 20, y - 20) < 14)
    hr = np.moveaxis(hr, 0, -1).astype(np.float32)  # (40, 40, 8), axial slices last
    hr_affine = np.diag([1.0, 1.0, 2.0, 1.0])
    lr = hr[::2, ::2, :]  # a coarser acquisition of the same field of view (voxel 2 mm in-plane)
    lr_affine = np.diag([2.0, 2.0, 2.0, 1.0])
    lr_affine[:2, 3] = 0.5  # coarse voxel centres sit between fine ones
    out = data.registered_lr_slices(lr, lr_affine, hr, hr_affine, seed=0, transform="Rigid", reg_iterations=[0])
    assert out.shape == (20, 20, 8)
    reference = np.stack([hr[..., k].reshape(20, 2, 20, 2).mean((1, 3)) for k in range(8)], -1)
    assert np.corrcoef(out.ravel(), reference.ravel())[0, 1] > 0.95


def _slice_metrics(shift: float) -> pd.DataFrame:
    """Per-slice metrics of Bicubic (the same in every seed) and DSGAN (shifted by `shift`) on 2 subjects x 2 slices."""
    rows = []
    for method in ("bicubic", "dsgan"):
        for k, (subject, fold, i) in enumerate([("s1", 0, 0), ("s1", 0, 1), ("s2", 1, 0), ("s2", 1, 1)]):
            add = shift if method == "dsgan" else 0.0
            rows.append({"method": method, "subject": subject, "fold": fold, "slice": i, "psnr": 20.0 + k + add,
                         "ssim": 0.5 + 0.01 * k + add / 100, "brisque": 40.0 - k - add,
                         "psnr_brain": 18.0 + k + add, "ssim_brain": 0.4 + 0.01 * k + add / 100})
    return pd.DataFrame(rows)


def test_seed_mean_metrics_average_each_slice_over_seeds() -> None:
    per_seed = {0: _slice_metrics(1.0), 1: _slice_metrics(3.0)}
    mean = T.seed_mean_metrics(per_seed)
    assert len(mean) == 8 and list(mean["method"]) == ["bicubic"] * 4 + ["dsgan"] * 4
    np.testing.assert_allclose(mean["psnr"], [20, 21, 22, 23, 22, 23, 24, 25])  # DSGAN: 20 + k + mean(1, 3)
    np.testing.assert_allclose(mean["brisque"], [40, 39, 38, 37, 38, 37, 36, 35])
    assert T.seed_mean_metrics({0: per_seed[0]}) is per_seed[0]  # one seed: untouched
    with pytest.raises(ValueError, match="do not score the same slices"):
        T.seed_mean_metrics({0: per_seed[0], 1: per_seed[1].iloc[:-1]})


def test_tables_combine_seeds_on_our_columns_only() -> None:
    paper = {"bicubic": {"label": "Bicubic", "brisque": 58.0, "brisque_std": 2.5, "ssim": 0.6, "ssim_std": 0.06,
                         "psnr": 22.2, "psnr_std": 0.9},
             "dsgan": {"label": "DSGAN+EDSR", "brisque": 34.1, "brisque_std": 2.4, "ssim": 0.63, "ssim_std": 0.05,
                       "psnr": 22.3, "psnr_std": 1.0, "params": 10}}
    tables = {s: T.paper_table(_slice_metrics(shift), paper, {"dsgan": 10}) for s, shift in ((0, 1.0), (1, 3.0))}
    columns = T.our_columns(tables[0])
    assert columns == ["BRISQUE (LIVE model)", "BRISQUE (LIVE model) std", "ΔBRISQUE", "SSIM", "SSIM std", "ΔSSIM",
                       "PSNR", "PSNR std", "ΔPSNR", "PSNR (brain)", "PSNR (brain) std", "SSIM (brain)",
                       "SSIM (brain) std"]
    out = combine_seeds(tables, columns)  # no seed sd of a std over slices
    assert out.loc["dsgan", "PSNR"] == pytest.approx(23.5)  # mean of 20..23 plus mean(1, 3)
    assert out.loc["dsgan", "PSNR seed sd"] == pytest.approx(np.std([22.5, 24.5], ddof=1))
    assert out.loc["bicubic", "PSNR seed sd"] == 0.0 and out.loc["dsgan", "PSNR (paper)"] == 22.3
    assert out.loc["dsgan", "ΔPSNR"] == pytest.approx(23.5 - 22.3)
    assert out.loc["dsgan", "PSNR std"] == pytest.approx(np.std([0, 1, 2, 3], ddof=1))
    assert out.loc["dsgan", "PSNR (brain)"] == pytest.approx(21.5) and out.loc["bicubic", "PSNR (brain)"] == 19.5
    assert "PSNR std seed sd" not in out.columns and "#params" in out.columns
    pd.testing.assert_frame_equal(combine_seeds({0: tables[0]}, columns), tables[0])


# ---------------------------------------------------------------- slices, validation, beats the reference


def test_slices_spread_through_the_interior_and_validation_slices_are_others() -> None:
    mask = np.zeros((8, 8, 100), bool)
    mask[..., 10:91] = True  # brain on slices 10..90: interior 22..78 with a 15% margin
    slices, val = data.pick_slices(mask, 2, 1, 0.15)
    assert (slices, val) == ([22, 78], [50])
    slices, val = data.pick_slices(mask, 4, 2, 0.15)
    assert set(slices).isdisjoint(val) and len(slices) == 4 and len(val) == 2
    assert min(slices + val) == 22 and max(slices + val) == 78
    assert data.pick_slices(mask, 3, 0, 0.15) == ([22, 50, 78], [])


def test_validation_slices_stack_the_held_out_slices_with_bicubic_as_reference() -> None:
    rng = np.random.default_rng(1)
    subjects = [{"hr": rng.random((2, 16, 16)), "val_hr": rng.random((1, 16, 16)),
                 "val_lr_nlm": rng.random((1, 8, 8))} for _ in range(3)]
    val, reference = data.validation_slices(subjects, "val_lr_nlm")
    assert val.lr.shape == (3, 1, 8, 8) and val.hr.shape == (3, 1, 16, 16)
    np.testing.assert_allclose(val.hr[1, 0], subjects[1]["val_hr"][0], rtol=1e-6)  # not the training slices
    np.testing.assert_allclose(reference[2, 0], data.upsample_on_grid(subjects[2]["val_lr_nlm"][0], (16, 16)),
                               rtol=1e-5, atol=1e-6)
    assert data.validation_slices([{"hr": subjects[0]["hr"]}], "val_lr_nlm") == (None, None)


def test_samples_for_the_scorecard() -> None:
    samples = T.item_samples({0: _slice_metrics(1.0), 1: _slice_metrics(3.0)}, ["dsgan"])
    assert len(samples) == 8 and set(samples["seed"]) == {0, 1} and samples["item"].iloc[1] == "s1/1"
    assert {"psnr", "ssim", "brisque", "psnr_brain", "ssim_brain"} <= set(samples.columns)
    assert samples[samples.seed == 1]["psnr"].tolist() == [23.0, 24.0, 25.0, 26.0]


def test_apply_volume_reads_lr_pixel_i_as_hr_pixel_2i_plus_1() -> None:
    """A nearest-neighbour x2 'network' through dsgan's apply: each output slice repeats its LR slice (known
    answer), on the input's scale, and the output grid puts HR pixel 2i + 1 where LR pixel i was."""
    from torch import nn

    from mrsr.apply import ApplyOptions
    from mrsr.experiments.dsgan.apply import apply_volume, sr_grid
    from mrsr.io import Volume
    from mrsr.train.meta import ModelMeta

    rng = np.random.default_rng(3)
    lr = rng.uniform(0.5, 2.0, (6, 5, 3)).astype(np.float32)
    lr[..., 2] = 0.0  # an empty slice stays empty
    affine = np.array([[2.5, 0, 0, -10.0], [0, 2.5, 0, 4.0], [0, 0, 5.0, 1.0], [0, 0, 0, 1]])
    meta = ModelMeta("dsgan", "dsgan", 0, inference={"slice_axis": 2, "denoise": False, "nlm": {}})
    out, out_affine, notes = apply_volume(nn.Upsample(scale_factor=2, mode="nearest"), meta, Volume(lr, affine),
                                          ApplyOptions())
    assert out.shape == (12, 10, 3) and notes == []
    np.testing.assert_allclose(out, lr.repeat(2, axis=0).repeat(2, axis=1), rtol=1e-6)
    np.testing.assert_allclose(np.sqrt((out_affine[:3, :3] ** 2).sum(0)), [1.25, 1.25, 5.0])
    for i, j in ((0, 0), (2, 4), (5, 1)):  # world position of LR pixel (i, j) = that of HR pixel (2i+1, 2j+1)
        np.testing.assert_allclose(affine @ [i, j, 1, 1], out_affine @ [2 * i + 1, 2 * j + 1, 1, 1])
    np.testing.assert_allclose(sr_grid(np.eye(4), axis=0)[:3, 3], [0.0, -0.5, -0.5])
    with pytest.raises(ValueError, match="leave --upsample unset"):
        apply_volume(nn.Identity(), meta, Volume(lr, affine), ApplyOptions(upsample=2))
