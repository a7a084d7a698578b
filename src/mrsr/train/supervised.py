"""Supervised CNN trainer (paper 004 FCN / DCSRN rows) plus helpers shared with the GAN trainer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from mrsr.device import no_autocast
from mrsr.losses import GeneratorLoss, PerceptualLoss
from mrsr.nets import build, init_normal

INIT_CHOICES = (None, "default", "normal")


def build_generator(method: Mapping[str, Any]) -> nn.Module:
    """Generator named by method['generator'] with method['generator_kwargs']."""
    if "generator" not in method:
        raise ValueError("method is missing the key 'generator' (a network name such as 'dcsrn')")
    return build(method["generator"], **dict(method.get("generator_kwargs") or {}))


def apply_init(method: Mapping[str, Any], *modules: nn.Module) -> None:
    """Apply method['init'] ('normal': pix2pix N(0, 0.02); absent/'default': PyTorch's own init)."""
    init = method.get("init")
    if init not in INIT_CHOICES:
        raise ValueError(f"method key 'init' must be one of 'default', 'normal' (or absent), got {init!r}")
    if init == "normal":
        for module in modules:
            init_normal(module, std=0.02)  # paper: N(0, 0.02) init [R: pix2pix]


def adam(params: Any, method: Mapping[str, Any], lr_key: str,
         default_betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with learning rate method[lr_key] and betas method['betas'] (else default_betas)."""
    if lr_key not in method:
        raise ValueError(f"method is missing the key {lr_key!r} (the Adam learning rate)")
    betas = method.get("betas") or default_betas
    if len(betas) != 2:
        raise ValueError(f"method key 'betas' must be a pair [beta1, beta2], got {betas!r}")
    return torch.optim.Adam(params, lr=float(method[lr_key]), betas=(float(betas[0]), float(betas[1])))


def generator_loss(weights: Mapping[str, float], vgg_weights: str | None, device: torch.device) -> nn.Module:
    """GeneratorLoss with a PerceptualLoss (user VGG weights or fixed-seed random VGG) when needed."""
    # assumption: the random-VGG fallback uses the fixed seed 0 for every run, so all training seeds
    # optimise the same perceptual function.
    perceptual = PerceptualLoss(vgg_weights, seed=0) if "perceptual" in weights else None
    return GeneratorLoss(dict(weights), perceptual=perceptual).to(device)


def optimise(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """Zero the gradients, backpropagate `loss` and step, outside any autocast (backward ops reuse the forward
    dtypes; the fp32 parameters and Adam state are updated in fp32)."""
    with no_autocast():
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def as_floats(values: Mapping[str, Any]) -> dict[str, float]:
    """Convert loss values (tensors or floats) to floats with a single device sync."""
    tensors = {k: v.detach().reshape(()).float() for k, v in values.items() if isinstance(v, torch.Tensor)}
    converted = dict(zip(tensors, torch.stack(list(tensors.values())).tolist())) if tensors else {}
    return {k: converted[k] if k in converted else float(v) for k, v in values.items()}


def loss_weights(method: Mapping[str, Any]) -> dict[str, float]:
    """method['losses'] as a {term: weight} dict."""
    losses = method.get("losses")
    if not isinstance(losses, Mapping) or not losses:
        raise ValueError("method key 'losses' must be a non-empty mapping {term: weight}, e.g. {'l1': 1.0}")
    return {str(k): float(v) for k, v in losses.items()}


class SupervisedTrainer:
    """Generator trained by a weighted sum of reconstruction losses (L1 / L2 / GDL / perceptual)."""

    def __init__(self, method: Mapping[str, Any], device: torch.device, *, patch_size: int,
                 vgg_weights: str | None = None) -> None:
        del patch_size  # fully convolutional generators do not need it
        self.generator = build_generator(method).to(device)
        apply_init(method, self.generator)
        self.loss = generator_loss(loss_weights(method), vgg_weights, device)
        # assumption: Adam's PyTorch default betas when the method gives none (paper: "Adam").
        self.optimizer = adam(self.generator.parameters(), method, "lr_g", (0.9, 0.999))

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """One Adam step on a mini-batch; returns the total and unweighted loss terms."""
        fake = self.generator(lr)
        total, terms = self.loss(fake, hr)
        optimise(self.optimizer, total)
        return as_floats({"total": total, **terms})

    def val_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """Loss terms on a validation batch (the caller sets eval mode and no_grad)."""
        total, terms = self.loss(self.generator(lr), hr)
        return as_floats({"total": total, **terms})

    def state_dict(self) -> dict[str, Any]:
        """Model and optimiser states."""
        return {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore model and optimiser states."""
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
