"""Score one subject's no-model rows (the interpolations, Experiments 1 and 2) once for every training seed; central
slices of them and of the data (LR, NR, HR, truth, T1w) for the figures."""
import pandas as pd

from mrsr.experiments.asl_sr.evaluate import SLICE_COLUMNS, data_panels, example_slices, interpolations, score_subject
from mrsr.io import load_npz, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
data = load_npz(snakemake.input.data)
subject = snakemake.wildcards.asl_sr_subject
outputs = {e: interpolations(data, e) for e in ("exp1", "exp2")}
rows, slice_rows = score_subject(data, outputs, subject, snakemake.params.scoring)
pd.DataFrame(rows).to_csv(snakemake.output.metrics, sep="\t", index=False)
pd.DataFrame(slice_rows, columns=SLICE_COLUMNS).to_csv(snakemake.output.slices, sep="\t", index=False)
panels = data_panels(data)
save_npz(snakemake.output.examples, **example_slices({e: {**panels[e], **outputs[e]} for e in outputs}))
for r in rows:
    log.info("%s %s %-10s vs %-5s PSNR %.2f SSIM %.3f (brain %.2f / %.3f)", subject, r["experiment"], r["method"], r["reference"],
             r["psnr"], r["ssim"], r["psnr_brain"], r["ssim_brain"])
