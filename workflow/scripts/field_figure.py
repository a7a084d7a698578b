"""One figure of the paper: example slices (Figs 7-11), loss curves (Figs 5, 6, 12) or RFSR (Fig 4)."""
from pathlib import Path

import pandas as pd

from mrsr.figures import comparison_grid, loss_curves, rfsr_figure
from mrsr.io import load_npz
from mrsr.metrics import image_metrics
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
spec = snakemake.params.spec
stem = Path(snakemake.output.png).with_suffix("")
figure = snakemake.wildcards.figure
title = f"{figure.replace('_', ' ')} (preset {snakemake.params.preset}, seed {snakemake.params.seed})"
if spec["kind"] == "rfsr":
    ex = load_npz(snakemake.input[0])
    rfsr_figure(ex["lr"], ex["gen"], ex["hr"], stem, title=title)
elif spec["kind"] == "curves":
    logs = {m: pd.read_csv(p) for m, p in zip(spec["methods"], snakemake.input)}
    loss_curves(logs, stem, title=title)
else:
    rows = []
    for method, path in zip(spec["methods"], snakemake.input):
        ex = load_npz(path)
        scores = image_metrics(ex["gen"], ex["hr"], peak=snakemake.params.psnr_peak, ssim_range=snakemake.params.ssim_range)
        text = f"PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}"
        rows.append({"label": method, "lr": ex["lr"], "gen": ex["gen"], "hr": ex["hr"], "metrics": text})
    comparison_grid(rows, stem, title=title)
log.info("wrote %s", stem)
