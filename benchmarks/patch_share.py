"""Share of patch extraction + stitching in inference, per network, on one slice.

    python benchmarks/patch_share.py [--shape 96 112] [--repeats 5]

Times `predict_image` with the real network and with an identity function (which leaves only the
patch grid, batching and stitching), and prints the share of the latter.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mrsr.nets import build
from mrsr.patches import predict_image
from mrsr.train import predict_fn

GENERATORS = ["fcn1", "fcn2", "dcsrn", "dcgan1_g", "dcgan2_g", "dcgan3_g", "unet_g"]


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shape", type=int, nargs=2, default=[96, 112])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    img = np.random.default_rng(0).standard_normal(args.shape).astype(np.float32)
    grid = dict(size=64, stride=20, crop=4, batch_size=64)
    bare = best_of(lambda: predict_image(lambda x: x, img, **grid), args.repeats)
    print(f"slice {args.shape}, 64x64 patches, stride 20, crop 4; patch grid + stitching alone: {bare * 1e3:.1f} ms")
    print("| network | slice ms | patches+stitching share |")
    print("|---|---|---|")
    for name in GENERATORS:
        predict = predict_fn(build(name).eval(), torch.device("cpu"), 64)
        total = best_of(lambda: predict_image(predict, img, **grid), args.repeats)
        print(f"| {name} | {total * 1e3:.1f} | {100 * bare / total:.1f}% |")


if __name__ == "__main__":
    main()
