"""Table 2 or 3 of the paper: ours beside the published values and the input row, with a generated footer."""
from pathlib import Path

import pandas as pd

from mrsr.experiments.field7to9.data import INPUT_KEY, INPUT_LABEL, method_labels
from mrsr.figures import metric_bars
from mrsr.footer import failed_to_beat, reference_line, run_footer
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.tables import (
    DEFAULT_METRICS, aggregate, build_table, display_name, load_paper_values, ordering_summary, ours_values,
    paper_source, with_reference, write_table,
)

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
table = snakemake.wildcards.field_table
paper = load_paper_values("field7to9", table)
paths = [*snakemake.input.methods, snakemake.input.reference]
ours = aggregate(pd.concat([pd.read_csv(p, sep="\t") for p in paths], ignore_index=True))
methods = {key: cfg["methods"][key] for key in paper}
params = {key: count_params(build(m["generator"], **m.get("generator_kwargs", {}))) for key, m in methods.items()}
labels = method_labels(paper, cfg)
frame = with_reference(
    build_table(ours, paper, params=params, labels=labels), ours, key=INPUT_KEY, label=INPUT_LABEL
)
values = ours_values(ours)
extra = [f"Paper values: {paper_source('field7to9', table)}."]
extra += [f"Orderings: {line}" for line in ordering_summary(paper, values)]
for metric, higher in DEFAULT_METRICS:
    scores = {key: values[key][metric] for key in [INPUT_KEY, *paper]}
    failed = failed_to_beat(scores, INPUT_KEY, higher, labels={k: frame.loc[k, "Method"] for k in paper})
    extra.append(reference_line(display_name(metric), INPUT_LABEL, failed))
extra.append(f"Test images: {int(ours['n'].iloc[0])} stitched slices per method; mean over slices.")
footer = run_footer("field7to9", cfg, snakemake.params.footer, extra=extra)
title = {"table2": "Table 2: CNN models (7T to 9.4T)", "table3": "Table 3: GAN models (7T to 9.4T)"}.get(table, table)
stem = Path(snakemake.output.csv).with_suffix("")
write_table(frame, stem, title=title, footer=footer)
metric_bars(frame, Path(snakemake.output.overview).with_suffix(""),
            title=f"{title}: PSNR, ours vs paper ({snakemake.params.footer['data']})")
log.info("%s written: %d methods and the input row", table, len(paper))
