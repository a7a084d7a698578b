"""Network registry (7T -> 9.4T, DeepASL, DSGAN and ASL-SR papers): build by name, count parameters, init."""

from __future__ import annotations

import inspect
from typing import Callable

from torch import nn

from mrsr.nets.asl import DeepASL, DilatedConv
from mrsr.nets.cnn import DCGAN1G, DCGAN2G, DCGAN3G, DCSRN, FCN1, FCN2
from mrsr.nets.dsgan import EDSR, DSGANDiscriminator, DSGANGenerator, DSNProxy
from mrsr.nets.discriminators import DiscB, DiscD, DiscF, PatchGAN
from mrsr.nets.lyu import CircleCritic, CircleGenerator, CPCECritic, CPCEGenerator
from mrsr.nets.pyramid3d import MarkovCritic3D, UNet3D
from mrsr.nets.unet import UnetG

GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "fcn1": FCN1,
    "fcn2": FCN2,
    "dcsrn": DCSRN,
    "dcgan1_g": DCGAN1G,  # paper: Figure 13 (a)
    "dcgan2_g": DCGAN2G,  # paper: Figure 13 (c)
    "dcgan3_g": DCGAN3G,  # paper: Figure 13 (e)
    "unet_g": UnetG,  # paper: Figure 13 (g)
    "deepasl": DeepASL,  # Ulas et al. 2018, Fig. 1
    "dilated_conv": DilatedConv,  # Kim et al. 2018 (Ulas et al.'s baseline)
    "cpce": CPCEGenerator,  # Lyu et al. 2019, GAN-CPCE
    "circle_g": CircleGenerator,  # Lyu et al. 2019, GAN-CIRCLE G and F
    "dsgan_g": DSGANGenerator,  # Huang et al. 2021 (KernelGAN-style linear generator)
    "edsr": EDSR,  # Lim et al. 2017, x2
    "dsn_proxy": DSNProxy,  # proxy of Chun et al. 2019 (docs/experiments/dsgan.md, "Training-set constructions")
    "unet3d": UNet3D,  # Cui et al. 2020: per-scale generator of the pyramid
}
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {
    "disc_b": DiscB,
    "disc_d": DiscD,
    "disc_f": DiscF,
    "patchgan": PatchGAN,  # paper: Figure 13 (h)
    "cpce_critic": CPCECritic,  # Lyu et al. 2019, docs/experiments/ixi_sr.md, "Networks"
    "circle_critic": CircleCritic,  # Lyu et al. 2019, Fig. 3
    "dsgan_d": DSGANDiscriminator,  # Huang et al. 2021
    "markov3d": MarkovCritic3D,  # Cui et al. 2020: SinGAN's WDiscriminator in 3-D
}
REGISTRY: dict[str, Callable[..., nn.Module]] = {**GENERATORS, **DISCRIMINATORS}
NAMES: tuple[str, ...] = tuple(REGISTRY)


def build(name: str, **kwargs: object) -> nn.Module:
    """Instantiate the network registered under `name` with keyword options (not initialised: see init_normal)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown network {name!r}; expected one of: {', '.join(NAMES)}")
    factory = REGISTRY[name]
    accepted = tuple(inspect.signature(factory).parameters)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(f"network {name!r} got unknown option(s) {', '.join(unknown)}; "
                         f"accepted: {', '.join(accepted)}")
    return factory(**kwargs)


def count_params(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def init_normal(module: nn.Module, std: float = 0.02) -> nn.Module:
    """pix2pix/SinGAN 'normal' init: conv/convT (2-D and 3-D)/linear weights N(0, std), BN weights N(1, std), biases 0."""
    # assumption: Linear layers are included, as in pix2pix's init_weights (classname contains 'Linear').
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Conv3d, nn.ConvTranspose3d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module
