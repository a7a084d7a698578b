"""Train one method (GPU-tagged): resumes from the newest checkpoint in params.ckpt_dir."""
from pathlib import Path


from mrsr.experiments.field7to9.data import check_output_range, load_training_data, training_input, validation_data
from mrsr.train import fit, save_model
from mrsr.train.meta import ModelMeta
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
method = dict(snakemake.params.method)
# assumption: GANs use pix2pix's N(0, 0.02) init unless the method says otherwise
method.setdefault("init", "normal" if method["trainer"] == "gan" else "default")
seed = job.seed
device = job.device
train = load_training_data(snakemake.input.train)
val = validation_data(snakemake.input.val, snakemake.params.val_patches)  # validation subjects, never test ones
check_output_range(method, train.hr)
compute = job.compute
log.info("%s on %s (%s): %d train / %d val patches, %d updates at batch %d", snakemake.wildcards.field_method,
         device, compute, len(train.lr), len(val.lr), snakemake.params.max_updates, snakemake.params.batch_size)
# the input (upsampled, registered 7T) has the target's shape, so it is the no-model reference itself
fitted = fit(
    method, train, val,
    max_updates=snakemake.params.max_updates, stopping=snakemake.params.stopping,
    batch_size=snakemake.params.batch_size, seed=seed, device=device,
    ckpt_dir=Path(snakemake.params.ckpt_dir), log_csv=Path(snakemake.output.log_csv),
    vgg_weights=snakemake.params.vgg_weights, compute=compute,
    keep_checkpoints=job.keep_checkpoints,
)
generator = fitted.generator
meta = ModelMeta(
    "field7to9", snakemake.wildcards.field_method, seed, training=fitted.record,
    trained_on={**snakemake.params.trained_on, **training_input(snakemake.input.train)},
    inference=dict(snakemake.params.inference),
    extra={"max_updates": snakemake.params.max_updates, "batch_size": snakemake.params.batch_size,
           "n_train_patches": len(train.lr),
           "perceptual_random_vgg": "perceptual" in method["losses"] and not snakemake.params.vgg_weights},
)
save_model(snakemake.output.model, generator, method, meta)
log.info("saved %s (%d generator parameters); training record %s", snakemake.output.model, meta.params,
         fitted.record)
