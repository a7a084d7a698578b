"""Score one subject: interpolations and every trained variant, Experiments 1 and 2; central slices for figures."""
import numpy as np
import pandas as pd

from mrsr.experiments.asl_sr.evaluate import central_slices, experiment_outputs, score_subject
from mrsr.io import load_npz, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
data = load_npz(snakemake.input.data)
subject = snakemake.wildcards.asl_sr_subject
trained: dict[str, dict] = {"exp1": {}, "exp2": {}}
for run, path in zip(snakemake.params.runs, snakemake.input.sr):
    experiment, variant = run.split("/")
    trained[experiment][variant] = load_npz(path)["sr"]
outputs = {e: experiment_outputs(data, trained[e], e) for e in ("exp1", "exp2")}
rows = score_subject(data, outputs, subject)
pd.DataFrame(rows).to_csv(snakemake.output.metrics, sep="\t", index=False)
examples = {}
# figure panels beside the outputs; acquired (subject-sheet) data have no HR and no truth
panels = {"exp1": {"lr": "lr", "nr": "nr", "hr": "hr_nr"}, "exp2": {"nr": "nr", "hr": "hr", "truth": "truth", "t1w": "t1w"}}
for experiment, volumes in outputs.items():
    shown = {name: data[key] for name, key in panels[experiment].items() if key in data}
    for name, volume in {**shown, **volumes}.items():
        for view, image in central_slices(volume).items():
            examples[f"{experiment}.{name}.{view}"] = np.ascontiguousarray(image)
save_npz(snakemake.output.examples, **examples)
for r in rows:
    log.info("%s %s %-10s vs %-5s PSNR %.2f SSIM %.3f", subject, r["experiment"], r["method"], r["reference"],
             r["psnr"], r["ssim"])
