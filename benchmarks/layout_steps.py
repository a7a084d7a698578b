"""Seconds per training step of every field7to9 method in each precision and memory layout, at the default's batch
and patch size (random data; the step's cost does not depend on the values), one thread.

    PYTHONPATH=src python benchmarks/layout_steps.py --repeats 5 --markdown

The table behind `field7to9.compute` and the methods' own `compute` overrides in config/config.yaml: pick, per
method, the layout whose bf16 step is fastest on the machine the default runs on.
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


def step_seconds(method: dict, compute: Compute, batch: int, patch: int, repeats: int) -> float:
    """Median seconds of one train_step over `repeats` timed steps, after two warm-up steps."""
    seed_everything(0)
    trainer = prepare(build_trainer(method, torch.device("cpu"), patch_size=patch), compute)
    x, y = torch.randn(batch, 1, patch, patch), torch.randn(batch, 1, patch, patch)
    for _ in range(2):
        train_step(trainer, x, y, {}, compute)
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        train_step(trainer, x, y, {}, compute)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "config/config.yaml"))
    parser.add_argument("--methods", nargs="*", help="method keys (default: every field7to9 method)")
    parser.add_argument("--precisions", nargs="*", default=["bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = yaml.safe_load(Path(args.config).read_text())["field7to9"]
    rows = []
    for key in args.methods or list(cfg["methods"]):
        entry = cfg["methods"][key]
        family = cfg["cnn" if entry["trainer"] == "supervised" else "gan"]
        batch = int(entry.get("batch_size", family["batch_size"]))
        method = method_entry(entry, cfg)
        for precision in args.precisions:
            row = {"method": key, "precision": precision, "batch": batch}
            for layout, channels_last in (("contiguous", False), ("channels-last", True)):
                row[f"{layout} s"] = step_seconds(method, Compute(precision, channels_last), batch,
                                                  int(cfg["patch_size"]), args.repeats)
            row["channels-last / contiguous"] = row["channels-last s"] / row["contiguous s"]
            row["config layout"] = "channels-last" if Compute.from_config(cfg, entry).channels_last else "contiguous"
            rows.append(row)
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, floatfmt=".3f") if args.markdown else table.to_string(index=False))


if __name__ == "__main__":
    main()
