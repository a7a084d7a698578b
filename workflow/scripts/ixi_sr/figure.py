"""Figure 4 (LR / HR / GAN-CPCE / GAN-CIRCLE), Figure 5 (zoomed red-box region), the loss curves and the learning
curves (validation MSE against updates, LR as the no-model reference)."""
import json
from pathlib import Path

import pandas as pd

from mrsr.experiments.ixi_sr.evaluate import slice_metrics
from mrsr.experiments.ixi_sr.figures import slices_figure, zoom_box
from mrsr.figures import learning_curves, loss_curves
from mrsr.io import load_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
labels = snakemake.params.labels
examples = {m: load_npz(p) for m, p in zip(snakemake.params.methods, snakemake.input.examples)}
first = next(iter(examples.values()))
hr = first["hr"]
vgg = " (random VGG)" if snakemake.params.cfg["vgg_weights"] is None else ""
images = {"LR": first["lr"], "HR": hr}
images.update({labels[m] + (vgg if m == "cpce" else ""): examples[m]["pred"] for m in snakemake.params.networks})
text = {name: "SSIM {ssim:.3f}, {psnr:.2f} dB".format(**slice_metrics(img, hr))
        for name, img in images.items() if name != "HR"}
tag = f"{snakemake.params.preset} preset, seed {snakemake.params.seed}"
slices_figure(images, text, Path(snakemake.output.fig4).with_suffix(""), title=f"Fig. 4: test slice ({tag})")
zoom = max(8, hr.shape[0] // 4)
slices_figure(images, text, Path(snakemake.output.fig5).with_suffix(""), title=f"Fig. 5: zoomed region ({tag})",
              zoom=zoom, box=zoom_box(hr, zoom))
logs = {labels[m] + (vgg if m == "cpce" else ""): pd.read_csv(p)
        for m, p in zip(snakemake.params.networks, snakemake.input.logs)}
loss_curves(logs, Path(snakemake.output.curves).with_suffix(""), title=f"Training losses ({tag})",
            columns=("train_total",))
records = {name: json.loads(Path(p).read_text()) for name, p in zip(logs, snakemake.input.records)}
learning_curves(logs, Path(snakemake.output.learning).with_suffix(""),
                title=f"Validation MSE on held-out training-subject slices ({tag}); dashed: LR",
                references={name: r["reference_val_mse"] for name, r in records.items()},
                plateaus={name: r["plateau_update"] for name, r in records.items()})
log.info("figures written: %s", ", ".join(images))
