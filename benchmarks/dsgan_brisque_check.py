"""BRISQUE (LIVE model) in numpy (mrsr.metrics) vs the brisque package's own scoring (libsvm), and timing.

    python benchmarks/dsgan_brisque_check.py

Needs, for the comparison only, OpenCV (`pip install opencv-python-headless`; the brisque package imports it)
and libsvm-official (a dependency of brisque). Prints our score, the package's, and the difference for the
camera image clean, blurred and noisy (beside the package's own libsvm prediction; docs/experiments/dsgan.md, "BRISQUE"), plus seconds per 512x512 image.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import ndimage
from skimage import data

from mrsr.metrics import brisque, brisque_features, load_brisque_model


def main() -> None:
    img = data.camera() / 255.0
    rng = np.random.default_rng(0)
    cases = {"clean": img, "blur sigma 2": ndimage.gaussian_filter(img, 2.0), "blur sigma 4": ndimage.gaussian_filter(img, 4.0),
             "noise 0.05": np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1),
             "noise 0.15": np.clip(img + rng.normal(0, 0.15, img.shape), 0, 1)}
    model = load_brisque_model()
    try:
        from brisque import BRISQUE
        package = BRISQUE()
    except ImportError as err:
        package = None
        print(f"(no comparison: {err.__class__.__name__}: the brisque package needs OpenCV)")
    for name, im in cases.items():
        ours = brisque(im, model)
        theirs = package.score(np.stack([im] * 3, -1)) if package else float("nan")
        print(f"{name:14s} ours {ours:9.3f}  package {theirs:9.3f}  diff {ours - theirs:+.3f}")
    began = time.perf_counter()
    for _ in range(3):
        brisque_features(img)
    print(f"features: {(time.perf_counter() - began) / 3:.3f} s per 512x512 image")


if __name__ == "__main__":
    main()
