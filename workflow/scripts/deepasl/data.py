"""Build one subject of one DeepASL dataset (synthetic / real): noise levels, complete dM, reference CBF."""
import numpy as np

from mrsr.experiments.deepasl.data import DATASETS, load_bids_subject, simulate_phantom, validation_slices
from mrsr.io import read_nifti, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
dataset = snakemake.wildcards.deepasl_dataset
rng = np.random.default_rng([snakemake.params.seed, snakemake.params.index, DATASETS.index(dataset), 4])
if snakemake.params.sheet_row:
    arrays = load_bids_subject(snakemake.params.sheet_row, cfg, dataset, rng)
    source = "subject sheet"
    tau, pld = (float(v) for v in arrays["kinetics"][:2])
    log.info("%s set quantified with labelling duration %.3g s, post-labelling delay %.3g s (%s)", dataset, tau, pld,
             "the ASL sidecar JSON where it states them" if dataset == "real" else "config")
else:
    maps = {k: read_nifti(getattr(snakemake.input, k)) for k in snakemake.params.maps}
    voxel = maps["pd"].voxel_size[0]
    arrays = simulate_phantom({k: v.data for k, v in maps.items()}, voxel, cfg, dataset, rng)
    source = "phantom cohort"
# held-out validation slices, used only when this subject is a training subject (its own stream: data unchanged)
val_rng = np.random.default_rng([snakemake.params.seed, snakemake.params.index, DATASETS.index(dataset), 5])
arrays["val_slices"] = validation_slices(arrays["mask"], int(cfg["validation"]["slices_per_subject"]), val_rng)
save_npz(snakemake.output[0], **arrays)
mask = arrays["mask"] > 0
gm = (arrays["gm"] >= 0.5) & mask
gm_mean = lambda key: float(arrays[key][gm].mean()) if gm.any() and key in arrays else float("nan")  # noqa: E731
log.info("%s %s (%s, %s model): grid %s, %d pairs, GM-mean CBF: reference (eq. 1 on the complete image) %.1f, "
         "simulated truth %.1f; brain voxels %d; validation slices %s", dataset, snakemake.wildcards.deepasl_subject, source,
         cfg[dataset].get("model"), arrays["clean"].shape, int(arrays["n_pairs"]), gm_mean("ref_cbf"),
         gm_mean("truth_cbf"), int(mask.sum()), arrays["val_slices"].tolist())
