"""Figures 2-4 of Cui et al., the per-scale loss curves and learning curves (reconstruction MSE against updates,
the upsampled coarser scale as the no-model reference), of the first training seed."""
import json
from pathlib import Path

import pandas as pd

from mrsr.experiments.asl_sr.figures import EXP1_COLUMNS, EXP2_COLUMNS, example_rows, image_grid, shown_columns
from mrsr.figures import learning_curves, loss_curves
from mrsr.io import load_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
figure = snakemake.wildcards.asl_sr_figure
stem = Path(snakemake.output.png).with_suffix("")
tag = f"({snakemake.params.preset} preset, seed {snakemake.params.seed})"
# per subject: the data and interpolations (scored once) with the trained runs of the figures' training seed
examples = {Path(b).parent.parent.name: {**load_npz(b), **load_npz(e)}
            for b, e in zip(snakemake.input.baselines, snakemake.input.examples)}


if figure in ("fig2_sagittal", "fig3_transaxial"):
    view = "sagittal" if figure == "fig2_sagittal" else "transaxial"
    number = 2 if view == "sagittal" else 3
    rows = example_rows(examples, "exp1", [view])
    image_grid(rows, shown_columns(EXP1_COLUMNS, rows), stem, window_key="nr",
               title=f"Fig. {number}: Experiment 1 ({view}): trained on LR, generated on the NR grid {tag}")
elif figure == "fig4_exp2":
    first = dict(list(examples.items())[:1])
    rows = example_rows(first, "exp2", ["transaxial", "sagittal"])
    window = "truth" if all("truth" in images for _, images in rows) else "nr"
    image_grid(rows, shown_columns(EXP2_COLUMNS, rows), stem, window_key=window,
               title=f"Fig. 4: Experiment 2: trained on NR, generated on the T1 grid {tag}")
elif figure == "learning_curves":
    logs, references, plateaus = {}, {}, {}
    for run, path, record_path in zip(snakemake.params.runs, snakemake.input.logs, snakemake.input.training):
        frame = pd.read_csv(path)
        for record in json.loads(Path(record_path).read_text()):
            name = f"{run} scale {record['scale']}"
            logs[name] = frame[frame["scale"] == record["scale"]]
            references[name], plateaus[name] = record["reference_val_mse"], record["plateau_update"]
    learning_curves(logs, stem, references=references, plateaus=plateaus,
                    title=f"Reconstruction MSE per scale (dashed: upsampled coarser scale), "
                          f"{Path(snakemake.input.logs[0]).parent.parent.name}\n{tag}")
else:
    logs = {}
    for run, path in zip(snakemake.params.runs, snakemake.input.logs):
        frame = pd.read_csv(path)
        for scale, part in frame.groupby("scale"):
            logs[f"{run} scale {scale}"] = part
    loss_curves(logs, stem, columns=("train_total",),
                title=f"Per-scale generator loss (adv + λ1 MSE + λ2 low-pass) and critic loss, "
                      f"{Path(snakemake.input.logs[0]).parent.parent.name} {tag}")
log.info("%s written", stem)
