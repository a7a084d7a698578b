"""Plain CNN generators of the 7T -> 9.4T paper: FCN 1, FCN 2, DCSRN and DCGAN generators (a), (c), (e).

Architectures are reconstructions from the paper's exact parameter counts (docs/experiments/field7to9.md, "Networks").
All map (B, 1, H, W) -> (B, 1, H, W) with a linear (unbounded) output for z-scored targets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# paper: model 6 sharpening kernel; the paper's printed "c" in a corner is a typo for 0.
SHARPEN_3X3 = ((0.0, -1.0, 0.0), (-1.0, 5.0, -1.0), (0.0, -1.0, 0.0))


class Sharpen(nn.Module):
    """Fixed 3x3 sharpening convolution (per channel), 'same' size via replicate padding."""

    def __init__(self) -> None:
        super().__init__()
        kernel = torch.tensor(SHARPEN_3X3).view(1, 1, 3, 3)
        # Non-persistent buffer: not a parameter, and state dicts match the unsharpened generator.
        self.register_buffer("kernel", kernel, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve each channel with the kernel."""
        # assumption: replicate padding, so a flat image stays flat up to the border (kernel sums to 1).
        channels = x.shape[1]
        padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
        return F.conv2d(padded, self.kernel.to(x.dtype).expand(channels, 1, 3, 3), groups=channels)


class Generator(nn.Module):
    """Base class: input validation, body, optional sharpening of the output (paper model 6)."""

    multiple: int = 1  # H and W must be multiples of this

    def __init__(self, body: nn.Module, sharpen: bool = False) -> None:
        super().__init__()
        self.body = body
        self.sharpen = Sharpen() if sharpen else nn.Identity()

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ValueError unless x is (B, 1, H, W) with H, W multiples of `multiple`."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"{type(self).__name__} expects input (B, 1, H, W), got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple or h == 0 or w == 0:
            raise ValueError(
                f"{type(self).__name__} needs H and W to be positive multiples of {self.multiple}, got {h}x{w}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (B, 1, H, W) to (B, 1, H, W)."""
        self.check_input(x)
        return self.sharpen(self.body(x))


def conv_bn_relu(cin: int, cout: int, k: int, bias: bool = True, affine: bool = True) -> list[nn.Module]:
    """'Same'-padded odd-kernel conv, BatchNorm, ReLU."""
    return [
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias),
        nn.BatchNorm2d(cout, affine=affine),
        nn.ReLU(inplace=True),
    ]


class FCN1(Generator):
    """FCN 1: 4 'same' convs 9-7-5-1, BN + ReLU after the first three (308,545 params)."""

    def __init__(self, sharpen: bool = False) -> None:
        # paper: 4 conv layers each followed by BN + ReLU (Bahrami-like); 308,545 params.
        # assumption: widths 32/64/128 and no BN/ReLU on the 1x1 output conv (exact count match, linear output).
        body = nn.Sequential(
            *conv_bn_relu(1, 32, 9),
            *conv_bn_relu(32, 64, 7),
            *conv_bn_relu(64, 128, 5),
            nn.Conv2d(128, 1, 1),
        )
        super().__init__(body, sharpen)


class FCN2(Generator):
    """FCN 2: max-pool encoder, transposed-conv decoder, no skips (134,657 params)."""

    multiple = 4

    def __init__(self, sharpen: bool = False) -> None:
        # paper: max-pool down-sampling, transposed-conv up-sampling, no skips; 155,681 params.
        # assumption: reconstruction of 134,657 params (docs/experiments/field7to9.md, "Networks"); the paper's 155,681 is not matched.
        body = nn.Sequential(
            *conv_bn_relu(1, 32, 3),
            nn.MaxPool2d(2),
            *conv_bn_relu(32, 64, 3),
            nn.MaxPool2d(2),
            *conv_bn_relu(64, 128, 3),
            nn.ConvTranspose2d(128, 64, 2, stride=2),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(64, 32, 2, stride=2),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 1, 3, padding=1),
        )
        super().__init__(body, sharpen)


class DenseBlock(nn.Module):
    """DCSRN dense block: each unit BN -> ELU -> conv3x3 (growth channels) concatenated onto its input."""

    def __init__(self, channels: int, growth: int, units: int) -> None:
        super().__init__()
        self.units = nn.ModuleList(
            nn.Sequential(
                nn.BatchNorm2d(channels + i * growth),
                nn.ELU(),
                nn.Conv2d(channels + i * growth, growth, 3, padding=1),
            )
            for i in range(units)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Grow x by `growth` channels per unit."""
        for unit in self.units:
            x = torch.cat([x, unit(x)], dim=1)
        return x


class DCSRN(Generator):
    """2-D DCSRN: conv 1->24, 4 dense units (growth 24), BN-ELU-conv 120->1 (53,977 params)."""

    def __init__(self, sharpen: bool = False) -> None:
        # paper: first conv k=3 with 24 filters, dense block of 4 units (BN, ELU, conv), final conv.
        # assumption: growth 24, conv biases on, BN + ELU before the last conv (matches 53,977 exactly).
        body = nn.Sequential(
            nn.Conv2d(1, 24, 3, padding=1),
            DenseBlock(24, 24, 4),
            nn.BatchNorm2d(120),
            nn.ELU(),
            nn.Conv2d(120, 1, 3, padding=1),
        )
        super().__init__(body, sharpen)


class DCGAN1G(Generator):
    """DCGAN 1 generator (a): 4 bias-free conv3x3 (4-8-16-32) + non-affine BN + ReLU, conv5x5 -> 1 (6,885)."""

    def __init__(self, sharpen: bool = False) -> None:
        # paper: five layers, 6,885 params. assumption: one exact fit (widths, kernels, no bias, non-affine BN).
        layers: list[nn.Module] = []
        for cin, cout in ((1, 4), (4, 8), (8, 16), (16, 32)):
            layers += conv_bn_relu(cin, cout, 3, bias=False, affine=False)
        layers.append(nn.Conv2d(32, 1, 5, padding=2))
        super().__init__(nn.Sequential(*layers), sharpen)


def dcgan_body(extra_128: bool) -> nn.Sequential:
    """DCGAN (c) body, optionally with the extra 5x5 128->128 layer of (e)."""
    # paper: 5 layers, 196 filters at most, 1x1 conv at the end; model 3 adds a layer.
    # assumption: kernels 7-5-5(-5)-3-1 and widths 16-64-128(-128)-196 (exact count match).
    layers = [*conv_bn_relu(1, 16, 7), *conv_bn_relu(16, 64, 5), *conv_bn_relu(64, 128, 5)]
    if extra_128:
        layers += conv_bn_relu(128, 128, 5)
    layers += [*conv_bn_relu(128, 196, 3), nn.Conv2d(196, 1, 1)]
    return nn.Sequential(*layers)


class DCGAN2G(Generator):
    """DCGAN 2 generator (c): 5 'same' convs 7-5-5-3-1 (458,385 params)."""

    def __init__(self, sharpen: bool = False) -> None:
        super().__init__(dcgan_body(extra_128=False), sharpen)


class DCGAN3G(Generator):
    """DCGAN 3/4 generator (e): (c) plus a 5x5 128->128 layer (868,369 params)."""

    def __init__(self, sharpen: bool = False) -> None:
        super().__init__(dcgan_body(extra_128=True), sharpen)
