"""The one training-loop skeleton: budgets in optimiser updates, seeding, deterministic batches, validation with
a shared plateau rule, CSV log and JSON training record, checkpoint/resume."""

from __future__ import annotations

import csv
import io
import json
import math
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
CKPT_FORMAT = "check-{:04d}.pt"


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
                compute: Compute = Compute(), stopping: "Stopping | None" = None) -> dict[str, Any]:
    """What must match for a checkpoint to be resumable: the method without its budget, seed, batch, data size,
    the validation schedule (check_every; the rest of the stopping rule may change), and the precision unless
    fp32 (so fp32 checkpoints written before the setting existed still resume)."""
    found = {"method": {k: v for k, v in method.items() if k not in ("epochs", "max_updates")}, "seed": seed,
             "batch_size": batch_size, "n_train": n_train}
    if stopping is not None and stopping.check_every is not None:
        found["check_every"] = stopping.check_every
    return found if compute.precision == "fp32" else {**found, "precision": compute.precision}


def checkpoint_numbers(ckpt_dir: Path) -> list[int]:
    """Check numbers of the check-NNNN.pt files in ckpt_dir, newest first."""
    found = []
    for path in ckpt_dir.glob("check-*.pt"):
        stem = path.stem.removeprefix("check-")
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
    """Write check-NNNN.pt atomically, then delete every other checkpoint but the previous check's."""
    check = state["check"]
    path = ckpt_dir / CKPT_FORMAT.format(check)
    atomic_torch_save(state, path)
    keep = {check - i for i in range(KEEP_CHECKPOINTS)}
    for old in checkpoint_numbers(ckpt_dir):
        if old not in keep:  # older ones, and stale newer ones from another configuration
            (ckpt_dir / CKPT_FORMAT.format(old)).unlink(missing_ok=True)
    return path


def remove_checkpoints(ckpt_dir: Path) -> None:
    """Delete ckpt_dir's checkpoints (and the folder when nothing else is left in it)."""
    for check in checkpoint_numbers(ckpt_dir):
        (ckpt_dir / CKPT_FORMAT.format(check)).unlink(missing_ok=True)
    if ckpt_dir.is_dir() and not any(ckpt_dir.iterdir()):
        ckpt_dir.rmdir()


def load_latest_checkpoint(ckpt_dir: Path, expected: Mapping[str, Any], max_updates: int) -> dict[str, Any] | None:
    """Newest readable checkpoint with a matching fingerprint and at most max_updates updates, else None."""
    for check in checkpoint_numbers(ckpt_dir):
        path = ckpt_dir / CKPT_FORMAT.format(check)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a truncated or corrupt file: fall back to the previous one
            warnings.warn(f"skipping unreadable checkpoint {path}: {err}", stacklevel=3)
            continue
        if state.get("fingerprint") != expected:
            warnings.warn(f"ignoring checkpoint {path}: written for another method/seed/batch size/data size",
                          stacklevel=3)
            continue
        if state["updates"] > max_updates:
            warnings.warn(f"ignoring checkpoint {path}: {state['updates']} updates is beyond the requested "
                          f"{max_updates}", stacklevel=3)
            continue
        return state
    return None


# ---------------------------------------------------------------- CSV log


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """(Re)write the whole per-check log atomically; columns in order of first appearance."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns or ["update"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(Path(path), text.getvalue().encode())


def check_row(updates: int, n_batches: int, train_means: Mapping[str, float], val_means: Mapping[str, float],
              seconds: float) -> dict[str, Any]:
    """One CSV row: update, epoch (passes over the training data, fractional between passes), train_<term>...,
    val_<term>..., seconds."""
    epoch = updates / n_batches
    return {"update": updates, "epoch": int(epoch) if epoch.is_integer() else round(epoch, 4),
            **{f"train_{k}": v for k, v in train_means.items()},
            **{f"val_{k}": v for k, v in val_means.items()}, "seconds": round(seconds, 3)}


# ---------------------------------------------------------------- budget and stopping rule


STOPPING_KEYS = ("check_every", "patience", "min_improvement", "smoothing", "stop")


@dataclass(frozen=True)
class Stopping:
    """The shared plateau rule: the validation MSE (held-out samples) is computed every `check_every` updates
    (None: once per pass over the training data) and smoothed, s <- smoothing * s + (1 - smoothing) * value;
    the plateau is reached when s has not fallen below (1 - min_improvement) x its best for `patience` checks.
    The plateau update is the update of that best. `stop`: early stopping: end training there and keep the
    generator of the best check, the one with the lowest smoothed value (no margin; also when max_updates comes
    first); else train to max_updates, keep the last generator and only record the plateau."""

    check_every: int | None = None
    patience: int = 5
    min_improvement: float = 0.01
    smoothing: float = 0.6
    stop: bool = True

    def __post_init__(self) -> None:
        if self.check_every is not None and self.check_every < 1:
            raise ValueError(f"stopping key 'check_every' must be >= 1 or null, got {self.check_every}")
        if self.patience < 1 or not 0 <= self.min_improvement < 1 or not 0 <= self.smoothing < 1:
            raise ValueError(f"stopping keys need patience >= 1, 0 <= min_improvement < 1, 0 <= smoothing < 1; got "
                             f"{self}")

    @classmethod
    def from_config(cls, cfg: "Stopping | Mapping[str, Any] | None") -> "Stopping":
        """From a config mapping (keys STOPPING_KEYS); KeyError names an unknown key."""
        if cfg is None:
            return cls()
        if isinstance(cfg, Stopping):
            return cfg
        unknown = sorted(set(cfg) - set(STOPPING_KEYS))
        if unknown:
            raise KeyError(f"stopping: unknown keys {unknown}; expected {', '.join(STOPPING_KEYS)}")
        return cls(**{k: cfg[k] for k in cfg})


class Plateau:
    """Tracks the smoothed validation metric of one training run (lower is better) and its plateau."""

    def __init__(self, rule: Stopping) -> None:
        self.rule = rule
        self.smooth: float | None = None
        self.best = math.inf
        self.best_update = 0
        self.since = 0
        self.reached_at: int | None = None  # update of the best smoothed value, once the plateau is declared
        self.lowest = math.inf  # the lowest smoothed value without the margin, and its update: the check early
        self.lowest_update = 0  # stopping keeps

    def observe(self, value: float, update: int) -> float:
        """Add one check's value; returns the smoothed value."""
        a = self.rule.smoothing
        if math.isfinite(value):
            self.smooth = value if self.smooth is None else a * self.smooth + (1 - a) * value
        if self.smooth is not None and self.smooth < self.lowest:
            self.lowest, self.lowest_update = self.smooth, update
        if self.smooth is not None and self.smooth < self.best * (1 - self.rule.min_improvement):
            self.best, self.best_update, self.since = self.smooth, update, 0
        else:
            self.since += 1
        if self.reached_at is None and self.since >= self.rule.patience:
            self.reached_at = self.best_update
        return math.nan if self.smooth is None else self.smooth

    @property
    def reached(self) -> bool:
        return self.reached_at is not None

    def state(self) -> dict[str, Any]:
        return {"smooth": self.smooth, "best": self.best, "best_update": self.best_update, "since": self.since,
                "reached_at": self.reached_at, "lowest": self.lowest, "lowest_update": self.lowest_update}

    def load(self, state: Mapping[str, Any]) -> None:
        self.smooth, self.best = state["smooth"], state["best"]
        self.best_update, self.since, self.reached_at = state["best_update"], state["since"], state["reached_at"]
        self.lowest = state.get("lowest", state["best"])
        self.lowest_update = state.get("lowest_update", state["best_update"])


@dataclass
class Fitted:
    """What fit returns: the fp32 generator (CPU, eval, contiguous) and the training record (see record())."""

    generator: nn.Module
    record: dict[str, Any]


def record(updates: int, max_updates: int, batch_size: int, n_train: int, plateau: Plateau | None,
           reference_mse: float | None, kept_smooth: float | None, kept_update: int | None = None) -> dict[str, Any]:
    """The training record every model carries: updates done and budget, plateau (None when not validated), the
    update whose generator was kept (early stopping: the best check's) and its smoothed validation MSE, and the
    no-model reference's validation MSE."""
    checked = plateau is not None and plateau.smooth is not None
    return {"updates": updates, "max_updates": max_updates, "batch_size": batch_size, "n_train": n_train,
            "epochs_of_data": round(updates * batch_size / n_train, 3),
            "plateau_reached": plateau.reached if checked else None,
            "plateau_update": plateau.reached_at if checked else None,
            "kept_update": updates if kept_update is None else kept_update,
            "val_mse": kept_smooth if checked else None, "reference_val_mse": reference_mse,
            "beats_reference_val": (kept_smooth < reference_mse) if checked and reference_mse is not None else None}


def generator_copy(trainer: Trainer) -> dict[str, torch.Tensor]:
    """The generator's weights, copied to the CPU (what early stopping restores)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in trainer.generator.state_dict().items()}


# ---------------------------------------------------------------- the loop


def as_tensors(data: TrainData, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Share the arrays as tensors (no copy on CPU); one transfer to an accelerator."""
    return torch.from_numpy(data.lr).to(device), torch.from_numpy(data.hr).to(device)


def aux_tensor(data: TrainData | None, device: torch.device) -> torch.Tensor | None:
    """data.aux as a tensor on device, or None."""
    return None if data is None or data.aux is None else torch.from_numpy(data.aux).to(device)


class BatchStream:
    """Sample indices of update u (0-based): batch u mod n_batches of the shuffled pass u // n_batches + 1 (the
    last batch of a pass possibly smaller), a function of (seed, u) only, so resumed runs see the same batches."""

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device) -> None:
        self.n, self.batch_size, self.seed, self.device = n, batch_size, seed, device
        self.n_batches = -(-n // batch_size)
        self._epoch, self._order = 0, torch.empty(0)

    def epoch(self, update: int) -> int:
        return update // self.n_batches + 1

    def indices(self, update: int) -> torch.Tensor:
        epoch = self.epoch(update)
        if epoch != self._epoch:
            self._epoch, self._order = epoch, epoch_permutation(self.n, self.seed, epoch).to(self.device)
        start = (update % self.n_batches) * self.batch_size
        return self._order[start:start + self.batch_size]


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    """The trainer's prediction for x: its `output` if it has one (the pyramid's residual), else the generator."""
    return trainer.output(x) if hasattr(trainer, "output") else trainer.generator(x)


def validation_mse(trainer: Trainer, lr: torch.Tensor, hr: torch.Tensor, batch_size: int,
                   compute: Compute = Compute()) -> float:
    """Mean squared error of the prediction against hr over the validation samples (eval mode, no gradients)."""
    trainer.generator.eval()
    total = 0.0
    with torch.no_grad(), compute.autocast(lr.device):
        for x, y, _ in batches(lr, hr, batch_size):
            total += float(((predict(trainer, compute.tensor(x)).float() - y) ** 2).sum())
    trainer.generator.train()
    return total / hr.numel()


def reference_mse(val: TrainData | None, reference: np.ndarray | None) -> float | None:
    """MSE of the no-model reference against the validation targets: `reference` if given, else the validation
    input itself when it has the target's shape (denoising, SR on an upsampled input), else None."""
    if val is None or len(val) == 0:
        return None
    if reference is None:
        reference = val.lr if val.lr.shape == val.hr.shape else None
    if reference is None:
        return None
    if np.shape(reference) != val.hr.shape:
        raise ValueError(f"val_reference has shape {np.shape(reference)}, the validation targets {val.hr.shape}")
    return float(np.mean((np.asarray(reference, np.float64) - val.hr) ** 2))


def fit(method: Mapping[str, Any], train: TrainData, val: TrainData | None, *, batch_size: int, seed: int,
        device: torch.device | str, ckpt_dir: Path | str, log_csv: Path | str, max_updates: int | None = None,
        epochs: int | None = None, stopping: Stopping | Mapping[str, Any] | None = None,
        val_reference: np.ndarray | None = None, vgg_weights: str | None = None,
        stop_after_checks: int | None = None, progress: bool = True, compute: Compute | None = None,
        keep_checkpoints: bool = True) -> Fitted:
    """Train method's model for max_updates optimiser updates (generator updates for GANs), or `epochs` passes
    over the training data, resuming from ckpt_dir. With validation data the validation MSE is logged every
    `stopping.check_every` updates (default once per pass) and the plateau rule of `stopping` applies; without
    it, training runs to the budget and no plateau is recorded. `compute` sets precision and memory layout.
    Returns the fp32 generator on CPU in eval mode (contiguous layout) and its training record, which is also
    written next to log_csv as JSON. keep_checkpoints=False deletes ckpt_dir's checkpoints once training is
    complete (budget spent or plateau stop), so a finished model costs no disk; keep them to extend training."""
    if (max_updates is None) == (epochs is None):
        raise ValueError("fit needs exactly one budget: max_updates or epochs")
    n_batches = -(-len(train) // max(batch_size, 1))
    max_updates = int(max_updates) if max_updates is not None else int(epochs) * n_batches
    if max_updates < 1 or batch_size < 1 or len(train) == 0:
        raise ValueError(f"fit needs max_updates >= 1 (or epochs >= 1), batch_size >= 1 and training data; got "
                         f"max_updates={max_updates}, batch_size={batch_size}, {len(train)} training samples")
    rule = Stopping.from_config(stopping)
    device = torch.device(device)
    ckpt_dir, log_csv = Path(ckpt_dir), Path(log_csv)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    for stale in ckpt_dir.glob(".check-*.pt.tmp-*"):  # left by a writer killed mid-save
        stale.unlink(missing_ok=True)
    log_csv.parent.mkdir(parents=True, exist_ok=True)

    schedule = method.get("schedule")
    if schedule is not None:
        check_schedule(schedule)
    seed_everything(seed)
    compute = compute or Compute()
    trainer = prepare(build_trainer(method, device, patch_size=train.lr.shape[-1], vgg_weights=vgg_weights), compute)
    expected = fingerprint(method, seed, batch_size, len(train), compute, rule)
    validated = val is not None and len(val) > 0
    plateau = Plateau(rule) if validated else None
    state = load_latest_checkpoint(ckpt_dir, expected, max_updates)
    check, updates, history = 0, 0, []
    best: dict[str, torch.Tensor] | None = None  # the generator of the best smoothed check (early stopping)
    if state is not None:
        trainer.load_state_dict(state["trainer"])
        set_rng_state(state["rng"])
        check, updates, history = state["check"], state["updates"], list(state["history"])
        best = state.get("best_generator")
        if plateau is not None and state.get("plateau"):
            plateau.load(state["plateau"])
    write_csv(log_csv, history)  # drops rows written after the checkpoint we resume from

    lr, hr = as_tensors(train, device)
    val_tensors = as_tensors(val, device) if validated else None
    aux, val_aux = aux_tensor(train, device), aux_tensor(val, device)
    ref_mse = reference_mse(val, val_reference) if validated else None
    stream = BatchStream(len(train), batch_size, seed, device)
    every = rule.check_every or stream.n_batches
    checks_left = math.inf if stop_after_checks is None else stop_after_checks
    smooth = history[-1].get("val_mse_smooth") if history else None
    bar = tqdm(total=max_updates - updates, desc=f"{method.get('trainer')}:{method.get('generator')}",
               unit="update", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with bar:
        while updates < max_updates and checks_left > 0 and not (plateau is not None and plateau.reached and rule.stop):
            began = time.perf_counter()
            trainer.generator.train()
            sums: dict[str, float] = {}
            seen, lr_scale = 0, 1.0
            for u in range(updates, min(updates + every, max_updates)):
                lr_scale = apply_schedule(trainer, schedule, stream.epoch(u))
                idx = stream.indices(u)
                extra = {} if aux is None else {"aux": aux[idx]}
                values = train_step(trainer, lr[idx], hr[idx], extra, compute)
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v * len(idx)
                seen += len(idx)
                bar.update(1)
            updates = min(updates + every, max_updates)
            check += 1
            train_means = {k: v / seen for k, v in sums.items()}
            if schedule is not None:
                train_means["lr_factor"] = lr_scale
            val_means: dict[str, float] = {}
            if val_tensors is not None:
                val_means = validate(trainer, *val_tensors, batch_size, val_aux, compute)
                val_means["mse"] = validation_mse(trainer, *val_tensors, batch_size, compute)
                smooth = plateau.observe(val_means["mse"], updates)
                val_means["mse_smooth"] = smooth
                if rule.stop and plateau.lowest_update == updates:  # a new best check
                    best = generator_copy(trainer)
            history.append(check_row(updates, stream.n_batches, train_means, val_means, time.perf_counter() - began))
            write_csv(log_csv, history)
            save_checkpoint(ckpt_dir, {"check": check, "updates": updates, "trainer": trainer.state_dict(),
                                       "rng": rng_state(), "history": history, "fingerprint": expected,
                                       "plateau": plateau.state() if plateau is not None else None,
                                       "best_generator": best})
            bar.set_postfix(loss=f"{train_means.get('total', math.nan):.4g}", refresh=False)
            checks_left -= 1
    kept, kept_smooth = updates, smooth
    if best is not None and plateau is not None and plateau.lowest_update != updates:  # early stopping: the best
        trainer.generator.load_state_dict(best)
        kept, kept_smooth = plateau.lowest_update, plateau.lowest
    result = record(updates, max_updates, batch_size, len(train), plateau, ref_mse,
                    None if kept_smooth is None or not math.isfinite(kept_smooth) else float(kept_smooth), kept)
    atomic_write_bytes(log_csv.with_suffix(".json"), json.dumps(result, indent=1).encode())
    finished = updates >= max_updates or (plateau is not None and plateau.reached and rule.stop)
    if finished and not keep_checkpoints:
        remove_checkpoints(ckpt_dir)
    return Fitted(trainer.generator.cpu().to(memory_format=torch.contiguous_format).eval(), result)


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
