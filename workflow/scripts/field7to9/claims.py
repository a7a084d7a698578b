"""Ravikumar et al.'s claims (claims.yaml) scored on this run's Tables 2 and 3 -> results/field7to9/claims.csv.

The table step's training status (learned: beats the input row inside the brain; plateau reached) and per-slice
values go to the scorer as `status` and `samples`."""
import json
from pathlib import Path

import pandas as pd

from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import DEFAULT_METRICS, SEED_SD, display_name

log = log_to(snakemake.log[0])
tables, samples, status = {}, {}, {}
for path in snakemake.input.tables:
    frame = pd.read_csv(path, index_col="method_key")
    names = {display_name(m): m for m, _ in DEFAULT_METRICS}
    names |= {f"{shown}{SEED_SD}": f"{m}{SEED_SD}" for shown, m in names.items()}  # spread over seeds, if any
    tables[Path(path).stem] = frame.rename(columns=names)
for path in snakemake.input.slices:
    samples[Path(path).stem.removesuffix("_items")] = pd.read_csv(path, sep="\t")
for path in snakemake.input.status:
    status[Path(path).stem.removesuffix("_status")] = json.loads(Path(path).read_text())["status"]
footer = snakemake.params.footer
claims = evaluate_claims("field7to9", tables, preset=footer["preset"], data=footer["data"], status=status,
                         samples=samples)
write_claims(claims, snakemake.output[0])
log.info("%d claims: %s", len(claims), ", ".join(claims["outcome"]))
