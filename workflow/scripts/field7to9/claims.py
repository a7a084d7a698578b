"""Ravikumar et al.'s claims (claims.yaml) scored on this run's Tables 2 and 3 -> results/field7to9/claims.csv."""
from pathlib import Path

import pandas as pd

from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import DEFAULT_METRICS, display_name

log = log_to(snakemake.log[0])
tables = {}
for path in snakemake.input:
    frame = pd.read_csv(path, index_col="method_key")
    tables[Path(path).stem] = frame.rename(columns={display_name(m): m for m, _ in DEFAULT_METRICS})
footer = snakemake.params.footer
claims = evaluate_claims("field7to9", tables, preset=footer["preset"], data=footer["data"])
write_claims(claims, snakemake.output[0])
log.info("%d claims: %s", len(claims), ", ".join(claims["outcome"]))
