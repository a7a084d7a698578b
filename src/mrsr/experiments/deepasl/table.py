"""Table 1 of Ulas et al. from per-(subject, noise level) metrics: one table per training seed, combined over seeds.

A training seed's table is built from that seed's metrics; the no-model row (Averaging) is computed once and
shared by every seed. The combined table holds the seed means (and 'seed sd' columns with several seeds).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from mrsr.experiments.deepasl.evaluate import BRAIN, METRICS
from mrsr.tables import aggregate, build_table, combine_seeds, load_paper_values, seed_of

KEYS = [k for k, _ in METRICS]
BRAIN_KEYS = [k for k, _ in BRAIN]
BRAIN_NAMES = {"psnr_brain": "PSNR (brain)", "ssim_brain": "SSIM (brain)"}  # columns beside the paper's scoring
NAMES = {"synthetic": "Syn", "real": "Real"}  # column prefix of each dataset
ROW_KEY = ["dataset", "method", "subject", "level"]  # one metrics row


def metrics_by_seed(frames: Mapping[str, pd.DataFrame], seeds: Sequence[int],
                    no_model: Collection[str]) -> dict[int, pd.DataFrame]:
    """Every training seed's metrics, {seed: rows in input order}, from {metrics file path: its rows}.

    A network's file lies under seed-<n>/ and belongs to that seed; a no-model method's file (its method in
    `no_model`, computed once) belongs to every seed. ValueError if a seed has no network's file or an unknown seed has one.
    """
    per_seed: dict[int, list[pd.DataFrame]] = {seed: [] for seed in seeds}
    trained = set()  # seeds with a network's file
    for path, rows in frames.items():
        shared = not rows.empty and set(rows["method"]) <= set(no_model)
        owners = list(seeds) if shared else [seed_of(path)]
        for seed in owners:
            if seed not in per_seed:
                raise ValueError(f"{path}: training seed {seed} is not one of the run's seeds {list(seeds)}")
            per_seed[seed].append(rows)
        trained |= set() if shared else set(owners)
    missing = [seed for seed in seeds if (trained and seed not in trained) or not per_seed[seed]]
    if missing:
        raise ValueError(f"no network's metrics file of training seed(s) {missing}")
    return {seed: pd.concat(parts, ignore_index=True) for seed, parts in sorted(per_seed.items())}


def seed_average(per_seed: Mapping[int, pd.DataFrame], keys: Sequence[str] = KEYS) -> pd.DataFrame:
    """Each (dataset, method, subject, level) row's metrics averaged over the seeds, in the first seed's row order.

    ValueError if the seeds do not have the same rows."""
    seeds = sorted(per_seed)
    first = per_seed[seeds[0]].reset_index(drop=True)
    for seed in seeds[1:]:
        rows = per_seed[seed][ROW_KEY].reset_index(drop=True)
        if not rows.equals(first[ROW_KEY]):
            raise ValueError(f"metrics of training seed {seed} cover other (dataset, method, subject, level) rows "
                             f"than those of seed {seeds[0]}")
    out = first.copy()
    if len(seeds) > 1:
        out[list(keys)] = np.stack([per_seed[s][list(keys)].to_numpy(float) for s in seeds]).mean(axis=0)
    return out


def dataset_part(ours: pd.DataFrame, dataset: str, params: Mapping[str, int],
                 keys: Sequence[str] = KEYS, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One dataset's columns of Table 1: ours (mean and std) beside the paper's, Δ, #params; prefixed 'Syn'/'Real'.
    Rows: the paper's, then our methods the paper lacks (labelled by `labels`; paper columns empty)."""
    paper = load_paper_values("deepasl", f"table1_{dataset}")
    labels = labels or {}
    paper = {**paper, **{k: {"label": labels.get(k, k)} for k in ours.index if k not in paper}}
    frame = build_table(ours, paper, params=params, metrics=keys).drop(columns=["#params (paper)"])
    for key in keys:  # the paper reports mean(std): keep our std beside our mean
        name = key.upper()
        frame.insert(frame.columns.get_loc(name) + 1, f"{name} std", ours.loc[frame.index, f"{key}_std"])
        frame.insert(frame.columns.get_loc(f"{name} (paper)") + 1, f"{name} std (paper)",
                     [paper[k].get(f"{key}_std") for k in frame.index])
    for key in BRAIN_KEYS:  # brain-masked columns (ours only: the paper has none)
        if f"{key}_mean" in ours.columns:
            frame[BRAIN_NAMES[key]] = ours.loc[frame.index, f"{key}_mean"].to_numpy()
            frame[f"{BRAIN_NAMES[key]} std"] = ours.loc[frame.index, f"{key}_std"].to_numpy()
    prefix = NAMES[dataset]
    return frame.rename(columns={c: f"Δ{prefix} {c.removeprefix('Δ')}" if c.startswith("Δ") else f"{prefix} {c}"
                                 for c in frame.columns if c not in ("Method", "#params")})


def seed_table(metrics: pd.DataFrame, datasets: Sequence[str], params: Mapping[str, int],
               keys: Sequence[str] = KEYS, labels: Mapping[str, str] | None = None
               ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Table 1 of one training seed's metrics, and each dataset's aggregate (mrsr.tables.aggregate) it came from.
    A method on some sets only (deepasl.methods.<key>.datasets) has empty cells in the others' columns."""
    columns = [*keys, *(k for k in BRAIN_KEYS if k in metrics.columns)]
    ours = {d: aggregate(metrics[metrics["dataset"] == d], columns=columns) for d in datasets}
    parts = [dataset_part(ours[d], d, params, keys, labels) for d in datasets]
    table = parts[0]
    for extra in parts[1:]:
        new = [k for k in extra.index if k not in table.index]  # rows of methods on this set only
        if new:
            table = pd.concat([table, extra.loc[new, ["Method", "#params"]]])
        table = table.join(extra.drop(columns=["Method", "#params"]))
    return table[["Method", *[c for c in table.columns if c not in ("Method", "#params")], "#params"]], ours


def our_columns(datasets: Sequence[str], keys: Sequence[str] = KEYS) -> tuple[list[str], list[str]]:
    """Columns of Table 1 holding our values: (each metric and its Δ, each metric's std over subjects x levels)."""
    names = [f"{NAMES[d]} {k.upper()}" for d in datasets for k in keys]
    brain = [f"{NAMES[d]} {BRAIN_NAMES[k]}" for d in datasets for k in BRAIN_KEYS]
    return ([c for n in names for c in (n, f"Δ{n}")] + brain,
            [f"{n} std" for n in names] + [f"{n} std" for n in brain])


def combine_tables(tables: Mapping[int, pd.DataFrame], datasets: Sequence[str],
                   keys: Sequence[str] = KEYS) -> pd.DataFrame:
    """The seeds' Table 1 in one: metrics, Δ and std columns averaged over the seeds; with several seeds a
    'seed sd' column after each metric (mrsr.tables.combine_seeds)."""
    present = set(next(iter(tables.values())).columns)  # the brain columns exist when the metrics hold them
    values, stds = ([c for c in found if c in present] for found in our_columns(datasets, keys))
    return combine_seeds(tables, values + stds)


def seed_means(ours: Mapping[int, pd.DataFrame], keys: Sequence[str] = KEYS) -> pd.DataFrame:
    """The '<metric>_mean' columns of per-seed aggregates averaged over the seeds (as in the combined table)."""
    columns = [f"{k}_mean" for k in keys]
    return combine_seeds({seed: frame[columns] for seed, frame in ours.items()}, columns)[columns]
