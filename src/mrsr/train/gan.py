"""GAN trainer (paper 004 DCGAN / U-net / pix2pix rows): BCE discriminator + weighted generator loss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from mrsr.losses import GeneratorLoss, bce_d
from mrsr.nets import build
from mrsr.train.supervised import (adam, apply_init, as_floats, build_generator, generator_loss, loss_weights,
                                   optimise)

# assumption: pix2pix betas (beta1 = 0.5) when the method gives none; the paper only says "Adam" [R].
GAN_BETAS = (0.5, 0.999)


def build_discriminator(method: Mapping[str, Any], patch_size: int) -> nn.Module:
    """Discriminator named by method['discriminator']; in_channels 2 when conditional (LR || X)."""
    if "discriminator" not in method:
        raise ValueError("method with trainer 'gan' is missing the key 'discriminator' (e.g. 'disc_d')")
    kwargs = {"in_channels": 2 if method.get("conditional", False) else 1, "patch_size": patch_size}
    kwargs.update(method.get("discriminator_kwargs") or {})
    return build(method["discriminator"], **kwargs)


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    """Freeze or unfreeze all parameters of a module."""
    for p in module.parameters():
        p.requires_grad_(flag)


class GANTrainer:
    """Alternating D / G Adam steps; D loss 0.5[BCE(D(real),1) + BCE(D(fake),0)], G loss from method['losses']."""

    def __init__(self, method: Mapping[str, Any], device: torch.device, *, patch_size: int,
                 vgg_weights: str | None = None) -> None:
        self.conditional = bool(method.get("conditional", False))
        self.generator = build_generator(method).to(device)
        self.discriminator = build_discriminator(method, patch_size).to(device)
        apply_init(method, self.generator, self.discriminator)
        weights = loss_weights(method)
        self.loss = generator_loss(weights, vgg_weights, device)
        # assumption: a method with only the adversarial term is validated by unweighted L1.
        recon = {k: v for k, v in weights.items() if k != "bce"} or {"l1": 1.0}
        # validation shares the (large, frozen) VGG with the training loss
        self.val_loss = GeneratorLoss(recon, perceptual=self.loss.perceptual).to(device)
        self.opt_g = adam(self.generator.parameters(), method, "lr_g", GAN_BETAS)
        self.opt_d = adam(self.discriminator.parameters(), method, "lr_d", GAN_BETAS)

    def d_input(self, lr: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """What D sees: X alone (DCGAN, paper eq. 1) or LR || X (pix2pix conditional) [R]."""
        return torch.cat([lr, x], dim=1) if self.conditional else x

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """One D step on real vs detached fake, then one G step; returns G terms, G total and 'd'."""
        fake = self.generator(lr)
        set_requires_grad(self.discriminator, True)
        loss_d = bce_d(self.discriminator(self.d_input(lr, hr)),
                       self.discriminator(self.d_input(lr, fake.detach())))
        optimise(self.opt_d, loss_d)
        set_requires_grad(self.discriminator, False)  # G step: no D weight gradients needed
        total, terms = self.loss(fake, hr, fake_logits=self.discriminator(self.d_input(lr, fake)))
        optimise(self.opt_g, total)
        return as_floats({"total": total, **terms, "d": loss_d})

    def val_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """Generator reconstruction terms (no adversarial term, no D) on a validation batch."""
        total, terms = self.val_loss(self.generator(lr), hr)
        return as_floats({"total": total, **terms})

    def state_dict(self) -> dict[str, Any]:
        """Both models' and both optimisers' states."""
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore both models and both optimisers."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
