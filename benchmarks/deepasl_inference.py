"""CPU (or GPU) time to denoise one 128x128 slice with the DeepASL network (paper: about 5 ms on a Titan Xp).

Times the forward pass on one 1x1x128x128 slice (inference mode, eval) after warm-up, in fp32 and bf16 autocast,
each in the default (contiguous) and the channels-last memory layout (mrsr.device.Compute, as `deepasl.compute`
sets them for the evaluation rule); prints min and median over repeats, plus the Dilated Conv baseline. The machine's other load inflates the numbers: prefer the min on a shared machine.

    .venv/bin/python benchmarks/deepasl_inference.py --threads 1 --repeats 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from mrsr.device import Compute
from mrsr.nets import build, count_params


def time_forward(name: str, size: int, repeats: int, device: torch.device, compute: Compute) -> list[float]:
    """Seconds per forward pass of one size x size slice, `repeats` times after 5 warm-up passes."""
    net = compute.module(build(name).to(device).eval())
    x = compute.tensor(torch.randn(1, 1, size, size, device=device))
    times = []
    with torch.inference_mode(), compute.autocast(device):
        for i in range(5 + repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            began = time.perf_counter()
            net(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 5:
                times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device {device}, {torch.get_num_threads()} thread(s), torch {torch.__version__}, "
          f"{args.size}x{args.size} slice, {args.repeats} repeats")
    for name in ("deepasl", "dilated_conv"):
        for compute in (Compute(p, cl) for p in ("fp32", "bf16") for cl in (False, True)):
            t = time_forward(name, args.size, args.repeats, device, compute)
            layout = f"{compute.precision} {'channels_last' if compute.channels_last else 'contiguous'}"
            print(f"{name:13s} {count_params(build(name)):>8,d} params  {layout:18s} min {1e3 * min(t):7.2f} ms  "
                  f"median {1e3 * statistics.median(t):7.2f} ms per slice")


if __name__ == "__main__":
    main()
