"""Simulate one subject's HR / NR / LR perfusion volumes, T1w and truth from the phantom cohort."""
import numpy as np

from mrsr.experiments.asl_sr.data import simulate_subject
from mrsr.io import read_nifti, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
maps = {k: read_nifti(getattr(snakemake.input, k)) for k in ("cbf", "att", "t1map", "pd", "t1w", "mask", "gm")}
rng = np.random.default_rng([snakemake.params.seed, snakemake.params.index, 13])
arrays = simulate_subject({k: v.data for k, v in maps.items()}, maps["cbf"].voxel_size[0], snakemake.params.cfg, rng)
save_npz(snakemake.output[0], **arrays)
gm_truth = arrays["truth"][arrays["mask"] > 0]
log.info("%s: HR %s, NR %s, LR %s; HR noise s.d. %.4f; brain dM mean %.3f, max %.3f",
         snakemake.wildcards.asl_sr_subject, arrays["hr"].shape, arrays["nr"].shape, arrays["lr"].shape,
         float(arrays["sigma_hr"]), float(gm_truth.mean()), float(arrays["truth"].max()))
