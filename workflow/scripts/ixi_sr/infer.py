"""Full test slices through one method (a trained generator, or a reference row); per-slice SSIM / PSNR."""
import numpy as np
import pandas as pd

from mrsr.experiments.ixi_sr.data import bicubic_reference, load_slice_pairs
from mrsr.experiments.ixi_sr.evaluate import predict_slices, slice_metrics
from mrsr.io import save_npz
from mrsr.predictions import PredictionWriter
from mrsr.train import load_model, predict_fn
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
method = snakemake.wildcards.ixi_sr_method
if snakemake.input.model:
    model, _, _ = load_model(snakemake.input.model[0], job.device)
    predict = predict_fn(model, next(model.parameters()).device, int(snakemake.params.batch),
                         job.compute)
writer = PredictionWriter(snakemake.output.predictions, "ixi_sr", method, enabled=bool(snakemake.input.model))
rows, example = [], None
for subject, path in zip(snakemake.params.subjects, snakemake.input.data):
    d = load_slice_pairs(path)
    if snakemake.input.model:
        pred = predict_slices(predict, d["lr"], int(snakemake.params.batch))
    elif method == "lr":
        pred = d["lr"]
    elif method == "bicubic":
        pred = np.stack([bicubic_reference(s) for s in d["hr"]]).astype(np.float32)
    else:
        raise ValueError(f"config ixi_sr.methods.{method}: a method without 'generator' must be 'lr' or 'bicubic'")
    for i, (p, h) in enumerate(zip(pred, d["hr"])):
        rows.append({"method": method, "subject": subject, "slice": i, **slice_metrics(p, h)})
        writer.add_slice(subject, i, p, axis=2, voxel_mm=(*d["voxel_mm"], 1.0))
    if example is None:  # the middle slice of the first test subject (Figs 4-5)
        mid = len(pred) // 2
        example = {"pred": np.clip(pred[mid], 0, 1), "lr": d["lr"][mid], "hr": d["hr"][mid]}
pd.DataFrame(rows).to_csv(snakemake.output.metrics, sep="\t", index=False)
writer.write()
save_npz(snakemake.output.examples, **example)
log.info("%s: %d test slices, mean SSIM %.4f, PSNR %.2f dB", method, len(rows),
         np.mean([r["ssim"] for r in rows]), np.mean([r["psnr"] for r in rows]))
