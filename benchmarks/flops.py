"""FLOP utilisation of every network's training step, in fp32 and bf16, against this machine's convolution peak.

For each distinct network of each configured experiment's methods (config/config.yaml; an experiment joins by
itself when its section has `methods` with `patch_size` and `batch_size` keys; otherwise its package registers in
its own `methods.py`: `batch_and_patch(section, method)`, as field7to9 does for its cnn/gan batch sizes, or
`flop_cases(section)`, the steps themselves, as dsgan does for its DSGAN (G + D, batch 1, 64 -> 26 crops), DSN
proxy (64 -> 32 crops) and EDSR x2, and asl_sr for its 3-D pyramid's finest scale on the whole NR volume), one
training step (mrsr.train.build_trainer + the loop's own train_step: forward, loss, backward, Adam; GANs: D and G steps) is

- counted with torch.utils.flop_counter.FlopCounterMode (convolutions and matrix products, forward and
  backward; element-wise ops, norms and the optimiser are free in that count),
- timed in four settings, interleaved repetition by repetition so machine-load drift hits all alike:
  fp32 / fp32 channels-last / bf16 autocast / bf16 channels-last (--stat median or min of --repeats rounds
  after a warm-up),
- set against the peak of the same dtype, measured in the same rounds (so the same machine load): a wide 3x3
  convolution (--peak-channels in and out, 2x64x64, forward + backward, channels-last, the faster layout
  for both dtypes here), timed between the steps of each round.

    .venv/bin/python benchmarks/flops.py --threads 1 --repeats 5            # the table
    .venv/bin/python benchmarks/flops.py --only dcsrn_l1 --setting bf16-cl --steps 20   # a fixed workload,
        # for whole-process paired timings (e.g. /usr/bin/time, or any A/B runner) of two settings

On a shared machine the absolute numbers drift with other load: compare the settings (interleaved), not runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from mrsr.device import Compute, seed_everything
from mrsr.experiments import experiment_module
from mrsr.train import build_trainer
from mrsr.train.loop import prepare, train_step

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: dict[str, Compute] = {
    "fp32": Compute("fp32"), "fp32-cl": Compute("fp32", True), "bf16": Compute("bf16"), "bf16-cl": Compute("bf16", True),
}
AUX_CHANNELS = {"kinetic": 3}  # trainers that take TrainData.aux, and its channel count


@dataclass(frozen=True)
class Case:
    """One training step to measure: an experiment's method, its batch size, square input patch size and target
    patch size (None: the input's)."""

    experiment: str
    method_key: str
    method: Mapping[str, Any]
    batch: int
    patch: int
    same_as: tuple[str, ...] = ()  # other methods of the experiment with the same networks
    target: int | None = None
    grid: tuple[int, ...] = ()  # a whole-volume case (3-D): the input's spatial shape, replacing patch x patch
    channels: int = 1  # input channels of a whole-volume case (the target has one)

    @property
    def name(self) -> str:
        return f"{self.experiment}/{self.method_key}"

    @property
    def target_patch(self) -> int:
        return self.patch if self.target is None else self.target

    @property
    def shape(self) -> str:
        """batch x patch x patch, '-> target' where the target's size differs; whole volumes:
        batch x channels x grid."""
        if self.grid:
            return "x".join(str(n) for n in (self.batch, self.channels, *self.grid))
        text = f"{self.batch}x{self.patch}x{self.patch}"
        return text if self.target_patch == self.patch else f"{text}->{self.target_patch}"


def generic_shape(section: Mapping[str, Any], method: Mapping[str, Any]) -> tuple[int, int]:
    """(batch, patch) from the section's own batch_size and patch_size keys."""
    batch = method["batch_size"] if "batch_size" in method else section["batch_size"]
    return int(batch), int(section["patch_size"])


def network_key(method: Mapping[str, Any]) -> tuple:
    """What decides a step's cost: trainer, networks and their options, conditioning, a perceptual term."""
    return (method["trainer"], method["generator"], repr(sorted((method.get("generator_kwargs") or {}).items())),
            method.get("discriminator"), bool(method.get("conditional")), "perceptual" in (method.get("losses") or {}))


def cases(config: Mapping[str, Any]) -> list[Case]:
    """One Case per distinct network setup of every configured experiment's trained methods."""
    found: dict[tuple, Case] = {}
    for experiment in config["experiments"]:
        section = config[experiment]
        hooks = experiment_module(experiment, "methods")  # what the experiment registers for itself, if anything
        if hasattr(hooks, "flop_cases"):
            found.update({(experiment, c["method_key"]): Case(experiment, **c) for c in hooks.flop_cases(section)})
            continue
        shape = getattr(hooks, "batch_and_patch", generic_shape)
        for key, method in section.get("methods", {}).items():
            if "generator" not in method or "trainer" not in method:
                continue  # no network (averaging, interpolation, forests)
            ident = (experiment, *network_key(method))
            if ident in found:
                found[ident] = replace(found[ident], same_as=(*found[ident].same_as, key))
                continue
            method = dict(method)
            if method["trainer"] == "kinetic":
                method.setdefault("cbf_unit", float(section.get("cbf_unit", 100.0)))
            found[ident] = Case(experiment, key, method, *shape(section, method))
    return list(found.values())


def batch_for(case: Case, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """A random (lr, hr, extra) batch of the case's shapes (hr: half lr where they match; aux: a positive CBF map,
    scale and a full mask)."""
    rng = np.random.default_rng(seed)
    if case.grid:
        lr = torch.from_numpy(rng.normal(size=(case.batch, case.channels, *case.grid)).astype(np.float32))
        return lr, 0.5 * lr[:, :1], {}
    lr = torch.from_numpy(rng.normal(size=(case.batch, 1, case.patch, case.patch)).astype(np.float32))
    if case.target_patch == case.patch:
        hr = 0.5 * lr
    else:
        hr = torch.from_numpy(rng.normal(size=(case.batch, 1, case.target_patch, case.target_patch)).astype(np.float32))
    n_aux = AUX_CHANNELS.get(case.method["trainer"], 0)
    extra = {"aux": torch.ones((case.batch, n_aux, case.patch, case.patch))} if n_aux else {}
    return lr, hr, extra


class Stepper:
    """A fresh trainer of one case in one setting; step() runs one training step the way fit does."""

    def __init__(self, case: Case, compute: Compute) -> None:
        seed_everything(0)
        self.trainer = prepare(build_trainer(case.method, torch.device("cpu"), patch_size=case.patch), compute)
        self.batch, self.compute = batch_for(case), compute

    def step(self) -> None:
        lr, hr, extra = self.batch
        train_step(self.trainer, lr, hr, extra, self.compute)


class _GlobalOnly:
    """A stand-in for FlopCounterMode's ModuleTracker that attributes every count to 'Global'. The real tracker
    hooks every module's backward pass, and in torch 2.13 those hooks raise inside torch.autograd.grad (the
    gradient penalty of the WGAN-GP trainers); only the total is needed here."""

    parents = frozenset({"Global"})

    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *args: object) -> None:
        return None


class TotalFlops(FlopCounterMode):
    """FlopCounterMode counting totals only (no per-module attribution), so steps that call autograd.grad count."""

    def __init__(self) -> None:
        super().__init__(display=False)
        self.mod_tracker = _GlobalOnly()


def count_flops(case: Case) -> int:
    """FLOPs of one fp32 training step (FlopCounterMode: convolutions and matmuls, forward and backward)."""
    stepper = Stepper(case, SETTINGS["fp32"])
    stepper.step()  # Adam's lazy state, so the counted step is a steady one
    with TotalFlops() as counter:
        stepper.step()
    return counter.get_total_flops()


class PeakConv:
    """A wide 3x3 'same' convolution in one dtype, channels-last; step() runs forward + backward (input and
    weight gradients) in that dtype; flops counted by FlopCounterMode."""

    def __init__(self, dtype: torch.dtype, channels: int, size: int = 64, batch: int = 2) -> None:
        fmt = torch.channels_last
        self.conv = torch.nn.Conv2d(channels, channels, 3, padding=1).to(dtype=dtype, memory_format=fmt)
        self.x = torch.randn(batch, channels, size, size, dtype=dtype).to(memory_format=fmt).requires_grad_()
        with TotalFlops() as counter:
            self.step()
        self.flops = counter.get_total_flops()

    def step(self) -> None:
        self.conv(self.x).sum().backward()


def measure(steppers: Mapping[str, Any], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per step() of each stepper, interleaved: warm-up of all, then rounds of one step of each."""
    for stepper in steppers.values():
        for _ in range(warmup):
            stepper.step()
    times: dict[str, list[float]] = {s: [] for s in steppers}
    for _ in range(repeats):
        for s, stepper in steppers.items():
            began = time.perf_counter()
            stepper.step()
            times[s].append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the workflow trains with 1)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved timed steps per setting")
    parser.add_argument("--stat", choices=["median", "min"], default="median",
                        help="time statistic over the rounds (min: the least disturbed round, on a loaded machine)")
    parser.add_argument("--only", nargs="*", default=None, help="case names (experiment/method or method)")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--peak-channels", type=int, default=128)
    parser.add_argument("--max-batch", type=int, default=None,
                        help="cap every case's batch (a cheaper run on a loaded machine; FLOPs scale with it)")
    parser.add_argument("--setting", choices=list(SETTINGS), help="with --steps: only run steps, print nothing")
    parser.add_argument("--steps", type=int, default=0, help="run this many steps of --setting (fixed workload)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(args.config.read_text())
    selected = [c for c in cases(config)
                if args.only is None or c.name in args.only or c.method_key in args.only]
    if args.max_batch:
        selected = [replace(c, batch=min(c.batch, args.max_batch)) for c in selected]
    if not selected:
        sys.exit(f"no case matches --only {args.only}; cases: {', '.join(c.name for c in cases(config))}")
    if args.steps:
        for case in selected:
            stepper = Stepper(case, SETTINGS[args.setting or "fp32"])
            for _ in range(args.steps):
                stepper.step()
        return

    peaks = {"fp32": PeakConv(torch.float32, args.peak_channels), "bf16": PeakConv(torch.bfloat16, args.peak_channels)}
    stat = statistics.median if args.stat == "median" else min
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.stat} of {args.repeats} interleaved "
          f"rounds; peak: {args.peak_channels}->{args.peak_channels} 3x3 conv, 2x64x64, fwd+bwd, channels-last, "
          f"timed in each case's rounds")
    head = ("| case | also | batch | GFLOP/step | peak fp32 / bf16 GFLOP/s |"
            + "".join(f" {s} ms | {s} GFLOP/s (% peak) |" for s in args.settings) + " fp32/bf16-cl time |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for case in selected:
        flops = count_flops(case)
        steppers = {s: Stepper(case, SETTINGS[s]) for s in args.settings}
        times = measure({**steppers, **{f"peak-{k}": v for k, v in peaks.items()}}, args.repeats)
        peak = {k: v.flops / stat(times[f"peak-{k}"]) / 1e9 for k, v in peaks.items()}
        cells = []
        for s in args.settings:
            t = stat(times[s])
            rate = flops / t / 1e9
            cells.append(f" {1e3 * t:.0f} | {rate:.0f} ({100 * rate / peak[s[:4]]:.0f} %) |")
        speedup = (stat(times["fp32"]) / stat(times["bf16-cl"])
                   if {"fp32", "bf16-cl"} <= set(times) else float("nan"))
        print(f"| {case.name} | {', '.join(case.same_as) or '-'} | {case.shape} | "
              f"{flops / 1e9:.2f} | {peak['fp32']:.0f} / {peak['bf16']:.0f} |" + "".join(cells)
              + f" {speedup:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
