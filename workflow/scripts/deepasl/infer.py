"""Evaluate one method on every held-out subject (each with its own fold's model): metrics and figure arrays."""
import numpy as np
import pandas as pd

from mrsr.experiments.deepasl.evaluate import denoise, examples, subject_metrics
from mrsr.io import load_npz, save_npz
from mrsr.predictions import PredictionWriter
from mrsr.train import load_model, predict_fn
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
device = job.device
compute = job.compute
method = snakemake.wildcards.deepasl_method
models = list(snakemake.input.models)
writer = PredictionWriter(snakemake.output.predictions, "deepasl", f"{snakemake.wildcards.deepasl_dataset}/{method}",
                          enabled=bool(models))
rows, example = [], None
for i, (subject, path) in enumerate(zip(snakemake.params.subjects, snakemake.input.data)):
    data = load_npz(path)
    predict = None
    if models:
        generator, _, meta = load_model(models[i], device)
        if meta.extra["heldout"] != subject:
            raise ValueError(f"{models[i]}: trained with {meta.extra['heldout']} held out, not {subject}")
        predict = predict_fn(generator, device, int(snakemake.params.batch), compute)
    # paper: patch-wise inference (patch_size None: whole slices); patches without brain are skipped
    patch = snakemake.params.patch_size
    denoised = denoise(data["noisy"], predict, patch_size=patch, mask=data["mask"] if patch else None)
    for row in subject_metrics(denoised, data, int(snakemake.params.brain_slices)):
        rows.append({"dataset": snakemake.wildcards.deepasl_dataset, "method": method, "subject": subject, **row})
    if example is None:
        example = {**examples(denoised, data), "subject": np.asarray(subject)}
    inside = data["mask"] > 0  # the scored voxels; outside, 0 (the noise there would triple the files' size)
    for lev, frac in enumerate(np.asarray(data["levels"]).tolist()):  # (Z, H, W) -> NIfTI (X, Y, Z); 1 mm: unscaled
        writer.add_volume(f"{subject}_level-{lev}", np.swapaxes(denoised[lev] * inside, 0, 2), np.eye(4),
                          f"denoised dM (M0 brain mean 100) of {subject} from {frac:.4g} of its control-label pairs, "
                          "inside the scoring brain mask (0 outside it)")
    log.info("%s %s: %s", method, subject, rows[-1])
pd.DataFrame(rows).to_csv(snakemake.output.metrics, sep="\t", index=False)
writer.write()
save_npz(snakemake.output.examples, **example)
