"""Table 2 or 3 of the paper: ours beside the published values, with footers (data, preset, seed, assumptions)."""
from pathlib import Path

import pandas as pd

from mrsr.figures import metric_bars
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.tables import (
    aggregate, build_table, load_paper_values, ordering_summary, ours_values, paper_source, standard_footer,
    write_table,
)

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
table = snakemake.wildcards.field_table
paper = load_paper_values("field7to9", table)
metrics = pd.concat([pd.read_csv(p, sep="\t") for p in snakemake.input], ignore_index=True)
ours = aggregate(metrics)
methods = {key: cfg["methods"][key] for key in paper}
params = {key: count_params(build(m["generator"], **m.get("generator_kwargs", {}))) for key, m in methods.items()}
notes = {}
for key, m in methods.items():
    if "perceptual" in m["losses"] and not cfg.get("vgg16_weights"):
        notes[key] = "random VGG"
assumptions = list(cfg.get("assumptions", []))
if notes:
    assumptions.append("No ImageNet VGG-16 weights offline: perceptual rows use a fixed-seed random frozen VGG; "
                       "not comparable to the paper's.")
footer = standard_footer(
    data=snakemake.params.data, preset=snakemake.params.preset, seeds=[snakemake.params.seed],
    assumptions=assumptions, orderings=ordering_summary(paper, ours_values(ours)),
    source=paper_source("field7to9", table),
)
footer.append(f"Test images: {int(ours['n'].iloc[0])} stitched slices per method; mean over slices.")
frame = build_table(ours, paper, params=params, notes=notes)
title = {"table2": "Table 2: CNN models (7T to 9.4T)", "table3": "Table 3: GAN models (7T to 9.4T)"}.get(table, table)
stem = Path(snakemake.output.csv).with_suffix("")
write_table(frame, stem, title=title, footer=footer)
metric_bars(frame, Path(snakemake.output.overview).with_suffix(""), title=f"{title}: PSNR, ours vs paper")
log.info("%s written: %d methods", table, len(frame))
