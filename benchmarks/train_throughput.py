"""Time one epoch of mrsr.train.fit against a bare PyTorch loop (same model, batches, optimiser, loss).

The mrsr timing includes what the loop does besides the steps: seeding, model construction, the
per-epoch shuffle, loss bookkeeping and the checkpoint + CSV write. The bare loop builds the same
model(s), uses the same permutation and calls .item() on its losses once per step, as any loop that
logs would.

Two trainers: `supervised` (Adam + L1 on --model) and `wgan_gp` (GAN-CPCE as in config.yaml: the cpce
generator, the cpce critic, n_critic 4 critic steps with a gradient penalty per generator step, the
VGG-19 perceptual term; the bare loop writes the penalty out by hand).

    PYTHONPATH=src python benchmarks/train_throughput.py --model dcsrn --patch 64 --batch 32 --n 256
    PYTHONPATH=src python benchmarks/train_throughput.py --trainer wgan_gp --patch 64 --batch 16 --n 64

With --updates the supervised comparison runs as the default preset trains: a budget of optimiser updates with
a validation MSE every --check-every updates on --val held-out patches. The bare loop does the same updates and
the same validation passes; the mrsr loop adds the plateau rule, the per-check CSV log and checkpoint.

    PYTHONPATH=src python benchmarks/train_throughput.py --model fcn1 --patch 64 --batch 8 --n 384 --updates 100 \
        --check-every 25 --val 24 --threads 1
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
from mrsr.losses import VGG19Perceptual
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


# GAN-CPCE's method entry of config/config.yaml (ixi_sr.methods.cpce) without its label and batch size.
CPCE = {"trainer": "wgan_gp", "generator": "cpce", "discriminator": "cpce_critic", "lr_g": 1e-4, "lr_d": 1e-4,
        "betas": [0.9, 0.999], "n_critic": 4, "gp_weight": 10.0, "lambda_p": 0.1}


def bare_wgan_epoch(data: TrainData, batch_size: int, seed: int) -> float:
    """Seconds for a plain WGAN-GP epoch: per batch n_critic critic steps on that batch, then a generator step."""
    began = time.perf_counter()
    seed_everything(seed)
    gen = build(CPCE["generator"]).train()
    critic = build(CPCE["discriminator"], in_channels=1, patch_size=data.lr.shape[-1]).train()
    vgg = VGG19Perceptual(None, seed=0)
    opt_g = torch.optim.Adam(gen.parameters(), lr=CPCE["lr_g"], betas=tuple(CPCE["betas"]))
    opt_d = torch.optim.Adam(critic.parameters(), lr=CPCE["lr_d"], betas=tuple(CPCE["betas"]))
    lr, hr = torch.from_numpy(data.lr), torch.from_numpy(data.hr)
    order = epoch_permutation(len(lr), seed, 1)
    for start in range(0, len(lr), batch_size):
        idx = order[start:start + batch_size]
        x, y = lr[idx], hr[idx]
        for p in critic.parameters():
            p.requires_grad_(True)
        with torch.no_grad():
            fake = gen(x)
        for _ in range(CPCE["n_critic"]):
            a = torch.rand(len(y), 1, 1, 1)
            mix = (a * y + (1 - a) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
            penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            d_loss = critic(fake).mean() - critic(y).mean() + CPCE["gp_weight"] * penalty
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        for p in critic.parameters():
            p.requires_grad_(False)
        out = gen(x)
        adversarial, perceptual = -critic(out).mean(), vgg(out, y)
        g_loss = adversarial + CPCE["lambda_p"] * perceptual
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for value in (g_loss, adversarial, perceptual, d_loss, penalty):
            value.item()
    return time.perf_counter() - began


def bare_updates(model_name: str, data: TrainData, val: TrainData, batch_size: int, updates: int,
                 check_every: int, seed: int) -> float:
    """Seconds for `updates` plain Adam + L1 steps with a validation MSE pass every check_every steps."""
    began = time.perf_counter()
    seed_everything(seed)
    model = build(model_name).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    lr, hr = torch.from_numpy(data.lr), torch.from_numpy(data.hr)
    val_lr, val_hr = torch.from_numpy(val.lr), torch.from_numpy(val.hr)
    n_batches = len(lr) // batch_size
    order = epoch_permutation(len(lr), seed, 1)
    for update in range(updates):
        if update and update % n_batches == 0:
            order = epoch_permutation(len(lr), seed, update // n_batches + 1)
        idx = order[(update % n_batches) * batch_size:(update % n_batches + 1) * batch_size]
        loss = F.l1_loss(model(lr[idx]), hr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
        if (update + 1) % check_every == 0:
            model.eval()
            with torch.no_grad():
                sum(F.mse_loss(model(val_lr[i:i + batch_size]), val_hr[i:i + batch_size], reduction="sum").item()
                    for i in range(0, len(val_lr), batch_size))
            model.train()
    return time.perf_counter() - began


def mrsr_updates(model_name: str, data: TrainData, val: TrainData, batch_size: int, updates: int,
                 check_every: int, seed: int) -> float:
    """Seconds for fit(..., max_updates=updates) with validation every check_every updates (no early stop)."""
    method = {"trainer": "supervised", "generator": model_name, "losses": {"l1": 1.0}, "lr_g": 1e-3,
              "betas": [0.9, 0.999]}
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        fit(method, data, val, max_updates=updates, batch_size=batch_size, seed=seed, device="cpu",
            stopping={"check_every": check_every, "stop": False}, ckpt_dir=Path(tmp) / "ckpt",
            log_csv=Path(tmp) / "log.csv", progress=False)
        return time.perf_counter() - began


def mrsr_epoch(model_name: str, data: TrainData, batch_size: int, seed: int, trainer: str = "supervised") -> float:
    """Seconds for fit(..., epochs=1), progress off, no validation, checkpoint included."""
    method = CPCE if trainer == "wgan_gp" else {"trainer": "supervised", "generator": model_name,
                                                 "losses": {"l1": 1.0}, "lr_g": 1e-3, "betas": [0.9, 0.999]}
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        fit(method, data, None, epochs=1, batch_size=batch_size, seed=seed, device="cpu",
            ckpt_dir=Path(tmp) / "ckpt", log_csv=Path(tmp) / "log.csv", progress=False)
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trainer", choices=["supervised", "wgan_gp"], default="supervised")
    parser.add_argument("--model", default="dcsrn", help="generator of the supervised trainer")
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--n", type=int, default=256, help="number of training patches")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repetitions; the median is reported")
    parser.add_argument("--updates", type=int, help="supervised only: time this many updates instead of an epoch")
    parser.add_argument("--check-every", type=int, default=25, help="with --updates: updates between validations")
    parser.add_argument("--val", type=int, default=24, help="with --updates: validation patches")
    args = parser.parse_args()
    if args.updates is not None and args.trainer != "supervised":
        parser.error("--updates times the supervised trainer only")

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    lr = rng.normal(size=(args.n, 1, args.patch, args.patch)).astype(np.float32)
    data = TrainData(lr=lr, hr=0.5 * lr)
    if args.trainer == "wgan_gp":  # images in [0, 1], as the perceptual term expects
        lr = rng.uniform(size=lr.shape).astype(np.float32)
        data = TrainData(lr=lr, hr=np.clip(lr + 0.05 * rng.normal(size=lr.shape), 0, 1).astype(np.float32))

    vl = rng.normal(size=(args.val, *data.lr.shape[1:])).astype(np.float32)
    val = TrainData(lr=vl, hr=0.5 * vl)

    def bare_run(seed: int) -> float:
        if args.updates is not None:
            return bare_updates(args.model, data, val, args.batch, args.updates, args.check_every, seed)
        if args.trainer == "wgan_gp":
            return bare_wgan_epoch(data, args.batch, seed)
        return bare_epoch(args.model, data, args.batch, seed)

    bare_run(0)  # warm-up: allocator and oneDNN primitive caches
    bare, ours = [], []
    for rep in range(args.repeats):  # interleave so machine-load drift hits both equally
        bare.append(bare_run(rep))
        ours.append(mrsr_updates(args.model, data, val, args.batch, args.updates, args.check_every, rep)
                    if args.updates is not None else mrsr_epoch(args.model, data, args.batch, rep, args.trainer))
    b, m = statistics.median(bare), statistics.median(ours)
    model = "cpce + cpce_critic + VGG-19" if args.trainer == "wgan_gp" else args.model
    unit = f"s/{args.updates} updates" if args.updates is not None else "s/epoch"
    print(f"trainer={args.trainer} model={model} patch={args.patch} "
          f"batch={args.batch} n={args.n} threads={args.threads} repeats={args.repeats}"
          + (f" updates={args.updates} check_every={args.check_every} val={args.val}" if args.updates else ""))
    print(f"bare PyTorch loop: {b:.3f} {unit} (all: {', '.join(f'{t:.3f}' for t in bare)})")
    print(f"mrsr fit loop:     {m:.3f} {unit} (all: {', '.join(f'{t:.3f}' for t in ours)})")
    print(f"ratio mrsr/bare:   {m / b:.3f}")


if __name__ == "__main__":
    main()
