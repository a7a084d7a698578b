"""Train one DeepASL / Dilated Conv model of one leave-one-subject-out fold (GPU-tagged, resumable): a budget of
optimiser updates with the plateau rule on held-out validation slices of the training subjects."""
from pathlib import Path

import numpy as np

from mrsr.experiments.deepasl.data import fold_data
from mrsr.io import load_npz
from mrsr.train import fit, save_model
from mrsr.train.meta import ModelMeta
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
cfg = snakemake.params.cfg
method = {**snakemake.params.method, "cbf_unit": float(cfg["cbf_unit"])}
seed = job.seed
device = job.device
subjects = {path: load_npz(path) for path in snakemake.input.train}
# a method's own cbf_reference (the labelled ground-truth row) overrides its set's
train, val = fold_data(subjects, cfg, snakemake.wildcards.deepasl_dataset, seed, method.get("cbf_reference"))
compute = job.compute
log.info("%s fold %s on %s (%s): %d training patches, %d validation patches (held-out slices) from %d subjects; "
         "CBF loss reference %s", snakemake.wildcards.deepasl_method, snakemake.wildcards.deepasl_fold, device,
         compute, len(train), 0 if val is None else len(val), len(subjects),
         method.get("cbf_reference") or cfg[snakemake.wildcards.deepasl_dataset].get("cbf_reference", "complete"))
# the no-model output (Averaging: the input itself) has residual 0, the reference of the validation MSE
fitted = fit(method, train, val, max_updates=int(cfg["max_updates"]), batch_size=int(cfg["batch_size"]),
             stopping=cfg["stopping"], val_reference=None if val is None else np.zeros_like(val.hr), seed=seed,
             device=device, ckpt_dir=Path(snakemake.params.ckpt_dir), log_csv=Path(snakemake.output.log_csv),
             compute=compute, keep_checkpoints=job.keep_checkpoints)
model = fitted.generator
meta = ModelMeta("deepasl", snakemake.wildcards.deepasl_method, seed, training=fitted.record,
                 trained_on=dict(snakemake.params.trained_on), inference=dict(snakemake.params.inference),
                 extra={"dataset": snakemake.wildcards.deepasl_dataset, "heldout": snakemake.wildcards.deepasl_fold,
                        "max_updates": int(cfg["max_updates"]), "batch_size": int(cfg["batch_size"]),
                        "n_train_patches": len(train), "n_val_patches": 0 if val is None else len(val)})
save_model(snakemake.output.model, model, method, meta)
log.info("saved %s (%d parameters); training record %s", snakemake.output.model, meta.params, fitted.record)
