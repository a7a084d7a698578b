"""One DSGAN per slice of one subject and training seed (one GPU-tagged job per subject and seed, slices in sequence):
crops from gradient probability maps, the shared training loop, then LR_syn = G(HR) over the slice (on the real LR's grid)
and the learned kernel (correlation orientation, raw: before normalisation), its raw sum and phase. The training seed draws the crops and initialises the networks."""
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mrsr.experiments.dsgan import data as D
from mrsr.experiments.dsgan.methods import KERNELGAN_BATCH, KERNELGAN_CROPS, kernelgan_method
from mrsr.io import load_npz, save_npz
from mrsr.train import TrainData, fit
from mrsr.train.dsgan import kernel_phase
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
cfg, kg = snakemake.params.cfg, snakemake.params.cfg["kernelgan"]
seed = job.seed
device = job.device
d = load_npz(snakemake.input[0])
method = kernelgan_method(kg)
n = int(kg["iterations"])
lr_key = "lr_nlm"  # paper: the LR is NLM-denoised before DSGAN training
synthetic, kernels, rows = [], [], []
for i, (hr, lr) in enumerate(zip(d["hr"], d[lr_key])):
    began = time.perf_counter()
    rng = np.random.default_rng([seed, 13, snakemake.params.index, i])
    hr_crop, lr_crop = KERNELGAN_CROPS
    x = D.sample_crops(D.to_unit(hr), D.gradient_probability_map(hr, hr_crop), hr_crop, n, rng)
    y = D.sample_crops(D.to_unit(lr), D.gradient_probability_map(lr, lr_crop), lr_crop, n, rng)
    ckpt = Path(snakemake.params.ckpt_dir) / f"slice-{i}"
    fitted = fit(method, TrainData(x, y), None, max_updates=n, batch_size=KERNELGAN_BATCH, seed=seed * 1000 + i,
            device=device, ckpt_dir=ckpt, log_csv=ckpt / "loss.csv", progress=False,
            compute=job.compute)
    g = fitted.generator
    loss = pd.read_csv(ckpt / "loss.csv").iloc[-1]
    synthetic.append(D.apply_generator(g, hr))  # fit returns G on the CPU
    with torch.no_grad():
        kernels.append(g.kernel().numpy())
    phase = kernel_phase(kernels[-1])
    rows.append({"slice": i, **{k: float(v) for k, v in loss.items()}, "kernel_sum": float(kernels[-1].sum()),
                 "phase_row": phase[0], "phase_col": phase[1], "seconds": time.perf_counter() - began})
    log.info("slice %d: %d iterations in %.1f s, raw kernel sum %.3f, centre of mass - target (%.2f, %.2f) px, "
             "final bicubic loss %.4g", i, n, rows[-1]["seconds"], rows[-1]["kernel_sum"], *phase,
             rows[-1].get("train_bicubic", np.nan))
shutil.rmtree(snakemake.params.ckpt_dir, ignore_errors=True)  # one small checkpoint per slice: not kept
save_npz(snakemake.output[0], lr=np.stack(synthetic).astype(np.float32), kernels=np.stack(kernels).astype(np.float32),
         log=pd.DataFrame(rows).to_numpy(dtype=np.float64), log_columns=np.array(list(pd.DataFrame(rows).columns)))
