"""One method on every subject's real LR (each subject by the model of the fold that held it out): SR x2, then SSIM,
PSNR (each pair normalised by the HR min/max, peak 1), the same inside the brain (mask of the HR, dilated) and
BRISQUE (LIVE model) per slice."""
import numpy as np
import pandas as pd

from mrsr.experiments.dsgan.data import upsample_on_grid
from mrsr.io import load_npz, save_npz
from mrsr.predictions import PredictionWriter
from mrsr.metrics import brain_mask, brain_metrics, brisque, image_metrics, load_brisque_model
from mrsr.train import load_model, predict_fn
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
cfg, method = snakemake.params.cfg, snakemake.wildcards.dsgan_method
device = job.device
compute = job.compute
predictors = [predict_fn(load_model(p, device)[0], device, 1, compute) for p in snakemake.input.get("models", [])]
live = load_brisque_model()
lr_key = "lr_nlm" if cfg.get("denoise_test_input", True) else "lr"
writer = PredictionWriter(snakemake.output.predictions, "dsgan", method, enabled=bool(predictors))
rows, examples = [], {}
for subject, path in zip(snakemake.params.subjects, snakemake.input.data):
    d = load_npz(path)
    fold = int(snakemake.params.folds[subject])
    for i, (lr, hr) in enumerate(zip(d[lr_key], d["hr"])):
        if method == "bicubic":
            sr = upsample_on_grid(lr, hr.shape)  # LR pixel i read as HR pixel 2i + 1
        else:
            sr = predictors[fold](lr[None, None])[0, 0]
        lo, hi = float(hr.min()), float(hr.max())
        ref, out = (hr - lo) / (hi - lo), (sr - lo) / (hi - lo)
        m = image_metrics(out, ref, peak=1.0, ssim_range=1.0)
        inside = brain_metrics(out, ref, peak=1.0, ssim_range=1.0, mask=brain_mask(hr))  # mask from the HR, dilated
        rows.append({"method": method, "subject": subject, "fold": fold, "slice": i, "psnr": m["psnr"],
                     "ssim": m["ssim"], "brisque": brisque(np.clip(out, 0.0, 1.0), live),
                     "psnr_brain": inside["psnr_brain"], "ssim_brain": inside["ssim_brain"]})
        if not examples:
            examples = {"sr": sr.astype(np.float32), "hr": hr, "lr": lr}
        writer.add_slice(subject, int(d["slices"][i]), sr, axis=2)  # voxel size not recorded: 1 mm
pd.DataFrame(rows).to_csv(snakemake.output.metrics, sep="\t", index=False)
writer.write()
save_npz(snakemake.output.examples, **examples)
frame = pd.DataFrame(rows)
log.info("%s: %d slices, PSNR %.2f, SSIM %.3f, BRISQUE %.1f", method, len(frame), frame.psnr.mean(),
         frame.ssim.mean(), frame.brisque.mean())
