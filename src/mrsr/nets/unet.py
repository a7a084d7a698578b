"""pix2pix-style U-net generator (g) of the 7T -> 9.4T paper (1,829,025 params at the defaults)."""

from __future__ import annotations

import torch
from torch import nn

from mrsr.nets.cnn import Generator


class ScaledTanh(nn.Module):
    """scale * tanh(x): pix2pix's bounded output, over (-scale, scale) instead of (-1, 1)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        if not scale > 0:
            raise ValueError(f"tanh_scale: expected > 0 (or None for a linear output), got {scale}")
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.tanh(x)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class UnetLevel(nn.Module):
    """One U-net level: down conv, inner levels, up conv; inner levels return [skip, up] concatenated."""

    def __init__(
        self,
        outer: int,
        inner: int,
        in_ch: int | None = None,
        sub: nn.Module | None = None,
        outermost: bool = False,
        dropout: bool = False,
        tanh_scale: float | None = 1.0,
    ) -> None:
        super().__init__()
        in_ch = outer if in_ch is None else in_ch
        self.outermost = outermost
        innermost = sub is None
        # paper: 4x4 stride-2 convs; with BatchNorm, pix2pix uses no conv bias except the outermost ConvT.
        down_conv = nn.Conv2d(in_ch, inner, 4, stride=2, padding=1, bias=False)
        up_in = inner if innermost else 2 * inner
        if outermost:
            down = [down_conv]
            up: list[nn.Module] = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1)]
            if tanh_scale is not None:
                # pix2pix: bounded output; scaled so it can cover z-scored targets (pix2pix's are in [-1, 1]).
                up.append(ScaledTanh(tanh_scale))
        else:
            down = [nn.LeakyReLU(0.2, True), down_conv]
            if not innermost:
                down.append(nn.BatchNorm2d(inner))
            up = [
                nn.ReLU(True),
                nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(outer),
            ]
            if dropout:
                up.append(nn.Dropout(0.5))
        middle = [] if innermost else [sub]
        self.model = nn.Sequential(*down, *middle, *up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outermost: plain output; otherwise the skip connection concatenated with the level output."""
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], dim=1)


class UnetG(Generator):
    """pix2pix UnetGenerator(input_nc=1, output_nc=1, num_downs, ngf, BatchNorm); H, W multiples of 2**num_downs.

    The output is tanh_scale * tanh(.) (pix2pix: tanh_scale 1 for targets in [-1, 1]); None: linear output.
    """

    def __init__(
        self,
        sharpen: bool = False,
        tanh_scale: float | None = 1.0,
        num_downs: int = 6,
        ngf: int = 16,
        dropout: bool = True,
    ) -> None:
        # paper: pix2pix U-net generator; 1,829,025 params = num_downs 6, ngf 16 (docs/experiments/field7to9.md, "Networks").
        if num_downs < 5:
            raise ValueError(f"num_downs must be >= 5 (pix2pix layout), got {num_downs}")
        level = UnetLevel(ngf * 8, ngf * 8)  # innermost, 1x1 bottleneck
        for _ in range(num_downs - 5):
            # paper default (pix2pix): dropout 0.5 in the middle ngf*8 levels.
            level = UnetLevel(ngf * 8, ngf * 8, sub=level, dropout=dropout)
        level = UnetLevel(ngf * 4, ngf * 8, sub=level)
        level = UnetLevel(ngf * 2, ngf * 4, sub=level)
        level = UnetLevel(ngf, ngf * 2, sub=level)
        level = UnetLevel(1, ngf, in_ch=1, sub=level, outermost=True, tanh_scale=tanh_scale)
        super().__init__(level, sharpen)
        # Each of the num_downs stride-2 convs halves the size; the bottleneck must be at least 1x1.
        self.multiple = 2**num_downs
