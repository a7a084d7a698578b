"""The toy's data: piecewise-constant 1-D signals in [0, 1] and their copies with Gaussian noise."""

from __future__ import annotations

import numpy as np


def step_signals(n: int, length: int, steps: int, noise_sd: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy), each (n, length): `steps` constant segments of random level per signal, noise of s.d.
    noise_sd added to the noisy copy."""
    rng = np.random.default_rng(seed)
    edges = np.linspace(0, length, steps + 1).astype(int)
    clean = np.zeros((n, length))
    for i in range(n):
        for lo, hi, level in zip(edges[:-1], edges[1:], rng.uniform(0.0, 1.0, steps)):
            clean[i, lo:hi] = level
    return clean, clean + rng.normal(0.0, noise_sd, clean.shape)
