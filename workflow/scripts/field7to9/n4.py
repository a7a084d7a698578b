"""N4 bias-field correction of one volume (paper 5.1)."""
from mrsr.io import read_mask, read_nifti, write_nifti
from mrsr.preprocess import n4
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
image = read_nifti(snakemake.input.image)
mask = None
if snakemake.input.mask and snakemake.wildcards.field_role == "hr":
    mask = read_mask(snakemake.input.mask[0], like=image).data
corrected = n4(image.data, image.affine, mask=mask, shrink_factor=snakemake.params.shrink)
write_nifti(snakemake.output[0], corrected, image.affine)
log.info("N4 done: %s %s", image.path, image.data.shape)
