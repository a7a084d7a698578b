"""Tables 2 and 3 of Huang et al. (ours beside the paper), the GB vs DSGAN t-test, learned vs hidden kernel,
generated footers and the claims scorecard. Each table is built per training seed (Bicubic: the same, untrained row
in every seed) and combined over seeds (mean, 'seed sd'); orderings, reference lines and claims read the seed means,
the t-test the per-slice values averaged over seeds, the kernel distance the mean over seeds."""
from pathlib import Path

import numpy as np
import pandas as pd

from mrsr.experiments.dsgan.evaluate import (BRAIN_METRICS, KERNEL_COLUMNS, MAIN_BRAIN_METRIC, METRICS, item_samples,
                                             kernel_report, means, our_columns, paper_table, seed_mean_metrics, ttest)
from mrsr.footer import paper_budgets, reference_lines, run_footer, training_line
from mrsr.io import load_npz
from mrsr.learned import beats_reference, read_records, row_status
from mrsr.metrics import BRISQUE_LABEL
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, joint_status, write_claims
from mrsr.tables import (by_seed, combine_seeds, load_paper_values, ordering_summary, paper_source, seeds_lines,
                         write_table)

log = log_to(snakemake.log[0])
cfg, footer = snakemake.params.cfg, snakemake.params.footer
reference = list(snakemake.input.reference)  # Bicubic: no training, one file for every seed
per_seed = {seed: pd.concat([pd.read_csv(p, sep="\t") for p in reference + paths], ignore_index=True)
            for seed, paths in by_seed(snakemake.input.metrics).items()}
seeds = sorted(per_seed)
several = len(seeds) > 1
metrics = seed_mean_metrics(per_seed)  # per-slice values averaged over seeds (one seed: its own)
ecfg = cfg["edsr"]
edsr_params = count_params(build("edsr", n_blocks=int(ecfg["n_blocks"]), channels=int(ecfg["channels"])))
params = {k: edsr_params for k in ("zf", "gb", "dsgan", "dsn", "hidden")}
labels = {"bicubic": "Bicubic", "zf": "ZF+EDSR", "gb": "GB+EDSR", "dsgan": "DSGAN+EDSR", "dsn": "DSN+EDSR (proxy)",
          "hidden": "Hidden degradation+EDSR (upper bound)"}
upper = "hidden" in set(metrics["method"])  # phantom only: EDSR on pairs made with the hidden degradation itself

tests = ttest(metrics, "dsgan", "gb")
tests.to_csv(snakemake.output.ttest, sep="\t", index=False)
true_kernel = load_npz(snakemake.input.data[0])["kernel"]
known = bool(np.isfinite(true_kernel).all())  # acquired (sheet) data have no known kernel


def seed_kernels(paths: list[str]) -> pd.DataFrame:
    """Learned (one training seed's slices) and GB kernel against the hidden kernel (NaN where it is unknown), the
    learned kernels' raw sum and phase."""
    learned = np.concatenate([load_npz(p)["kernels"] for p in paths])
    return kernel_report(true_kernel if known else None, learned, float(cfg["gb_sigma"]))


kernels = combine_seeds({seed: seed_kernels(paths) for seed, paths in by_seed(snakemake.input.kernelgan).items()},
                             KERNEL_COLUMNS)
raw = kernels.loc["dsgan"]
sums = np.concatenate([load_npz(p)["kernels"].sum(axis=(1, 2)) for p in snakemake.input.kernelgan])
low = int(np.sum(sums < 0.5))  # KernelGAN's sum-to-one term keeps a trained kernel's sum near 1
raw_line = (f"Learned kernel before KernelGAN's normalisation: {low} of {len(sums)} kernels (slices x seeds) have a "
            f"raw sum below 0.5 (min {sums.min():.3f}; not converged: their G(HR) rests on a renormalised near-zero "
            f"kernel). Mean over slices{', seeds' if several else ''}: sum "
            f"{raw['kernel_sum']:.3f}; centre of mass minus the training's target (6.5, 6.5) (row, col) "
            f"({raw['phase_row']:+.2f}, {raw['phase_col']:+.2f}) HR px. G(HR) is applied with the kernel normalised to "
            "sum 1 and its centre of mass moved onto the real LR's grid (LR pixel i = HR pixel 2i + 1); the kernel "
            "distance renormalises and re-centres, so it sees neither.")
kernels.to_csv(snakemake.output.kernels, sep="\t", index=False)

n = metrics.groupby("method").size()
common = [f"Ours: mean (std, ddof 1) over {int(n.min())} test slices per method (each subject scored by the EDSR "
          f"of the fold that held it out; {cfg['folds']} folds). BRISQUE (LIVE model) is the natural-image model; the "
          "paper's BRISQUE column is its MR-trained model: compare orderings, not values.",
          "t-test DSGAN+EDSR vs GB+EDSR (paired over slices" + (", per-slice values averaged over the training seeds"
                                                               if several else "") + "; paper: p < 0.05): " + "; ".join(
              f"{r.metric.upper()} Δ={r.mean_diff:+.3g} p={r.p_t:.3g} (one-sided, DSGAN better: {r.p_t_better:.3g})" for r in tests.itertuples()),
          (f"Kernel (phantom only): distance to the hidden kernel, DSGAN {kernels.loc['dsgan', 'kernel_distance']:.3f} "
           f"(mean of {int(kernels.loc['dsgan', 'n'])} slices"
           + (f", averaged over {len(seeds)} training seeds, seed sd {kernels.loc['dsgan', 'kernel_distance seed sd']:.3f}"
              if several else "") + f") vs GB {kernels.loc['gb', 'kernel_distance']:.3f}: "
           + ("DSGAN is closer." if kernels.loc["dsgan", "kernel_distance"] < kernels.loc["gb", "kernel_distance"]
              else "DSGAN is NOT closer (target missed).")) if known else
          "Kernel: the true degradation kernel of acquired data is unknown; no kernel distance.", raw_line]
# the slices each subject got: the phantom's interior may hold fewer distinct axial slices than asked
asked = int(cfg["slices_per_subject"])
got = [len(load_npz(p)["slices"]) for p in snakemake.input.data]
if min(got) < asked:
    common.append(f"Slices: {asked} per subject asked, {min(got)}" + (f"-{max(got)}" if max(got) > min(got) else "")
                  + " got (plus validation slices): the brain's interior holds only that many distinct axial "
                  "slices on this grid; the training sets are that much smaller.")
if upper:
    common.append("Hidden degradation+EDSR is an upper bound, not a compared method (phantom only; acquired data have "
                  "no known degradation): EDSR trained on the HR degraded by the phantom's hidden kernel and x2 "
                  "decimation (no misalignment, no noise); it has no paper value and enters no claim.")
if several:
    common.append("Training seeds: DSGAN, the DSN proxy and EDSR are retrained per seed on the same data; Bicubic "
                  "(no training) is the same in every seed. The std columns are the per-seed std over slices, "
                  "averaged over the seeds.")

# Every trained row: its EDSRs' training records (one per fold and seed) and whether it beats Bicubic inside the brain
records = read_records(snakemake.input.records, below=2)  # .../models/<method>/fold-<k>/seed-<n>/loss.json
items = metrics.assign(item=metrics["subject"].astype(str) + "/" + metrics["slice"].astype(str))
beats = {m: beats_reference(items, m, "bicubic", MAIN_BRAIN_METRIC) for m in records}
status_of = {m: row_status(beats[m]["beats"], runs) for m, runs in records.items()}
budget = paper_budgets("dsgan").get("edsr")
brain_name = BRAIN_METRICS[MAIN_BRAIN_METRIC]


def training_lines(methods: list[str]) -> list[str]:
    """One footer line per trained row (updates vs the paper's, plateau, beats Bicubic inside the brain), then the
    paired tests behind 'beats'."""
    lines = [training_line(f"{labels[m]} ({len(records[m])} EDSRs: folds x seeds)", records[m], budget,
                           beats[m]["beats"], "Bicubic") for m in methods]
    tests = "; ".join(f"{labels[m]} p={beats[m]['p']:.3g}" for m in methods)
    n_pairs = beats[methods[0]]["n"]
    lines.append(f"Beats 'Bicubic' = higher {brain_name} (mask of the HR, dilated 2 px) in a one-sided paired t-test "
                 f"over {n_pairs} test slices" + (", per-slice values averaged over the training seeds" if several
                                                  else "") + f", p < 0.05: {tests}.")
    return lines


def seed_table(seed_metrics: pd.DataFrame, paper: dict) -> pd.DataFrame:
    """One training seed's table: ours (mean, std over slices) beside the paper (the upper-bound row, Table 2
    only, has no paper values), our labels."""
    rows = {**paper, "hidden": {}} if upper and "gb" in paper else paper
    frame = paper_table(seed_metrics, rows, params)
    frame["Method"] = [labels[k] for k in frame.index]
    return frame


frames = {}
for table, outs in (("table2", ("csv", "Table 2: SR of the real LR, training-set constructions vs Bicubic")),
                    ("table3", ("csv3", "Table 3: DSN (proxy) vs DSGAN"))):
    paper = load_paper_values("dsgan", table)
    tables = {seed: seed_table(per_seed[seed], paper) for seed in seeds}
    frame = combine_seeds(tables, our_columns(tables[seeds[0]]))
    ours = means(frame)  # seed means
    frames[table] = ours.drop(index=["hidden"], errors="ignore")  # the upper bound enters no claim or ordering
    extra = [*common, f"Paper values: {paper_source('dsgan', table)}"]
    extra += [f"Orderings: {o}" for o in ordering_summary(paper, frames[table].to_dict("index"), METRICS)]
    extra += seeds_lines(paper, {seed: means(t).to_dict("index") for seed, t in tables.items()}, METRICS)
    if table == "table2":
        extra += reference_lines(ours.to_dict("index"), "bicubic", "Bicubic", METRICS, labels=labels,
                                 names={"brisque": BRISQUE_LABEL})
        if ours.loc["dsgan", "psnr"] <= ours.loc["gb", "psnr"]:
            extra.append("Target missed: DSGAN+EDSR does not beat GB+EDSR on PSNR in this run.")
    extra += training_lines([m for m in ours.index if m in records])
    lines = run_footer("dsgan", cfg, footer, extra=extra)
    stem = Path(getattr(snakemake.output, outs[0])).with_suffix("")
    write_table(frame, stem, title=outs[1], footer=lines, mean_std=True)
frames["tests"] = tests[["p_t", "p_t_better"]]
if known:
    frames["kernels"] = kernels[["kernel_distance"]]  # claims: the distance only
# per-item values (paired tests) and each trained row's status (learned, plateau) for the scorecard
table_methods = {"table2": ["bicubic", "zf", "gb", "dsgan"], "table3": ["dsn", "dsgan"]}
status = {t: {m: status_of[m] for m in ms if m in status_of} for t, ms in table_methods.items()}
# the t-test rows (one per metric) compare DSGAN+EDSR with GB+EDSR: they are testable only when both learned
status["tests"] = {row: joint_status([status_of.get("dsgan"), status_of.get("gb")]) for row in frames["tests"].index}
samples = {t: item_samples(per_seed, ms) for t, ms in table_methods.items()}
claims = evaluate_claims("dsgan", frames, preset=footer["preset"], data=footer["data"], status=status,
                         samples=samples)
write_claims(claims, snakemake.output.claims)
log.info("tables written; claim outcomes: %s", ", ".join(claims["outcome"]))
