"""What shared code needs of the field7to9 experiment's methods: a method's batch and patch size
(benchmarks/flops.py finds `batch_and_patch` here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def batch_and_patch(section: Mapping[str, Any], method: Mapping[str, Any]) -> tuple[int, int]:
    """(batch, patch): the method's batch size, else its family's (`cnn` or `gan`); the section's patch size."""
    family = section["gan" if method["trainer"] == "gan" else "cnn"]
    batch = method["batch_size"] if "batch_size" in method else family["batch_size"]
    return int(batch), int(section["patch_size"])
