"""Toy figure: the first signal and every method's estimate (mrsr.experiments.toy.figures)."""
from pathlib import Path

from mrsr.experiments.toy.figures import example_figure
from mrsr.io import load_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
clean = load_npz(snakemake.input.data)["clean"]
estimates = {label: load_npz(p)["estimate"] for label, p in zip(snakemake.params.labels, snakemake.input.estimates)}
example_figure(clean, estimates, Path(snakemake.output.png).with_suffix(""),
               title=f"Toy: first signal (preset {snakemake.params.preset})")
log.info("wrote %s", snakemake.output.png)
