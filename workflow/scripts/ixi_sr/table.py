"""Table 1 of Lyu et al. 2019 (SSIM, PSNR) beside the paper, the same inside the brain, reference rows, generated
footer (with one training line per network), claims; built by mrsr.experiments.ixi_sr.table."""
from functools import partial
from pathlib import Path

import pandas as pd

from mrsr.experiments.ixi_sr.table import (KEYS, brain_columns, footer_lines, lr_verdicts, method_info, per_slice,
                                           seed_table, training_status)
from mrsr.footer import run_footer
from mrsr.learned import read_records
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import by_seed, load_paper_values, over_seeds, write_table

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
references = [pd.read_csv(p, sep="\t") for p in snakemake.input.references]  # no model: shared by every seed
paper = load_paper_values("ixi_sr", "table1")
labels, networks, params, notes = method_info(cfg)
groups = by_seed(snakemake.input.networks) or {None: []}  # None: no network configured, reference rows only
seeds = over_seeds(groups, partial(seed_table, references=references, paper=paper, params=params, labels=labels,
                                   notes=notes), KEYS)
table, values = brain_columns(seeds.table), seeds.values
samples = per_slice(list(snakemake.input.networks), references)
records = read_records(snakemake.input.records)  # .../models/<network>/seed-<n>/loss.json
verdicts = lr_verdicts(samples, networks, values)
extra = footer_lines(seeds, samples, records, verdicts, paper=paper, labels=labels, networks=networks, notes=notes,
                     test=snakemake.params.test)
footer = run_footer("ixi_sr", cfg, snakemake.params.footer, extra=extra)
write_table(table, Path(snakemake.output.csv).with_suffix(""),
            title="Table 1: 2x k-space SR of T2 slices (SSIM, PSNR; also inside the brain)", footer=footer,
            mean_std=True)
status = {"table1": training_status(networks, verdicts, records)}
claims = evaluate_claims("ixi_sr", {"table1": pd.DataFrame(values).T}, preset=snakemake.params.footer["preset"],
                         data=snakemake.params.footer["data"], status=status, samples={"table1": samples})
write_claims(claims, snakemake.output.claims)
log.info("table 1: %d rows, %d training seed(s); beats LR inside the brain: %s; status %s; claim outcomes: %s",
         len(table), len(groups), verdicts, status, list(claims["outcome"]))
