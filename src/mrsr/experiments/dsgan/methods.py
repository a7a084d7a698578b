"""The dsgan experiment's three trained networks as mrsr.train method mappings, from the config's kernelgan, dsn and
edsr sections, and their training crop sizes (shared by the workflow scripts and benchmarks/flops.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KERNELGAN_CROPS = (64, 26)  # HR crop (G's input), real-LR crop (D's reals: G's 'valid' output size of a 64 crop)
KERNELGAN_BATCH = 1  # one crop pair per iteration [R]
DSN_CROPS = (64, 32)  # HR crop (input), real-LR crop (target)
KERNELGAN_KEYS = ("bic_threshold", "bic_patience", "lambda_update_every", "lr_decay_every")


def kernelgan_method(kg: Mapping[str, Any]) -> dict[str, Any]:
    """The DSGAN trainer's method (deep linear G + patch D, one learning rate for both) from config 'kernelgan'."""
    return {"trainer": "dsgan", "generator": "dsgan_g", "discriminator": "dsgan_d", "lr_g": float(kg["lr"]),
            "lr_d": float(kg["lr"]), **{k: kg[k] for k in KERNELGAN_KEYS if k in kg}}


def dsn_method(dcfg: Mapping[str, Any]) -> dict[str, Any]:
    """The DSN proxy's supervised L1 method from config 'dsn'."""
    return {"trainer": "supervised", "generator": "dsn_proxy", "losses": {"l1": 1.0}, "lr_g": float(dcfg["lr"])}


def edsr_method(ecfg: Mapping[str, Any]) -> dict[str, Any]:
    """EDSR x2's supervised L1 method (n_blocks, channels) from config 'edsr'."""
    return {"trainer": "supervised", "generator": "edsr", "losses": {"l1": 1.0}, "lr_g": float(ecfg["lr"]),
            "generator_kwargs": {"n_blocks": int(ecfg["n_blocks"]), "channels": int(ecfg["channels"])}}
