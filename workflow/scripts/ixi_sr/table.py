"""Table 1 of Lyu et al. 2019 (SSIM, PSNR) beside the paper, reference rows, generated footer, claims."""
from pathlib import Path

import pandas as pd

from mrsr.experiments.ixi_sr.evaluate import METRICS
from mrsr.footer import failed_to_beat, reference_line, run_footer
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import aggregate, build_table, load_paper_values, ordering_summary, ours_values, paper_source, write_table

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
keys = [k for k, _ in METRICS]
metrics = pd.concat([pd.read_csv(p, sep="\t") for p in snakemake.input], ignore_index=True)
paper = load_paper_values("ixi_sr", "table1")
ours = aggregate(metrics, columns=keys)
params = {k: count_params(build(m["generator"], **dict(m.get("generator_kwargs") or {})))
          for k, m in cfg["methods"].items() if m.get("generator")}
random_vgg = cfg["vgg_weights"] is None
notes = {k: "perceptual: random VGG" for k, m in cfg["methods"].items() if m.get("lambda_p") and random_vgg}
labels = {k: m["label"] for k, m in cfg["methods"].items()}
table = build_table(ours, {k: v for k, v in paper.items() if k in ours.index}, params=params, labels=labels,
                    notes=notes, metrics=keys)
values = ours_values(ours, keys)
networks = [k for k, m in cfg["methods"].items() if m.get("generator")]
extra = [f"Source: {paper_source('ixi_sr', 'table1')}. Rows marked [addition] are our no-model references.",
         f"Ours: mean over {int(ours['n'].min())} full test slices of subject(s) {', '.join(snakemake.params.test)} "
         "(SSIM data range 1, PSNR peak 1, images in [0, 1])."]
if "lr" in values:
    for key, higher in METRICS:
        vals = {k: values[k][key] for k in ["lr", *networks] if k in values}
        extra.append(reference_line(key.upper(), labels["lr"], failed_to_beat(vals, "lr", higher, labels)))
extra += ordering_summary({k: v for k, v in paper.items() if k in networks}, {k: values[k] for k in networks},
                          METRICS)
footer = run_footer("ixi_sr", cfg, snakemake.params.footer, extra=extra)
stem = Path(snakemake.output.csv).with_suffix("")
write_table(table, stem, title="Table 1: 2x k-space SR of T2 slices (SSIM, PSNR)", footer=footer, mean_std=True)
claims = evaluate_claims("ixi_sr", {"table1": pd.DataFrame(values).T}, preset=snakemake.params.footer["preset"],
                         data=snakemake.params.footer["data"])
write_claims(claims, snakemake.output.claims)
log.info("table 1: %d rows; claims held: %s", len(table), list(claims["held"]))
