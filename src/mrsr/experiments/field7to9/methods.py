"""What the workflow and shared code need of the field7to9 experiment's methods: a method's budget family and its
batch and patch size (benchmarks/flops.py finds `batch_and_patch` here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def family(section: Mapping[str, Any], method: Mapping[str, Any]) -> Mapping[str, Any]:
    """The budget block of a method's trainer: `cnn` for the supervised CNNs, `gan` for the rest."""
    return section["cnn" if method["trainer"] == "supervised" else "gan"]


def batch_and_patch(section: Mapping[str, Any], method: Mapping[str, Any]) -> tuple[int, int]:
    """(batch, patch): the method's batch size, else its family's; the section's patch size."""
    batch = method["batch_size"] if "batch_size" in method else family(section, method)["batch_size"]
    return int(batch), int(section["patch_size"])
