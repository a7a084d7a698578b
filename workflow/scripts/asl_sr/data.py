"""One subject's volumes: HR / NR / LR perfusion, T1w and truth simulated from the phantom cohort, or NR / LR and
the registered T1w from a subject sheet's BIDS ASL."""
import numpy as np

from mrsr.experiments.asl_sr.data import SHEET_COLUMNS, load_sheet_subject, simulate_subject
from mrsr.io import read_nifti, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
subject = snakemake.wildcards.asl_sr_subject
if snakemake.params.sheet:
    row = {k: getattr(snakemake.input, k) for k in SHEET_COLUMNS if k in snakemake.input.keys()}
    arrays = load_sheet_subject(row, snakemake.params.cfg, snakemake.params.seed)
    log.info("%s (subject sheet): NR = mean of the control - label pairs %s, LR %s; T1w registered (%s to %s) "
             "onto the Experiment 2 grid %s; NR brain mean %.3f", subject, arrays["nr"].shape, arrays["lr"].shape,
             snakemake.params.cfg["registration"]["transform"], snakemake.params.cfg["registration"]["fixed"],
             arrays["t1w"].shape, float(arrays["nr"][arrays["mask_nr"] > 0].mean()))
else:
    maps = {k: read_nifti(getattr(snakemake.input, k)) for k in ("cbf", "att", "t1map", "pd", "t1w", "mask", "gm")}
    rng = np.random.default_rng([snakemake.params.seed, snakemake.params.index, 13])
    arrays = simulate_subject({k: v.data for k, v in maps.items()}, maps["cbf"].voxel_size[0], snakemake.params.cfg,
                              rng)
    gm_truth = arrays["truth"][arrays["mask"] > 0]
    log.info("%s: HR %s, NR %s, LR %s; HR noise s.d. %.4f; brain dM mean %.3f, max %.3f", subject,
             arrays["hr"].shape, arrays["nr"].shape, arrays["lr"].shape, float(arrays["sigma_hr"]),
             float(gm_truth.mean()), float(arrays["truth"].max()))
save_npz(snakemake.output[0], **arrays)
