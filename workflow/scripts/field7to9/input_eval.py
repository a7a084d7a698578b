"""The no-model reference row: the registered, upsampled LR scored as the prediction (same slices and metrics)."""
from pathlib import Path

from mrsr.experiments.field7to9.data import INPUT_KEY
from mrsr.experiments.field7to9.evaluate import evaluate
from mrsr.io import save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
containers = {Path(p).stem: p for p in snakemake.input.test}
metrics, examples, timing = evaluate(lambda lr: lr, containers, snakemake.params.cfg, INPUT_KEY)
metrics.to_csv(snakemake.output.metrics, sep="\t", index=False)
save_npz(snakemake.output.examples, **examples)
log.info("input as prediction: %d slices; mean PSNR %.2f, SSIM %.3f", timing["n_slices"], metrics.psnr.mean(),
         metrics.ssim.mean())
