"""Discriminators of the 7T -> 9.4T paper: DCGAN (b), (d), (f) and the pix2pix PatchGAN (h).

All return raw logits (no sigmoid): (B, 1) for the Linear heads, (B, 1, h, w) for the PatchGAN.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(cin: int, cout: int, k: int, stride: int, bn: bool) -> list[nn.Module]:
    """Conv (padding k//2 for odd k, 1 for k=4), optional BN, LeakyReLU(0.2)."""
    padding = 1 if k == 4 else k // 2
    # assumption: no conv bias before BN (DCGAN/pix2pix convention).
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class LinearHeadDiscriminator(nn.Module):
    """Conv feature stack followed by Flatten + Linear -> 1 logit; input must be (B, in_channels, p, p)."""

    def __init__(self, features: nn.Sequential, out_channels: int, reduction: int, in_channels: int,
                 patch_size: int) -> None:
        super().__init__()
        if patch_size <= 0 or patch_size % reduction:
            raise ValueError(f"{type(self).__name__}: patch_size must be a positive multiple of {reduction}, "
                             f"got {patch_size}")
        self.in_channels = in_channels
        self.patch_size = patch_size
        self.features = features
        side = patch_size // reduction
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(out_channels * side * side, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, p, p) -> (B, 1) logits."""
        expected = (self.in_channels, self.patch_size, self.patch_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"{type(self).__name__} expects input (B, {', '.join(map(str, expected))}), "
                             f"got shape {tuple(x.shape)}; set in_channels/patch_size to match")
        return self.head(self.features(x))


class DiscB(LinearHeadDiscriminator):
    """DCGAN 1 discriminator (b): 3x3 stride-2 convs 32/64/128, Linear -> 1."""

    def __init__(self, in_channels: int = 1, patch_size: int = 64) -> None:
        # assumption: (b) is not described; a small variant of (d): 3x3 kernels and half the width.
        features = nn.Sequential(
            *conv_block(in_channels, 32, 3, 2, bn=False),
            *conv_block(32, 64, 3, 2, bn=True),
            *conv_block(64, 128, 3, 2, bn=True),
        )
        super().__init__(features, 128, 8, in_channels, patch_size)


class DiscD(LinearHeadDiscriminator):
    """DCGAN 2 discriminator (d): 4x4 stride-2 convs 64/128/256 (BN after the first), Linear -> 1."""

    def __init__(self, in_channels: int = 1, patch_size: int = 64) -> None:
        # assumption: (d) is not described; DCGAN-style (docs/experiments/field7to9.md, "Networks").
        features = nn.Sequential(
            *conv_block(in_channels, 64, 4, 2, bn=False),
            *conv_block(64, 128, 4, 2, bn=True),
            *conv_block(128, 256, 4, 2, bn=True),
        )
        super().__init__(features, 256, 8, in_channels, patch_size)


class DiscF(LinearHeadDiscriminator):
    """DCGAN 3 discriminator (f): 3x3 convs 64/128/256/512 each followed by MaxPool 2, Linear -> 1."""

    def __init__(self, in_channels: int = 1, patch_size: int = 64) -> None:
        # paper: "more feature maps" than (b) and MaxPool layers. assumption: widths, 3x3, conv-BN-LReLU-pool.
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(((in_channels, 64), (64, 128), (128, 256), (256, 512))):
            layers += [*conv_block(cin, cout, 3, 1, bn=i > 0), nn.MaxPool2d(2)]
        super().__init__(nn.Sequential(*layers), 512, 16, in_channels, patch_size)


class PatchGAN(nn.Module):
    """pix2pix NLayerDiscriminator(input_nc=in_channels, ndf=64, n_layers=3, BatchNorm): 6x6 logits on 64x64."""

    def __init__(self, in_channels: int = 1, patch_size: int = 64, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        del patch_size  # fully convolutional: accepted for a uniform signature, not needed
        # paper: PatchGAN discriminator (pix2pix); layout C64 s2 - C128 s2 - C256 s2 - C512 s1 - C1 s1, 4x4 kernels.
        layers = conv_block(in_channels, ndf, 4, 2, bn=False)
        width = ndf
        for n in range(1, n_layers + 1):
            new_width = ndf * min(2**n, 8)
            layers += conv_block(width, new_width, 4, 2 if n < n_layers else 1, bn=True)
            width = new_width
        layers.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, 1, h, w) patch logits."""
        return self.model(x)
