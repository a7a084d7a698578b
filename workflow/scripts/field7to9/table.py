"""Table 2 or 3 of the paper: ours beside the published values and the input row, with a generated footer.

One table per training seed (that seed's metrics, the same input row), combined into the mean over seeds with a
'seed sd' column per value when there are several; orderings and the input-row check read the seed means."""
from pathlib import Path

import pandas as pd

from mrsr.experiments.field7to9.data import INPUT_KEY, INPUT_LABEL, method_labels
from mrsr.figures import metric_bars
from mrsr.footer import failed_to_beat, reference_line, run_footer
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.tables import (
    DEFAULT_METRICS, aggregate, build_table, by_seed, combine_seeds, display_name, load_paper_values, mean_over_seeds,
    ordering_summary, ours_values, paper_source, seeds_lines, value_columns, with_reference, write_table,
)

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
table = snakemake.wildcards.field_table
paper = load_paper_values("field7to9", table)
reference = pd.read_csv(snakemake.input.reference, sep="\t")  # no model: the same row for every seed
methods = {key: cfg["methods"][key] for key in paper}
params = {key: count_params(build(m["generator"], **m.get("generator_kwargs", {}))) for key, m in methods.items()}
labels = method_labels(paper, cfg)


def seed_table(paths: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One seed's table (paper methods and the input row) and the aggregate of its metric files."""
    frames = [pd.read_csv(p, sep="\t") for p in paths]
    ours = aggregate(pd.concat([*frames, reference], ignore_index=True))
    frame = build_table(ours, paper, params=params, labels=labels)
    return with_reference(frame, ours, key=INPUT_KEY, label=INPUT_LABEL), ours


built = {seed: seed_table(paths) for seed, paths in by_seed(snakemake.input.methods).items()}
per_seed = {seed: ours_values(ours) for seed, (_, ours) in built.items()}
first_table, first_ours = next(iter(built.values()))
metric_keys = [m for m, _ in DEFAULT_METRICS]
frame = combine_seeds({seed: t for seed, (t, _) in built.items()}, value_columns(first_table, metric_keys))
values = mean_over_seeds(per_seed)
extra = [f"Paper values: {paper_source('field7to9', table)}."]
extra += [f"Orderings: {line}" for line in ordering_summary(paper, values)]
for metric, higher in DEFAULT_METRICS:
    scores = {key: values[key][metric] for key in [INPUT_KEY, *paper]}
    failed = failed_to_beat(scores, INPUT_KEY, higher, labels={k: frame.loc[k, "Method"] for k in paper})
    extra.append(reference_line(display_name(metric), INPUT_LABEL, failed))
extra.append(f"Test images: {int(first_ours['n'].iloc[0])} stitched slices per method; mean over slices.")
extra += seeds_lines(paper, per_seed)
footer = run_footer("field7to9", cfg, snakemake.params.footer, extra=extra)
title = {"table2": "Table 2: CNN models (7T to 9.4T)", "table3": "Table 3: GAN models (7T to 9.4T)"}.get(table, table)
stem = Path(snakemake.output.csv).with_suffix("")
write_table(frame, stem, title=title, footer=footer)
metric_bars(frame, Path(snakemake.output.overview).with_suffix(""),
            title=f"{title}: PSNR, ours vs paper ({snakemake.params.footer['data']})")
log.info("%s written: %d methods and the input row, %d training seed(s)", table, len(paper), len(built))
