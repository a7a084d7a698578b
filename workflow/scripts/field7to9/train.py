"""Train one method (GPU-tagged): resumes from the newest checkpoint in params.ckpt_dir."""
from pathlib import Path

import torch

from mrsr.device import Compute, select_device
from mrsr.experiments.field7to9.data import check_output_range, load_training_data, training_input, validation_data
from mrsr.nets import count_params
from mrsr.runlog import log_to
from mrsr.train import fit, save_model

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
method = dict(snakemake.params.method)
# assumption: GANs use pix2pix's N(0, 0.02) init unless the method says otherwise
method.setdefault("init", "normal" if method["trainer"] == "gan" else "default")
seed = int(snakemake.wildcards.seed)
device = select_device(int(snakemake.resources.get("gpu", 0)))
train = load_training_data(snakemake.input.train)
val = validation_data(snakemake.input.val, snakemake.params.val_patches)  # validation subjects, never test ones
check_output_range(method, train.hr)
compute = Compute(**snakemake.params.compute)
log.info("%s on %s (%s): %d train / %d val patches, %d updates at batch %d", snakemake.wildcards.field_method,
         device, compute, len(train.lr), len(val.lr), snakemake.params.max_updates, snakemake.params.batch_size)
# the input (upsampled, registered 7T) has the target's shape, so it is the no-model reference itself
fitted = fit(
    method, train, val,
    max_updates=snakemake.params.max_updates, stopping=snakemake.params.stopping,
    batch_size=snakemake.params.batch_size, seed=seed, device=device,
    ckpt_dir=Path(snakemake.params.ckpt_dir), log_csv=Path(snakemake.output.log_csv),
    vgg_weights=snakemake.params.vgg_weights, compute=compute,
    keep_checkpoints=bool(snakemake.config.get("keep_checkpoints", False)),
)
generator = fitted.generator
meta = {"training": fitted.record,
    "experiment": "field7to9", "method_key": snakemake.wildcards.field_method, "seed": seed,
    "params": count_params(generator), "max_updates": snakemake.params.max_updates,
    "batch_size": snakemake.params.batch_size, "n_train_patches": len(train.lr),
    "inference": dict(snakemake.params.inference),
    "trained_on": {**snakemake.params.trained_on, **training_input(snakemake.input.train)},
    "perceptual_random_vgg": "perceptual" in method["losses"] and not snakemake.params.vgg_weights,
}
save_model(snakemake.output.model, generator, method, meta)
log.info("saved %s (%d generator parameters); training record %s", snakemake.output.model, meta["params"],
         fitted.record)
