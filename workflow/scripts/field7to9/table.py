"""Table 2 or 3 of the paper: ours beside the published values and the input row, with a generated footer.

One table per training seed (that seed's metrics, the same input row), combined into the mean over seeds with a
'seed sd' column per value when there are several; orderings and the input-row check read the seed means.
Beside the paper's whole-slice scores, PSNR and SSIM inside each test slice's brain mask; per trained row a
training line (updates vs the paper's, plateau, beats the input row inside the brain by a paired test over the
test slices). Also writes the per-slice values (items) and per-method training status that the claims score."""
import json
from pathlib import Path

import pandas as pd

from mrsr.experiments.field7to9.data import INPUT_KEY, INPUT_LABEL, method_labels
from mrsr.experiments.field7to9.report import BRAIN_COLUMNS, MAIN_BRAIN, held_out_summary, items_frame
from mrsr.figures import metric_bars
from mrsr.footer import paper_budgets, reference_lines, run_footer, training_line
from mrsr.io import write_text
from mrsr.learned import beats_reference, read_records, row_status
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.tables import (
    DEFAULT_METRICS, DISPLAY, aggregate, build_table, by_seed, load_paper_values, ordering_summary, over_seeds,
    paper_source, seeds_lines, with_reference, write_table,
)

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
table = snakemake.wildcards.field_table
paper = load_paper_values("field7to9", table)
reference = pd.read_csv(snakemake.input.reference, sep="\t")  # no model: the same row for every seed
methods = {key: cfg["methods"][key] for key in paper}
params = {key: count_params(build(m["generator"], **m.get("generator_kwargs", {}))) for key, m in methods.items()}
labels = method_labels(paper, cfg)
scored = ("psnr", "mse", "ssim", *BRAIN_COLUMNS)


def seed_table(paths: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One seed's table (paper methods and the input row, brain columns last) and the aggregate of its files."""
    frames = [pd.read_csv(p, sep="\t") for p in paths]
    ours = aggregate(pd.concat([*frames, reference], ignore_index=True), columns=scored)
    frame = with_reference(build_table(ours, paper, params=params, labels=labels), ours, key=INPUT_KEY,
                           label=INPUT_LABEL)
    for metric, name in BRAIN_COLUMNS.items():
        frame[name] = ours.loc[frame.index, f"{metric}_mean"].astype(float).to_numpy()
    return frame, ours


metric_paths = by_seed(snakemake.input.methods)
seeds = over_seeds(metric_paths, seed_table, [m for m, _ in DEFAULT_METRICS], list(BRAIN_COLUMNS.values()))
frame, values = seeds.table, seeds.values
items = items_frame(metric_paths, reference)
records = read_records(snakemake.input.records)  # .../models/<method>/seed-<n>/loss.json
tests = {m: beats_reference(items, m, INPUT_KEY, MAIN_BRAIN) for m in records}
status = {m: row_status(tests[m]["beats"], runs) for m, runs in records.items()}
budgets = paper_budgets("field7to9")

extra = [f"Paper values: {paper_source('field7to9', table)}."]
extra += [f"Orderings: {line}" for line in ordering_summary(paper, values)]
extra += reference_lines({k: values[k] for k in [INPUT_KEY, *paper]}, INPUT_KEY, INPUT_LABEL, DEFAULT_METRICS,
                         labels={k: frame.loc[k, "Method"] for k in paper}, names=DISPLAY)
for key in paper:
    line = training_line(frame.loc[key, "Method"], records[key], budgets.get(key), status[key]["learned"],
                         INPUT_LABEL)
    beat = tests[key]
    extra.append(f"{line[:-1]} inside the brain ({BRAIN_COLUMNS[MAIN_BRAIN]}, one-sided paired t-test over "
                 f"{beat['n']} test slices, p = {beat['p']:.3g}).")
extra.append(held_out_summary(reference))
extra += seeds_lines(paper, seeds.per_seed)
footer = run_footer("field7to9", cfg, snakemake.params.footer, extra=extra)
title = {"table2": "Table 2: CNN models (7T to 9.4T)", "table3": "Table 3: GAN models (7T to 9.4T)"}.get(table, table)
stem = Path(snakemake.output.csv).with_suffix("")
write_table(frame, stem, title=title, footer=footer)
items.to_csv(snakemake.output.slices, sep="\t", index=False)
write_text(snakemake.output.status, json.dumps({"status": status, "tests": tests}, indent=1))
metric_bars(frame, Path(snakemake.output.overview).with_suffix(""),
            title=f"{title}: PSNR, ours vs paper ({snakemake.params.footer['data']})")
log.info("%s written: %d methods and the input row, %d training seed(s); learned: %s", table, len(paper),
         len(metric_paths), {k: v["learned"] for k, v in status.items()})
