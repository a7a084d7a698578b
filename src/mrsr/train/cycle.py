"""Cycle trainer (GAN-CIRCLE of Lyu et al. 2019): G (LR -> HR), F (HR -> LR), WGAN-GP critics D_Y and D_X.

L = L_WGAN(D_Y, G) + L_WGAN(D_X, F) + l1 L_CYC + l2 L_IDT + l3 L_JST (+ l_sup ||G(x) - y||_1).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from mrsr.losses import joint_sparsifying, wgan_critic_loss
from mrsr.train.gan import build_discriminator, set_requires_grad
from mrsr.train.supervised import adam, as_floats, build_generator, optimise

# assumption: the paper (Lyu et al. 2019) gives none of these weights (docs/experiments/ixi_sr.md, "Networks"); the config repeats them visibly.
CYCLE_DEFAULTS = {"cycle_weight": 1.0, "identity_weight": 0.5, "jst_weight": 1e-3, "tau": 0.9,
                  "gp_weight": 10.0, "supervised_weight": 0.0, "pool_size": 50}
CYCLE_BETAS = (0.5, 0.999)  # paper: Adam beta1 0.5 [R]


class FakePool:
    """CycleGAN image pool: once full, each new fake is returned as is or swapped (p = 0.5) for a stored one."""

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self.images: list[torch.Tensor] = []

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        """A batch of the same size mixing new and stored fakes (torch RNG, so it is seeded)."""
        if self.size <= 0:
            return fakes
        out = []
        for image in fakes.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(len(self.images), ()))
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state(self) -> torch.Tensor:
        """Stored images as one tensor (N, C, H, W) on the CPU (empty when nothing is stored)."""
        return torch.stack(self.images).cpu() if self.images else torch.zeros(0)

    def load(self, images: torch.Tensor, device: torch.device) -> None:
        """Restore from state()."""
        self.images = [img.to(device) for img in images] if images.numel() else []


class CycleTrainer:
    """GAN-CIRCLE: one Adam step for G and F together, then one for D_Y and D_X on pooled fakes (1:1).

    method keys: generator (+ generator_kwargs, used for both G and F), discriminator (+ kwargs, both critics),
    lr_g, lr_d[, betas] and the weights of CYCLE_DEFAULTS. The saved `generator` is G.
    """

    def __init__(self, method: Mapping[str, Any], device: torch.device, *, patch_size: int,
                 vgg_weights: str | None = None) -> None:
        del vgg_weights
        unknown = {k: method[k] for k in CYCLE_DEFAULTS if k in method and float(method[k]) < 0}
        if unknown:
            raise ValueError(f"cycle trainer: method weights must be >= 0, got {unknown}")
        self.w = {k: float(method.get(k, v)) for k, v in CYCLE_DEFAULTS.items()}
        self.generator = build_generator(method).to(device)  # G: LR -> HR
        self.backward_generator = build_generator(method).to(device)  # F: HR -> LR
        self.critic_y = build_discriminator(method, patch_size).to(device)
        self.critic_x = build_discriminator(method, patch_size).to(device)
        self.pool_y, self.pool_x = FakePool(int(self.w["pool_size"])), FakePool(int(self.w["pool_size"]))
        self.device = device
        gens = itertools.chain(self.generator.parameters(), self.backward_generator.parameters())
        critics = itertools.chain(self.critic_y.parameters(), self.critic_x.parameters())
        self.opt_g = adam(gens, method, "lr_g", CYCLE_BETAS)
        self.opt_d = adam(critics, method, "lr_d", CYCLE_BETAS)

    def generator_terms(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor,
                                                                         torch.Tensor]:
        """Loss terms of G and F (total keeps its graph), plus the fakes G(x) and F(y)."""
        g, f = self.generator, self.backward_generator
        fake_y, fake_x = g(x), f(y)
        w = self.w
        terms = {
            "adversarial": -self.critic_y(fake_y).mean() - self.critic_x(fake_x).mean(),
            "cycle": F.l1_loss(f(fake_y), x) + F.l1_loss(g(fake_x), y),
            "identity": F.l1_loss(g(y), y) + F.l1_loss(f(x), x),
            "jst": joint_sparsifying(fake_y, y, w["tau"]),
        }
        if w["supervised_weight"] > 0:
            terms["supervised"] = F.l1_loss(fake_y, y)
        terms["total"] = (terms["adversarial"] + w["cycle_weight"] * terms["cycle"]
                          + w["identity_weight"] * terms["identity"] + w["jst_weight"] * terms["jst"]
                          + w["supervised_weight"] * terms.get("supervised", 0.0))
        return terms, fake_y, fake_x

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """G/F step, then critic step on pooled fakes; returns G terms and 'd', 'wasserstein_y', 'gp_y', ..."""
        set_requires_grad(self.critic_y, False)
        set_requires_grad(self.critic_x, False)
        terms, fake_y, fake_x = self.generator_terms(lr, hr)
        optimise(self.opt_g, terms["total"])
        set_requires_grad(self.critic_y, True)
        set_requires_grad(self.critic_x, True)
        loss_y, dy = wgan_critic_loss(self.critic_y, hr, self.pool_y.query(fake_y), self.w["gp_weight"])
        loss_x, dx = wgan_critic_loss(self.critic_x, lr, self.pool_x.query(fake_x), self.w["gp_weight"])
        optimise(self.opt_d, loss_y + loss_x)
        critic = {"d": (loss_y + loss_x).detach(), **{f"{k}_y": v for k, v in dy.items()},
                  **{f"{k}_x": v for k, v in dx.items()}}
        return as_floats({**terms, **critic})

    def val_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """MSE and L1 of G(x) against y on a validation batch."""
        fake = self.generator(lr)
        return as_floats({"total": F.mse_loss(fake, hr), "mse": F.mse_loss(fake, hr), "l1": F.l1_loss(fake, hr)})

    def state_dict(self) -> dict[str, Any]:
        """All four models, both optimisers and both fake pools."""
        return {"generator": self.generator.state_dict(), "backward_generator": self.backward_generator.state_dict(),
                "critic_y": self.critic_y.state_dict(), "critic_x": self.critic_x.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "pool_y": self.pool_y.state(), "pool_x": self.pool_x.state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore everything state_dict() saved."""
        self.generator.load_state_dict(state["generator"])
        self.backward_generator.load_state_dict(state["backward_generator"])
        self.critic_y.load_state_dict(state["critic_y"])
        self.critic_x.load_state_dict(state["critic_x"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.pool_y.load(state["pool_y"], self.device)
        self.pool_x.load(state["pool_x"], self.device)
