"""Table 1 of Lyu et al. 2019 (SSIM, PSNR) beside the paper, the same inside the brain, reference rows, and its
footer lines (one training line per network).

One table per training seed (that seed's networks, the same no-model reference rows), combined into the mean over
seeds with a 'seed sd' column per value when there are several; orderings, the LR check and the claims read the
seed means. "Beats LR" in a training line is a one-sided paired t-test over the test slices on MAIN_METRIC (each
slice's value averaged over the seeds)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mrsr.experiments.ixi_sr.evaluate import BRAIN_METRICS, BRAIN_NAMES, MAIN_METRIC, METRICS
from mrsr.footer import paper_budgets, reference_lines, training_line
from mrsr.learned import beats_reference, row_status
from mrsr.nets import build, count_params
from mrsr.tables import (SeedTables, aggregate, build_table, display_name, ordering_summary, paper_source,
                         seeds_lines)

KEYS = [k for k, _ in METRICS + BRAIN_METRICS]  # every scored column: the paper's, then inside the brain
HIGHER = dict(METRICS + BRAIN_METRICS)  # {metric: higher is better}
RANDOM_VGG = "perceptual: random VGG, not a test of the paper's loss"


def method_info(cfg: Mapping) -> tuple[dict[str, str], list[str], dict[str, int], dict[str, str]]:
    """The configured methods' labels, the networks (methods with a generator), their #params, and the row notes
    (RANDOM_VGG on a perceptual row without ImageNet VGG weights)."""
    labels = {k: m["label"] for k, m in cfg["methods"].items()}
    networks = [k for k, m in cfg["methods"].items() if m.get("generator")]
    params = {k: count_params(build(m["generator"], **dict(m.get("generator_kwargs") or {})))
              for k, m in cfg["methods"].items() if m.get("generator")}
    random_vgg = cfg["vgg_weights"] is None
    notes = {k: RANDOM_VGG for k, m in cfg["methods"].items() if m.get("lambda_p") and random_vgg}
    return labels, networks, params, notes


def seed_table(paths: Sequence[str], references: Sequence[pd.DataFrame], paper: Mapping, params: Mapping[str, int],
               labels: Mapping[str, str], notes: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One seed's Table 1 (the paper's rows we have) and the aggregate of its metric files and the no-model
    reference rows (shared by every seed)."""
    ours = aggregate(pd.concat([*references, *(pd.read_csv(p, sep="\t") for p in paths)], ignore_index=True),
                     columns=KEYS)
    rows = {k: v for k, v in paper.items() if k in ours.index}
    return build_table(ours, rows, params=params, labels=labels, notes=notes, metrics=KEYS), ours


def brain_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The brain metrics without paper or Δ columns (the paper scores whole slices), named 'SSIM (brain)' etc."""
    out = table.copy()
    for key, name in BRAIN_NAMES.items():
        shown = display_name(key)
        out = out.drop(columns=[c for c in out.columns if c in (f"{shown} (paper)", f"Δ{shown}")])
        out = out.rename(columns={c: name + c[len(shown):] for c in out.columns if c.startswith(shown)})
    return out


def per_slice(paths: Sequence[str], references: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Long per-slice metrics (method, item = 'subject:slice', one column per metric) of the reference rows and the
    networks, each network's values averaged over its training seeds."""
    frame = pd.concat([*references, *(pd.read_csv(p, sep="\t") for p in paths)], ignore_index=True)
    frame["item"] = frame["subject"].astype(str) + ":" + frame["slice"].astype(str)
    return frame.groupby(["method", "item"], sort=False)[KEYS].mean().reset_index()


def lr_verdicts(samples: pd.DataFrame, networks: Sequence[str], values: Mapping
                ) -> dict[str, tuple[bool | None, float]]:
    """{network: (beats LR on MAIN_METRIC, p)}: one-sided paired t-test over the test slices (samples: per_slice);
    empty when the table has no LR row."""
    tests = {k: beats_reference(samples, k, "lr", MAIN_METRIC, HIGHER[MAIN_METRIC]) for k in networks
             if "lr" in values}
    return {k: (t["beats"], t["p"]) for k, t in tests.items()}


def network_line(key: str, labels: Mapping[str, str], records: Mapping[str, list], budget: Mapping | None,
                 verdicts: Mapping[str, tuple], samples: pd.DataFrame) -> str:
    """training_line of one network, with the test behind its verdict and its validation MSE against LR's."""
    beats, p = verdicts.get(key, (None, float("nan")))
    line = training_line(labels[key], records.get(key, []), budget, beats, labels["lr"])
    how = (f"on {BRAIN_NAMES[MAIN_METRIC]}: one-sided paired t-test over {samples['item'].nunique()} test slices, "
           f"p = {p:.3g}")
    vals = [(r["val_mse"], r["reference_val_mse"]) for r in records.get(key, []) if r.get("val_mse") is not None]
    if vals:
        how += "; validation MSE " + ", ".join(f"{v:.3g} (LR {ref:.3g})" for v, ref in vals)
    return f"{line[:-1]} ({how})."


def footer_lines(seeds: SeedTables, samples: pd.DataFrame, records: Mapping[str, list],
                 verdicts: Mapping[str, tuple], *, paper: Mapping, labels: Mapping[str, str],
                 networks: Sequence[str], notes: Mapping[str, str], test: Sequence[str]) -> list[str]:
    """Table 1's footer lines: source, what 'ours' is (test subjects `test`), one training line per network, the
    random-VGG rows, the LR check, orderings and the seed lines."""
    values = seeds.values
    budgets = paper_budgets("ixi_sr")
    extra = [f"Source: {paper_source('ixi_sr', 'table1')}. Rows marked [addition] are our no-model references.",
             f"Ours: mean over {int(seeds.first['n'].min())} full test slices of subject(s) "
             f"{', '.join(test)} (SSIM data range 1, PSNR peak 1, images in [0, 1]); '(brain)' columns "
             f"score inside each HR slice's brain mask (10 % of its 99th percentile, holes filled, dilated 2 px)."]
    extra += [network_line(k, labels, records, budgets.get(k), verdicts, samples) for k in networks]
    extra += [f"{labels[k]} ({RANDOM_VGG}): its perceptual term compares features of a random VGG-19, which carry "
              "no ImageNet prior, so the row does not test the paper's loss." for k in notes]
    if "lr" in values:
        extra += reference_lines({k: values[k] for k in ["lr", *networks] if k in values}, "lr", labels["lr"],
                                 METRICS, labels=labels)
    net_paper = {k: v for k, v in paper.items() if k in networks}
    extra += ordering_summary(net_paper, {k: values[k] for k in networks}, METRICS)
    extra += seeds_lines(net_paper, {seed: {k: v[k] for k in networks} for seed, v in seeds.per_seed.items()},
                         METRICS)
    return extra


def training_status(networks: Sequence[str], verdicts: Mapping[str, tuple], records: Mapping[str, list]
                    ) -> dict[str, dict]:
    """Each network's scorecard status: a trained row that did not beat LR inside the brain, or did not reach its
    plateau, cannot test a claim."""
    return {k: row_status(verdicts[k][0] if k in verdicts else None, records.get(k, [])) for k in networks}
