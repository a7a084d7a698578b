"""Losses: L1, L2, GDL, BCE GAN terms, VGG-16 perceptual (docs/experiments/field7to9.md, "Networks"); WGAN-GP and Lyu et al.'s terms
(docs/contributing.md, "WGAN-GP defaults"; docs/experiments/ixi_sr.md, "Networks"); the Gaussian low-pass MSE of Cui et al. (docs/experiments/asl_sr.md, "Networks and loss")."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from mrsr.device import at_least_fp32, no_autocast
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


# ---------------------------------------------------------------- Lyu et al. 2019 (docs/contributing.md, "WGAN-GP defaults"; docs/experiments/ixi_sr.md, "Networks")

# torchvision's ImageNet normalisation (RGB, images in [0, 1]): what the torchvision VGG-19 weights the loader takes
# were trained on. The CPCE reference feeds x 255 minus Caffe BGR means to Caffe weights; with torchvision weights
# that input is ~58x too large (1 / 0.226 / 255 per unit), so the reference's input convention is not kept.
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     alpha: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP term E[(||grad_x D(x_hat)||_2 - 1)^2], x_hat = a real + (1 - a) fake, a ~ U(0, 1) per sample.

    The norm runs over all non-batch dimensions; the graph is kept so the term can be backpropagated.
    """
    if alpha is None:
        alpha = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def wgan_critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     gp_weight: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """L_D = E[D(fake)] - E[D(real)] + gp_weight * GP; returns (total, {'wasserstein', 'gp'} detached)."""
    wasserstein = critic(real).mean() - critic(fake.detach()).mean()
    gp = gradient_penalty(critic, real, fake)
    return -wasserstein + gp_weight * gp, {"wasserstein": wasserstein.detach(), "gp": gp.detach()}


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic TV: mean over the batch of sum |x[i+1,j] - x[i,j]| + |x[i,j+1] - x[i,j]|, / (H W)."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs().sum(dim=(-3, -2, -1))
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs().sum(dim=(-3, -2, -1))
    return ((dh + dw) / (x.shape[-2] * x.shape[-1])).mean()


def joint_sparsifying(fake: torch.Tensor, real: torch.Tensor, tau: float) -> torch.Tensor:
    """GAN-CIRCLE JST term tau TV(G(x)) + (1 - tau) TV(y - G(x))."""
    return tau * total_variation(fake) + (1 - tau) * total_variation(real - fake)


class VGG19Perceptual(nn.Module):
    """Mean squared distance of VGG-19 relu5_4 (16th conv) features, the GAN-CPCE perceptual loss.

    Input in [0, 1] (grey), repeated to 3 channels and normalised with the ImageNet mean and s.d. of the torchvision
    weights (RGB). Without a weights path the VGG is fixed-seed random and frozen (`random_weights` is then True).
    """

    def __init__(self, weights_path: str | None = None, seed: int = 0) -> None:
        super().__init__()
        from mrsr.nets.vgg import vgg19_features

        self.features, self.random_weights = vgg19_features(weights_path, seed)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> VGG19Perceptual:
        """Keep the frozen VGG in eval mode whatever the caller asks."""
        super().train(mode)
        self.features.eval()
        return self

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Grey [0, 1] -> torchvision VGG input: 3 equal channels, (x - mean) / std per RGB channel."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"VGG19Perceptual expects (B, 1, H, W), got {tuple(x.shape)}")
        return (x.expand(-1, 3, -1, -1) - self.mean) / self.std

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Perceptual distance; gradients flow to `fake` only."""
        with torch.no_grad():
            target = self.features(self.prepare(real))
        return F.mse_loss(self.features(self.prepare(fake)), target)


# ---------------------------------------------------------------- Gaussian low-pass (Cui et al. 2020)


def gaussian_kernel1d(sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Normalised 1-D Gaussian taps of radius int(truncate * sigma + 0.5) (scipy.ndimage's kernel)."""
    radius = int(truncate * float(sigma) + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / float(sigma)) ** 2)
    return k / k.sum()


def reflect_indices(n: int, radius: int) -> torch.Tensor:
    """Indices extending 0..n-1 by radius on each side in scipy's 'reflect' mode (d c b a | a b c d | d c b a),
    valid for any radius, also one larger than n (the coarse pyramid scales)."""
    i = torch.arange(-radius, n + radius) % (2 * n)
    return torch.where(i >= n, 2 * n - 1 - i, i)


def gaussian_lowpass(x: torch.Tensor, sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Separable Gaussian filter of every spatial axis of (B, C, *spatial) with reflect boundaries: equals
    scipy.ndimage.gaussian_filter(mode='reflect', truncate=truncate) per channel; differentiable."""
    if sigma <= 0:
        return x
    kernel = gaussian_kernel1d(sigma, truncate).to(device=x.device, dtype=x.dtype).view(1, 1, -1)
    radius = kernel.shape[-1] // 2
    for dim in range(2, x.ndim):
        n = x.shape[dim]
        padded = x.index_select(dim, reflect_indices(n, radius).to(x.device)).movedim(dim, -1)
        shape = padded.shape
        out = F.conv1d(padded.reshape(-1, 1, shape[-1]), kernel).reshape(*shape[:-1], n)
        x = out.movedim(-1, dim)
    return x


def lowpass_mse(fake: torch.Tensor, real: torch.Tensor, sigma: float) -> torch.Tensor:
    """Cui et al.'s "super low-pass" loss: MSE between Gaussian-filtered (sigma voxels) fake and real, in fp32 even
    under bf16 autocast (the filter is a convolution, which autocast would run in bf16: its rounding, ~0.4 % of
    the signal, would swamp the small low-pass differences the loss measures)."""
    with no_autocast():
        return F.mse_loss(gaussian_lowpass(at_least_fp32(fake), sigma), gaussian_lowpass(at_least_fp32(real), sigma))
