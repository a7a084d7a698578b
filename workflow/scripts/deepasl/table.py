"""Table 1 of Ulas et al.: both datasets, six methods, PSNR / RMSE / CCC beside the paper and brain-masked PSNR / SSIM
of dM; paired tests; a training line per trained row (did it learn: beats Averaging per item-paired test); claims.
Built by mrsr.experiments.deepasl.table."""
from pathlib import Path

import pandas as pd

from mrsr.experiments.deepasl.table import (
    KEYS, TITLE, brain_keys, claim_samples, claim_status, claim_tables, combine_tables, footer_lines,
    generator_params, learning_status, method_labels, metrics_by_seed, no_model_methods, seed_average, seed_table,
)
from mrsr.footer import run_footer
from mrsr.learned import read_records
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import write_table

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
footer_params = snakemake.params.footer
datasets = snakemake.params.datasets
labels = method_labels(cfg)
per_seed = metrics_by_seed({p: pd.read_csv(p, sep="\t") for p in snakemake.input.metrics}, snakemake.params.seeds,
                           no_model_methods(cfg))
params = generator_params(cfg)
built = {seed: seed_table(metrics, datasets, params, KEYS, labels) for seed, metrics in per_seed.items()}
table = combine_tables({seed: t for seed, (t, _) in built.items()}, datasets, KEYS)
metrics = seed_average(per_seed, KEYS + brain_keys(per_seed))  # per (subject, level): the mean over seeds
records = read_records(snakemake.input.records, depth=2, below=2)  # .../models/<set>/<method>/fold-<s>/seed-<n>/loss.json
status = learning_status(metrics, records)
extra, tests = footer_lines(cfg, built, metrics, records, status, datasets=datasets, labels=labels, params=params,
                            heldout=snakemake.params.heldout)
footer = run_footer("deepasl", cfg, footer_params, extra=extra)
write_table(table, Path(snakemake.output.csv).with_suffix(""), title=TITLE, footer=footer, mean_std=True)
pd.DataFrame(tests).to_csv(snakemake.output.tests, sep="\t", index=False)
tables_for_claims = claim_tables(metrics, tests)
claims = evaluate_claims("deepasl", tables_for_claims, preset=footer_params["preset"], data=footer_params["data"],
                         status=claim_status(status, tables_for_claims), samples=claim_samples(metrics))
write_claims(claims, snakemake.output.claims)
log.info("table 1 written with %d rows (training seeds %s); %d paired tests; claim outcomes: %s", len(table),
         ", ".join(str(s) for s in per_seed), len(tests), ", ".join(claims["outcome"]))
