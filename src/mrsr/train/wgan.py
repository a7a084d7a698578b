"""WGAN-GP trainer (Gulrajani 2017; GAN-CPCE of Lyu et al. 2019): n_critic critic steps per generator step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from mrsr.losses import VGG19Perceptual, wgan_critic_loss
from mrsr.train.gan import build_discriminator, set_requires_grad
from mrsr.train.supervised import adam, as_floats, build_generator, optimise

# Gulrajani defaults when a method gives none (docs/contributing.md, "WGAN-GP defaults").
WGAN_DEFAULTS = {"n_critic": 5, "gp_weight": 10.0, "lambda_p": 0.0}
WGAN_BETAS = (0.0, 0.9)


def positive_int(method: Mapping[str, Any], key: str, default: int) -> int:
    """method[key] (else default) as an int >= 1; ValueError naming the key otherwise."""
    value = method.get(key, default)
    if int(value) != value or int(value) < 1:
        raise ValueError(f"method key {key!r} must be an integer >= 1, got {value!r}")
    return int(value)


class WGANGPTrainer:
    """L_D = E[D(G(x))] - E[D(y)] + gp_weight GP; L_G = -E[D(G(x))] + lambda_p VGG-19 relu5_4 MSE.

    method keys: generator, discriminator (critic), lr_g, lr_d[, betas, n_critic, gp_weight, lambda_p].
    assumption: the n_critic critic steps before each generator step reuse that step's mini-batch (a fresh
    interpolation draw each time); the CPCE reference draws a new batch per critic step.
    """

    def __init__(self, method: Mapping[str, Any], device: torch.device, *, patch_size: int,
                 vgg_weights: str | None = None) -> None:
        self.n_critic = positive_int(method, "n_critic", WGAN_DEFAULTS["n_critic"])
        self.gp_weight = float(method.get("gp_weight", WGAN_DEFAULTS["gp_weight"]))
        self.lambda_p = float(method.get("lambda_p", WGAN_DEFAULTS["lambda_p"]))
        self.generator = build_generator(method).to(device)
        self.critic = build_discriminator(method, patch_size).to(device)
        # assumption: the random-VGG fallback uses the fixed seed 0 for every run (as the VGG-16 loss).
        self.perceptual = VGG19Perceptual(vgg_weights, seed=0).to(device) if self.lambda_p > 0 else None
        self.opt_g = adam(self.generator.parameters(), method, "lr_g", WGAN_BETAS)
        self.opt_d = adam(self.critic.parameters(), method, "lr_d", WGAN_BETAS)

    def critic_step(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """One Adam step of the critic on real vs (detached) fake."""
        loss, terms = wgan_critic_loss(self.critic, real, fake.detach(), self.gp_weight)
        optimise(self.opt_d, loss)
        return {"d": loss.detach(), **terms}

    def generator_terms(self, fake: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        """{'total', 'adversarial', 'perceptual'?}; the total keeps its graph."""
        terms = {"adversarial": -self.critic(fake).mean()}
        if self.perceptual is not None:
            terms["perceptual"] = self.perceptual(fake, hr)
        terms["total"] = terms["adversarial"] + self.lambda_p * terms.get("perceptual", 0.0)
        return terms

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """n_critic critic steps, then one generator step; returns the G terms, 'd', 'wasserstein', 'gp'."""
        set_requires_grad(self.critic, True)
        with torch.no_grad():
            fake = self.generator(lr)
        for _ in range(self.n_critic):
            critic = self.critic_step(hr, fake)
        set_requires_grad(self.critic, False)
        terms = self.generator_terms(self.generator(lr), hr)
        optimise(self.opt_g, terms["total"])
        return as_floats({**terms, **critic})

    def val_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """Generator MSE and perceptual term on a validation batch (no critic)."""
        fake = self.generator(lr)
        terms = {"total": F.mse_loss(fake, hr), "mse": F.mse_loss(fake, hr)}
        if self.perceptual is not None:
            terms["perceptual"] = self.perceptual(fake, hr)
        return as_floats(terms)

    def state_dict(self) -> dict[str, Any]:
        """Both models' and both optimisers' states."""
        return {"generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore both models and both optimisers."""
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
