"""HR T2w slices of one subject (every slice_step-th qualifying slice) and, for a training subject, the slices held
out for validation; the slices' in-plane voxel size (mm) as `voxel_mm`. Their k-space truncated LR (central 25 % of
k-space, same grid) is not stored: readers rebuild it (mrsr.experiments.ixi_sr.data.load_slice_pairs)."""
import numpy as np

from mrsr.experiments.ixi_sr.data import slice_pairs
from mrsr.io import read_nifti, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
subject = snakemake.wildcards.ixi_sr_subject
volume = read_nifti(snakemake.input[0])
axis = int(cfg["slice_axis"])
n_val = int(cfg["val_slices"]) if subject in snakemake.params.train_subjects else 0  # test subjects: none
pairs = slice_pairs(volume.data, size=int(cfg["slice_size"]), axis=axis,
                    min_foreground=float(cfg["min_foreground"]), val_slices=n_val, step=int(cfg["slice_step"]))
voxel_mm = np.delete(np.asarray(volume.voxel_size, dtype=np.float64), axis)
save_npz(snakemake.output[0], hr=pairs["hr"], val=pairs["val"], voxel_mm=voxel_mm)
log.info("%s: %d slices of %dx%d (every %d-th qualifying) from %s (voxel %s mm), %d held out for validation; HR "
         "range [%.3g, %.3g], LR range [%.3g, %.3g]", subject, len(pairs["hr"]), *pairs["hr"].shape[1:],
         int(cfg["slice_step"]), snakemake.input[0],
         volume.voxel_size, int(pairs["val"].sum()), pairs["hr"].min(), pairs["hr"].max(), pairs["lr"].min(),
         pairs["lr"].max())
