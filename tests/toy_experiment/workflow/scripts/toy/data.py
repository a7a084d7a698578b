"""Toy data: clean and noisy step signals (mrsr.experiments.toy.data)."""
from mrsr.experiments.toy.data import step_signals
from mrsr.io import save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
clean, noisy = step_signals(cfg["n_signals"], cfg["length"], cfg["steps"], cfg["noise_sd"], snakemake.params.seed)
save_npz(snakemake.output[0], clean=clean, noisy=noisy)
log.info("wrote %d signals", len(clean))
