"""Train GAN-CPCE (WGAN-GP trainer) or GAN-CIRCLE (cycle trainer) on LR/HR patches (GPU-tagged, resumable)."""
from pathlib import Path

import numpy as np
import torch

from mrsr.device import Compute, select_device
from mrsr.experiments.ixi_sr.data import patch_pairs
from mrsr.io import load_npz
from mrsr.nets import count_params
from mrsr.runlog import log_to
from mrsr.train import TrainData, fit, save_model

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
cfg = snakemake.params.cfg
entry = dict(snakemake.params.method)
batch_size = int(entry.pop("batch_size"))
entry.pop("label")
method = {**entry, "schedule": dict(cfg["schedule"])}
seed = int(snakemake.wildcards.seed)
device = select_device(int(snakemake.resources.get("gpu", 0)))
xs, ys = [], []
for path in snakemake.input.train:
    d = load_npz(path)
    x, y = patch_pairs(d["lr"], d["hr"], int(cfg["patch_size"]), int(cfg["patch_stride"]))
    xs.append(x)
    ys.append(y)
x, y = np.concatenate(xs), np.concatenate(ys)
if cfg["max_patches"] and len(x) > int(cfg["max_patches"]):
    keep = np.sort(np.random.default_rng([seed, 11]).choice(len(x), int(cfg["max_patches"]), replace=False))
    x, y = x[keep], y[keep]
train = TrainData(x, y)
compute = Compute(**snakemake.params.compute)
log.info("%s on %s (%s): %d patches of %d px from %d subjects, batch %d", snakemake.wildcards.ixi_sr_method,
         device, compute, len(train), x.shape[-1], len(snakemake.input.train), batch_size)
fitted = fit(method, train, None, epochs=int(cfg["epochs"]), batch_size=batch_size, seed=seed, device=device,
            ckpt_dir=Path(snakemake.params.ckpt_dir), log_csv=Path(snakemake.output.log_csv),
            vgg_weights=cfg["vgg_weights"], compute=compute)
model = fitted.generator
meta = {"training": fitted.record, "experiment": "ixi_sr", "method_key": snakemake.wildcards.ixi_sr_method, "seed": seed,
        "params": count_params(model), "epochs": int(cfg["epochs"]), "batch_size": batch_size,
        "n_train_patches": len(train), "trained_on": {"data": snakemake.params.data, "contrast": "T2w",
                                                     "experiment": "ixi_sr"}}
save_model(snakemake.output.model, model, method, meta)
log.info("saved %s (%d parameters)", snakemake.output.model, meta["params"])
