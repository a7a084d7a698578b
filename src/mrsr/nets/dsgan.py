"""Huang et al. 2021 networks (docs/experiments/dsgan.md, "DSGAN" and "Training-set constructions"): the DSGAN (KernelGAN-style) generator and
discriminator, EDSR x2 and the DSN proxy."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

DSGAN_G_KERNELS = (7, 5, 3, 1, 1, 1)  # [R: KernelGAN G_structure]


class DSGANGenerator(nn.Module):
    """Deep linear generator: convs 7,5,3,1,1,1 (64 channels), no bias, no activation, 'valid' padding,
    stride 2 on the last layer; 64x64 -> 26x26, a 13x13 receptive field (150,656 parameters)."""

    def __init__(self, channels: int = 64, kernels: tuple[int, ...] = DSGAN_G_KERNELS) -> None:
        super().__init__()
        sizes = [1, *[channels] * (len(kernels) - 1), 1]
        self.layers = nn.ModuleList(
            nn.Conv2d(sizes[i], sizes[i + 1], k, stride=2 if i == len(kernels) - 1 else 1, bias=False)
            for i, k in enumerate(kernels))
        self.kernel_size = sum(k - 1 for k in kernels) + 1
        for layer in self.layers:
            nn.init.xavier_normal_(layer.weight, gain=0.1)  # [R]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B, 1, (H - 12 + 1) // 2, ...) ('valid' convolutions, stride 2 at the end)."""
        for layer in self.layers:
            x = layer(x)
        return x

    def kernel(self) -> torch.Tensor:
        """The 13x13 kernel k with G(x) = conv2d(x, k, stride 2) (cross-correlation): the chained response of the
        weights to a delta, flipped (KernelGAN's calc_curr_k). Its regularisers (centre of mass, boundaries) act on
        this orientation, as in the reference."""
        delta = torch.ones(1, 1, 1, 1, dtype=self.layers[0].weight.dtype, device=self.layers[0].weight.device)
        k = F.conv2d(delta, self.layers[0].weight, padding=self.kernel_size - 1)
        for layer in self.layers[1:]:
            k = F.conv2d(k, layer.weight)
        return k[0, 0].flip(0, 1)


def sobel_kernels() -> torch.Tensor:
    """(2, 1, 3, 3) Sobel x and y kernels of the paper's eq. 1 (cross-correlation form)."""
    sx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return torch.stack([sx, sx.T])[:, None]


def init_discriminator(m: nn.Module) -> None:
    """KernelGAN's weights_init_D: conv weights Xavier-normal (gain 0.1), biases 0; BatchNorm weights N(1, 0.02),
    biases 0 (under spectral norm the conv's weight_orig is the initialised parameter)."""
    if isinstance(m, nn.Conv2d):
        nn.init.xavier_normal_(getattr(m, "weight_orig", m.weight), gain=0.1)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class DSGANDiscriminator(nn.Module):
    """Patch discriminator on [I, Sobel_x*I, Sobel_y*I]: SN conv 7x7 3->64 (bias, no activation), 5 x [SN conv 1x1
    -> BN -> ReLU], SN conv 1x1 -> 1 -> sigmoid; 26x26 -> 20x20 maps (30,977 parameters)."""

    def __init__(self, channels: int = 64, n_middle: int = 5, kernel: int = 7) -> None:
        super().__init__()
        self.register_buffer("sobel", sobel_kernels(), persistent=False)
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(3, channels, kernel))]
        for _ in range(n_middle):
            layers += [spectral_norm(nn.Conv2d(channels, channels, 1)), nn.BatchNorm2d(channels), nn.ReLU(True)]
        layers += [spectral_norm(nn.Conv2d(channels, 1, 1)), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)
        self.body.apply(init_discriminator)

    def edges(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B, 3, H, W): the image and its Sobel x / y responses ('same', replicate padding [I])."""
        return torch.cat([x, F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.sobel)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B, 1, H - 6, W - 6) probabilities that each 7x7 patch is a real LR patch."""
        return self.body(self.edges(x))


class ResBlock(nn.Module):
    """EDSR residual block: conv 3x3 -> ReLU -> conv 3x3, res_scale 1, no BN."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(True),
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class EDSR(nn.Module):
    """EDSR x2 (Lim et al. 2017; grey-scale, no MeanShift [I]): head conv, n_blocks ResBlocks + conv with a global
    skip, tail conv 64->256 -> PixelShuffle(2) -> conv 64->1 (16 blocks of 64: 1,367,553 parameters)."""

    def __init__(self, n_blocks: int = 16, channels: int = 64, scale: int = 2) -> None:
        super().__init__()
        self.head = nn.Conv2d(1, channels, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(channels) for _ in range(n_blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.tail = nn.Sequential(nn.Conv2d(channels, channels * scale * scale, 3, padding=1),
                                  nn.PixelShuffle(scale), nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, h, w) -> (B, 1, 2h, 2w)."""
        x = self.head(x)
        return self.tail(x + self.body(x))


class DSNProxy(nn.Module):
    """Proxy of Chun et al.'s downsampling network (docs/experiments/dsgan.md, "Training-set constructions"; an assumption): conv 3x3 64 ReLU x2 -> conv 3x3 stride 2 64
    ReLU -> conv 3x3 64 ReLU -> conv 3x3 -> 1 (112,001 parameters); (B, 1, H, W) -> (B, 1, H/2, W/2)."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        c = channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.ReLU(True), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(True),
            nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU(True), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(True),
            nn.Conv2d(c, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
