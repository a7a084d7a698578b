"""Table 2 or 3 of the paper: ours beside the published values and the input row, with a generated footer
(mrsr.experiments.field7to9.table). Also writes the per-slice values (items) and per-method training status that
the claims score, and the ours-vs-paper PSNR bars."""
import json
from functools import partial
from pathlib import Path

import pandas as pd

from mrsr.experiments.field7to9.data import method_labels
from mrsr.experiments.field7to9.figures import metric_bars
from mrsr.experiments.field7to9.table import (BRAIN_COLUMNS, TITLES, footer_lines, generator_params, input_tests,
                                              items_frame, seed_table)
from mrsr.footer import run_footer
from mrsr.io import write_text
from mrsr.learned import read_records
from mrsr.runlog import log_to
from mrsr.tables import DEFAULT_METRICS, by_seed, load_paper_values, over_seeds, write_table

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
table = snakemake.wildcards.field_table
paper = load_paper_values("field7to9", table)
reference = pd.read_csv(snakemake.input.reference, sep="\t")  # no model: the same row for every seed
build = partial(seed_table, reference=reference, paper=paper, params=generator_params(paper, cfg),
                labels=method_labels(paper, cfg))
metric_paths = by_seed(snakemake.input.methods)
seeds = over_seeds(metric_paths, build, [m for m, _ in DEFAULT_METRICS], list(BRAIN_COLUMNS.values()))
items = items_frame(metric_paths, reference)
records = read_records(snakemake.input.records)  # .../models/<method>/seed-<n>/loss.json
tests, status = input_tests(items, records)
footer = run_footer("field7to9", cfg, snakemake.params.footer,
                    extra=footer_lines(table, seeds, paper, records, tests, status, reference))
title = TITLES.get(table, table)
write_table(seeds.table, Path(snakemake.output.csv).with_suffix(""), title=title, footer=footer)
items.to_csv(snakemake.output.slices, sep="\t", index=False)
write_text(snakemake.output.status, json.dumps({"status": status, "tests": tests}, indent=1))
metric_bars(seeds.table, Path(snakemake.output.overview).with_suffix(""),
            title=f"{title}: PSNR, ours vs paper ({snakemake.params.footer['data']})")
log.info("%s written: %d methods and the input row, %d training seed(s); learned: %s", table, len(paper),
         len(metric_paths), {k: v["learned"] for k, v in status.items()})
