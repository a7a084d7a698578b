"""What the tables say about training: per-slice values (items, for mrsr.learned.beats_reference and the claims)
and the size of the test set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mrsr.tables import seed_of

BRAIN_COLUMNS = {"psnr_brain": "PSNR (brain)", "ssim_brain": "SSIM (brain)"}  # metric key -> table column
MAIN_BRAIN = "psnr_brain"  # the tables' main metric (PSNR), inside the brain: decides "beats the input row"
ITEM_KEYS = ("subject", "axis", "slice")
METRICS = ("psnr", "mse", "ssim", "psnr_brain", "mse_brain", "ssim_brain")


def _with_item(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-slice metrics with an 'item' column naming the test slice: subject/axis/slice."""
    item = frame[list(ITEM_KEYS)].astype(str).agg("/".join, axis=1)
    return frame.assign(item=item)[["method", "item", *METRICS]]


def items_frame(metric_paths: Mapping[int, Sequence[str]], reference: pd.DataFrame) -> pd.DataFrame:
    """Long per-slice table (method, item, seed, metrics) of every method and training seed; the reference row
    (scored once) is repeated for every seed so that each seed's rows pair with it item by item."""
    parts = []
    for seed, paths in metric_paths.items():
        for path in paths:
            if seed_of(path) != seed:
                raise ValueError(f"{path}: not a seed-{seed} metrics file")
            parts.append(_with_item(pd.read_csv(path, sep="\t")).assign(seed=seed))
        parts.append(_with_item(reference).assign(seed=seed))
    return pd.concat(parts, ignore_index=True)[["method", "item", "seed", *METRICS]]


def held_out_summary(reference: pd.DataFrame) -> str:
    """Footer line on the size of the test set: subjects and slices."""
    subjects = reference["subject"].nunique()
    per = reference.groupby("subject").size()
    slices = ", ".join(f"{s}: {n}" for s, n in per.items())
    noun = "subject" if subjects == 1 else "subjects"
    return (f"Test set: {subjects} {noun} ({slices} slices), so every paired test and mean rests on "
            f"{int(per.sum())} slices{' of one subject' if subjects == 1 else ''}.")
