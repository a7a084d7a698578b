"""Time one epoch of mrsr.train.fit against a bare PyTorch loop (same model, batches, optimiser, loss).

The mrsr timing includes what the loop does besides the steps: seeding, model construction, the
per-epoch shuffle, loss bookkeeping and the checkpoint + CSV write. The bare loop builds the same
model, uses the same permutation and calls loss.item() once per step, as any loop that logs would.

    PYTHONPATH=src python benchmarks/train_throughput.py --model dcsrn --patch 64 --batch 32 --n 256
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mrsr.device import seed_everything
from mrsr.nets import build
from mrsr.train import TrainData, fit
from mrsr.train.loop import epoch_permutation


def bare_epoch(model_name: str, data: TrainData, batch_size: int, seed: int) -> float:
    """Seconds for a plain Adam + L1 epoch over the batches fit would use."""
    began = time.perf_counter()
    seed_everything(seed)
    model = build(model_name).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    lr, hr = torch.from_numpy(data.lr), torch.from_numpy(data.hr)
    order = epoch_permutation(len(lr), seed, 1)
    total = 0.0
    for start in range(0, len(lr), batch_size):
        idx = order[start:start + batch_size]
        loss = F.l1_loss(model(lr[idx]), hr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item()
    return time.perf_counter() - began


def mrsr_epoch(model_name: str, data: TrainData, batch_size: int, seed: int) -> float:
    """Seconds for fit(..., epochs=1), progress off, no validation, checkpoint included."""
    method = {"trainer": "supervised", "generator": model_name, "losses": {"l1": 1.0}, "lr_g": 1e-3,
              "betas": [0.9, 0.999]}
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        fit(method, data, None, epochs=1, batch_size=batch_size, seed=seed, device="cpu",
            ckpt_dir=Path(tmp) / "ckpt", log_csv=Path(tmp) / "log.csv", progress=False)
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dcsrn")
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--n", type=int, default=256, help="number of training patches")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repetitions; the median is reported")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    lr = rng.normal(size=(args.n, 1, args.patch, args.patch)).astype(np.float32)
    data = TrainData(lr=lr, hr=0.5 * lr)
    bare_epoch(args.model, data, args.batch, 0)  # warm-up: allocator and oneDNN primitive caches
    bare, ours = [], []
    for rep in range(args.repeats):  # interleave so machine-load drift hits both equally
        bare.append(bare_epoch(args.model, data, args.batch, rep))
        ours.append(mrsr_epoch(args.model, data, args.batch, rep))
    b, m = statistics.median(bare), statistics.median(ours)
    print(f"model={args.model} patch={args.patch} batch={args.batch} n={args.n} threads={args.threads} "
          f"repeats={args.repeats}")
    print(f"bare PyTorch loop: {b:.3f} s/epoch (all: {', '.join(f'{t:.3f}' for t in bare)})")
    print(f"mrsr fit loop:     {m:.3f} s/epoch (all: {', '.join(f'{t:.3f}' for t in ours)})")
    print(f"ratio mrsr/bare:   {m / b:.3f}")


if __name__ == "__main__":
    main()
