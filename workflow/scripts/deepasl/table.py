"""Table 1 of Ulas et al.: both datasets, six methods, PSNR / RMSE / CCC beside the paper and brain-masked PSNR / SSIM
of dM; paired tests; a training line per trained row (did it learn: beats Averaging per item-paired test); claims.

One table per training seed (that seed's networks, the shared Averaging row), combined into seed means; orderings,
reference lines, paired tests and claims read the seed means (tests and claims: per-row values averaged over seeds).
"""
from pathlib import Path

import pandas as pd

from mrsr.experiments.deepasl.evaluate import (
    BRAIN, METRICS, claim_samples, claim_tables, learning_status, paired_tests, reference_lines, training_lines,
)
from mrsr.experiments.deepasl.table import combine_tables, metrics_by_seed, seed_average, seed_means, seed_table
from mrsr.footer import paper_budgets, run_footer
from mrsr.learned import read_records
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, joint_status, write_claims
from mrsr.tables import load_paper_values, ordering_summary, ours_values, paper_source, seeds_lines, write_table

CBF_REFERENCES = {"ground_truth": "the noise-free CBF the set was simulated from (the reference code's choice)",
                  "complete": "the CBF of the complete image (the paper's)"}

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
footer_params = snakemake.params.footer
datasets = snakemake.params.datasets
keys = [k for k, _ in METRICS]
labels = {k: m["label"] for k, m in cfg["methods"].items()}
no_model = [k for k, m in cfg["methods"].items() if not m.get("generator")]
per_seed = metrics_by_seed({p: pd.read_csv(p, sep="\t") for p in snakemake.input.metrics}, snakemake.params.seeds,
                           no_model)
several = len(per_seed) > 1
params = {k: count_params(build(m["generator"])) for k, m in cfg["methods"].items() if m.get("generator")}
built = {seed: seed_table(metrics, datasets, params, keys, labels) for seed, metrics in per_seed.items()}
table = combine_tables({seed: t for seed, (t, _) in built.items()}, datasets, keys)
brain_keys = [k for k, _ in BRAIN if all(k in f.columns for f in per_seed.values())]
metrics = seed_average(per_seed, keys + brain_keys)  # per (subject, level): the mean over seeds
records = read_records(snakemake.input.records, depth=2, below=2)  # .../models/<set>/<method>/fold-<s>/seed-<n>/loss.json
status = learning_status(metrics, records)
orderings, seed_notes, tests, verdicts = [], [], [], []
for dataset in datasets:
    paper = load_paper_values("deepasl", f"table1_{dataset}")
    ours = seed_means({seed: o[dataset] for seed, (_, o) in built.items()}, keys)
    orderings += [f"{dataset}: {line}" for line in ordering_summary(paper, ours_values(ours, keys), METRICS)]
    notes = seeds_lines(paper, {seed: ours_values(o[dataset], keys) for seed, (_, o) in built.items()}, METRICS)
    seed_notes += notes[:1] if not seed_notes else []
    seed_notes += [f"{dataset} set: {line}" for line in notes[1:]]
    verdicts += reference_lines(ours.rename(columns=lambda c: c.removesuffix("_mean")), dataset, labels)
    if {"pr_02", "dilated"} <= set(ours.index):
        tests += [{"dataset": dataset, **row}
                  for row in paired_tests(metrics[metrics["dataset"] == dataset], "pr_02", "dilated")]
n = metrics.groupby(["dataset", "method"]).size()
nets = {m["generator"]: params[k] for k, m in cfg["methods"].items() if m.get("generator")}
net_names = {"deepasl": "DeepASL (the PR-λ rows)", "dilated_conv": "Dilated Conv"}
counted = ", ".join(f"{net_names.get(g, g)} {n:,}" for g, n in nets.items())
extra = [
    "Paper values: " + "; ".join(paper_source("deepasl", f"table1_{d}") for d in datasets) + ".",
    *[f"Orderings: {o}" for o in orderings],
    *seed_notes,
    "Reference row: Averaging (the noisy input itself, no network). " + " ".join(verdicts),
    *[f"Row '{labels[k]}': not the paper's setting; its CBF loss term is against "
      f"{CBF_REFERENCES[m['cbf_reference']]}, on the {' and '.join(m.get('datasets', datasets))} set(s), with the "
      "folds, budget and scoring of the other rows; the claims leave it out."
      for k, m in cfg["methods"].items()
      if m.get("cbf_reference") and set(m.get("datasets", datasets)) & set(datasets)],  # rows this run has
    f"#params: counted from our implementations ({counted}); the paper publishes no parameter counts.",
    f"Ours: mean (std, ddof 1) over held-out subjects x noise levels ({int(n.min())}-{int(n.max())} values per "
    f"cell); subjects held out: {', '.join(snakemake.params.heldout)}."
    + (" With several training seeds: the mean over seeds of each seed's mean and std; Averaging has no training "
       "seed (computed once)." if several else ""),
    "Brain columns: PSNR (brain) and SSIM (brain) of dM against the complete image inside the 2-voxel-dilated "
    f"head mask of M0 (mrsr.metrics.brain_mask), on {cfg['brain_slices']} slices through the brain's interior "
    "(mrsr.metrics.interior_slices), averaged over them; the paper has no such columns.",
    *training_lines(records, status, labels, paper_budgets("deepasl")),
    "Paired tests PR-λ=0.2 vs Dilated Conv (paper: synthetic p << 0.05 for all metrics; real significant for "
    "PSNR and RMSE, CCC p = 0.1388)"
    + (", on each (subject, noise level)'s values averaged over the training seeds" if several else "") + ": "
    + "; ".join(f"{t['dataset']} {t['metric'].upper()} Δ={t['mean_diff']:+.3g} t-test p={t['p_ttest']:.3g} "
                f"Wilcoxon p={t['p_wilcoxon']:.3g} (n={t['n_pairs']})" for t in tests),
]
footer = run_footer("deepasl", cfg, footer_params, extra=extra)
stem = Path(snakemake.output.csv).with_suffix("")
write_table(table, stem, title="Table 1: DeepASL denoising (PSNR of dM, RMSE and Lin's CCC of CBF, inside the brain; "
            "PSNR/SSIM (brain) of dM)",
            footer=footer, mean_std=True)
pd.DataFrame(tests).to_csv(snakemake.output.tests, sep="\t", index=False)
# a claim comparing a row that did not learn (or did not plateau) is untestable; "beats" is an item-paired test
claim_status = {t: {m: {k: v[k] for k in ("learned", "plateau")} for m, v in rows.items()} for t, rows in status.items()}
tables_for_claims = claim_tables(metrics, tests)
for dataset in ("synthetic", "real"):  # the paired-test rows (one per metric) compare PR-λ=0.2 with Dilated Conv
    rows = claim_status.get(f"table1_{dataset}", {})
    if f"tests_{dataset}" in tables_for_claims:
        claim_status[f"tests_{dataset}"] = {metric: joint_status([rows.get("pr_02"), rows.get("dilated")])
                                            for metric in tables_for_claims[f"tests_{dataset}"].index}
claims = evaluate_claims("deepasl", tables_for_claims, preset=footer_params["preset"], data=footer_params["data"],
                         status=claim_status, samples=claim_samples(metrics))
write_claims(claims, snakemake.output.claims)
log.info("table 1 written with %d rows (training seeds %s); %d paired tests; claim outcomes: %s", len(table),
         ", ".join(str(s) for s in per_seed), len(tests), ", ".join(claims["outcome"]))
