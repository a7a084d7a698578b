"""One figure of the paper: example slices (Figs 7-11), loss curves (Figs 5, 6, 12) or RFSR (Fig 4); or, not in the
paper, the validation learning curves of a table's trained methods."""
import json
from pathlib import Path

import pandas as pd

from mrsr.experiments.field7to9.data import method_labels
from mrsr.experiments.field7to9.figures import as_shown, comparison_grid, rfsr_figure
from mrsr.figures import learning_curves, loss_curves
from mrsr.io import load_npz
from mrsr.metrics import image_metrics
from mrsr.runlog import log_to
from mrsr.tables import load_paper_values

log = log_to(snakemake.log[0])
spec = snakemake.params.spec
cfg = snakemake.params.cfg
stem = Path(snakemake.output.png).with_suffix("")
figure = snakemake.wildcards.field_figure
# the tables' labels: "(random VGG)" on perceptual rows without ImageNet weights
labels = {k: v for t in ("table2", "table3") for k, v in method_labels(load_paper_values("field7to9", t), cfg).items()}


p = snakemake.params
title = f"{figure.replace('_', ' ')}: {p.data}; preset {p.preset}, seed {p.seed}"
if spec["kind"] == "rfsr":
    ex = load_npz(snakemake.input[0])
    rfsr_figure(as_shown(ex["lr"]), as_shown(ex["gen"]), as_shown(ex["hr"]), stem, title=title)
elif spec["kind"] == "learning":  # inputs: loss.csv, loss.json per method
    logs, references, plateaus = {}, {}, {}
    for method, log_csv, record_json in zip(spec["methods"], snakemake.input[::2], snakemake.input[1::2]):
        label = labels.get(method, method)
        record = json.loads(Path(record_json).read_text())
        logs[label], references[label] = pd.read_csv(log_csv), record["reference_val_mse"]
        plateaus[label] = record["plateau_update"]
    learning_curves(logs, stem, title=f"{spec['table']} learning curves (validation patches): {p.data}; "
                    f"preset {p.preset}, seed {p.seed}", references=references, plateaus=plateaus)
elif spec["kind"] == "curves":
    logs = {labels.get(m, m): pd.read_csv(p) for m, p in zip(spec["methods"], snakemake.input)}
    loss_curves(logs, stem, title=title)
else:
    rows = []
    for method, path in zip(spec["methods"], snakemake.input):
        ex = load_npz(path)
        scores = image_metrics(ex["gen"], ex["hr"], peak=cfg["psnr_peak"], ssim_range=cfg["ssim_data_range"])
        text = f"PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}"
        rows.append({"label": labels.get(method, method), "lr": as_shown(ex["lr"]), "gen": as_shown(ex["gen"]),
                     "hr": as_shown(ex["hr"]), "metrics": text})
    comparison_grid(rows, stem, title=title)
log.info("wrote %s", stem)
