"""DSGAN trainer (Huang et al. 2021, KernelGAN-style; docs/experiments/dsgan.md, "DSGAN"): L1-to-label GAN loss, kernel regularisers
with the paper's weight schedule. TrainData: lr = HR crops (the generator's input), hr = real-LR crops (D's reals).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from mrsr.device import at_least_fp32, no_autocast
from mrsr.nets import build
from mrsr.train.gan import set_requires_grad
from mrsr.train.supervised import adam, as_floats, optimise

DSGAN_BETAS = (0.5, 0.999)  # [R]
LAMBDA_START = {"bicubic": 5.0, "sum2one": 0.5, "boundaries": 0.5, "centre": 0.0, "sparse": 0.0}  # [P = R]


def cubic(t: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel (a = -0.5, MATLAB imresize's bicubic)."""
    t = np.abs(t)
    return np.where(t <= 1, (a + 2) * t**3 - (a + 3) * t**2 + 1,
                    np.where(t < 2, a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a, 0.0))


def bicubic_kernel_x2() -> np.ndarray:
    """KernelGAN's fixed 8x8 bicubic downscaling kernel: cubic(x/2) at x = +-0.5 ... +-3.5, outer product, sum 1."""
    taps = cubic((np.arange(8) - 3.5) / 2.0)
    k = np.outer(taps, taps)
    return k / k.sum()


def gaussian_2d(size: int, sigma: float) -> np.ndarray:
    """Unnormalised-peak separable Gaussian on offsets -size//2+1 .. size//2 (KernelGAN create_gaussian)."""
    z = np.arange(-size // 2 + 1, size // 2 + 1, dtype=np.float64)
    g = np.exp(-(z**2) / (2 * sigma**2)) / np.sqrt(2 * np.pi * sigma**2)
    return np.outer(g, g)


def boundary_mask(size: int, scale: float = 30.0) -> np.ndarray:
    """Penalty mask m = scale * (1 - gauss(size, sigma=size)/max) with the centre zeroed (KernelGAN)."""
    mask = gaussian_2d(size, float(size))
    mask = 1.0 - mask / mask.max()
    margin = (size - (size // 2 + size % 2)) // 2 - 1
    mask[margin:size - margin, margin:size - margin] = 0.0
    return scale * mask


def kernel_centre_target(size: int, factor: int = 2) -> float:
    """Where the kernel's (G.kernel(), correlation orientation) centre of mass should sit: size//2 + 0.5 (factor -
    size % 2) [R]: 6.5 for 13x13, so G's output j sits at its input's 2j + 6.5, half-way between pixels."""
    return size // 2 + 0.5 * (factor - size % 2)


def kernel_phase(k: np.ndarray) -> tuple[float, float]:
    """(row, col) of the raw kernel's centre of mass (sum k * index / sum k, as `centre_loss`) minus
    `kernel_centre_target`, in HR pixels: where G puts its samples against the grid the training pins. The kernel
    distance re-centres (and renormalises), so it sees neither this nor sum k."""
    k = np.asarray(k, dtype=np.float64)
    idx, total, target = np.arange(k.shape[0]), k.sum(), kernel_centre_target(k.shape[0])
    return float(k.sum(1) @ idx / total - target), float(k.sum(0) @ idx / total - target)


def sum2one_loss(k: torch.Tensor) -> torch.Tensor:
    """|1 - sum k|."""
    return torch.abs(1.0 - k.sum())


def boundaries_loss(k: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """mean |k * m|."""
    return torch.mean(torch.abs(k * mask))


def sparse_loss(k: torch.Tensor, power: float = 0.2) -> torch.Tensor:
    """mean |k|^0.2."""
    return torch.mean(torch.abs(k) ** power)


def centre_loss(k: torch.Tensor, target: float) -> torch.Tensor:
    """MSE between the kernel's centre of mass (row, col) and (target, target)."""
    idx = torch.arange(k.shape[0], dtype=k.dtype, device=k.device)
    total = k.sum()
    com = torch.stack([(k.sum(1) * idx).sum() / total, (k.sum(0) * idx).sum() / total])
    return F.mse_loss(com, torch.full_like(com, target))


def shave_to(x: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Centre crop of x (B, C, H, W) to the spatial shape."""
    dh, dw = (x.shape[-2] - shape[0]) // 2, (x.shape[-1] - shape[1]) // 2
    return x[..., dh:dh + shape[0], dw:dw + shape[1]]


def bicubic_loss(fake: torch.Tensor, x: torch.Tensor, bicubic: torch.Tensor) -> torch.Tensor:
    """MSE [R; the paper writes |.|] between G(x) and x bicubic-downscaled at stride 2 with zero padding
    (size - 1) // 2 [R: resize_tensor_w_kernel], shaved to G(x)'s size: its sample j sits at x's 2j + 6.5, where
    the centre-of-mass target puts G's."""
    pad = (bicubic.shape[-1] - 1) // 2
    return F.mse_loss(fake, shave_to(F.conv2d(x, bicubic, stride=2, padding=pad), fake.shape[-2:]))


class DSGANTrainer:
    """One DSGAN (per slice): G then D step per iteration, batch 1, lambdas updated by KernelGAN's Learner rule.

    method keys: lr_g, lr_d[, betas], bic_threshold (0.4), bic_patience (3 consecutive iterations),
    lambda_update_every (200), bic_decay (100), bic_min (5e-6), constraints_below (5e-3), centre_weight (1),
    sparse_weight (5), lr_decay_every (null; the reference's /10 every 750 is not in the paper), d_noise (1/255).
    """

    def __init__(self, method: Mapping[str, Any], device: torch.device, *, patch_size: int,
                 vgg_weights: str | None = None) -> None:
        del patch_size, vgg_weights
        self.generator = build(method.get("generator", "dsgan_g")).to(device)
        self.discriminator = build(method.get("discriminator", "dsgan_d")).to(device)
        self.opt_g = adam(self.generator.parameters(), method, "lr_g", DSGAN_BETAS)
        self.opt_d = adam(self.discriminator.parameters(), method, "lr_d", DSGAN_BETAS)
        self.cfg = {"bic_threshold": 0.4, "bic_patience": 3, "lambda_update_every": 200, "bic_decay": 100.0,
                    "bic_min": 5e-6, "constraints_below": 5e-3, "centre_weight": 1.0, "sparse_weight": 5.0,
                    "lr_decay_every": None, "d_noise": 1.0 / 255.0}
        self.cfg.update({k: method[k] for k in self.cfg if k in method})
        size = self.generator.kernel_size
        self.bicubic = torch.tensor(bicubic_kernel_x2(), dtype=torch.float32, device=device)[None, None]
        self.mask = torch.tensor(boundary_mask(size), dtype=torch.float32, device=device)
        self.centre = kernel_centre_target(size)
        self.lambdas = dict(LAMBDA_START)
        self.iteration, self.bic_count, self.similar, self.constraints_pending = 0, 0, False, True

    def regulariser(self, fake: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Unweighted regulariser terms on the current kernel k = G(delta) and the batch, in fp32 even under bf16
        autocast (composing k and the bicubic reference are convolutions autocast would round to bf16)."""
        with no_autocast():
            k = self.generator.kernel()
            return {"bicubic": bicubic_loss(at_least_fp32(fake), at_least_fp32(x), self.bicubic), "sum2one": sum2one_loss(k),
                    "boundaries": boundaries_loss(k, self.mask), "centre": centre_loss(k, self.centre),
                    "sparse": sparse_loss(k)}

    def noisy(self, x: torch.Tensor) -> torch.Tensor:
        """x + randn * d_noise (the reference adds it to D's inputs in the D step: real crops and the fake)."""
        return x + torch.randn_like(x) * float(self.cfg["d_noise"])

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """lr: HR crops (B, 1, 64, 64) -> G; hr: real-LR crops (B, 1, 26, 26). One G step, one D step, schedule."""
        fake = self.generator(lr)
        set_requires_grad(self.discriminator, False)
        adv_g = torch.mean(torch.abs(self.discriminator(fake) - 1.0))  # no input noise in the G step [R]
        terms = self.regulariser(fake, lr)
        loss_g = adv_g + sum(self.lambdas[name] * value for name, value in terms.items())
        optimise(self.opt_g, loss_g)
        set_requires_grad(self.discriminator, True)
        d_real = self.discriminator(self.noisy(hr))
        d_fake = self.discriminator(self.noisy(fake.detach()))
        loss_d = 0.5 * (torch.mean(torch.abs(d_real - 1.0)) + torch.mean(torch.abs(d_fake)))
        optimise(self.opt_d, loss_d)
        values = as_floats({"total": loss_g, "g_adv": adv_g, **terms, "d": loss_d})
        self.update_schedule(values["bicubic"])
        return {**values, "lambda_bicubic": self.lambdas["bicubic"]}

    def update_schedule(self, bic: float) -> None:
        """KernelGAN's Learner: bicubic phase until the bicubic loss < threshold for `bic_patience` iterations, then
        lambda_bic /= bic_decay every `lambda_update_every` iterations (>= bic_min); centre/sparse switched on below
        `constraints_below`; optional lr /10 every `lr_decay_every`."""
        self.iteration += 1
        cfg = self.cfg
        if not self.similar:
            self.bic_count = self.bic_count + 1 if bic < float(cfg["bic_threshold"]) else 0
            self.similar = self.bic_count >= int(cfg["bic_patience"])
        elif self.iteration % int(cfg["lambda_update_every"]) == 0 and self.lambdas["bicubic"] > float(cfg["bic_min"]):
            self.lambdas["bicubic"] = max(self.lambdas["bicubic"] / float(cfg["bic_decay"]), float(cfg["bic_min"]))
            if self.constraints_pending and self.lambdas["bicubic"] < float(cfg["constraints_below"]):
                self.lambdas["centre"] = float(cfg["centre_weight"])
                self.lambdas["sparse"] = float(cfg["sparse_weight"])
                self.constraints_pending = False
        if cfg["lr_decay_every"] and self.iteration % int(cfg["lr_decay_every"]) == 0:
            for opt in (self.opt_g, self.opt_d):
                for group in opt.param_groups:
                    group["lr"] /= 10.0

    def val_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """Bicubic-consistency of G on a batch (no D)."""
        fake = self.generator(lr)
        return as_floats({"total": bicubic_loss(fake, lr, self.bicubic)})

    def state_dict(self) -> dict[str, Any]:
        """Both models, both optimisers and the schedule's state."""
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "schedule": {"lambdas": dict(self.lambdas), "iteration": self.iteration, "bic_count": self.bic_count,
                             "similar": self.similar, "constraints_pending": self.constraints_pending}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore models, optimisers and schedule."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        sched = state["schedule"]
        self.lambdas = {k: float(v) for k, v in sched["lambdas"].items()}
        self.iteration, self.bic_count = int(sched["iteration"]), int(sched["bic_count"])
        self.similar, self.constraints_pending = bool(sched["similar"]), bool(sched["constraints_pending"])


def kernel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Relative L2 distance ||a' - b'|| / ||b'|| of two kernels after normalising each to sum 1 and moving each one's
    centre of mass to the grid centre (Fourier shift): a misalignment is not counted as blur."""
    size = max(a.shape[0], b.shape[0])
    a2, b2 = (centred_kernel(k, size) for k in (a, b))
    return float(np.linalg.norm(a2 - b2) / np.linalg.norm(b2))


def centred_kernel(k: np.ndarray, size: int) -> np.ndarray:
    """k (odd or even square) zero-padded to size x size, normalised to sum 1, centre of mass moved to the centre."""
    k = np.asarray(k, dtype=np.float64)
    pad = size - k.shape[0]
    k = np.pad(k, ((pad // 2, pad - pad // 2),) * 2)
    k = k / k.sum()
    com = np.array(ndimage.center_of_mass(k))
    shift = (size - 1) / 2.0 - com
    out = np.real(np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(k), shift)))
    return out / out.sum()

