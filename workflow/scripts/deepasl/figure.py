"""Ulas et al. Figs. 2-4: denoised perfusion images / CBF maps, Bland-Altman plots of GM CBF (first training seed)."""
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
seeds = list(snakemake.params.seeds)  # the networks shown are those of the first training seed
seed = f"seed {seeds[0]}" + (f" of training seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else "")
where = f"{spec['dataset']} set, {subject}, {pct}% of pairs (preset {snakemake.params.preset}, {seed})"
if spec["kind"] == "images":
    denoising_figure(examples, labels, spec["fraction"], stem, title=f"{spec['title']}: {where}")
else:
    bland_altman_figure(examples, labels, spec["fraction"], stem, title=f"{spec['title']}: {where}")
log.info("wrote %s", stem)
