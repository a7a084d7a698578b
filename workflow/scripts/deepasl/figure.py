"""Ulas et al. Figs. 2-4: denoised perfusion images / CBF maps, and Bland-Altman plots of GM CBF."""
from pathlib import Path

from mrsr.experiments.deepasl.figures import bland_altman_figure, denoising_figure
from mrsr.io import load_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
spec = snakemake.params.spec
examples = {m: load_npz(p) for m, p in zip(spec["methods"], snakemake.input)}
labels = snakemake.params.labels
stem = Path(snakemake.output.png).with_suffix("")
subject = str(next(iter(examples.values()))["subject"])
pct = int(round(100 * spec["fraction"]))
where = f"{spec['dataset']} set, {subject}, {pct}% of pairs (preset {snakemake.params.preset}, seed {snakemake.params.seed})"
if spec["kind"] == "images":
    denoising_figure(examples, labels, spec["fraction"], stem, title=f"{spec['title']}: {where}")
else:
    bland_altman_figure(examples, labels, spec["fraction"], stem, title=f"{spec['title']}: {where}")
log.info("wrote %s", stem)
