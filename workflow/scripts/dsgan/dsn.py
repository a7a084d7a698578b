"""DSN proxy of one fold and training seed (GPU-tagged): HR -> real LR (NLM-denoised) with an L1 loss on the same,
mismatched pairs of the fold's training subjects; then DSN(HR) of every subject. The training seed draws the crops
and initialises the network."""
from pathlib import Path

import numpy as np
import torch

from mrsr.device import Compute, select_device
from mrsr.experiments.dsgan.methods import DSN_CROPS, dsn_method
from mrsr.io import load_npz, save_npz
from mrsr.nets import count_params
from mrsr.runlog import log_to
from mrsr.train import TrainData, fit, save_model

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
cfg, dcfg = snakemake.params.cfg, snakemake.params.cfg["dsn"]
seed = int(snakemake.wildcards.seed)
device = select_device(int(snakemake.resources.get("gpu", 0)))
rng = np.random.default_rng([seed, 14, int(snakemake.wildcards.dsgan_fold)])
hrs, lrs = [], []
for path in snakemake.input.data:
    d = load_npz(path)
    hrs += list(d["hr"])
    lrs += list(d["lr_nlm"])
xs, ys = [], []
hr_crop, lr_crop = DSN_CROPS
for _ in range(int(dcfg["crops"])):
    i = int(rng.integers(len(hrs)))
    r, c = (2 * int(rng.integers((s - hr_crop) // 2 + 1)) for s in hrs[i].shape)
    xs.append(hrs[i][r:r + hr_crop, c:c + hr_crop])
    ys.append(lrs[i][r // 2:r // 2 + lr_crop, c // 2:c // 2 + lr_crop])
train = TrainData(np.stack(xs)[:, None], np.stack(ys)[:, None])
method = dsn_method(dcfg)
fitted = fit(method, train, None, epochs=int(dcfg["epochs"]), batch_size=int(dcfg["batch_size"]), seed=seed,
            device=device, ckpt_dir=Path(snakemake.params.ckpt_dir), log_csv=Path(snakemake.output.log_csv),
            compute=Compute(**snakemake.params.compute))
model = fitted.generator
save_model(snakemake.output.model, model, method, {"experiment": "dsgan", "training": fitted.record, "fold": snakemake.wildcards.dsgan_fold,
                                                   "params": count_params(model), "n_train": len(train)})
out = {}
with torch.no_grad():
    for subject, path in zip(snakemake.params.subjects, snakemake.input.apply):
        hr = torch.from_numpy(load_npz(path)["hr"][:, None])
        out[subject] = model(hr).numpy()[:, 0]
save_npz(snakemake.output.lr, **out)
log.info("DSN proxy fold %s: %d crops on %s, %d parameters", snakemake.wildcards.dsgan_fold, len(train), device,
         count_params(model))
