"""What shared code needs of the asl_sr experiment's trained network: the training step benchmarks/flops.py
measures (found here as `flop_cases`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mrsr.experiments.asl_sr.data import grids
from mrsr.train.multiscale import pyramid_shapes, scale_method


def flop_cases(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The proposed pyramid at its most expensive scale: the finest scale of Experiment 2, trained on the whole NR
    volume (batch 1, ASL + T1 channels), with that scale's critic width; one step = one SinGAN epoch (d_steps critic
    and g_steps generator steps). Keyword arguments of benchmarks/flops.py's Case."""
    model = section["model"]
    nr = grids(section)["nr"][1]
    spec = model["pyramid"]
    n = len(pyramid_shapes(nr, float(spec["factor"]), int(spec["min_size"]), spec.get("max_scales"))) - 1
    method = scale_method(model, n, int(section["max_updates"]), None)
    return [{"method_key": "proposed", "method": method, "batch": 1, "patch": max(nr), "grid": tuple(nr),
             "channels": int(method["generator_kwargs"]["in_channels"])}]
