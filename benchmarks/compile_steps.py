"""torch.compile against eager for the small field7to9 generators: seconds per training step at the default's batch
and patch size (random data), one thread, and the compile time, so that the steps a compiled model needs to win
back its compile time can be set beside the updates a default model trains.

    PYTHONPATH=src python benchmarks/compile_steps.py --methods fcn1 fcn2 unet5 dcsrn_l1 --precisions fp32 bf16

Only the generator is compiled (inductor, the default mode); the discriminator, losses and optimiser stay eager.
"first steps s" is the wall time of the first two steps: for the compiled generator it holds the compilation.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from mrsr.device import Compute, seed_everything
from mrsr.experiments.field7to9.data import method_entry
from mrsr.train.loop import build_trainer, prepare, train_step

REPO = Path(__file__).resolve().parents[1]


def timed_steps(method: dict, compute: Compute, batch: int, patch: int, repeats: int,
                compiled: bool) -> tuple[float, float]:
    """(seconds of the first two steps, median seconds of `repeats` later steps)."""
    seed_everything(0)
    trainer = prepare(build_trainer(method, torch.device("cpu"), patch_size=patch), compute)
    if compiled:
        trainer.generator = torch.compile(trainer.generator)
    x, y = torch.randn(batch, 1, patch, patch), torch.randn(batch, 1, patch, patch)
    began = time.perf_counter()
    for _ in range(2):
        train_step(trainer, x, y, {}, compute)
    first = time.perf_counter() - began
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        train_step(trainer, x, y, {}, compute)
        times.append(time.perf_counter() - began)
    return first, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "config/config.yaml"))
    parser.add_argument("--methods", nargs="*", default=["fcn1", "fcn2", "unet5", "dcsrn_l1"])
    parser.add_argument("--precisions", nargs="*", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = yaml.safe_load(Path(args.config).read_text())["field7to9"]
    rows = []
    for key in args.methods:
        entry = cfg["methods"][key]
        family = cfg["cnn" if entry["trainer"] == "supervised" else "gan"]
        batch = int(entry.get("batch_size", family["batch_size"]))
        budget = int(entry.get("max_updates", family["max_updates"]))
        method = method_entry(entry, cfg)
        for precision in args.precisions:
            compute = Compute(precision, Compute.from_config(cfg, entry).channels_last)
            eager_first, eager = timed_steps(method, compute, batch, int(cfg["patch_size"]), args.repeats, False)
            comp_first, comp = timed_steps(method, compute, batch, int(cfg["patch_size"]), args.repeats, True)
            overhead = comp_first - eager_first
            gain = eager - comp
            rows.append({"method": key, "precision": precision, "batch": batch, "eager s/step": eager,
                         "compiled s/step": comp, "compiled / eager": comp / eager,
                         "compile overhead s": overhead,
                         "break-even steps": overhead / gain if gain > 0 else float("inf"),
                         "default budget": budget})
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, floatfmt=".3f") if args.markdown else table.to_string(index=False))


if __name__ == "__main__":
    main()
