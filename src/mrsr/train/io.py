"""Save / load trained generators with their method config, and batch inference for stitching."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mrsr.device import Compute
from mrsr.train.loop import atomic_torch_save
from mrsr.train.meta import ModelMeta, plain
from mrsr.train.supervised import build_generator


def save_model(path: str | Path, generator: nn.Module, method: Mapping[str, Any], meta: ModelMeta) -> None:
    """Atomically write {'state_dict', 'method', 'meta'} (CPU fp32 tensors, contiguous layout) to path; meta's
    parameter count is the generator's own and its provenance (code, packages, platform) is filled in if empty."""
    from mrsr.nets import count_params

    if not isinstance(meta, ModelMeta):
        raise TypeError(f"save_model: meta must be a ModelMeta, not {type(meta).__name__}")
    state = {}
    for key, value in generator.state_dict().items():
        value = value.detach().cpu().contiguous()
        if value.is_floating_point() and value.dtype != torch.float32:
            raise ValueError(f"save_model: {key} is {value.dtype}; models are saved in float32")
        state[key] = value
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    meta.params = count_params(generator)
    atomic_torch_save({"state_dict": state, "method": plain(method), "meta": meta.to_dict()}, Path(path))


def _read_model_file(path: Path) -> object:
    """torch.load of a model file (weights only), ValueError naming the file when it is missing or unreadable."""
    if not path.is_file():
        raise ValueError(f"model file {path} does not exist (expected a file written by mrsr.train.save_model)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"model file {path} is unreadable or corrupt: {err}") from err


def model_meta(path: str | Path) -> ModelMeta:
    """The metadata of any model file mrsr writes (one generator, or asl_sr's pyramid), without building networks."""
    path = Path(path)
    blob = _read_model_file(path)
    if not isinstance(blob, dict) or "meta" not in blob:
        raise ValueError(f"model file {path} has no 'meta' record (was it written by mrsr?)")
    return ModelMeta.from_dict(blob["meta"], path)


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict, ModelMeta]:
    """Rebuild the generator named in the file's method and load its weights; returns (eval model, method, meta)."""
    path = Path(path)
    blob = _read_model_file(path)
    if not isinstance(blob, dict) or not {"state_dict", "method", "meta"} <= set(blob):
        raise ValueError(f"model file {path} lacks the keys 'state_dict', 'method', 'meta'")
    try:
        generator = build_generator(blob["method"])
        generator.load_state_dict(blob["state_dict"])
    except (ValueError, RuntimeError, TypeError) as err:
        raise ValueError(f"model file {path}: cannot rebuild the generator from its method: {err}") from err
    meta = ModelMeta.from_dict(blob["meta"], path)
    return generator.to(device).eval(), blob["method"], meta


def predict_fn(generator: nn.Module, device: torch.device | str, batch_size: int,
               compute: Compute | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """f(patches (B, 1, s, s)) -> generator output as float32 NumPy, in chunks of batch_size, eval, no grad,
    in compute's precision and memory layout (default fp32, contiguous)."""
    device = torch.device(device)
    compute = compute or Compute()
    generator = compute.module(generator.to(device).eval())

    def predict(patches: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(patches, dtype=np.float32))
        outputs = []
        with torch.inference_mode(), compute.autocast(device):
            for start in range(0, len(x), batch_size):
                batch = compute.tensor(x[start:start + batch_size].to(device))
                outputs.append(generator(batch).float().cpu().contiguous())
        if not outputs:
            return np.zeros_like(patches, dtype=np.float32)
        return torch.cat(outputs).numpy()

    return predict
