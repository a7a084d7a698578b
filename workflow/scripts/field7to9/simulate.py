"""Simulate a 9.4T-like (HR) and a 7T-like (LR) acquisition of one phantom subject."""
import numpy as np

from mrsr.cohort import subject_rng
from mrsr.experiments.field7to9.simulate import simulate_field_pair
from mrsr.io import read_nifti, write_nifti
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
names = ["gm", "wm", "csf", "pd", "t1map", "t2map", "mask"]
vols = {n: read_nifti(p) for n, p in zip(names, snakemake.input)}
affine = vols["mask"].affine
# a stream distinct from the cohort's own (which used [seed, index])
rng = subject_rng(snakemake.params.seed + 1_000_003, snakemake.params.index)
pair = simulate_field_pair({n: v.data for n, v in vols.items()}, affine, rng, **snakemake.params.sim)
write_nifti(snakemake.output.hr, pair.hr, pair.hr_affine)
write_nifti(snakemake.output.lr, pair.lr, pair.lr_affine)
write_nifti(snakemake.output.mask, (vols["mask"].data > 0.5).astype(np.float32), affine)
log.info("HR %s, LR %s", pair.hr.shape, pair.lr.shape)
