"""Cui et al.'s (2020) pyramid, coarse to fine on one volume (SinGAN-style): each scale is one run of the shared
loop (mrsr.train.loop.fit, checkpoint/resume and a CSV log per scale) with the 'pyramid' trainer, started from
the previous scale's weights; super-resolution by the last generator on [upsampled input, T1 on the target].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from mrsr.asl import resample_to_grid
from mrsr.device import Compute
from mrsr.metrics import brain_mask
from mrsr.train.loop import CKPT_FORMAT, TrainData, atomic_torch_save, checkpoint_numbers, fit, remove_checkpoints
from mrsr.train.meta import ModelMeta
from mrsr.train.supervised import build_generator

Shape = tuple[int, ...]
SCALE_INPUTS = ("reconstruction", "real")  # what a finer scale's input upsamples: x~_{n-1} (paper) or x_{n-1}


def pyramid_shapes(shape: Sequence[int], factor: float, min_size: int, max_scales: int | None = None) -> list[Shape]:
    """Grid shapes x_0 (coarsest) ... x_N (= shape): x_n = round(shape * factor^(N - n)) per axis, never below
    min(axis, min_size); N is the largest number of downscalings keeping the longest axis >= min_size
    (assumption: SinGAN uses the shortest axis, which for thick-slice ASL would leave one scale), capped at
    max_scales - 1."""
    shape = tuple(int(s) for s in shape)
    if not 0 < factor < 1 or min_size < 1 or min(shape) < 1:
        raise ValueError(f"pyramid: need 0 < factor < 1, min_size >= 1 and a non-empty shape; got factor={factor}, "
                         f"min_size={min_size}, shape={shape}")
    longest = max(shape)
    n = max(0, math.floor(math.log(min_size / longest) / math.log(factor))) if longest > min_size else 0
    if max_scales is not None:
        n = min(n, int(max_scales) - 1)
    return [tuple(max(min(s, min_size), round(s * factor ** (n - i))) for s in shape) for i in range(n + 1)]


def resize(volume: np.ndarray, shape: Sequence[int], order: int = 1) -> np.ndarray:
    """Resample a volume to `shape` on the same field of view (voxel centres aligned as in
    F.interpolate(align_corners=False)); downsampling is anti-aliased (box-equivalent Gaussian)."""
    if tuple(volume.shape) == tuple(shape):
        return np.asarray(volume, dtype=np.float32)
    return resample_to_grid(volume, (1.0,) * volume.ndim, np.divide(volume.shape, shape), shape, order=order)


def upsample(x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Trilinear resize of (B, C, D, H, W) to `shape` [I: the paper's up_r is unstated]."""
    return F.interpolate(x, size=tuple(int(s) for s in shape), mode="trilinear", align_corners=False)


def scale_method(method: Mapping[str, Any], n: int, max_updates: int, init_from: str | None) -> dict[str, Any]:
    """The trainer config of scale n: input channels (ASL [+ T1]), critic width, LR milestone, inheritance."""
    m = {k: v for k, v in method.items() if k not in ("pyramid", "t1_channel", "nfc_max", "milestone_fraction")}
    m["trainer"] = "pyramid"
    m["generator_kwargs"] = {**dict(method.get("generator_kwargs") or {}),
                             "in_channels": 2 if method.get("t1_channel", True) else 1}
    critic = dict(method.get("discriminator_kwargs") or {})
    nfc = int(critic.get("nfc", 32))
    critic["nfc"] = min(nfc * 2 ** (n // 4), int(method.get("nfc_max", 128)))  # [R: SinGAN training.py]
    m["discriminator_kwargs"] = critic
    m["milestone"] = max(1, round(float(method.get("milestone_fraction", 0.8)) * max_updates))
    m["residual"] = n > 0  # the coarsest scale's ASL channel is noise
    m["init_from"] = init_from
    return m


@dataclass
class Pyramid:
    """Trained generators (coarse to fine, eval mode) and what generation needs."""

    generators: list[nn.Module]
    methods: list[dict[str, Any]]
    shapes: list[Shape]
    z0: torch.Tensor  # (1, 1, *shapes[0]): the fixed reconstruction noise
    asl_norm: float  # ASL intensities are divided by this for the networks
    t1_norm: float
    t1_channel: bool
    records: list[dict[str, Any]] = field(default_factory=list)  # fit's training record of each scale

    def inputs(self, asl: torch.Tensor, t1: np.ndarray | None) -> torch.Tensor:
        """Stack the (normalised) ASL channel with T1 resized to its grid when the T1 channel is used."""
        if not self.t1_channel:
            return asl
        t1 = torch.from_numpy(resize(np.asarray(t1, np.float32), asl.shape[2:]) / self.t1_norm)[None, None]
        return torch.cat([asl, t1.to(asl)], dim=1)

    def run_scale(self, n: int, prev: torch.Tensor | None, t1: np.ndarray | None) -> torch.Tensor:
        """x~_n = G_n([up(x~_{n-1}) or z_0, t_n]) (+ the upsampled input for n > 0), normalised units."""
        first = self.z0 if n == 0 else upsample(prev, self.shapes[n])
        with torch.no_grad():
            out = self.generators[n](self.inputs(first, t1))
        return out if n == 0 else out + first

    def super_resolve(self, asl: np.ndarray, t1: np.ndarray | None, shape: Sequence[int],
                      compute: Compute | None = None) -> np.ndarray:
        """Paper eq. 2: the last generator on [trilinear up(asl -> shape), T1 on that grid] (+ residual), its
        forward pass in compute's precision and layout (default fp32)."""
        compute = compute or Compute()
        x = torch.from_numpy(np.asarray(asl, np.float32) / self.asl_norm)[None, None]
        up = upsample(x, shape)
        generator = compute.module(self.generators[-1])
        with torch.no_grad(), compute.autocast(up.device):
            out = generator(compute.tensor(self.inputs(up, t1))).float() + up
        return (out[0, 0].contiguous().numpy() * self.asl_norm).astype(np.float32)


def scale_input(method: Mapping[str, Any]) -> str:
    """method['scale_input'] (default 'reconstruction', the paper's), checked."""
    kind = str(method.get("scale_input", "reconstruction"))
    if kind not in SCALE_INPUTS:
        raise ValueError(f"pyramid: scale_input must be one of {SCALE_INPUTS}, got {kind!r}")
    return kind


def real_volume(pyr: Pyramid, n: int, asl: np.ndarray) -> np.ndarray:
    """x_n: the training volume resized to scale n's grid, normalised."""
    return resize(np.asarray(asl, np.float32), pyr.shapes[n]) / pyr.asl_norm


def scale_data(pyr: Pyramid, n: int, prev: torch.Tensor | None, asl: np.ndarray,
               t1: np.ndarray | None) -> tuple[TrainData, np.ndarray | None]:
    """Scale n's one sample (input [up(prev) or z_0, T1], target x_n = the training volume resized) and its
    no-model reference up(prev) (None at the coarsest scale, whose input is noise). prev is the coarser scale's
    reconstruction x~_{n-1} (the paper) or its real volume x_{n-1} (scale_input 'real'). The same sample is the
    validation sample: the reconstruction of the training volume (a single-image method holds nothing out; the
    test references are never seen)."""
    first = pyr.z0 if n == 0 else upsample(prev, pyr.shapes[n])
    data = TrainData(lr=pyr.inputs(first, t1).numpy(), hr=real_volume(pyr, n, asl)[None, None])
    return data, None if n == 0 else first.numpy()


def brain_mean_ratio(volume: np.ndarray, reference: np.ndarray) -> float:
    """Mean of `volume` over the reference's brain (mrsr.metrics.brain_mask, not dilated) / the reference's mean
    there: 1 when the volume keeps the reference's brain intensity (a gain or offset moves it)."""
    ref = np.asarray(reference, np.float64)
    mask = brain_mask(ref, dilate=0)
    return float(np.asarray(volume, np.float64)[mask].mean() / ref[mask].mean())


def train_pyramid(method: Mapping[str, Any], asl: np.ndarray, t1: np.ndarray | None, *, max_updates: int,
                  seed: int, device: torch.device | str, ckpt_dir: Path | str,
                  stopping: Mapping[str, Any] | None = None, progress: bool = True,
                  compute: Compute | None = None, keep_checkpoints: bool = True) -> Pyramid:
    """Train the pyramid on one ASL volume (and its co-registered T1 on the same grid), coarse to fine.

    method: the 'pyramid' trainer keys plus pyramid {factor, min_size, max_scales}, t1_channel, nfc_max,
    milestone_fraction, scale_input. Each scale runs up to max_updates updates (one update: d_steps critic + g_steps
    generator steps) under the plateau rule `stopping` on its reconstruction MSE, so the next scale trains on a
    converged reconstruction. Scale n trains in ckpt_dir/scale-n (checkpoints, loss.csv, loss.json) and starts from
    scale n-1's final checkpoint; rerunning resumes where a killed run stopped. Scale n > 0 trains on up(x~_{n-1}),
    the coarser scales' reconstruction (scale_input 'reconstruction', the paper's), or on up(x_{n-1}), the training
    volume at the coarser scale (scale_input 'real': the kind of input SR gives the last generator, an upsampled
    real volume). Each scale's record has brain_mean_ratio (its output on its training input against x_n) and
    input_brain_mean_ratio (that input against x_n; None at the coarsest scale).
    """
    kind = scale_input(method)
    use_t1 = bool(method.get("t1_channel", True))
    if use_t1 and (t1 is None or np.shape(t1) != np.shape(asl)):
        raise ValueError(f"train_pyramid: the T1 channel needs a T1 volume on the ASL grid {np.shape(asl)}, got "
                         f"{None if t1 is None else np.shape(t1)}")
    spec = method["pyramid"]
    shapes = pyramid_shapes(np.shape(asl), float(spec["factor"]), int(spec["min_size"]), spec.get("max_scales"))
    asl_norm = float(np.percentile(asl, float(method.get("norm_percentile", 99.0))))
    t1_norm = float(np.percentile(t1, float(method.get("norm_percentile", 99.0)))) if use_t1 else 1.0
    if asl_norm <= 0 or t1_norm <= 0:
        raise ValueError("train_pyramid: the ASL and T1 volumes need positive intensities (normalising percentile <= 0)")
    z0 = torch.randn((1, 1, *shapes[0]), generator=torch.Generator().manual_seed(int(seed)))
    pyr = Pyramid([], [], shapes, z0, asl_norm, t1_norm, use_t1)
    ckpt_dir = Path(ckpt_dir)
    prev, init_from = None, None
    for n in range(len(shapes)):
        data, reference = scale_data(pyr, n, prev, asl, t1)
        m = scale_method(method, n, max_updates, init_from)
        scale_dir = ckpt_dir / f"scale-{n}"
        fitted = fit(m, data, data, max_updates=max_updates, batch_size=1, seed=seed, device=device,
                     ckpt_dir=scale_dir, log_csv=scale_dir / "loss.csv", stopping=stopping,
                     val_reference=reference, progress=progress, compute=compute)
        pyr.generators.append(fitted.generator)
        pyr.methods.append(m)
        real = real_volume(pyr, n, asl)
        out = pyr.run_scale(n, prev, t1)
        pyr.records.append({**fitted.record, "scale": n, "shape": list(shapes[n]), "scale_input": kind,
                            "brain_mean_ratio": brain_mean_ratio(out[0, 0].numpy(), real),
                            "input_brain_mean_ratio": None if reference is None else
                            brain_mean_ratio(reference[0, 0], real)})
        prev = torch.from_numpy(real)[None, None] if kind == "real" else out
        init_from = str(scale_dir / CKPT_FORMAT.format(checkpoint_numbers(scale_dir)[0]))
    if not keep_checkpoints:  # each scale's last checkpoint seeded the next; none is needed once all are trained
        for n in range(len(shapes)):
            remove_checkpoints(ckpt_dir / f"scale-{n}")
    return pyr


def scale_logs(ckpt_dir: Path | str, n_scales: int) -> pd.DataFrame:
    """The per-scale CSV logs of a trained pyramid as one frame with a 'scale' column."""
    frames = [pd.read_csv(Path(ckpt_dir) / f"scale-{n}" / "loss.csv").assign(scale=n) for n in range(n_scales)]
    return pd.concat(frames, ignore_index=True)


def save_pyramid(path: Path | str, pyr: Pyramid, meta: ModelMeta) -> None:
    """Atomically write every generator's weights, the pyramid's settings and its metadata (provenance filled in)
    (loads with weights_only)."""
    if not isinstance(meta, ModelMeta):
        raise TypeError(f"save_pyramid: meta must be a ModelMeta, not {type(meta).__name__}")
    blob = {"state_dicts": [{k: v.detach().cpu().contiguous() for k, v in g.state_dict().items()} for g in pyr.generators],
            "methods": pyr.methods, "shapes": [list(s) for s in pyr.shapes], "z0": pyr.z0,
            "asl_norm": pyr.asl_norm, "t1_norm": pyr.t1_norm, "t1_channel": pyr.t1_channel,
            "records": list(pyr.records), "meta": meta.to_dict()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(blob, Path(path))


def load_pyramid(path: Path | str) -> Pyramid:
    """Inverse of save_pyramid: generators rebuilt from their methods, in eval mode on the CPU."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    generators = []
    for method, state in zip(blob["methods"], blob["state_dicts"]):
        g = build_generator(method)
        g.load_state_dict(state)
        generators.append(g.eval())
    return Pyramid(generators, blob["methods"], [tuple(s) for s in blob["shapes"]], blob["z0"],
                   float(blob["asl_norm"]), float(blob["t1_norm"]), bool(blob["t1_channel"]),
                   list(blob.get("records", [])))
