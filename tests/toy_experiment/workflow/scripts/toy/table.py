"""Toy Table 1 with its generated footer, and the claims scored (mrsr.experiments.toy.table)."""
from pathlib import Path

import pandas as pd

from mrsr.experiments.toy.table import claim_samples, claim_table, reference_lines, toy_table
from mrsr.footer import run_footer
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import load_paper_values, paper_source, write_table

log = log_to(snakemake.log[0])
cfg, footer = snakemake.params.cfg, snakemake.params.footer
metrics = {m: pd.read_csv(p, sep="\t") for m, p in zip(snakemake.params.methods, snakemake.input.metrics)}
table = toy_table(metrics, load_paper_values("toy", "table1"), {k: m["label"] for k, m in cfg["methods"].items()})
extra = [f"Paper values: {paper_source('toy', 'table1')}.", *reference_lines(table)]
write_table(table, Path(snakemake.output.csv).with_suffix(""), title="Toy Table 1",
            footer=run_footer("toy", cfg, footer, extra=extra))
claims = evaluate_claims("toy", {"table1": claim_table(table)}, preset=footer["preset"], data=footer["data"],
                         samples={"table1": claim_samples(metrics)})
write_claims(claims, snakemake.output.claims)
log.info("claims: %s", dict(claims["outcome"].value_counts()))
