"""Table 1 of Lyu et al. 2019 (SSIM, PSNR) beside the paper, the same inside the brain, reference rows, generated
footer (with one training line per network), claims.

One table per training seed (that seed's networks, the same no-model reference rows), combined into the mean over
seeds with a 'seed sd' column per value when there are several; orderings, the LR check and the claims read the
seed means. "Beats LR" in a training line is a one-sided paired t-test over the test slices on MAIN_METRIC (each
slice's value averaged over the seeds)."""
from pathlib import Path

import pandas as pd

from mrsr.experiments.ixi_sr.evaluate import BRAIN_METRICS, BRAIN_NAMES, MAIN_METRIC, METRICS
from mrsr.footer import paper_budgets, reference_lines, run_footer, training_line
from mrsr.learned import beats_reference, read_records, row_status
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import (
    aggregate, build_table, by_seed, display_name, load_paper_values, ordering_summary, over_seeds, paper_source,
    seeds_lines, write_table,
)

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
keys = [k for k, _ in METRICS + BRAIN_METRICS]
higher = dict(METRICS + BRAIN_METRICS)
references = [pd.read_csv(p, sep="\t") for p in snakemake.input.references]  # no model: shared by every seed
paper = load_paper_values("ixi_sr", "table1")
params = {k: count_params(build(m["generator"], **dict(m.get("generator_kwargs") or {})))
          for k, m in cfg["methods"].items() if m.get("generator")}
random_vgg = cfg["vgg_weights"] is None
RANDOM_VGG = "perceptual: random VGG, not a test of the paper's loss"
notes = {k: RANDOM_VGG for k, m in cfg["methods"].items() if m.get("lambda_p") and random_vgg}
labels = {k: m["label"] for k, m in cfg["methods"].items()}
networks = [k for k, m in cfg["methods"].items() if m.get("generator")]


def seed_table(paths: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One seed's Table 1 (the paper's rows we have) and the aggregate of its metric files."""
    ours = aggregate(pd.concat([*references, *(pd.read_csv(p, sep="\t") for p in paths)], ignore_index=True),
                     columns=keys)
    rows = {k: v for k, v in paper.items() if k in ours.index}
    return build_table(ours, rows, params=params, labels=labels, notes=notes, metrics=keys), ours


def brain_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The brain metrics without paper or Δ columns (the paper scores whole slices), named 'SSIM (brain)' etc."""
    out = table.copy()
    for key, name in BRAIN_NAMES.items():
        shown = display_name(key)
        out = out.drop(columns=[c for c in out.columns if c in (f"{shown} (paper)", f"Δ{shown}")])
        out = out.rename(columns={c: name + c[len(shown):] for c in out.columns if c.startswith(shown)})
    return out


def per_slice(paths: list[str]) -> pd.DataFrame:
    """Long per-slice metrics (method, item = 'subject:slice', one column per metric) of the reference rows and the
    networks, each network's values averaged over its training seeds."""
    frame = pd.concat([*references, *(pd.read_csv(p, sep="\t") for p in paths)], ignore_index=True)
    frame["item"] = frame["subject"].astype(str) + ":" + frame["slice"].astype(str)
    return frame.groupby(["method", "item"], sort=False)[keys].mean().reset_index()


groups = by_seed(snakemake.input.networks) or {None: []}  # None: no network configured, reference rows only
seeds = over_seeds(groups, seed_table, keys)
table, values = brain_columns(seeds.table), seeds.values
samples = per_slice(list(snakemake.input.networks))
records = read_records(snakemake.input.records)  # .../models/<network>/seed-<n>/loss.json
budgets = paper_budgets("ixi_sr")
tests = {k: beats_reference(samples, k, "lr", MAIN_METRIC, higher[MAIN_METRIC]) for k in networks if "lr" in values}
verdicts = {k: (t["beats"], t["p"]) for k, t in tests.items()}
main = BRAIN_NAMES[MAIN_METRIC]
extra = [f"Source: {paper_source('ixi_sr', 'table1')}. Rows marked [addition] are our no-model references.",
         f"Ours: mean over {int(seeds.first['n'].min())} full test slices of subject(s) "
         f"{', '.join(snakemake.params.test)} (SSIM data range 1, PSNR peak 1, images in [0, 1]); '(brain)' columns "
         f"score inside each HR slice's brain mask (10 % of its 99th percentile, holes filled, dilated 2 px)."]


def network_line(key: str) -> str:
    """training_line of one network, with the test behind its verdict and its validation MSE against LR's."""
    beats, p = verdicts.get(key, (None, float("nan")))
    line = training_line(labels[key], records.get(key, []), budgets.get(key), beats, labels["lr"])
    how = f"on {main}: one-sided paired t-test over {samples['item'].nunique()} test slices, p = {p:.3g}"
    vals = [(r["val_mse"], r["reference_val_mse"]) for r in records.get(key, []) if r.get("val_mse") is not None]
    if vals:
        how += "; validation MSE " + ", ".join(f"{v:.3g} (LR {ref:.3g})" for v, ref in vals)
    return f"{line[:-1]} ({how})."


extra += [network_line(k) for k in networks]
extra += [f"{labels[k]} ({RANDOM_VGG}): its perceptual term compares features of a random VGG-19, which carry no "
          "ImageNet prior, so the row does not test the paper's loss." for k in notes]
if "lr" in values:
    extra += reference_lines({k: values[k] for k in ["lr", *networks] if k in values}, "lr", labels["lr"], METRICS,
                             labels=labels)
net_paper = {k: v for k, v in paper.items() if k in networks}
extra += ordering_summary(net_paper, {k: values[k] for k in networks}, METRICS)
extra += seeds_lines(net_paper, {seed: {k: v[k] for k in networks} for seed, v in seeds.per_seed.items()}, METRICS)
footer = run_footer("ixi_sr", cfg, snakemake.params.footer, extra=extra)
stem = Path(snakemake.output.csv).with_suffix("")
write_table(table, stem, title="Table 1: 2x k-space SR of T2 slices (SSIM, PSNR; also inside the brain)",
            footer=footer, mean_std=True)
# claims: a trained row that did not beat LR inside the brain, or did not reach its plateau, cannot test a claim
status = {"table1": {k: row_status(verdicts[k][0] if k in verdicts else None, records.get(k, [])) for k in networks}}
claims = evaluate_claims("ixi_sr", {"table1": pd.DataFrame(values).T}, preset=snakemake.params.footer["preset"],
                         data=snakemake.params.footer["data"], status=status, samples={"table1": samples})
write_claims(claims, snakemake.output.claims)
log.info("table 1: %d rows, %d training seed(s); beats LR inside the brain: %s; status %s; claim outcomes: %s",
         len(table), len(groups), verdicts, status, list(claims["outcome"]))
