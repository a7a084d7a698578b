"""Train one pyramid (Experiment 1: on LR; Experiment 2: on NR) and generate its SR volume (GPU-tagged); the
per-scale training records (updates, plateau, reconstruction MSE vs up(previous scale), brain-mean ratios) go to
training.json, the finest scale's with sr_brain_mean_ratio: the SR volume's brain mean over its upsampled input's."""
import json
from pathlib import Path

import numpy as np
import torch

from mrsr.experiments.asl_sr.evaluate import TRAIN_AND_TARGET
from mrsr.io import load_npz, save_npz
from mrsr.predictions import PredictionWriter
from mrsr.nets import count_params
from mrsr.train.meta import ModelMeta, plain
from mrsr.train.multiscale import brain_mean_ratio, save_pyramid, scale_logs, train_pyramid, upsample
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
experiment = snakemake.wildcards.asl_sr_exp
method = snakemake.params.method
seed = job.seed
max_updates = int(snakemake.params.max_updates)
device = job.device
d = load_npz(snakemake.input[0])
# paper: Experiment 1 trains on LR and generates on the NR grid; Experiment 2 trains on NR, generates on the T1 grid
source, t1_target = TRAIN_AND_TARGET[experiment]
compute = job.compute
pyr = train_pyramid(method, d[source], d[f"t1w_{source}"], max_updates=max_updates, seed=seed, device=device,
                    ckpt_dir=Path(snakemake.params.ckpt_dir), stopping=snakemake.params.stopping, compute=compute,
                    keep_checkpoints=job.keep_checkpoints)
sr = pyr.super_resolve(d[source], d[t1_target], d[t1_target].shape, compute)
up = upsample(torch.from_numpy(d[source].astype("float32"))[None, None], sr.shape)[0, 0].numpy()
pyr.records[-1]["sr_brain_mean_ratio"] = brain_mean_ratio(sr, up)  # 1: SR keeps its input's brain intensity
# `mrsr apply` trains a new pyramid on each scan (a single-image method) with these settings, by this run's factor
grid = snakemake.params.grid
inference = {"run": experiment, "factor": list(grid["nr_factor" if experiment == "exp2" else "lr_factor"]),
             "method": dict(method), "max_updates": max_updates, "stopping": dict(snakemake.params.stopping),
             "registration": dict(snakemake.params.registration)}
target_voxel = d["fine_voxel_mm" if experiment == "exp2" else "nr_voxel_mm"]
trained_on = {"experiment": "asl_sr", "data": f"{snakemake.params.data}, subject {snakemake.wildcards.asl_sr_subject}",
              "contrast": "pCASL perfusion (mean control - label)", "voxel_mm": [float(v) for v in target_voxel]}
meta = ModelMeta("asl_sr", snakemake.wildcards.asl_sr_variant, seed, params=count_params(pyr.generators[-1]),
                 training={"scales": pyr.records}, trained_on=trained_on, inference=inference,
                 extra={"run": experiment, "subject": snakemake.wildcards.asl_sr_subject, "max_updates": max_updates,
                        "shapes": [list(s) for s in pyr.shapes]})
save_pyramid(snakemake.output.model, pyr, meta)
scale_logs(snakemake.params.ckpt_dir, len(pyr.shapes)).to_csv(snakemake.output.log_csv, index=False)
save_npz(snakemake.output.sr, sr=sr)
writer = PredictionWriter(snakemake.output.predictions, "asl_sr", f"{experiment}/{snakemake.wildcards.asl_sr_variant}")
writer.add_volume(snakemake.wildcards.asl_sr_subject, sr, np.diag([*target_voxel, 1.0]),
                  f"SR perfusion (dM) of {snakemake.wildcards.asl_sr_subject} on the {experiment} target grid")
writer.write()
Path(snakemake.output.training).write_text(json.dumps(plain(pyr.records), indent=1))
for r in pyr.records:
    log.info("scale %d %s: %d of %d updates, plateau %s (update %s), reconstruction MSE %.4g vs up(previous) %s; "
             "brain mean x%.3f of the real volume (its input x%s, %s)", r["scale"], r["shape"], r["updates"],
             r["max_updates"], r["plateau_reached"], r["plateau_update"], r["val_mse"], r["reference_val_mse"],
             r["brain_mean_ratio"], r["input_brain_mean_ratio"], r["scale_input"])
log.info("%s %s %s on %s: scales %s, generator %d parameters, SR %s (mean %.3f vs NR %.3f; brain mean x%.3f of "
         "its upsampled input)", experiment, meta.method_key, meta.extra["subject"], device, pyr.shapes, meta.params,
         sr.shape, float(sr.mean()), float(d["nr"].mean()), pyr.records[-1]["sr_brain_mean_ratio"])
