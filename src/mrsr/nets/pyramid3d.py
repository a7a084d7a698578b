"""Cui et al. 2020 (docs/experiments/asl_sr.md, "Networks and loss"): the per-scale 3-D U-Net generator and the Markovian (SinGAN) critic."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """Conv3d 3^3 (padding 1) -> BatchNorm3d -> LeakyReLU(0.2)."""
    return nn.Sequential(nn.Conv3d(c_in, c_out, 3, padding=1), nn.BatchNorm3d(c_out), nn.LeakyReLU(0.2))


def double_block(c_in: int, c_out: int) -> nn.Sequential:
    """Two conv blocks, c_in -> c_out -> c_out (one U-Net level)."""
    return nn.Sequential(conv_block(c_in, c_out), conv_block(c_out, c_out))


class UNet3D(nn.Module):
    """Three-level 3-D U-Net (Cicek 2016) [P: "three-layer 3D Unet"]; widths [I]: 16/32/64, 340,321 params.

    Input (B, in_channels, D, H, W) of any size: replicate-padded up to multiples of 4 (two poolings) and
    the output cropped back. The residual add of the ASL channel (SinGAN's CleanAdd) is the caller's.
    """

    def __init__(self, in_channels: int = 2, widths: Sequence[int] = (16, 32, 64), out_channels: int = 1) -> None:
        super().__init__()
        w1, w2, w3 = (int(w) for w in widths)
        self.enc1, self.enc2 = double_block(in_channels, w1), double_block(w1, w2)
        self.bottleneck = double_block(w2, w3)
        self.up2, self.dec2 = nn.ConvTranspose3d(w3, w2, 2, stride=2), double_block(2 * w2, w2)
        self.up1, self.dec1 = nn.ConvTranspose3d(w2, w1, 2, stride=2), double_block(2 * w1, w1)
        self.head = nn.Conv3d(w1, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        pad = [p for s in reversed(size) for p in (0, -s % 4)]  # F.pad order: last axis first
        if any(pad):
            x = F.pad(x, pad, mode="replicate")
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool3d(e1, 2))
        b = self.bottleneck(F.max_pool3d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        out = self.head(d1)
        return out[..., : size[0], : size[1], : size[2]]


class MarkovCritic3D(nn.Module):
    """SinGAN's WDiscriminator in 3-D [R]: head block 1 -> nfc, n_body blocks nfc -> nfc, Conv 3^3 -> 1 (no
    sigmoid: a WGAN critic); padding 1 [I]. nfc 32 and 3 body blocks: 85,057 params. Output: a score map."""

    def __init__(self, in_channels: int = 1, nfc: int = 32, n_body: int = 3) -> None:
        super().__init__()
        layers = [conv_block(in_channels, nfc)] + [conv_block(nfc, nfc) for _ in range(int(n_body))]
        self.body = nn.Sequential(*layers)
        self.tail = nn.Conv3d(nfc, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(x))
