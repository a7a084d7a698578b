"""Upsample the 7T volume x factor and register it (affine + deformable) to the 9.4T volume (paper 5.1)."""
from mrsr.io import read_nifti, write_nifti
from mrsr.preprocess import register, upsample
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
lr = read_nifti(snakemake.input.lr)
hr = read_nifti(snakemake.input.hr)
up, up_affine = upsample(lr.data, lr.affine, snakemake.params.factor)
warped = register(
    up, up_affine, hr.data, hr.affine, seed=snakemake.params.seed,
    transform=snakemake.params.transform, reg_iterations=tuple(snakemake.params.iterations),
    label=f"{lr.path} onto {hr.path}",
)
write_nifti(snakemake.output[0], warped, hr.affine)
log.info("registered %s (%s -> %s) to %s", lr.path, lr.data.shape, warped.shape, hr.path)
