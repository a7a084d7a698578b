"""Normalise one registered pair and write its patch container (paper 5.1-5.2)."""
import zlib

import numpy as np

from mrsr.experiments.field7to9.data import build_container
from mrsr.io import check_same_grid, read_nifti, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
lr = read_nifti(snakemake.input.lr)
hr = read_nifti(snakemake.input.hr)
check_same_grid(lr, hr)
mask = None
if snakemake.input.mask:
    mask_vol = read_nifti(snakemake.input.mask[0])
    check_same_grid(mask_vol, hr)
    mask = mask_vol.data
subject = snakemake.wildcards.field_subject
rng = np.random.default_rng([snakemake.params.seed, zlib.crc32(subject.encode())])
container = build_container(lr.data, hr.data, mask, snakemake.params.cfg, rng)
save_npz(snakemake.output[0], **container)
log.info("%s: %d patch pairs, volume %s", subject, len(container["lr_patches"]), container["lr"].shape)
