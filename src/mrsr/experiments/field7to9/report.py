"""What the tables say about training: per-slice values (items), whether each trained method beats the no-model
input row inside the brain (paired over test slices), its plateau, and the size of the test set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mrsr.stats import paired_better
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


def beats_reference(items: pd.DataFrame, method: str, reference: str, metric: str = MAIN_BRAIN,
                    higher_is_better: bool = True) -> dict[str, Any]:
    """{'beats', 'p', 'n'}: the method's per-slice metric (mean over seeds) against the reference's, one-sided
    paired t-test over the test slices (mrsr.stats.paired_better)."""
    mean = items.groupby(["method", "item"])[metric].mean()
    ours, ref = mean.loc[method], mean.loc[reference]
    common = ours.index.intersection(ref.index)
    if len(common) != len(ref):
        raise ValueError(f"{method}: scored on {len(ours)} test slices, the reference on {len(ref)}; "
                         "they must be the same slices")
    beats, p = paired_better(ours.loc[common].to_numpy(), ref.loc[common].to_numpy(), higher_is_better)
    return {"beats": bool(beats), "p": float(p), "n": int(len(common))}


def plateau_of(records: Sequence[Mapping[str, Any]]) -> bool | None:
    """Plateau reached in every seed's training record (None when any run was not validated)."""
    reached = [r.get("plateau_reached") for r in records]
    return None if not reached or any(v is None for v in reached) else all(reached)


def learned_status(items: pd.DataFrame, records: Mapping[str, Sequence[Mapping[str, Any]]], reference: str
                   ) -> tuple[dict[str, dict[str, bool | None]], dict[str, dict[str, Any]]]:
    """({method: {'learned', 'plateau'}}, {method: beats_reference(...)}) for every trained method in records:
    learned = beats the reference inside the brain on the main metric (paired test over test slices)."""
    status, tests = {}, {}
    for method, runs in records.items():
        tests[method] = beats_reference(items, method, reference)
        status[method] = {"learned": tests[method]["beats"], "plateau": plateau_of(runs)}
    return status, tests


def held_out_summary(reference: pd.DataFrame) -> str:
    """Footer line on the size of the test set: subjects and slices."""
    subjects = reference["subject"].nunique()
    per = reference.groupby("subject").size()
    slices = ", ".join(f"{s}: {n}" for s, n in per.items())
    noun = "subject" if subjects == 1 else "subjects"
    return (f"Test set: {subjects} {noun} ({slices} slices), so every paired test and mean rests on "
            f"{int(per.sum())} slices{' of one subject' if subjects == 1 else ''}.")
