"""Score one subject's trained variants of one training seed, Experiments 1 and 2; their central slices for figures
(the interpolations are scored once, by baselines.py)."""
import pandas as pd

from mrsr.experiments.asl_sr.evaluate import SLICE_COLUMNS, example_slices, score_subject
from mrsr.io import load_npz, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
data = load_npz(snakemake.input.data)
subject = snakemake.wildcards.asl_sr_subject
trained: dict[str, dict] = {"exp1": {}, "exp2": {}}
for run, path in zip(snakemake.params.runs, snakemake.input.sr):
    experiment, variant = run.split("/")
    trained[experiment][variant] = load_npz(path)["sr"]
rows, slice_rows = score_subject(data, trained, subject, snakemake.params.scoring)
pd.DataFrame(rows).to_csv(snakemake.output.metrics, sep="\t", index=False)
pd.DataFrame(slice_rows, columns=SLICE_COLUMNS).to_csv(snakemake.output.slices, sep="\t", index=False)
save_npz(snakemake.output.examples, **example_slices(trained))
for r in rows:
    log.info("%s seed %s %s %-10s vs %-5s PSNR %.2f SSIM %.3f (brain %.2f / %.3f)", subject, snakemake.wildcards.seed, r["experiment"],
             r["method"], r["reference"], r["psnr"], r["ssim"], r["psnr_brain"], r["ssim_brain"])
