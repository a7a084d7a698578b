"""Tables 2 and 3 of Huang et al. (ours beside the paper), the GB vs DSGAN t-test, learned vs hidden kernel,
generated footers and the claims scorecard; built by mrsr.experiments.dsgan.table (the t-test and kernel report:
mrsr.experiments.dsgan.evaluate)."""
from pathlib import Path

from mrsr.experiments.dsgan.evaluate import ttest
from mrsr.experiments.dsgan.table import (TABLES, brain_tests, claim_samples, claim_status, common_lines, edsr_params,
                                          hidden_kernel, kernel_table, metrics_by_seed, raw_kernel_line, row_statuses,
                                          seed_mean_metrics, table_report)
from mrsr.footer import run_footer
from mrsr.learned import read_records
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import write_table

log = log_to(snakemake.log[0])
cfg, footer = snakemake.params.cfg, snakemake.params.footer
per_seed = metrics_by_seed(snakemake.input.reference, snakemake.input.metrics)  # Bicubic: one file, every seed
seeds = sorted(per_seed)
metrics = seed_mean_metrics(per_seed)  # per-slice values averaged over seeds (one seed: its own)
params = edsr_params(cfg["edsr"])
upper = "hidden" in set(metrics["method"])  # phantom only: EDSR on pairs made with the hidden degradation itself

tests = ttest(metrics, "dsgan", "gb")
tests.to_csv(snakemake.output.ttest, sep="\t", index=False)
true_kernel = hidden_kernel(snakemake.input.data[0])  # None: acquired (sheet) data have no known kernel
kernels = kernel_table(snakemake.input.kernelgan, true_kernel, float(cfg["gb_sigma"]))
raw_line = raw_kernel_line(kernels, snakemake.input.kernelgan, len(seeds) > 1)
kernels.to_csv(snakemake.output.kernels, sep="\t", index=False)
common = common_lines(metrics, tests, kernels, raw_line, cfg, snakemake.input.data, seeds=seeds,
                      known=true_kernel is not None, upper=upper)

# Every trained row: its EDSRs' training records (one per fold and seed) and whether it beats Bicubic inside the brain
records = read_records(snakemake.input.records, below=2)  # .../models/<method>/fold-<k>/seed-<n>/loss.json
beats = brain_tests(metrics, records)
frames = {}
for table, (output, title) in TABLES.items():
    frame, frames[table], extra = table_report(table, per_seed, params, common, records, beats, upper=upper)
    write_table(frame, Path(getattr(snakemake.output, output)).with_suffix(""), title=title,
                footer=run_footer("dsgan", cfg, footer, extra=extra), mean_std=True)
frames["tests"] = tests[["p_t", "p_t_better"]]
if true_kernel is not None:
    frames["kernels"] = kernels[["kernel_distance"]]  # claims: the distance only
# per-item values (paired tests) and each trained row's status (learned, plateau) for the scorecard
claims = evaluate_claims("dsgan", frames, preset=footer["preset"], data=footer["data"],
                         status=claim_status(row_statuses(beats, records), frames["tests"].index),
                         samples=claim_samples(per_seed))
write_claims(claims, snakemake.output.claims)
log.info("tables written; claim outcomes: %s", ", ".join(claims["outcome"]))
