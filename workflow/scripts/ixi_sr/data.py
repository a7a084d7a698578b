"""HR T2w slices of one subject and their k-space truncated LR (central 25 % of k-space, same grid)."""
from mrsr.experiments.ixi_sr.data import slice_pairs
from mrsr.io import read_nifti, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
volume = read_nifti(snakemake.input[0])
pairs = slice_pairs(volume.data, size=int(cfg["slice_size"]), axis=int(cfg["slice_axis"]),
                    min_foreground=float(cfg["min_foreground"]))
save_npz(snakemake.output[0], **pairs)
log.info("%s: %d slices of %dx%d from %s (voxel %s mm); HR range [%.3g, %.3g], LR range [%.3g, %.3g]",
         snakemake.wildcards.ixi_sr_subject, len(pairs["hr"]), *pairs["hr"].shape[1:], snakemake.input[0],
         volume.voxel_size, pairs["hr"].min(), pairs["hr"].max(), pairs["lr"].min(), pairs["lr"].max())
