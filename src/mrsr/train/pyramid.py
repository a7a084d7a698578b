"""One scale of Cui et al.'s (2020) SinGAN-style pyramid (docs/experiments/asl_sr.md, "Networks and loss"): WGAN-GP critic steps, then
generator steps on adversarial + lambda1 MSE + lambda2 MSE after a sigma-5-voxel Gaussian low-pass.

The loop (mrsr.train.loop.fit) sees one sample per scale: lr = the generator input [upsampled previous
output (or noise z_0 at the coarsest scale), T1 at this scale] (1, C, D, H, W), hr = the ASL volume x_n.
mrsr.train.multiscale drives the scales coarse to fine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mrsr.losses import lowpass_mse, wgan_critic_loss
from mrsr.nets import build
from mrsr.train.gan import set_requires_grad
from mrsr.train.supervised import adam, apply_init, as_floats, build_generator

SINGAN_BETAS = (0.5, 0.999)  # [R: SinGAN config.py]


def build_critic(method: Mapping[str, Any]) -> nn.Module:
    """Critic named by method['discriminator'] with method['discriminator_kwargs']."""
    if "discriminator" not in method:
        raise ValueError("method with trainer 'pyramid' is missing the key 'discriminator' (e.g. 'markov3d')")
    return build(method["discriminator"], **dict(method.get("discriminator_kwargs") or {}))


def inherit(target: nn.Module, state: Mapping[str, torch.Tensor]) -> bool:
    """Load state into target if every tensor's shape matches (SinGAN copies D only when widths agree)."""
    own = target.state_dict()
    if set(own) != set(state) or any(own[k].shape != state[k].shape for k in own):
        return False
    target.load_state_dict(state)
    return True


class PyramidScaleTrainer:
    """Trainer of one pyramid scale. method keys: generator, discriminator (+ _kwargs), lr_g, lr_d[, betas],
    lambda_gp, lambda_mse, lambda_lowpass, lowpass_sigma, d_steps, g_steps, milestone (epoch of the x gamma
    learning-rate step), gamma, residual (add the ASL input channel to the output: False at the coarsest
    scale, whose input channel is noise), init_from (a checkpoint of the previous scale to start from)."""

    def __init__(self, method: Mapping[str, Any], device: torch.device, *, patch_size: int,
                 vgg_weights: str | None = None) -> None:
        del patch_size, vgg_weights
        self.m = {k: method[k] for k in ("lambda_gp", "lambda_mse", "lambda_lowpass", "lowpass_sigma")}
        self.d_steps, self.g_steps = int(method.get("d_steps", 3)), int(method.get("g_steps", 3))
        self.residual = bool(method.get("residual", True))
        self.generator = build_generator(method).to(device)
        self.discriminator = build_critic(method).to(device)
        apply_init(method, self.generator, self.discriminator)
        self.inherited = {"generator": False, "discriminator": False}
        if method.get("init_from"):  # paper: G_n starts from G_{n-1}'s weights; SinGAN also copies D
            state = torch.load(method["init_from"], map_location="cpu", weights_only=True)["trainer"]
            for name in self.inherited:
                self.inherited[name] = inherit(getattr(self, name), state[name])
        self.opt_g = adam(self.generator.parameters(), method, "lr_g", SINGAN_BETAS)
        self.opt_d = adam(self.discriminator.parameters(), method, "lr_d", SINGAN_BETAS)
        milestones = [int(method["milestone"])] if method.get("milestone") else []
        gamma = float(method.get("gamma", 0.1))
        self.sched_g = torch.optim.lr_scheduler.MultiStepLR(self.opt_g, milestones, gamma)
        self.sched_d = torch.optim.lr_scheduler.MultiStepLR(self.opt_d, milestones, gamma)

    def output(self, inputs: torch.Tensor) -> torch.Tensor:
        """G_n(inputs), plus the ASL input channel where residual (SinGAN's CleanAdd)."""
        out = self.generator(inputs)
        return out + inputs[:, :1] if self.residual else out

    def gen_terms(self, inputs: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """Generator loss terms: adversarial -E[D(G)], MSE, low-pass MSE and their weighted total."""
        fake = self.output(inputs)
        terms = {"adv": -self.discriminator(fake).mean(), "mse": F.mse_loss(fake, real),
                 "lowpass": lowpass_mse(fake, real, float(self.m["lowpass_sigma"]))}
        terms["total"] = (terms["adv"] + float(self.m["lambda_mse"]) * terms["mse"]
                          + float(self.m["lambda_lowpass"]) * terms["lowpass"])
        return terms

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """One SinGAN epoch: d_steps critic steps on the detached fake, g_steps generator steps, LR schedule."""
        set_requires_grad(self.discriminator, True)
        for _ in range(self.d_steps):
            with torch.no_grad():
                fake = self.output(lr)
            loss_d, _ = wgan_critic_loss(self.discriminator, hr, fake, float(self.m["lambda_gp"]))
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        set_requires_grad(self.discriminator, False)
        for _ in range(self.g_steps):
            terms = self.gen_terms(lr, hr)
            self.opt_g.zero_grad(set_to_none=True)
            terms["total"].backward()
            self.opt_g.step()
        set_requires_grad(self.discriminator, True)
        self.sched_g.step()
        self.sched_d.step()
        return as_floats({**terms, "d": loss_d})

    def val_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """Reconstruction terms on a validation sample (no critic)."""
        fake = self.output(lr)
        return as_floats({"mse": F.mse_loss(fake, hr),
                          "lowpass": lowpass_mse(fake, hr, float(self.m["lowpass_sigma"]))})

    def state_dict(self) -> dict[str, Any]:
        """Both models, both optimisers and both schedules."""
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore everything state_dict saved."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        for key in ("opt_g", "opt_d", "sched_g", "sched_d"):
            getattr(self, key).load_state_dict(state[key])
