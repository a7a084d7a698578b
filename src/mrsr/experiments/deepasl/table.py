"""Table 1 of Ulas et al. from per-(subject, noise level) metrics: one table per training seed, combined over seeds;
its footer lines (orderings, reference lines, training lines, paired tests) and what the claims score.

A training seed's table is built from that seed's metrics; the no-model row (Averaging) is computed once and
shared by every seed. The combined table holds the seed means (and 'seed sd' columns with several seeds);
orderings, reference lines, paired tests and claims read the seed means (tests and claims: per-row values averaged
over seeds).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from mrsr.experiments.deepasl.evaluate import BRAIN, MAIN, METRICS, paired_tests, with_items
from mrsr.footer import reference_lines as footer_reference_lines
from mrsr.footer import paper_budgets, training_line
from mrsr.learned import beats_reference, row_status
from mrsr.nets import build, count_params
from mrsr.scorecard import joint_status
from mrsr.tables import (aggregate, build_table, combine_seeds, load_paper_values, ordering_summary, ours_values,
                         paper_source, seed_of, seeds_lines)

KEYS = [k for k, _ in METRICS]
BRAIN_KEYS = [k for k, _ in BRAIN]
BRAIN_NAMES = {"psnr_brain": "PSNR (brain)", "ssim_brain": "SSIM (brain)"}  # columns beside the paper's scoring
NAMES = {"synthetic": "Syn", "real": "Real"}  # column prefix of each dataset
ROW_KEY = ["dataset", "method", "subject", "level"]  # one metrics row
TITLE = ("Table 1: DeepASL denoising (PSNR of dM, RMSE and Lin's CCC of CBF, inside the brain; PSNR/SSIM (brain) of "
         "dM)")
CBF_REFERENCES = {"ground_truth": "the noise-free CBF the set was simulated from (the reference code's choice)",
                  "complete": "the CBF of the complete image (the paper's)"}
NET_NAMES = {"deepasl": "DeepASL (the PR-λ rows)", "dilated_conv": "Dilated Conv"}  # the #params line's names


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


def claim_tables(metrics: pd.DataFrame, tests: Sequence[Mapping[str, object]],
                 spec: Sequence[tuple[str, bool]] = METRICS) -> dict[str, pd.DataFrame]:
    """What mrsr.scorecard scores: table1_<set> (method key -> mean of each metric) and tests_<set> (metric ->
    p_ttest, p_wilcoxon and p_max, the larger of the two) for every dataset in `metrics` / `tests`."""
    keys = [k for k, _ in spec]
    tables = {f"table1_{d}": part.groupby("method", sort=False)[keys].mean()
              for d, part in metrics.groupby("dataset", sort=False)}
    frame = pd.DataFrame(list(tests))
    for dataset, part in (frame.groupby("dataset", sort=False) if len(frame) else []):
        part = part.set_index("metric")[["p_ttest", "p_wilcoxon"]].astype(float)
        part["p_max"] = part.max(axis=1, skipna=False)
        tables[f"tests_{dataset}"] = part
    return tables


def reference_lines(means: pd.DataFrame, dataset: str, labels: Mapping[str, str], reference: str = "averaging",
                    spec: Sequence[tuple[str, bool]] = METRICS) -> list[str]:
    """Footer lines naming, per metric, the networks that did not beat the no-model row (Averaging) on a set."""
    if reference not in means.index:
        return []
    name = {"synthetic": "Syn", "real": "Real"}.get(dataset, dataset)
    return footer_reference_lines(means.to_dict("index"), reference, labels.get(reference, reference), spec,
                                  labels=labels, names={key: f"{name} {key.upper()}" for key, _ in spec})


def learning_status(metrics: pd.DataFrame, records: Mapping[tuple[str, str], Sequence[Mapping]],
                    reference: str = "averaging") -> dict[str, dict[str, dict]]:
    """{table1_<set>: {method: {learned, plateau, p}}} for every trained method (records: mrsr.learned.read_records
    with depth 2, keyed (dataset, method)): learned = beats the reference on MAIN per item-paired test
    (mrsr.learned.beats_reference); plateau = every fold/seed model reached its plateau (None: not validated)."""
    status: dict[str, dict[str, dict]] = {}
    for (dataset, method), recs in records.items():
        test = beats_reference(with_items(metrics[metrics["dataset"] == dataset]), method, reference, MAIN,
                               dict(METRICS + BRAIN)[MAIN])
        status.setdefault(f"table1_{dataset}", {})[method] = {**row_status(test["beats"], recs), "p": test["p"]}
    return status


def training_lines(records: Mapping[tuple[str, str], Sequence[Mapping]], status: Mapping[str, Mapping],
                   labels: Mapping[str, str], paper: Mapping[str, Mapping], reference: str = "averaging") -> list[str]:
    """One footer line per trained row of each set: mrsr.footer.training_line, then the paired test's p and the
    validation MSE beside the no-model reference's (means over the fold/seed models)."""
    lines = []
    for (dataset, method), recs in records.items():
        verdict = status[f"table1_{dataset}"][method]
        line = training_line(f"{labels.get(method, method)} ({dataset} set, {len(recs)} fold/seed models)", recs,
                             paper.get(method), verdict["learned"], labels.get(reference, reference))
        val = [r["val_mse"] for r in recs if r.get("val_mse") is not None]
        ref = [r["reference_val_mse"] for r in recs if r.get("reference_val_mse") is not None]
        mse = f"; validation MSE {np.mean(val):.3g} vs no-model {np.mean(ref):.3g}" if val and ref else ""
        lines.append(f"{line[:-1]} (one-sided paired t-test on {MAIN}, p={verdict['p']:.3g}){mse}.")
    return lines


def claim_samples(metrics: pd.DataFrame, spec: Sequence[tuple[str, bool]] = METRICS + BRAIN) -> dict[str, pd.DataFrame]:
    """{table1_<set>: long frame (method, item = 'subject/level', one column per metric)} for paired claims."""
    keys = [k for k, _ in spec if k in metrics.columns]
    out = {}
    for dataset, part in metrics.groupby("dataset", sort=False):
        item = part["subject"].astype(str) + "/" + part["level"].astype(str)
        out[f"table1_{dataset}"] = pd.DataFrame({"method": part["method"].to_numpy(), "item": item.to_numpy(),
                                                 **{k: part[k].to_numpy(float) for k in keys}})
    return out


def method_labels(cfg: Mapping) -> dict[str, str]:
    """{method key: its row label}."""
    return {k: m["label"] for k, m in cfg["methods"].items()}


def no_model_methods(cfg: Mapping) -> list[str]:
    """The methods without a network (Averaging): computed once, shared by every training seed."""
    return [k for k, m in cfg["methods"].items() if not m.get("generator")]


def generator_params(cfg: Mapping) -> dict[str, int]:
    """#params of each trained method's network."""
    return {k: count_params(build(m["generator"])) for k, m in cfg["methods"].items() if m.get("generator")}


def brain_keys(per_seed: Mapping[int, pd.DataFrame]) -> list[str]:
    """The brain metrics every seed's metrics hold."""
    return [k for k, _ in BRAIN if all(k in f.columns for f in per_seed.values())]


def dataset_lines(built: Mapping[int, tuple[pd.DataFrame, dict[str, pd.DataFrame]]], metrics: pd.DataFrame,
                  datasets: Sequence[str], labels: Mapping[str, str]
                  ) -> tuple[list[str], list[str], list[dict[str, object]], list[str]]:
    """Per dataset, from the seeds' tables (built: {seed: seed_table(...)}) and the seed-averaged metrics: the
    orderings against the paper, the seed lines, the paired tests PR-λ=0.2 vs Dilated Conv (rows of paired_tests
    with their dataset) and the reference lines against Averaging."""
    orderings, seed_notes, tests, verdicts = [], [], [], []
    for dataset in datasets:
        paper = load_paper_values("deepasl", f"table1_{dataset}")
        ours = seed_means({seed: o[dataset] for seed, (_, o) in built.items()}, KEYS)
        orderings += [f"{dataset}: {line}" for line in ordering_summary(paper, ours_values(ours, KEYS), METRICS)]
        notes = seeds_lines(paper, {seed: ours_values(o[dataset], KEYS) for seed, (_, o) in built.items()}, METRICS)
        seed_notes += notes[:1] if not seed_notes else []
        seed_notes += [f"{dataset} set: {line}" for line in notes[1:]]
        verdicts += reference_lines(ours.rename(columns=lambda c: c.removesuffix("_mean")), dataset, labels)
        if {"pr_02", "dilated"} <= set(ours.index):
            tests += [{"dataset": dataset, **row}
                      for row in paired_tests(metrics[metrics["dataset"] == dataset], "pr_02", "dilated")]
    return orderings, seed_notes, tests, verdicts


def footer_lines(cfg: Mapping, built: Mapping[int, tuple[pd.DataFrame, dict[str, pd.DataFrame]]],
                 metrics: pd.DataFrame, records: Mapping[tuple[str, str], Sequence[Mapping]],
                 status: Mapping[str, Mapping], *, datasets: Sequence[str], labels: Mapping[str, str],
                 params: Mapping[str, int], heldout: Sequence[str]) -> tuple[list[str], list[dict[str, object]]]:
    """Table 1's footer lines (before the run footer's) and the paired tests they report (dataset_lines).
    metrics: seed_average; records: training records by (dataset, method); status: learning_status."""
    several = len(built) > 1
    orderings, seed_notes, tests, verdicts = dataset_lines(built, metrics, datasets, labels)
    n = metrics.groupby(["dataset", "method"]).size()
    nets = {m["generator"]: params[k] for k, m in cfg["methods"].items() if m.get("generator")}
    counted = ", ".join(f"{NET_NAMES.get(g, g)} {n:,}" for g, n in nets.items())
    extra = [
        "Paper values: " + "; ".join(paper_source("deepasl", f"table1_{d}") for d in datasets) + ".",
        *[f"Orderings: {o}" for o in orderings],
        *seed_notes,
        "Reference row: Averaging (the noisy input itself, no network). " + " ".join(verdicts),
        *[f"Row '{labels[k]}': not the paper's setting; its CBF loss term is against "
          f"{CBF_REFERENCES[m['cbf_reference']]}, on the {' and '.join(m.get('datasets', datasets))} set(s), with the "
          "folds, budget and scoring of the other rows; the claims leave it out."
          for k, m in cfg["methods"].items()
          if m.get("cbf_reference") and set(m.get("datasets", datasets)) & set(datasets)],  # rows this run has
        f"#params: counted from our implementations ({counted}); the paper publishes no parameter counts.",
        f"Ours: mean (std, ddof 1) over held-out subjects x noise levels ({int(n.min())}-{int(n.max())} values per "
        f"cell); subjects held out: {', '.join(heldout)}."
        + (" With several training seeds: the mean over seeds of each seed's mean and std; Averaging has no training "
           "seed (computed once)." if several else ""),
        "Brain columns: PSNR (brain) and SSIM (brain) of dM against the complete image inside the 2-voxel-dilated "
        f"head mask of M0 (mrsr.metrics.brain_mask), on {cfg['brain_slices']} slices through the brain's interior "
        "(mrsr.metrics.interior_slices), averaged over them; the paper has no such columns.",
        *training_lines(records, status, labels, paper_budgets("deepasl")),
        "Paired tests PR-λ=0.2 vs Dilated Conv (paper: synthetic p << 0.05 for all metrics; real significant for "
        "PSNR and RMSE, CCC p = 0.1388)"
        + (", on each (subject, noise level)'s values averaged over the training seeds" if several else "") + ": "
        + "; ".join(f"{t['dataset']} {t['metric'].upper()} Δ={t['mean_diff']:+.3g} t-test p={t['p_ttest']:.3g} "
                    f"Wilcoxon p={t['p_wilcoxon']:.3g} (n={t['n_pairs']})" for t in tests),
    ]
    return extra, tests


def claim_status(status: Mapping[str, Mapping], tables: Mapping[str, pd.DataFrame]) -> dict[str, dict]:
    """The scorecard's status per table and row (learned, plateau; learning_status): a claim comparing a row that
    did not learn (or did not plateau) is untestable. The paired-test rows (one per metric, tables from
    claim_tables) compare PR-λ=0.2 with Dilated Conv: testable only when both learned."""
    out = {t: {m: {k: v[k] for k in ("learned", "plateau")} for m, v in rows.items()} for t, rows in status.items()}
    for dataset in ("synthetic", "real"):
        rows = out.get(f"table1_{dataset}", {})
        if f"tests_{dataset}" in tables:
            out[f"tests_{dataset}"] = {metric: joint_status([rows.get("pr_02"), rows.get("dilated")])
                                       for metric in tables[f"tests_{dataset}"].index}
    return out
