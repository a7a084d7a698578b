"""Seconds per pyramid epoch (3 critic steps with gradient penalty + 3 generator steps with the low-pass loss)
of Cui et al.'s scale trainer, at the default (widths 8/16/32, critic 8) and paper (16/32/64, critic 32) sizes,
for the volume sizes of the default and paper presets. docs/experiments/asl_sr.md ("CPU cost") estimates 1.5-2 s per epoch at 64x64x24 on
2 CPU threads. A loaded machine inflates the numbers: prefer the min.

    .venv/bin/python benchmarks/asl_sr_epoch.py --threads 2 --repeats 3
"""

from __future__ import annotations

import argparse
import time

import torch

from mrsr.train.pyramid import PyramidScaleTrainer

SIZES = {"default": ({"widths": [8, 16, 32]}, {"nfc": 8, "n_body": 3}),
         "paper": ({"widths": [16, 32, 64]}, {"nfc": 32, "n_body": 3})}
VOLUMES = [(12, 12, 12), (24, 24, 12), (64, 64, 24)]  # default LR, default NR, paper NR


def epoch_seconds(widths: dict, critic: dict, shape: tuple[int, ...], repeats: int, device: torch.device) -> list[float]:
    """Seconds of each of `repeats` train_step calls after one warm-up."""
    method = {"generator": "unet3d", "generator_kwargs": {**widths, "in_channels": 2}, "discriminator": "markov3d",
              "discriminator_kwargs": critic, "init": "normal", "lr_g": 5e-4, "lr_d": 5e-4, "lambda_gp": 0.1,
              "lambda_mse": 10.0, "lambda_lowpass": 10.0, "lowpass_sigma": 5.0}
    trainer = PyramidScaleTrainer(method, device, patch_size=shape[-1])
    x, y = torch.randn(1, 2, *shape, device=device), torch.randn(1, 1, *shape, device=device)
    times = []
    for _ in range(1 + repeats):
        began = time.perf_counter()
        trainer.train_step(x, y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - began)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    for name, (widths, critic) in SIZES.items():
        for shape in VOLUMES:
            t = epoch_seconds(widths, critic, shape, args.repeats, device)
            print(f"{name:8s} {'x'.join(map(str, shape)):10s} min {min(t):.3f} s  max {max(t):.3f} s per epoch")


if __name__ == "__main__":
    main()
