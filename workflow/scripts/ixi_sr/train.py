"""Train GAN-CPCE (WGAN-GP trainer) or GAN-CIRCLE (cycle trainer) on LR/HR patches for the method's max_updates, with
the plateau rule on the validation MSE of patches of the held-out training slices (GPU-tagged, resumable)."""
from pathlib import Path

import numpy as np

from mrsr.experiments.ixi_sr.data import brain_patches, load_slice_pairs, patch_pairs, split_slices
from mrsr.experiments.ixi_sr.training import schedule_in_passes, trainer_method
from mrsr.io import load_npz
from mrsr.train import TrainData, fit, save_model
from mrsr.train.meta import ModelMeta
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
cfg = snakemake.params.cfg
entry = dict(snakemake.params.method)
batch_size, max_updates = int(entry["batch_size"]), int(entry["max_updates"])
seed = job.seed
device = job.device
size, stride = int(cfg["patch_size"]), int(cfg["patch_stride"])
parts: dict[str, list] = {"x": [], "y": [], "vx": [], "vy": []}
for path in snakemake.input.train:
    train_slices, val_slices = split_slices(load_slice_pairs(path))
    for (xk, yk), d in ((("x", "y"), train_slices), (("vx", "vy"), val_slices)):
        if len(d["lr"]):
            x, y = patch_pairs(d["lr"], d["hr"], size, stride)
            if xk == "vx":  # validation scores patches with brain in them, not the zero padding
                x, y = brain_patches(x, y, float(cfg["val_min_foreground"]))
            parts[xk].append(x)
            parts[yk].append(y)
x, y = np.concatenate(parts["x"]), np.concatenate(parts["y"])
if cfg["max_patches"] and len(x) > int(cfg["max_patches"]):
    keep = np.sort(np.random.default_rng([seed, 11]).choice(len(x), int(cfg["max_patches"]), replace=False))
    x, y = x[keep], y[keep]
train = TrainData(x, y)
val = TrainData(np.concatenate(parts["vx"]), np.concatenate(parts["vy"])) if parts["vx"] else None
n_batches = -(-len(train) // batch_size)
method = trainer_method(entry, schedule_in_passes(cfg["schedule"], max_updates, n_batches))
compute = job.compute
log.info("%s on %s (%s): %d training patches of %d px from %d subjects, %d validation patches, batch %d, "
         "max %d updates (%.2f passes)", snakemake.wildcards.ixi_sr_method, device, compute, len(train), size,
         len(snakemake.input.train), 0 if val is None else len(val), batch_size, max_updates, max_updates / n_batches)
# the network input (LR on the HR grid) is the no-model output, so fit scores it as the reference itself
fitted = fit(method, train, val, max_updates=max_updates, stopping=entry.get("stopping"), batch_size=batch_size,
             seed=seed, device=device, ckpt_dir=Path(snakemake.params.ckpt_dir),
             log_csv=Path(snakemake.output.log_csv), vgg_weights=cfg["vgg_weights"], compute=compute,
             keep_checkpoints=job.keep_checkpoints)
model = fitted.generator
meta = ModelMeta("ixi_sr", snakemake.wildcards.ixi_sr_method, seed, training=fitted.record,
                 trained_on={"data": snakemake.params.data, "contrast": "T2w", "experiment": "ixi_sr",
                             "voxel_mm": load_npz(snakemake.input.train[0])["voxel_mm"]},  # in-plane, HR grid
                 inference=dict(snakemake.params.inference),
                 extra={"max_updates": max_updates, "batch_size": batch_size, "n_train_patches": len(train),
                        "n_val_patches": 0 if val is None else len(val)})
save_model(snakemake.output.model, model, method, meta)
log.info("saved %s (%d parameters); training record %s", snakemake.output.model, meta.params, fitted.record)
