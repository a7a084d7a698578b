"""DSN proxy of one fold and training seed (GPU-tagged): HR -> real LR (NLM-denoised) with an L1 loss on the same,
mismatched pairs of the fold's training subjects, at most dsn.max_updates updates with the plateau rule on crops of
their validation slices; then DSN(HR) of every subject. The training seed draws the crops and initialises the
network."""
from pathlib import Path

import numpy as np
import torch

from mrsr.degrade import gaussian_decimate
from mrsr.experiments.dsgan.methods import DSN_CROPS, dsn_method
from mrsr.io import load_npz, save_npz
from mrsr.nets import count_params
from mrsr.train import TrainData, fit, save_model
from mrsr.train.meta import ModelMeta
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
cfg, dcfg = snakemake.params.cfg, snakemake.params.cfg["dsn"]
seed = job.seed
device = job.device
rng = np.random.default_rng([seed, 14, int(snakemake.wildcards.dsgan_fold)])
subjects = [load_npz(path) for path in snakemake.input.data]


def crop_pairs(hrs: list[np.ndarray], lrs: list[np.ndarray], n: int) -> TrainData:
    """n HR / real-LR (NLM) crop pairs at random even positions of random slices."""
    hr_crop, lr_crop = DSN_CROPS
    xs, ys = [], []
    for _ in range(n):
        i = int(rng.integers(len(hrs)))
        r, c = (2 * int(rng.integers((s - hr_crop) // 2 + 1)) for s in hrs[i].shape)
        xs.append(hrs[i][r:r + hr_crop, c:c + hr_crop])
        ys.append(lrs[i][r // 2:r // 2 + lr_crop, c // 2:c // 2 + lr_crop])
    return TrainData(np.stack(xs)[:, None], np.stack(ys)[:, None])


train = crop_pairs([s for d in subjects for s in d["hr"]], [s for d in subjects for s in d["lr_nlm"]],
                   int(dcfg["crops"]))
# held out: crops of the training subjects' validation slices (input: HR crop); no-model reference: the HR crop
# anti-aliased (scikit-image's sigma 0.5 for x2) and sampled at 2i + 1, the real LR's grid
val_hr = [s for d in subjects if "val_hr" in d for s in d["val_hr"]]
val = crop_pairs(val_hr, [s for d in subjects if "val_hr" in d for s in d["val_lr_nlm"]],
                 int(dcfg["val_crops"])) if val_hr and int(dcfg["val_crops"]) else None
reference = None if val is None else np.stack([gaussian_decimate(x[0], 2, 0.5) for x in val.lr])[:, None]
method = dsn_method(dcfg)
fitted = fit(method, train, val, max_updates=int(dcfg["max_updates"]), stopping=dcfg["stopping"],
             val_reference=reference, batch_size=int(dcfg["batch_size"]), seed=seed, device=device,
             ckpt_dir=Path(snakemake.params.ckpt_dir), log_csv=Path(snakemake.output.log_csv),
             compute=job.compute, keep_checkpoints=job.keep_checkpoints)
model = fitted.generator
save_model(snakemake.output.model, model, method,
           ModelMeta("dsgan", "dsn", seed, training=fitted.record,
                     extra={"fold": snakemake.wildcards.dsgan_fold, "n_train": len(train)}))
out = {}
with torch.no_grad():
    for subject, path in zip(snakemake.params.subjects, snakemake.input.apply):
        hr = torch.from_numpy(load_npz(path)["hr"][:, None])
        out[subject] = model(hr).numpy()[:, 0]
save_npz(snakemake.output.lr, **out)
log.info("DSN proxy fold %s: %d crops on %s, %d parameters; %s", snakemake.wildcards.dsgan_fold, len(train), device,
         count_params(model), fitted.record)
