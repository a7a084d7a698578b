"""Build one phantom subject of the cohort on the cohort's grid, or on the grid of params.voxel_mm (then only the
maps named in the rule's outputs are written)."""
from pathlib import Path

from mrsr.cohort import load_templates, make_subject, subject_rng, write_subject
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = dict(snakemake.params.cohort)
voxel_mm = float(snakemake.params.get("voxel_mm") or cfg["voxel_mm"])
templates = load_templates(voxel_mm)
rng = subject_rng(snakemake.params.seed, snakemake.params.index)
options = {k: cfg[k] for k in ("jitter", "deform_mm", "deform_smooth_mm", "cbf_heterogeneity", "bias_strength", "snr")}
maps = make_subject(templates, rng, tissue=cfg["tissue"], **options)
wanted = [Path(p).name.split(".")[0] for p in snakemake.output]
write_subject(Path(snakemake.output[0]).parent, snakemake.wildcards.subject, {k: maps[k] for k in wanted},
              templates.affine)
log.info("wrote %s (%s): grid %s, voxel %.2f mm", snakemake.wildcards.subject, ", ".join(wanted), maps["t1w"].shape,
         voxel_mm)
