"""Build one phantom subject of the cohort."""
from pathlib import Path

from mrsr.cohort import load_templates, make_subject, subject_rng, write_subject
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = dict(snakemake.params.cohort)
templates = load_templates(cfg["voxel_mm"])
rng = subject_rng(snakemake.params.seed, snakemake.params.index)
options = {k: cfg[k] for k in ("jitter", "deform_mm", "deform_smooth_mm", "cbf_heterogeneity", "bias_strength", "snr")}
maps = make_subject(templates, rng, tissue=cfg["tissue"], **options)
write_subject(Path(snakemake.output[0]).parent, snakemake.wildcards.subject, maps, templates.affine)
log.info("wrote %s: grid %s, voxel %.2f mm", snakemake.wildcards.subject, maps["t1w"].shape, cfg["voxel_mm"])
