"""CPU (or GPU) time to denoise one 128x128 slice with the DeepASL network (paper: about 5 ms on a Titan Xp).

Times the forward pass on one 1x1x128x128 slice (inference mode, eval) after warm-up, in the default
(contiguous) and the channels-last memory layout; prints min and median over repeats, plus the Dilated Conv
baseline for comparison. The machine's other load inflates the numbers: prefer the min on a shared machine.

    .venv/bin/python benchmarks/deepasl_inference.py --threads 1 --repeats 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from mrsr.nets import build, count_params


def time_forward(name: str, size: int, repeats: int, device: torch.device, channels_last: bool) -> list[float]:
    """Seconds per forward pass of one size x size slice, `repeats` times after 5 warm-up passes."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    net = build(name).to(device).eval().to(memory_format=layout)
    x = torch.randn(1, 1, size, size, device=device).to(memory_format=layout)
    times = []
    with torch.inference_mode():
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
        for channels_last in (False, True):
            t = time_forward(name, args.size, args.repeats, device, channels_last)
            layout = "channels_last" if channels_last else "contiguous"
            print(f"{name:13s} {count_params(build(name)):>8,d} params  {layout:13s} min {1e3 * min(t):7.2f} ms  "
                  f"median {1e3 * statistics.median(t):7.2f} ms per slice")


if __name__ == "__main__":
    main()
