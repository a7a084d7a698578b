"""Normalise one registered pair and write its patch container (paper 5.1-5.2)."""
import zlib

import numpy as np

from mrsr.experiments.field7to9.data import build_container
from mrsr.io import check_same_grid, read_mask, read_nifti, save_npz
from mrsr.preprocess import background_fraction
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
lr = read_nifti(snakemake.input.lr)
hr = read_nifti(snakemake.input.hr)
check_same_grid(lr, hr)
mask = None
if snakemake.input.mask:
    mask = read_mask(snakemake.input.mask[0], like=hr).data
subject = snakemake.wildcards.field_subject
rng = np.random.default_rng([snakemake.params.seed, zlib.crc32(subject.encode())])
container = build_container(lr.data, hr.data, mask, snakemake.params.cfg, rng)
# what `mrsr apply` compares a new scan with: the grid the network saw and how much air surrounds the head
container["voxel_mm"] = np.array(hr.voxel_size[:3], dtype=np.float64)
container["lr_background"] = np.array(background_fraction(lr.data))
shape = container["lr"].shape
if not snakemake.params.keep_volumes:  # a training or validation subject: its patches are all that is read again
    del container["lr"], container["hr"]
save_npz(snakemake.output[0], **container)
log.info("%s: %d patch pairs, volume %s%s", subject, len(container["lr_patches"]), shape,
         "" if snakemake.params.keep_volumes else " (not stored: not a test subject)")
