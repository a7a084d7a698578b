"""Train one DeepASL / Dilated Conv model of one leave-one-subject-out fold (GPU-tagged, resumable)."""
from pathlib import Path

import numpy as np
import torch

from mrsr.asl import subsample, training_patches
from mrsr.device import Compute, select_device
from mrsr.experiments.deepasl.data import loss_reference
from mrsr.io import load_npz
from mrsr.nets import count_params
from mrsr.runlog import log_to
from mrsr.train import TrainData, fit, save_model

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
cfg = snakemake.params.cfg
method = {**snakemake.params.method, "cbf_unit": float(cfg["cbf_unit"])}
seed = int(snakemake.wildcards.seed)
device = select_device(int(snakemake.resources.get("gpu", 0)))
parts = []
for path in snakemake.input.train:
    d = load_npz(path)
    ref = loss_reference(d, cfg, snakemake.wildcards.deepasl_dataset)
    parts.append(training_patches(d["noisy"], d["clean"], ref, d["scale"], d["mask"],
                                  size=int(cfg["patch_size"]), augmentations=int(cfg["augmentations"]),
                                  min_brain=float(cfg["min_brain"])))
x, y, aux = (np.concatenate(p) for p in zip(*parts))
keep = subsample(np.random.default_rng([seed, 7]), len(x), cfg["patches_per_fold"])
train = TrainData(x[keep], y[keep], aux[keep])
compute = Compute(**snakemake.params.compute)
log.info("%s fold %s on %s (%s): %d of %d patches from %d subjects", snakemake.wildcards.deepasl_method,
         snakemake.wildcards.deepasl_fold, device, compute, len(train), len(x), len(parts))
fitted = fit(method, train, None, epochs=int(cfg["epochs"]), batch_size=int(cfg["batch_size"]), seed=seed,
            device=device, ckpt_dir=Path(snakemake.params.ckpt_dir), log_csv=Path(snakemake.output.log_csv), compute=compute)
model = fitted.generator
meta = {"training": fitted.record, "experiment": "deepasl", "dataset": snakemake.wildcards.deepasl_dataset, "method_key": snakemake.wildcards.deepasl_method,
        "heldout": snakemake.wildcards.deepasl_fold, "seed": seed, "params": count_params(model),
        "epochs": int(cfg["epochs"]), "batch_size": int(cfg["batch_size"]), "n_train_patches": len(train)}
save_model(snakemake.output.model, model, method, meta)
log.info("saved %s (%d parameters)", snakemake.output.model, meta["params"])
