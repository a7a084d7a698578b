"""Losses of the 7T -> 9.4T paper (METHODS.md 5.4, 5.5): L1, L2, GDL, BCE GAN terms, VGG-16 perceptual."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from mrsr.nets.vgg import vgg16_features

TERMS: tuple[str, ...] = ("bce", "l1", "l2", "gdl", "perceptual")
# paper: VGG-16 "layers 4, 9, 16, 23" = features[:4], [4:9], [9:16], [16:23] (relu1_2 .. relu4_3).
VGG_BLOCK_ENDS: tuple[int, ...] = (4, 9, 16, 23)


def l1(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean absolute error."""
    return F.l1_loss(fake, real)


def l2(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared error."""
    return F.mse_loss(fake, real)


def gradient_maps(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal ([[-1, 1]], padding (0, 1)) and vertical ([[1], [-1]], padding (1, 0)) zero-padded differences."""
    c = x.shape[1]
    kx = x.new_tensor([[-1.0, 1.0]]).view(1, 1, 1, 2).expand(c, 1, 1, 2)
    ky = x.new_tensor([[1.0], [-1.0]]).view(1, 1, 2, 1).expand(c, 1, 2, 1)
    return F.conv2d(x, kx, padding=(0, 1), groups=c), F.conv2d(x, ky, padding=(1, 0), groups=c)


def gdl(fake: torch.Tensor, real: torch.Tensor, p: float = 2) -> torch.Tensor:
    """Gradient difference loss: sum of ||grad real| - |grad fake||^p over x and y, divided by B*C*H*W."""
    # paper: eq. 4 via medSynthesisV1 gdl_loss; the zero padding adds border terms (so a constant offset
    # changes the loss at the image border only).
    if fake.shape != real.shape or fake.ndim != 4:
        raise ValueError(f"gdl expects two (B, C, H, W) tensors of equal shape, got {tuple(fake.shape)} "
                         f"and {tuple(real.shape)}")
    fx, fy = gradient_maps(fake)
    rx, ry = gradient_maps(real)
    total = ((rx.abs() - fx.abs()).abs() ** p).sum() + ((ry.abs() - fy.abs()).abs() ** p).sum()
    return total / real.numel()


def bce_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss 0.5 * [BCE(D(real), 1) + BCE(D(fake), 0)] on logits."""
    real_term = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake_term = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real_term + fake_term)


def bce_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator adversarial loss BCE(D(fake), 1) on logits."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def zscore(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Standardise each sample to zero mean, unit variance over (C, H, W)."""
    dims = tuple(range(1, x.ndim))
    mean = x.mean(dim=dims, keepdim=True)
    std = x.std(dim=dims, keepdim=True, unbiased=False)
    return (x - mean) / (std + eps)


class PerceptualLoss(nn.Module):
    """Sum over VGG-16 blocks (relu1_2, relu2_2, relu3_3, relu4_3) of the L1 feature distance."""

    def __init__(self, weights_path: str | None = None, seed: int = 0) -> None:
        super().__init__()
        features, self.random_weights = vgg16_features(weights_path, seed)
        starts = (0, *VGG_BLOCK_ENDS[:-1])
        self.blocks = nn.ModuleList(features[a:b] for a, b in zip(starts, VGG_BLOCK_ENDS))

    def train(self, mode: bool = True) -> PerceptualLoss:
        """Keep the frozen VGG in eval mode whatever the caller asks."""
        super().train(mode)
        self.blocks.eval()
        return self

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """z-score each image (paper, instead of ImageNet normalisation) and repeat to 3 channels."""
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"PerceptualLoss expects (B, 1, H, W) or (B, 3, H, W), got {tuple(x.shape)}")
        x = zscore(x)
        return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Perceptual distance; gradients flow to `fake` only."""
        f = self.prepare(fake)
        with torch.no_grad():
            r = self.prepare(real)
        loss = fake.new_zeros(())
        for block in self.blocks:
            f = block(f)
            with torch.no_grad():
                r = block(r)
            loss = loss + F.l1_loss(f, r)
        return loss


class GeneratorLoss(nn.Module):
    """Weighted sum of generator terms among 'bce', 'l1', 'l2', 'gdl', 'perceptual' (paper Table 1 lambdas)."""

    def __init__(self, weights: Mapping[str, float], perceptual: PerceptualLoss | None = None) -> None:
        super().__init__()
        unknown = [k for k in weights if k not in TERMS]
        if unknown:
            raise ValueError(f"unknown generator loss term(s) {', '.join(map(repr, unknown))}; "
                             f"expected keys among: {', '.join(TERMS)}")
        if not weights:
            raise ValueError(f"generator loss weights are empty; expected keys among: {', '.join(TERMS)}")
        self.weights = {k: float(v) for k, v in weights.items()}
        if "perceptual" in self.weights and perceptual is None:
            perceptual = PerceptualLoss()
        self.perceptual = perceptual if "perceptual" in self.weights else None

    def term(self, key: str, fake: torch.Tensor, real: torch.Tensor,
             fake_logits: torch.Tensor | None) -> torch.Tensor:
        """Unweighted value of one term."""
        if key == "bce":
            if fake_logits is None:
                raise ValueError("generator loss term 'bce' needs fake_logits (discriminator output on fake)")
            return bce_g(fake_logits)
        if key == "perceptual":
            return self.perceptual(fake, real)
        return {"l1": l1, "l2": l2, "gdl": gdl}[key](fake, real)

    def forward(self, fake: torch.Tensor, real: torch.Tensor,
                fake_logits: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Return (weighted total, unweighted value of each term as a detached tensor: no device sync here)."""
        values = {k: self.term(k, fake, real, fake_logits) for k in self.weights}
        total = sum(self.weights[k] * v for k, v in values.items())
        return total, {k: v.detach() for k, v in values.items()}
