"""The dsgan experiment's three trained networks as mrsr.train method mappings, from the config's kernelgan, dsn and
edsr sections, and their training crop sizes (shared by the workflow scripts and benchmarks/flops.py, which finds
`flop_cases` here)."""

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


def flop_cases(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The training steps benchmarks/flops.py measures (keyword arguments of its Case): the DSGAN (one per slice,
    batch 1, 64 -> 26 crops), the DSN proxy (64 -> 32 crops) and EDSR x2 (one per training-set construction)."""
    kg, dsn, edsr = section["kernelgan"], section["dsn"], section["edsr"]
    patch = int(edsr["patch_size"])
    return [{"method_key": "kernelgan", "method": kernelgan_method(kg), "batch": KERNELGAN_BATCH,
             "patch": KERNELGAN_CROPS[0], "target": KERNELGAN_CROPS[1]},
            {"method_key": "dsn", "method": dsn_method(dsn), "batch": int(dsn["batch_size"]), "patch": DSN_CROPS[0],
             "target": DSN_CROPS[1]},
            {"method_key": "edsr", "method": edsr_method(edsr), "batch": int(edsr["batch_size"]), "patch": patch,
             "target": 2 * patch}]
