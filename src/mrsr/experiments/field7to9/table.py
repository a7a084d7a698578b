"""Tables 2 and 3 of Ravikumar et al.: ours beside the published values and the input row, brain columns, and
their footer lines; what the tables say about training: per-slice values (items, for
mrsr.learned.beats_reference and the claims) and the size of the test set.

One table per training seed (that seed's metrics, the same input row), combined into the mean over seeds with a
'seed sd' column per value when there are several (mrsr.tables.over_seeds); orderings and the input-row check read
the seed means."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mrsr.experiments.field7to9.data import INPUT_KEY, INPUT_LABEL
from mrsr.footer import paper_budgets, reference_lines, training_line
from mrsr.learned import beats_reference, row_status
from mrsr.nets import build, count_params
from mrsr.tables import (DEFAULT_METRICS, DISPLAY, SeedTables, aggregate, build_table, ordering_summary, paper_source,
                         seed_of, seeds_lines, with_reference)

BRAIN_COLUMNS = {"psnr_brain": "PSNR (brain)", "ssim_brain": "SSIM (brain)"}  # metric key -> table column
MAIN_BRAIN = "psnr_brain"  # the tables' main metric (PSNR), inside the brain: decides "beats the input row"
ITEM_KEYS = ("subject", "axis", "slice")
METRICS = ("psnr", "mse", "ssim", "psnr_brain", "mse_brain", "ssim_brain")
SCORED = ("psnr", "mse", "ssim", *BRAIN_COLUMNS)  # the aggregated columns of a table
TITLES = {"table2": "Table 2: CNN models (7T to 9.4T)", "table3": "Table 3: GAN models (7T to 9.4T)"}


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


def generator_params(paper: Mapping[str, Mapping], cfg: Mapping) -> dict[str, int]:
    """#params of the generator of each of the table's methods (the paper's rows)."""
    methods = {key: cfg["methods"][key] for key in paper}
    return {key: count_params(build(m["generator"], **m.get("generator_kwargs", {}))) for key, m in methods.items()}


def seed_table(paths: Sequence[str], reference: pd.DataFrame, paper: Mapping[str, Mapping],
               params: Mapping[str, int], labels: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One seed's table (paper methods and the input row `reference`, brain columns last) and the aggregate of its
    files."""
    frames = [pd.read_csv(p, sep="\t") for p in paths]
    ours = aggregate(pd.concat([*frames, reference], ignore_index=True), columns=SCORED)
    frame = with_reference(build_table(ours, paper, params=params, labels=labels), ours, key=INPUT_KEY,
                           label=INPUT_LABEL)
    for metric, name in BRAIN_COLUMNS.items():
        frame[name] = ours.loc[frame.index, f"{metric}_mean"].astype(float).to_numpy()
    return frame, ours


def input_tests(items: pd.DataFrame, records: Mapping[str, list]) -> tuple[dict[str, dict], dict[str, dict]]:
    """Every trained row against the input row on MAIN_BRAIN (one-sided paired t-test over the test slices; items:
    items_frame), and its scorecard status (learned, plateau)."""
    tests = {m: beats_reference(items, m, INPUT_KEY, MAIN_BRAIN) for m in records}
    status = {m: row_status(tests[m]["beats"], runs) for m, runs in records.items()}
    return tests, status


def footer_lines(table: str, seeds: SeedTables, paper: Mapping[str, Mapping], records: Mapping[str, list],
                 tests: Mapping[str, dict], status: Mapping[str, dict], reference: pd.DataFrame) -> list[str]:
    """The table's footer lines: paper source, orderings, the input-row check, a training line per trained row
    (updates vs the paper's, plateau, beats the input row inside the brain by a paired test over the test slices),
    the test set's size, the seed lines."""
    frame, values = seeds.table, seeds.values
    budgets = paper_budgets("field7to9")
    extra = [f"Paper values: {paper_source('field7to9', table)}."]
    extra += [f"Orderings: {line}" for line in ordering_summary(paper, values)]
    extra += reference_lines({k: values[k] for k in [INPUT_KEY, *paper]}, INPUT_KEY, INPUT_LABEL, DEFAULT_METRICS,
                             labels={k: frame.loc[k, "Method"] for k in paper}, names=DISPLAY)
    for key in paper:
        line = training_line(frame.loc[key, "Method"], records[key], budgets.get(key), status[key]["learned"],
                             INPUT_LABEL)
        beat = tests[key]
        extra.append(f"{line[:-1]} inside the brain ({BRAIN_COLUMNS[MAIN_BRAIN]}, one-sided paired t-test over "
                     f"{beat['n']} test slices, p = {beat['p']:.3g}).")
    extra.append(held_out_summary(reference))
    extra += seeds_lines(paper, seeds.per_seed)
    return extra
