"""Paired comparisons with a margin: "A beats B" over paired items (test slices or subjects). The one place
where a "beats" is tested: the scorecard's claims and the footers' beats-the-reference lines use it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05  # one-sided significance level of every "beats"
MIN_PAIRS = 3  # fewer paired items: no test, no evidence


def paired_p(a: Sequence[float], b: Sequence[float], higher_is_better: bool) -> tuple[float | None, str]:
    """One-sided paired t-test p that A is better than B over items (a[i], b[i] scored on the same item; non-finite
    pairs dropped), with a short description; p None (and why) when no test can be made: fewer than MIN_PAIRS
    pairs, or paired differences without variance (identical outputs)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired test: {x.shape} values against {y.shape}; pairs must match item by item")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < MIN_PAIRS:
        return None, f"not significant: {x.size} paired items (need {MIN_PAIRS})"
    diff = x - y
    if np.ptp(diff) <= 1e-12 * max(1.0, float(np.abs(diff).max())):
        return None, f"not significant: the {x.size} paired differences have no variance"
    p = float(stats.ttest_rel(x, y, alternative="greater" if higher_is_better else "less").pvalue)
    return p, f"p = {p:.3g}, n = {x.size}"


def paired_better(a: Sequence[float], b: Sequence[float], higher_is_better: bool,
                  alpha: float = ALPHA) -> tuple[bool, float]:
    """(A is better than B, p) by paired_p at level alpha; (False, nan) when no test can be made."""
    p, _ = paired_p(a, b, higher_is_better)
    return (False, math.nan) if p is None else (p < alpha, p)
