"""EDSR x2 for one training-set construction and fold (GPU-tagged, resumable): LR from the construction
(ZF, GB, DSGAN = G(HR), DSN = DSN(HR), HIDDEN = the phantom's hidden kernel: the upper bound) paired with the HR of the fold's training subjects, L1 loss, for at most
edsr.max_updates updates with the plateau rule on held-out validation slices of the same training subjects (their
real LR as input, Bicubic of it as the no-model reference); the test subjects are never seen."""
from pathlib import Path

import numpy as np

from mrsr.experiments.dsgan.data import edsr_pairs, validation_slices
from mrsr.experiments.dsgan.methods import edsr_method
from mrsr.io import load_npz
from mrsr.train import TrainData, fit, save_model
from mrsr.train.meta import ModelMeta
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
cfg, ecfg = snakemake.params.cfg, snakemake.params.cfg["edsr"]
construction = snakemake.wildcards.dsgan_construction
seed = job.seed
device = job.device
hrs, lrs = [], []
dsn = load_npz(snakemake.input.synthetic[0]) if construction == "dsn" else None
subjects = [load_npz(path) for path in snakemake.input.data]
for k, (path, d) in enumerate(zip(snakemake.input.data, subjects)):
    hrs += list(d["hr"])
    if construction in ("zf", "gb", "hidden"):
        lrs += list(d[construction])
    elif construction == "dsgan":
        lrs += list(load_npz(snakemake.input.synthetic[k])["lr"])
    else:
        lrs += list(dsn[Path(path).stem])
rng = np.random.default_rng([seed, 15, int(snakemake.wildcards.dsgan_fold)])
x, y = edsr_pairs(lrs, hrs, int(ecfg["patch_size"]), int(ecfg["patches"]), int(ecfg["rotations"]), rng)
val, val_reference = validation_slices(subjects, "val_lr_nlm" if cfg.get("denoise_test_input", True) else "val_lr")
method = edsr_method(ecfg)
fitted = fit(method, TrainData(x, y), val, max_updates=int(ecfg["max_updates"]), stopping=ecfg["stopping"],
             val_reference=val_reference, batch_size=int(ecfg["batch_size"]), seed=seed, device=device,
             ckpt_dir=Path(snakemake.params.ckpt_dir), log_csv=Path(snakemake.output.log_csv),
             compute=job.compute, keep_checkpoints=job.keep_checkpoints)
model = fitted.generator
meta = ModelMeta("dsgan", construction, seed, training=fitted.record, trained_on=dict(snakemake.params.trained_on),
                 inference=dict(snakemake.params.inference),
                 extra={"fold": snakemake.wildcards.dsgan_fold, "n_train_patches": len(x),
                        "n_val_slices": 0 if val is None else len(val)})
save_model(snakemake.output.model, model, method, meta)
log.info("EDSR %s fold %s on %s: %d pairs from %d slices, %d validation slices; %s", construction,
         snakemake.wildcards.dsgan_fold, device, len(x), len(hrs), meta.extra["n_val_slices"], fitted.record)
