"""DeepASL trainer (Ulas et al. 2018, eq. 2): residual learning with the kinetic-model (CBF) loss term."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from mrsr.train.supervised import adam, apply_init, as_floats, build_generator, optimise

AUX_CHANNELS = ("ref_cbf", "cbf_scale", "mask")  # order of TrainData.aux channels


def kinetic_loss(residual: torch.Tensor, target: torch.Tensor, noisy: torch.Tensor, aux: torch.Tensor,
                 lam: float, cbf_unit: float) -> dict[str, torch.Tensor]:
    """{'total', 'image', 'cbf'} of L = lam * mean(m (N - N~)^2) + (1 - lam) * mean(m ((f_t - f(dM_n - N~)) / u)^2).

    Means run over every voxel of the batch (as Keras' mean in the reference code); m is the brain mask,
    f(dM) = cbf_scale * dM is the Buxton model (eq. 1) with SI_PD folded into cbf_scale, and u = cbf_unit
    rescales CBF so the two terms are commensurate (assumption: the paper leaves the scaling unstated).
    """
    if aux.shape[1] != len(AUX_CHANNELS):
        raise ValueError(f"kinetic loss expects aux channels {AUX_CHANNELS}, got {aux.shape[1]} channels")
    ref_cbf, scale, mask = aux[:, 0:1], aux[:, 1:2], aux[:, 2:3]
    image = torch.mean(mask * (target - residual) ** 2)
    cbf = torch.mean(mask * ((ref_cbf - scale * (noisy - residual)) / cbf_unit) ** 2)
    return {"total": lam * image + (1.0 - lam) * cbf, "image": image, "cbf": cbf}


class KineticTrainer:
    """Network predicting the residual N~ of its input dM_n, trained by the kinetic loss with weight 'lambda'.

    method keys: generator, lambda (1.0 = masked MSE only, the Dilated Conv baseline), lr_g[, betas],
    cbf_unit (default 100: CBF in units of 100 ml/100g/min).
    TrainData: lr = dM_n, hr = N = dM_n - dM_c, aux = AUX_CHANNELS.
    """

    def __init__(self, method: Mapping[str, Any], device: torch.device, *, patch_size: int,
                 vgg_weights: str | None = None) -> None:
        del patch_size, vgg_weights
        if "lambda" not in method or not 0.0 <= float(method["lambda"]) <= 1.0:
            raise ValueError(f"method key 'lambda' must be a number in [0, 1], got {method.get('lambda')!r}")
        self.lam = float(method["lambda"])
        self.cbf_unit = float(method.get("cbf_unit", 100.0))
        self.generator = build_generator(method).to(device)
        apply_init(method, self.generator)
        # paper: Adam (betas not stated; PyTorch/Keras defaults)
        self.optimizer = adam(self.generator.parameters(), method, "lr_g", (0.9, 0.999))

    def _terms(self, lr: torch.Tensor, hr: torch.Tensor, aux: torch.Tensor | None) -> dict[str, torch.Tensor]:
        if aux is None:
            raise ValueError("the kinetic trainer needs TrainData.aux (reference CBF, CBF scale, mask)")
        return kinetic_loss(self.generator(lr), hr, lr, aux, self.lam, self.cbf_unit)

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor, aux: torch.Tensor | None = None) -> dict[str, float]:
        """One Adam step; returns total, image and cbf terms."""
        terms = self._terms(lr, hr, aux)
        optimise(self.optimizer, terms["total"])
        return as_floats(terms)

    def val_step(self, lr: torch.Tensor, hr: torch.Tensor, aux: torch.Tensor | None = None) -> dict[str, float]:
        """Loss terms on a validation batch."""
        return as_floats(self._terms(lr, hr, aux))

    def state_dict(self) -> dict[str, Any]:
        """Model and optimiser states."""
        return {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore model and optimiser states."""
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
