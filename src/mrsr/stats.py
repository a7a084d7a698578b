"""Paired comparisons with a margin: "A beats B" over paired items (test slices or subjects)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05  # one-sided significance level of every "beats"


def paired_better(a: Sequence[float], b: Sequence[float], higher_is_better: bool,
                  alpha: float = ALPHA) -> tuple[bool, float]:
    """(A is better than B, p): one-sided paired t-test over items (a[i] and b[i] scored on the same item).

    Fewer than 3 finite pairs give (False, nan): no evidence either way. Differences that are all the same (no
    spread, e.g. identical images) decide by their sign alone, p 0 (a consistent shift) or 1 (none or the wrong way)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired_better: {x.shape} values against {y.shape}; pairs must match item by item")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3:
        return False, math.nan
    diff = (x - y) if higher_is_better else (y - x)
    if np.ptp(diff) <= 1e-12 * max(1.0, float(np.abs(diff).max())):
        return (True, 0.0) if diff.mean() > 0 else (False, 1.0)
    p = float(stats.ttest_rel(x, y, alternative="greater" if higher_is_better else "less").pvalue)
    return p < alpha, p
