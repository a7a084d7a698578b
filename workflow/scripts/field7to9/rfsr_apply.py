"""Apply RFSR to the registered 7T test slices (paper Fig. 4)."""
from pathlib import Path

from mrsr.experiments.field7to9.evaluate import evaluate
from mrsr.io import save_npz
from mrsr.experiments.field7to9.rfsr import load_rfsr, predict_rfsr
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
model, meta = load_rfsr(snakemake.input.model)
containers = {Path(p).stem: p for p in snakemake.input.test}
metrics, examples, timing = evaluate(lambda img: predict_rfsr(model, img), containers, snakemake.params.cfg, "rfsr")
metrics.to_csv(snakemake.output.metrics, sep="\t", index=False)
save_npz(snakemake.output.examples, **examples)
log.info("%d slices in %.2f s", timing["n_slices"], timing["predict_seconds"])
