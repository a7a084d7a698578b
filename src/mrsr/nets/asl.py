"""ASL denoising networks (Ulas et al. 2018, docs/experiments/deepasl.md, "Networks"): both output the residual (noise) image."""

from __future__ import annotations

import torch
from torch import nn


class DeepASL(nn.Module):
    """DeepASL residual CNN: `depth` x [Conv 3x3 `width` + PReLU], then a linear Conv 3x3 -> 1 (the residual).

    paper: 8 layers of 48 filters, input the noisy perfusion-weighted image (1 channel), 146,785 parameters.
    The reference code builds 9 conv+PReLU layers; we follow the paper. PReLU: one slope per channel,
    initialised to 0 like the reference's Keras PReLU (assumption: per channel, Keras learns one per element).
    """

    def __init__(self, in_channels: int = 1, width: int = 48, depth: int = 8) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Conv2d(in_channels if i == 0 else width, width, 3, padding=1),
                       nn.PReLU(width, init=0.0)]
        layers.append(nn.Conv2d(width, 1, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual estimate N~ (the denoised image is x - N~)."""
        return self.body(x)


def _conv_relu(cin: int, cout: int, dilation: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation), nn.ReLU(inplace=True)]


class DilatedConv(nn.Module):
    """Kim et al. 2018 'Dilated Conv': Conv 1->64, a local path (4 x Conv 64) and a global path (4 x Conv 64
    with dilation 2, 4, 8, 16), concatenated -> Conv 128 -> linear Conv -> 1 (residual). 444,801 parameters."""

    def __init__(self, in_channels: int = 1, width: int = 64, dilations: tuple[int, ...] = (2, 4, 8, 16)) -> None:
        super().__init__()
        self.head = nn.Sequential(*_conv_relu(in_channels, width))
        self.local = nn.Sequential(*[m for _ in dilations for m in _conv_relu(width, width)])
        self.glob = nn.Sequential(*[m for d in dilations for m in _conv_relu(width, width, d)])
        self.tail = nn.Sequential(*_conv_relu(2 * width, 2 * width), nn.Conv2d(2 * width, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual estimate."""
        h = self.head(x)
        return self.tail(torch.cat([self.local(h), self.glob(h)], dim=1))
