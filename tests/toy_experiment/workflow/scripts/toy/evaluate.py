"""Toy evaluation: one method's estimates and per-signal scores (mrsr.experiments.toy.evaluate)."""
from mrsr.experiments.toy.evaluate import moving_average, scores
from mrsr.io import load_npz, save_npz, write_text
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
data = load_npz(snakemake.input[0])
estimate = moving_average(data["noisy"], int(snakemake.params.width))
save_npz(snakemake.output.estimate, estimate=estimate)
write_text(snakemake.output.metrics, scores(estimate, data["clean"]).to_csv(sep="\t", index=False))
log.info("scored %d signals", len(estimate))
