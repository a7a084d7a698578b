"""Hand-defined VGG-16 `features[:23]` and VGG-19 `features[:36]` with torchvision-compatible indices.

torchvision cannot be imported here and ImageNet weights cannot be downloaded (docs/contributing.md, "Offline assets"):
load a user-supplied torchvision state dict (keys `features.N.weight/bias`), else use a fixed-seed
random frozen VGG, whose perceptual numbers are not comparable to the papers'.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch
from torch import nn

# VGG-16 configuration "D" up to relu4_3: 10 convs, 10 ReLUs, 3 max-pools = torchvision features[:23].
VGG16_TO_RELU4_3: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
# VGG-19 configuration "E" up to relu5_4: 16 convs, 4 max-pools = torchvision vgg19 features[:36].
VGG19_TO_RELU5_4: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                                           512, 512, 512, 512, "M", 512, 512, 512, 512)


def make_features(cfg: tuple[int | str, ...]) -> nn.Sequential:
    """Build a VGG feature stack (3x3 convs + ReLU, 'M' = 2x2 max-pool) without touching the global RNG."""
    layers: list[nn.Module] = []
    cin = 3
    for item in cfg:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            # meta device: parameters are allocated later, so no default init draws from the global RNG.
            layers += [nn.Conv2d(cin, int(item), 3, padding=1, device="meta"), nn.ReLU(inplace=True)]
            cin = int(item)
    return nn.Sequential(*layers).to_empty(device="cpu")


def random_init(features: nn.Sequential, seed: int) -> None:
    """torchvision's VGG init (Kaiming normal, fan_out, ReLU; zero bias) drawn from a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in features:
            if isinstance(module, nn.Conv2d):
                fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
                module.weight.normal_(0.0, math.sqrt(2.0 / fan_out), generator=gen)
                module.bias.zero_()


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load a state dict from a torch file (tensors only); a checkpoint {'state_dict': ...} is unwrapped."""
    if not path.is_file():
        raise FileNotFoundError(f"VGG weights file not found: {path}")
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ValueError(f"VGG weights file {path} must hold a state dict, got {type(obj).__name__}")
    return obj


def load_torchvision_features(features: nn.Sequential, path: Path) -> None:
    """Copy `features.N.weight/bias` from a torchvision VGG state dict into `features` (extra keys ignored)."""
    state = read_state_dict(path)
    own = features.state_dict()
    wanted = {f"features.{key}": key for key in own}
    missing = sorted(k for k in wanted if k not in state)
    if missing:
        raise ValueError(f"VGG weights file {path} lacks the expected torchvision keys: {', '.join(missing)}")
    for src, dst in wanted.items():
        if tuple(state[src].shape) != tuple(own[dst].shape):
            raise ValueError(f"VGG weights file {path}: key {src} has shape {tuple(state[src].shape)}, "
                             f"expected {tuple(own[dst].shape)}")
    features.load_state_dict({dst: state[src].float() for src, dst in wanted.items()})


def freeze(module: nn.Module) -> nn.Module:
    """Disable gradients for all parameters and switch to eval mode."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def vgg_features(cfg: tuple[int | str, ...], name: str, weights_path: str | None = None,
                 seed: int = 0) -> tuple[nn.Sequential, bool]:
    """Frozen VGG feature stack for cfg; returns (module, is_random). Random init when no weights path is given."""
    features = make_features(cfg)
    is_random = weights_path is None
    if is_random:
        warnings.warn(
            f"no {name} weights path given: using a fixed-seed random VGG; perceptual-loss results are "
            "'perceptual (random VGG)' and not comparable to the paper", UserWarning, stacklevel=3)
        random_init(features, seed)
    else:
        load_torchvision_features(features, Path(weights_path))
    return freeze(features), is_random


def vgg16_features(weights_path: str | None = None, seed: int = 0) -> tuple[nn.Sequential, bool]:
    """Frozen VGG-16 features[:23] (through relu4_3); see vgg_features."""
    return vgg_features(VGG16_TO_RELU4_3, "VGG-16", weights_path, seed)


def vgg19_features(weights_path: str | None = None, seed: int = 0) -> tuple[nn.Sequential, bool]:
    """Frozen VGG-19 features[:36] (through relu5_4, the 16th conv; torchvision vgg19 keys); see vgg_features."""
    return vgg_features(VGG19_TO_RELU5_4, "VGG-19", weights_path, seed)
