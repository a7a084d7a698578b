"""The one training-loop skeleton: seeding, deterministic batches, validation, CSV log, checkpoint/resume."""

from __future__ import annotations

import csv
import io
import os
import random
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mrsr.device import Compute, fp32_outputs, seed_everything
from mrsr.train.dsgan import DSGANTrainer
from mrsr.train.gan import GANTrainer
from mrsr.train.cycle import CycleTrainer
from mrsr.train.kinetic import KineticTrainer
from mrsr.train.pyramid import PyramidScaleTrainer
from mrsr.train.schedule import apply_schedule, check_schedule
from mrsr.train.supervised import SupervisedTrainer
from mrsr.train.wgan import WGANGPTrainer

TRAINERS = {"supervised": SupervisedTrainer, "gan": GANTrainer, "kinetic": KineticTrainer,
            "wgan_gp": WGANGPTrainer, "cycle": CycleTrainer, "dsgan": DSGANTrainer,
            "pyramid": PyramidScaleTrainer}
KEEP_CHECKPOINTS = 2
CKPT_FORMAT = "epoch-{:04d}.pt"


@dataclass
class TrainData:
    """Paired samples: lr (input) and hr (target), each (N, C, H, W) slices or (N, C, D, H, W) volumes, float32.

    aux: optional per-sample extra arrays (N, A, ...) of the same rank, handed to the trainer as `aux=` (e.g.
    the kinetic loss's reference CBF, CBF scale and mask); trainers that take none never see it.
    """

    lr: np.ndarray
    hr: np.ndarray
    aux: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("lr", "hr", "aux"):
            if getattr(self, name) is None:
                continue
            arr = np.asarray(getattr(self, name))
            if arr.ndim not in (4, 5) or arr.ndim != np.ndim(self.lr):
                raise ValueError(f"TrainData.{name} must be (N, C, H, W) or (N, C, D, H, W) like lr "
                                 f"{np.shape(self.lr)}, got shape {arr.shape}")
            if arr.dtype != np.float32 or not arr.flags.c_contiguous or not arr.flags.writeable:
                arr = np.array(arr, dtype=np.float32, order="C")  # one copy, so torch.from_numpy can share it
            setattr(self, name, arr)
        if len(self.lr) != len(self.hr):
            raise ValueError(f"TrainData: lr has {len(self.lr)} samples but hr has {len(self.hr)}")
        if self.aux is not None and len(self.aux) != len(self.lr):
            raise ValueError(f"TrainData: lr has {len(self.lr)} samples but aux has {len(self.aux)}")

    def __len__(self) -> int:
        return len(self.lr)


class Trainer(Protocol):
    """What the loop needs from a trainer."""

    generator: nn.Module

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]: ...

    def val_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def build_trainer(method: Mapping[str, Any], device: torch.device, *, patch_size: int,
                  vgg_weights: str | None = None) -> Trainer:
    """Trainer object named by method['trainer']."""
    name = method.get("trainer")
    if name not in TRAINERS:
        raise ValueError(f"method key 'trainer' must be one of {', '.join(map(repr, TRAINERS))}, got {name!r}")
    return TRAINERS[name](method, device, patch_size=patch_size, vgg_weights=vgg_weights)


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """Sample order of one epoch: a function of (seed, epoch) only, so resumed runs see the same batches."""
    mixed = int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] >> 1)
    return torch.randperm(n, generator=torch.Generator().manual_seed(mixed))


def batches(lr: torch.Tensor, hr: torch.Tensor, batch_size: int, order: torch.Tensor | None = None,
            aux: torch.Tensor | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor, dict]]:
    """Mini-batches (lr, hr, step keyword arguments) in `order` (else sequential), last one possibly smaller;
    the keyword arguments hold {'aux': batch} when aux is given, else nothing."""
    for start in range(0, len(lr), batch_size):
        idx = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
        yield lr[idx], hr[idx], ({} if aux is None else {"aux": aux[idx]})


def train_step(trainer: Trainer, x: torch.Tensor, y: torch.Tensor, extra: Mapping[str, Any],
               compute: Compute = Compute()) -> dict[str, float]:
    """One trainer.train_step on a batch in compute's memory layout, under its autocast."""
    with compute.autocast(x.device):
        return trainer.train_step(compute.tensor(x), compute.tensor(y), **extra)


def run_epoch(trainer: Trainer, lr: torch.Tensor, hr: torch.Tensor, batch_size: int, order: torch.Tensor,
              bar: tqdm, aux: torch.Tensor | None = None, compute: Compute = Compute()) -> dict[str, float]:
    """One pass of train_step over the shuffled batches (under compute's autocast); sample-weighted means."""
    trainer.generator.train()
    sums: dict[str, float] = {}
    for x, y, extra in batches(lr, hr, batch_size, order, aux):
        values = train_step(trainer, x, y, extra, compute)
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + v * len(x)
        bar.update(1)
    bar.set_postfix(loss=f"{sums.get('total', 0.0) / len(lr):.4g}", refresh=False)
    return {k: v / len(lr) for k, v in sums.items()}


def validate(trainer: Trainer, lr: torch.Tensor, hr: torch.Tensor, batch_size: int,
             aux: torch.Tensor | None = None, compute: Compute = Compute()) -> dict[str, float]:
    """Sample-weighted means of val_step over batches, generator in eval mode without gradients."""
    trainer.generator.eval()
    sums: dict[str, float] = {}
    with torch.no_grad(), compute.autocast(lr.device):
        for x, y, extra in batches(lr, hr, batch_size, aux=aux):
            for k, v in trainer.val_step(compute.tensor(x), compute.tensor(y), **extra).items():
                sums[k] = sums.get(k, 0.0) + v * len(x)
    trainer.generator.train()
    return {k: v / len(lr) for k, v in sums.items()}


# ---------------------------------------------------------------- checkpoints


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states in a form torch.load(weights_only=True) accepts."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of rng_state."""
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def fingerprint(method: Mapping[str, Any], seed: int, batch_size: int, n_train: int,
                compute: Compute = Compute()) -> dict[str, Any]:
    """What must match for a checkpoint to be resumable (the method without its epoch count, and the
    precision unless fp32, so fp32 checkpoints written before the setting existed still resume)."""
    found = {"method": {k: v for k, v in method.items() if k != "epochs"}, "seed": seed,
             "batch_size": batch_size, "n_train": n_train}
    return found if compute.precision == "fp32" else {**found, "precision": compute.precision}


def checkpoint_epochs(ckpt_dir: Path) -> list[int]:
    """Epoch numbers of the epoch-NNNN.pt files in ckpt_dir, newest first."""
    found = []
    for path in ckpt_dir.glob("epoch-*.pt"):
        stem = path.stem.removeprefix("epoch-")
        if stem.isdigit():
            found.append(int(stem))
    return sorted(found, reverse=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to path via a fsynced temporary file and os.replace."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save to path atomically (a killed writer leaves the previous file intact)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def save_checkpoint(ckpt_dir: Path, state: dict[str, Any]) -> Path:
    """Write epoch-NNNN.pt atomically, then delete every other checkpoint but the previous epoch's."""
    epoch = state["epoch"]
    path = ckpt_dir / CKPT_FORMAT.format(epoch)
    atomic_torch_save(state, path)
    keep = {epoch - i for i in range(KEEP_CHECKPOINTS)}
    for old in checkpoint_epochs(ckpt_dir):
        if old not in keep:  # older ones, and stale newer ones from another configuration
            (ckpt_dir / CKPT_FORMAT.format(old)).unlink(missing_ok=True)
    return path


def load_latest_checkpoint(ckpt_dir: Path, expected: Mapping[str, Any], max_epoch: int) -> dict[str, Any] | None:
    """Newest readable checkpoint with a matching fingerprint and epoch <= max_epoch, else None."""
    for epoch in checkpoint_epochs(ckpt_dir):
        path = ckpt_dir / CKPT_FORMAT.format(epoch)
        if epoch > max_epoch:
            warnings.warn(f"ignoring checkpoint {path}: epoch {epoch} is beyond the requested {max_epoch}",
                          stacklevel=3)
            continue
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a truncated or corrupt file: fall back to the previous one
            warnings.warn(f"skipping unreadable checkpoint {path}: {err}", stacklevel=3)
            continue
        if state.get("fingerprint") != expected:
            warnings.warn(f"ignoring checkpoint {path}: written for another method/seed/batch size/data size",
                          stacklevel=3)
            continue
        return state
    return None


# ---------------------------------------------------------------- CSV log


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """(Re)write the whole per-epoch log atomically; columns in order of first appearance."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns or ["epoch"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(Path(path), text.getvalue().encode())


def epoch_row(epoch: int, train_means: Mapping[str, float], val_means: Mapping[str, float],
              seconds: float) -> dict[str, Any]:
    """One CSV row: epoch, train_<term>..., val_<term>..., seconds."""
    return {"epoch": epoch, **{f"train_{k}": v for k, v in train_means.items()},
            **{f"val_{k}": v for k, v in val_means.items()}, "seconds": round(seconds, 3)}


# ---------------------------------------------------------------- the loop


def as_tensors(data: TrainData, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Share the arrays as tensors (no copy on CPU); one transfer to an accelerator."""
    return torch.from_numpy(data.lr).to(device), torch.from_numpy(data.hr).to(device)


def aux_tensor(data: TrainData | None, device: torch.device) -> torch.Tensor | None:
    """data.aux as a tensor on device, or None."""
    return None if data is None or data.aux is None else torch.from_numpy(data.aux).to(device)


def fit(method: Mapping[str, Any], train: TrainData, val: TrainData | None, *, epochs: int, batch_size: int,
        seed: int, device: torch.device | str, ckpt_dir: Path | str, log_csv: Path | str,
        vgg_weights: str | None = None, stop_after_epochs: int | None = None, progress: bool = True,
        compute: Compute | None = None) -> nn.Module:
    """Train method's model to `epochs` (resuming from ckpt_dir); return the fp32 generator on CPU in eval mode
    (contiguous layout). `compute` sets precision and memory layout (default: fp32, contiguous)."""
    if epochs < 1 or batch_size < 1 or len(train) == 0:
        raise ValueError(f"fit needs epochs >= 1, batch_size >= 1 and training data; got epochs={epochs}, "
                         f"batch_size={batch_size}, {len(train)} training samples")
    device = torch.device(device)
    ckpt_dir, log_csv = Path(ckpt_dir), Path(log_csv)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    for stale in ckpt_dir.glob(".epoch-*.pt.tmp-*"):  # left by a writer killed mid-save
        stale.unlink(missing_ok=True)
    log_csv.parent.mkdir(parents=True, exist_ok=True)

    schedule = method.get("schedule")
    if schedule is not None:
        check_schedule(schedule)
    seed_everything(seed)
    compute = compute or Compute()
    trainer = prepare(build_trainer(method, device, patch_size=train.lr.shape[-1], vgg_weights=vgg_weights), compute)
    expected = fingerprint(method, seed, batch_size, len(train), compute)
    state = load_latest_checkpoint(ckpt_dir, expected, epochs)
    start, history = 0, []
    if state is not None:
        trainer.load_state_dict(state["trainer"])
        set_rng_state(state["rng"])
        start, history = state["epoch"], list(state["history"])
    write_csv(log_csv, history)  # drops rows written after the checkpoint we resume from

    lr, hr = as_tensors(train, device)
    val_tensors = as_tensors(val, device) if val is not None and len(val) else None
    aux, val_aux = aux_tensor(train, device), aux_tensor(val, device)
    stop = epochs if stop_after_epochs is None else min(epochs, start + stop_after_epochs)
    n_batches = -(-len(train) // batch_size)
    bar = tqdm(total=(epochs - start) * n_batches, desc=f"{method.get('trainer')}:{method.get('generator')}",
               unit="batch", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with bar:
        for epoch in range(start + 1, stop + 1):
            began = time.perf_counter()
            lr_scale = apply_schedule(trainer, schedule, epoch)
            order = epoch_permutation(len(train), seed, epoch).to(device)
            train_means = run_epoch(trainer, lr, hr, batch_size, order, bar, aux, compute)
            val_means = validate(trainer, *val_tensors, batch_size, val_aux, compute) if val_tensors else {}
            if schedule is not None:
                train_means = {**train_means, "lr_factor": lr_scale}
            history.append(epoch_row(epoch, train_means, val_means, time.perf_counter() - began))
            write_csv(log_csv, history)
            save_checkpoint(ckpt_dir, {"epoch": epoch, "trainer": trainer.state_dict(), "rng": rng_state(),
                                       "history": history, "fingerprint": expected})
            bar.set_description(f"epoch {epoch}/{epochs}", refresh=False)
    return trainer.generator.cpu().to(memory_format=torch.contiguous_format).eval()


def prepare(trainer: Trainer, compute: Compute) -> Trainer:
    """Set a new trainer up for compute: every nn.Module attribute (generator, discriminator, loss networks) in
    its memory layout, and under bf16 the generator's output cast to fp32 so every trainer's losses run in fp32.

    Adam's state is created lazily in the parameters' layout, so this must happen before the first step; a
    resumed checkpoint's tensors are copied into these parameters by load_state_dict (layout kept)."""
    if compute.channels_last:
        for value in vars(trainer).values():
            if isinstance(value, nn.Module):
                compute.module(value)
    if compute.precision != "fp32":
        fp32_outputs(trainer.generator)
    return trainer
