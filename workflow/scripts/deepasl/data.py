"""Build one subject of one DeepASL dataset (synthetic / real): noise levels, complete dM, reference CBF."""
import numpy as np

from mrsr.experiments.deepasl.data import DATASETS, load_bids_subject, simulate_phantom
from mrsr.io import read_nifti, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
dataset = snakemake.wildcards.deepasl_dataset
rng = np.random.default_rng([snakemake.params.seed, snakemake.params.index, DATASETS.index(dataset), 4])
if snakemake.params.sheet_row:
    arrays = load_bids_subject(snakemake.params.sheet_row, cfg, dataset, rng)
    source = "subject sheet"
else:
    maps = {k: read_nifti(getattr(snakemake.input, k)) for k in ("pd", "gm", "wm", "cbf", "mask")}
    voxel = maps["pd"].voxel_size[0]
    arrays = simulate_phantom({k: v.data for k, v in maps.items()}, voxel, cfg, dataset, rng)
    source = "phantom cohort"
save_npz(snakemake.output[0], **arrays)
mask = arrays["mask"] > 0
log.info("%s %s (%s): grid %s, %d pairs, GM-mean reference CBF %.1f, brain voxels %d",
         dataset, snakemake.wildcards.deepasl_subject, source, arrays["clean"].shape, int(arrays["n_pairs"]),
         float(arrays["ref_cbf"][arrays["gm"] >= 0.5].mean()) if (arrays["gm"] >= 0.5).any() else float("nan"),
         int(mask.sum()))
