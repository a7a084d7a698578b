"""Lyu et al. 2019 networks (docs/experiments/ixi_sr.md, "Networks"): GAN-CPCE generator and critic, GAN-CIRCLE G/F and critic.

All four are fully convolutional except the critics' FC heads, which fix their input size (patch_size).
"""

from __future__ import annotations

import torch
from torch import nn

# paper (via the GAN-CIRCLE reference): feature widths int((w0 - w_last)(1 - (i/(n-1))^(1/1.5)) + w_last).
CIRCLE_DECAY = 1.5


class CPCEGenerator(nn.Module):
    """Conveying-path convolutional encoder-decoder: 4 valid 3x3 convs, 4 valid 3x3 deconvs, no bias.

    paper: 4 conv 32, 3 deconv 32, 1 deconv 1, stride 1; each of the first three deconvs is concatenated
    with the pre-ReLU output of the mirrored conv, then ReLU -> 1x1 conv 64 -> 32 -> ReLU [R: CPCE_2D].
    62,016 parameters; output size = input size.
    """

    def __init__(self, width: int = 32, depth: int = 4) -> None:
        super().__init__()
        self.encoder = nn.ModuleList(
            nn.Conv2d(1 if i == 0 else width, width, 3, bias=False) for i in range(depth))
        self.decoder = nn.ModuleList(nn.ConvTranspose2d(width, width, 3, bias=False) for _ in range(depth - 1))
        self.fuse = nn.ModuleList(nn.Conv2d(2 * width, width, 1, bias=False) for _ in range(depth - 1))
        self.last = nn.ConvTranspose2d(width, 1, 3, bias=False)
        self.relu = nn.ReLU()
        for m in self.modules():  # paper: Xavier init [R]
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """HR estimate of the same size as x (B, 1, H, W)."""
        skips = []
        h = x
        for conv in self.encoder:
            h = conv(h)
            skips.append(h)  # pre-ReLU, conveyed to the decoder [R]
            h = self.relu(h)
        for deconv, fuse, skip in zip(self.decoder, self.fuse, reversed(skips[:-1])):
            h = self.relu(torch.cat([skip, deconv(h)], dim=1))
            h = self.relu(fuse(h))
        return self.relu(self.last(h))


class CPCECritic(nn.Module):
    """WGAN critic: 6 'same' 3x3 convs (64, 64, 128, 128, 256, 256; strides 1, 2, 1, 2, 1, 2) + LReLU 0.2,
    then FC 1024 -> LReLU -> FC 1. No normalisation (WGAN-GP). 17.9 M parameters at 64x64."""

    def __init__(self, in_channels: int = 1, patch_size: int = 64,
                 widths: tuple[int, ...] = (64, 64, 128, 128, 256, 256),
                 strides: tuple[int, ...] = (1, 2, 1, 2, 1, 2)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin, size = in_channels, patch_size
        for w, s in zip(widths, strides):
            layers += [nn.Conv2d(cin, w, 3, stride=s, padding=1), nn.LeakyReLU(0.2)]
            cin, size = w, (size + 2 - 3) // s + 1
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cin * size * size, 1024), nn.LeakyReLU(0.2),
                                  nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Critic score per sample (B, 1)."""
        return self.head(self.features(x))


def circle_widths(first: int, last: int, n_layers: int) -> list[int]:
    """Feature widths of the GAN-CIRCLE SR blocks (128 -> 16 over 12 layers: 128, 105, 92, ..., 22, 16)."""
    return [int((first - last) * (1 - (i / (n_layers - 1)) ** (1 / CIRCLE_DECAY)) + last) for i in range(n_layers)]


class CircleGenerator(nn.Module):
    """GAN-CIRCLE generator (G: LR -> HR and F: HR -> LR, same grid): out = x + residual.

    Feature extraction: 12 Conv 3x3 + LReLU 0.1 (the first with `stride`), all outputs concatenated;
    reconstruction: A = 1x1 -> 64; B = 1x1 -> 32 -> 3x3 -> 8; concat -> 3x3 72 -> upsampling
    (ConvT 4x4 s2 when stride is 2, else 3x3) -> 36 -> 3x3 -> 1 (no bias).
    Variant 'lyu' (first_width 128, stride 2): 611,418 parameters; 'tmi' (64, stride 1) is the original
    GAN-CIRCLE paper's lighter one. Inputs need sides divisible by `stride`.
    """

    def __init__(self, first_width: int = 128, last_width: int = 16, n_layers: int = 12, stride: int = 2) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"CircleGenerator: stride must be 1 or 2, got {stride}")
        self.stride = stride
        widths = circle_widths(first_width, last_width, n_layers)
        act = nn.LeakyReLU(0.1)
        self.features = nn.ModuleList()
        cin = 1
        for i, w in enumerate(widths):
            self.features.append(nn.Sequential(nn.Conv2d(cin, w, 3, stride=stride if i == 0 else 1, padding=1), act))
            cin = w
        total = sum(widths)
        # assumption: LReLU 0.1 after every reconstruction conv but the last (the paper lists it once; docs/experiments/ixi_sr.md, "Networks").
        self.branch_a = nn.Sequential(nn.Conv2d(total, 64, 1), act)
        self.branch_b = nn.Sequential(nn.Conv2d(total, 32, 1), act, nn.Conv2d(32, 8, 3, padding=1), act)
        up = nn.ConvTranspose2d(72, 36, 4, stride=2, padding=1) if stride == 2 else nn.Conv2d(72, 36, 3, padding=1)
        self.reconstruct = nn.Sequential(nn.Conv2d(72, 72, 3, padding=1), act, up, act,
                                         nn.Conv2d(36, 1, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + residual, same size as x (B, 1, H, W)."""
        if x.shape[-1] % self.stride or x.shape[-2] % self.stride:
            raise ValueError(f"CircleGenerator with stride {self.stride} needs even image sides, got {tuple(x.shape)}")
        outs = []
        h = x
        for block in self.features:
            h = block(h)
            outs.append(h)
        feats = torch.cat(outs, dim=1)
        return x + self.reconstruct(torch.cat([self.branch_a(feats), self.branch_b(feats)], dim=1))


class CircleCritic(nn.Module):
    """GAN-CIRCLE critic: 4 x [Conv 4x4 + bias -> InstanceNorm (not on the first) -> LReLU 0.2] with
    64, 128, 256, 512 filters and strides 2, 2, 2, 1, then FC 1024 -> LReLU -> FC 1 (paper Fig. 3)."""

    def __init__(self, in_channels: int = 1, patch_size: int = 64,
                 widths: tuple[int, ...] = (64, 128, 256, 512), strides: tuple[int, ...] = (2, 2, 2, 1)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin, size = in_channels, patch_size
        for i, (w, s) in enumerate(zip(widths, strides)):
            # TF 'same' padding: 1 on each side for stride 2, (1, 2) for stride 1 with a 4x4 kernel
            if s == 1:
                layers.append(nn.ZeroPad2d((1, 2, 1, 2)))
            layers.append(nn.Conv2d(cin, w, 4, stride=s, padding=1 if s == 2 else 0))
            if i > 0:
                layers.append(nn.InstanceNorm2d(w, affine=True))
            layers.append(nn.LeakyReLU(0.2))
            cin, size = w, (size - 2) // 2 + 1 if s == 2 else size
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cin * size * size, 1024), nn.LeakyReLU(0.2),
                                  nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Critic score per sample (B, 1)."""
        return self.head(self.features(x))
