"""Table 1 of Lyu et al. 2019 (SSIM, PSNR) beside the paper, reference rows, generated footer, claims.

One table per training seed (that seed's networks, the same no-model reference rows), combined into the mean over
seeds with a 'seed sd' column per value when there are several; orderings, the LR check and the claims read the
seed means."""
from pathlib import Path

import pandas as pd

from mrsr.experiments.ixi_sr.evaluate import METRICS
from mrsr.footer import failed_to_beat, reference_line, run_footer
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import (
    aggregate, build_table, by_seed, combine_seeds, load_paper_values, mean_over_seeds, ordering_summary,
    ours_values, paper_source, seeds_lines, value_columns, write_table,
)

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
keys = [k for k, _ in METRICS]
references = [pd.read_csv(p, sep="\t") for p in snakemake.input.references]  # no model: shared by every seed
paper = load_paper_values("ixi_sr", "table1")
params = {k: count_params(build(m["generator"], **dict(m.get("generator_kwargs") or {})))
          for k, m in cfg["methods"].items() if m.get("generator")}
random_vgg = cfg["vgg_weights"] is None
notes = {k: "perceptual: random VGG" for k, m in cfg["methods"].items() if m.get("lambda_p") and random_vgg}
labels = {k: m["label"] for k, m in cfg["methods"].items()}


def seed_table(paths: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One seed's Table 1 (the paper's rows we have) and the aggregate of its metric files."""
    ours = aggregate(pd.concat([*references, *(pd.read_csv(p, sep="\t") for p in paths)], ignore_index=True),
                     columns=keys)
    rows = {k: v for k, v in paper.items() if k in ours.index}
    return build_table(ours, rows, params=params, labels=labels, notes=notes, metrics=keys), ours


groups = by_seed(snakemake.input.networks) or {None: []}  # None: no network configured, reference rows only
built = {seed: seed_table(paths) for seed, paths in groups.items()}
per_seed = {seed: ours_values(ours, keys) for seed, (_, ours) in built.items()}
first_table, first_ours = next(iter(built.values()))
table = combine_seeds({seed: t for seed, (t, _) in built.items()}, value_columns(first_table, keys))
values = mean_over_seeds(per_seed)
networks = [k for k, m in cfg["methods"].items() if m.get("generator")]
extra = [f"Source: {paper_source('ixi_sr', 'table1')}. Rows marked [addition] are our no-model references.",
         f"Ours: mean over {int(first_ours['n'].min())} full test slices of subject(s) "
         f"{', '.join(snakemake.params.test)} (SSIM data range 1, PSNR peak 1, images in [0, 1])."]
if "lr" in values:
    for key, higher in METRICS:
        vals = {k: values[k][key] for k in ["lr", *networks] if k in values}
        extra.append(reference_line(key.upper(), labels["lr"], failed_to_beat(vals, "lr", higher, labels)))
net_paper = {k: v for k, v in paper.items() if k in networks}
extra += ordering_summary(net_paper, {k: values[k] for k in networks}, METRICS)
extra += seeds_lines(net_paper, {seed: {k: v[k] for k in networks} for seed, v in per_seed.items()}, METRICS)
footer = run_footer("ixi_sr", cfg, snakemake.params.footer, extra=extra)
stem = Path(snakemake.output.csv).with_suffix("")
write_table(table, stem, title="Table 1: 2x k-space SR of T2 slices (SSIM, PSNR)", footer=footer, mean_std=True)
claims = evaluate_claims("ixi_sr", {"table1": pd.DataFrame(values).T}, preset=snakemake.params.footer["preset"],
                         data=snakemake.params.footer["data"])
write_claims(claims, snakemake.output.claims)
log.info("table 1: %d rows, %d training seed(s); claim outcomes: %s", len(table), len(built), list(claims["outcome"]))
