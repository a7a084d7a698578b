"""Table 1 (Experiment 1: PSNR/SSIM against NR, HR and the truth, beside the paper), the Experiment 2 table
(linear vs proposed on the T1 grid against the truth and HR), claims; built by mrsr.experiments.asl_sr.table."""
from pathlib import Path

from mrsr.experiments.asl_sr.table import (exp1_report, exp2_report, generator_params, method_rows, metrics_by_seed,
                                           read_metrics, samples_of)
from mrsr.footer import run_footer
from mrsr.learned import read_records
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import write_table

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
foot = snakemake.params.footer
paper, labels, rows, variants = method_rows(snakemake.params.variants)
params = generator_params(cfg["model"])
per_seed = metrics_by_seed(snakemake.input.baselines, snakemake.input.metrics)
slices = read_metrics([*snakemake.input.slices, *snakemake.input.baseline_slices])
# .../<exp>/<method>/<subject>/seed-<n>/training.json
records = read_records(snakemake.input.training, depth=2, below=2)
sigma = float(cfg["model"]["lowpass_sigma"])

table1 = exp1_report(per_seed, slices, records, paper=paper, rows=rows, labels=labels, params=params,
                     variants=variants, sigma=sigma)
write_table(table1.table, Path(snakemake.output.csv).with_suffix(""), title=table1.title,
            footer=run_footer("asl_sr", {"asl_sr": cfg}, foot, extra=table1.extra))
claims = evaluate_claims("asl_sr", {"table1": table1.means}, preset=foot["preset"], data=foot["data"],
                         status={"table1": table1.status}, samples={"table1": samples_of(per_seed, "exp1")})
write_claims(claims, snakemake.output.claims)

exp2 = exp2_report(per_seed, slices, records, labels=labels, params=params, sigma=sigma)
write_table(exp2.table, Path(snakemake.output.exp2_csv).with_suffix(""), title=exp2.title,
            footer=run_footer("asl_sr", {"asl_sr": cfg}, foot, extra=exp2.extra))
log.info("table 1: %d rows, scored against %s; experiment 2: %d rows; training seeds %s; claim outcomes: %s",
         len(table1.table), ", ".join(table1.available) or "nothing", len(exp2.table), ", ".join(map(str, per_seed)),
         ", ".join(claims["outcome"]))
for line in table1.train_lines:
    log.info(line)
