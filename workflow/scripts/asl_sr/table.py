"""Table 1 (Experiment 1: PSNR/SSIM against NR, HR and the truth, beside the paper), the Experiment 2 table
(linear vs proposed on the T1 grid against the truth and HR), claims. Each table is built per training seed (the
interpolations, scored once, in every seed's table), then combined: mean over seeds and, with several seeds, a
'seed sd' column per value; orderings, verdicts and claims read the seed means. Every table also has '(brain)' columns; every trained row gets a
training line: updates per scale beside the paper's, plateau, and whether it beats linear interpolation inside the
brain (paired test over interior slices of every subject)."""
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mrsr.footer import paper_budgets, reference_lines, run_footer, training_line
from mrsr.learned import beats_reference, plateau_status, read_records
from mrsr.nets import build, count_params
from mrsr.runlog import log_to
from mrsr.scorecard import evaluate_claims, write_claims
from mrsr.tables import (aggregate, build_table, by_seed, combine_seeds, load_paper_values, ordering_summary,
                         ours_values, paper_source, seeds_lines, write_table)

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
foot = snakemake.params.footer
REF_NAMES = {"nr": "NR", "hr": "HR", "truth": "Truth"}
METRICS = ("psnr", "ssim", "psnr_brain", "ssim_brain")
# The reference of each experiment's main metric (brain PSNR): the first the data have (HR is the truth's closest
# stand-in in Experiment 1; the paper's NR is noisier than the output it scores).
MAIN_REFS = {"exp1": ("hr", "nr"), "exp2": ("truth", "hr")}
NO_MODEL = "linear"  # the no-model reference row of both tables
# what the finer scales' inputs upsample (asl_sr.model.scale_input)
SCALE_INPUT_NAMES = {"reconstruction": "the coarser reconstruction", "real": "the real coarser volume"}


def read_metrics(paths: Sequence[str]) -> pd.DataFrame:
    """The eval rules' metrics.tsv files in one frame."""
    return pd.concat([pd.read_csv(p, sep="\t") for p in paths], ignore_index=True)


def wide(metrics: pd.DataFrame, experiment: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Per subject and method, one column per <metric>_<reference>; the column keys; the keys with a score (a
    subject sheet's acquired data have no HR and no truth: those columns are NaN)."""
    part = metrics[metrics["experiment"] == experiment]
    frame = part.pivot_table(index=["subject", "method"], columns="reference", values=list(METRICS),
                             dropna=False)
    frame.columns = [f"{m}_{r}" for m, r in frame.columns]
    refs = list(dict.fromkeys(part["reference"]))
    keys = [f"{m}_{r}" for r in refs for m in METRICS]
    return frame.reset_index(), keys, [k for k in keys if frame[k].notna().any()]


def subject_line(subject: str, p: pd.DataFrame, available: list[str]) -> str:
    """'<subject>: Nearest NR psnr/ssim HR psnr/ssim, ...' over the paper's rows and references with a score."""
    refs = [r for r in ("nr", "hr") if f"psnr_{r}" in available]
    return f"{subject}: " + ", ".join(
        f"{labels[m]} " + " ".join(f"{REF_NAMES[r]} {p.loc[m, f'psnr_{r}']:.2f}/{p.loc[m, f'ssim_{r}']:.3f}"
                                   for r in refs) for m in p.index if m in paper)


def unavailable_line(keys: list[str], available: list[str]) -> list[str]:
    """Footer line naming the columns without a reference in these data (shown as –)."""
    missing = [label(k) for k in keys if k not in available]
    if not missing:
        return []
    return [f"Not available for these data (no such reference; shown as –): {', '.join(missing)}; claims that "
            "need them are n/a."]


def display(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Column 'PSNR_NR' -> 'NR PSNR' (the metric last, so the number formats apply); also its paper and Δ columns."""
    names = {}
    for key in keys:
        old, new = key.upper(), label(key)
        names.update({old: new, f"{old} (paper)": f"{new} (paper)", f"Δ{old}": f"Δ{new}"})
    return frame.rename(columns=names)


def label(key: str) -> str:
    """'psnr_nr' -> 'NR PSNR', 'psnr_brain_nr' -> 'NR PSNR (brain)'."""
    metric, ref = key.rsplit("_", 1)
    name, _, inside = metric.partition("_")
    return f"{REF_NAMES[ref]} {name.upper()}" + (f" ({inside})" if inside else "")


def verdicts(means: pd.DataFrame, keys: list[str], labels: dict, reference: str = "linear") -> list[str]:
    """Footer lines: which trained rows did not beat linear interpolation (the no-model reference)."""
    rows = [k for k in means.index if k not in ("nearest", "spline")]
    return reference_lines(means.loc[rows].to_dict("index"), reference, labels.get(reference, reference),
                           [(key, True) for key in keys], labels=labels, names={key: label(key) for key in keys})


def exp1_table(metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Table 1 of one seed's metrics (display columns); its aggregate, per-subject frame, column keys, scored keys."""
    per_subject, keys, available = wide(metrics, "exp1")
    keys = [k for k in keys if k in available or not k.endswith("_truth")]  # the truth only where it is known
    ours = aggregate(per_subject, columns=keys)
    table = build_table(ours, rows, params=params, metrics=keys)
    table = table.drop(columns=[c for c in table.columns if ("TRUTH" in c or "BRAIN" in c)
                                and ("(paper)" in c or c.startswith("Δ"))])
    return display(table, keys), ours, per_subject, keys, available


def exp2_table(metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """The Experiment 2 table of one seed's metrics, as exp1_table (no paper values, so no Δ columns)."""
    per_subject, keys, available = wide(metrics, "exp2")
    ours = aggregate(per_subject, columns=keys)
    table = build_table(ours, rows2, params=params, metrics=keys)
    table = table[[c for c in table.columns if "(paper)" not in c and not c.startswith("Δ")]]
    return display(table, keys), ours, per_subject, keys, available


def combined(tables: dict[int, pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Per-seed tables in one: our values and their Δ columns averaged over seeds (combine_seeds)."""
    ours = {label(k) for k in keys}
    return combine_seeds(tables, [c for c in tables[min(tables)].columns if c.removeprefix("Δ") in ours])


def seed_means(table: pd.DataFrame, keys: list[str], order: pd.Index) -> pd.DataFrame:
    """The combined table's values under their keys ('NR PSNR' -> 'psnr_nr'), rows in `order` (the aggregate's)."""
    return table.loc[list(order), [label(k) for k in keys]].set_axis(keys, axis=1)


def per_subject_means(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Per-subject values averaged over the training seeds."""
    return pd.concat(frames, ignore_index=True).groupby(["subject", "method"]).mean().reset_index()


def slice_scores(experiment: str) -> tuple[pd.DataFrame, str | None]:
    """Per-slice brain PSNR of every method (trained rows averaged over seeds) against the experiment's main
    reference: columns method, item, psnr_brain; and that reference (None: the data have none)."""
    frames = [pd.read_csv(p, sep="\t") for p in [*snakemake.input.slices, *snakemake.input.baseline_slices]]
    part = pd.concat(frames, ignore_index=True)
    part = part[part["experiment"] == experiment]
    ref = next((r for r in MAIN_REFS[experiment] if (part["reference"] == r).any()), None)
    part = part[part["reference"] == ref].groupby(["method", "item"], as_index=False)["psnr_brain"].mean()
    return part, ref


def beats_no_model(experiment: str, method: str) -> tuple[bool | None, float, str | None]:
    """(the row beats linear interpolation on brain PSNR, one-sided paired t-test over slices; p; reference)."""
    part, ref = slice_scores(experiment)
    if ref is None:
        return None, float("nan"), None
    test = beats_reference(part, method, NO_MODEL, "psnr_brain")
    return test["beats"], test["p"], ref


def mean_of(runs: list[list[dict]], key: str) -> float:
    """Mean over runs of the finest scale's record value `key` (NaN where not recorded)."""
    values = [run[-1].get(key) for run in runs]
    return float(pd.Series([v for v in values if v is not None], dtype=float).mean())


def training_lines(experiment: str, methods: Sequence[str], records: dict[str, list[list[dict]]]
                   ) -> tuple[list[str], dict[str, dict]]:
    """Footer lines of the trained rows of one experiment (training_line on the finest scale's records, one per
    subject and seed, with the coarser scales' updates and the brain-PSNR test), and their scorecard status."""
    budget = paper_budgets("asl_sr").get("proposed")
    lines, status = [], {}
    for method in methods:
        runs = records[(experiment, method)]
        better, p, ref = beats_no_model(experiment, method)
        scales = len(runs[0])
        coarser = "; ".join(f"scale {n}: updates {', '.join(str(run[n]['updates']) for run in runs)}, plateau in "
                            f"{sum(bool(run[n]['plateau_reached']) for run in runs)} of {len(runs)}"
                            for n in range(scales - 1))
        name = (f"{labels.get(method, method)} ({experiment}, finest of {scales} scales, {len(runs)} runs = subjects x "
                f"seeds{'; ' + coarser if coarser else ''})")
        test = (f" (brain PSNR vs {REF_NAMES[ref]}, one-sided paired t-test over interior slices, p = {p:.3g})"
                if ref else " (no reference in these data)")
        test += (f"; finest-scale reconstruction MSE {mean_of(runs, 'val_mse'):.3g} vs "
                 f"{mean_of(runs, 'reference_val_mse'):.3g} of the upsampled coarser scale; brain mean of its output x"
                 f"{mean_of(runs, 'brain_mean_ratio'):.3f} of its training volume's, of the SR volume x"
                 f"{mean_of(runs, 'sr_brain_mean_ratio'):.3f} of its upsampled input's (mean over runs; finer scales "
                 f"train on up({SCALE_INPUT_NAMES[runs[0][-1].get('scale_input', 'reconstruction')]}))")
        lines.append(training_line(name, [run[-1] for run in runs], budget, better, labels.get(NO_MODEL, NO_MODEL))
                     .removesuffix(".") + test + ".")
        status[method] = {"learned": better, "plateau": plateau_status([r for run in runs for r in run])}
    return lines, status


def pyramid_line(experiment: str, runs: list[list[dict]]) -> str:
    """The scales actually trained (shapes of the first run) and the low-pass sigma relative to each scale's grid."""
    shapes = [r["shape"] for r in runs[0]]
    sigma = float(cfg["model"]["lowpass_sigma"])
    spans = ", ".join(f"{'x'.join(map(str, sh))} ({100 * sigma / max(sh):.0f}-{100 * sigma / min(sh):.0f} %)"
                      for sh in shapes)
    return (f"Pyramid ({experiment}): {len(shapes)} scales trained, coarse to fine: {spans} = grid shape (the "
            f"low-pass loss's sigma, {sigma:g} voxels, as a share of the longest-shortest axis): at these grids the "
            "'super low-pass' keeps little more than each volume's mean and gross gradient.")


def samples_of(metrics: dict[int, pd.DataFrame], experiment: str) -> pd.DataFrame:
    """Per-item values for the scorecard's paired tests: method, item (subject), seed, one column per table key."""
    frames = [wide(m, experiment)[0].assign(seed=seed) for seed, m in metrics.items()]
    return pd.concat(frames, ignore_index=True).rename(columns={"subject": "item"})


paper = load_paper_values("asl_sr", "table1")
labels = {k: v["label"] for k, v in paper.items()}
variants = [v for v in snakemake.params.variants if v != "proposed"]
labels.update({v: f"Proposed ({v}, not in the paper)" for v in variants})
rows = {**paper, **{v: {"label": labels[v]} for v in variants}}
rows2 = {"linear": {"label": "Linear"}, "proposed": {"label": "Proposed"}}
params = {"proposed": count_params(build(cfg["model"]["generator"], **{**cfg["model"].get("generator_kwargs", {}), "in_channels": 2}))}
baselines = read_metrics(snakemake.input.baselines)
per_seed = {seed: pd.concat([baselines, read_metrics(paths)], ignore_index=True)
            for seed, paths in by_seed(snakemake.input.metrics).items()}
seed_note = ", mean over the training seeds" if len(per_seed) > 1 else ""

records = read_records(snakemake.input.training, depth=2, below=2)  # .../<exp>/<method>/<subject>/seed-<n>/training.json
train_lines, status1 = training_lines("exp1", ["proposed", *variants], records)
built = {seed: exp1_table(m) for seed, m in per_seed.items()}
_, ours, _, keys, available = built[min(built)]
table = combined({s: b[0] for s, b in built.items()}, keys)
means = seed_means(table, available, ours.index)
per_subject = per_subject_means([b[2] for b in built.values()])
paper_keys = [k for k in ("psnr_nr", "ssim_nr", "psnr_hr", "ssim_hr") if k in available]
paper_metrics = [(k, True) for k in paper_keys]
orderings = ordering_summary(paper, ours_values(means, paper_keys), paper_metrics)
subjects = [subject_line(s, part.set_index("method"), available) for s, part in per_subject.groupby("subject")]
extra = [f"Paper values: {paper_source('asl_sr', 'table1')}; the paper has no truth columns.",
         f"Ours: mean over {per_subject['subject'].nunique()} subjects; per subject (PSNR/SSIM{seed_note}):",
         *subjects, *unavailable_line(keys, available), *[f"Orderings: {o}" for o in orderings],
         *verdicts(means, available, labels),
         *seeds_lines(paper, {s: ours_values(b[1], paper_keys) for s, b in built.items()}, paper_metrics),
         f"#params: generator at this preset's widths (the paper preset: 340,321).", *train_lines,
         pyramid_line("exp1", records[("exp1", "proposed")])]
footer = run_footer("asl_sr", {"asl_sr": cfg}, foot, extra=extra)
write_table(table, Path(snakemake.output.csv).with_suffix(""),
            title="Table 1: Experiment 1 (trained on LR, generated on the NR grid): PSNR / 3-D SSIM vs "
                  + ", ".join(REF_NAMES[k.rsplit("_", 1)[1]] for k in keys if k.startswith("psnr_") and "brain" not in k)
                  + " (also inside the brain)",
            footer=footer)
claims = evaluate_claims("asl_sr", {"table1": means}, preset=foot["preset"], data=foot["data"],
                         status={"table1": status1}, samples={"table1": samples_of(per_seed, "exp1")})
write_claims(claims, snakemake.output.claims)

built2 = {seed: exp2_table(m) for seed, m in per_seed.items()}
_, ours2, per_subject2, keys2, available2 = built2[min(built2)]
table2 = combined({s: b[0] for s, b in built2.items()}, keys2)
means2 = seed_means(table2, available2, ours2.index)
scored2 = ("the phantom's truth allows scores." if available2 else
           "these data have neither HR nor a truth on the T1 grid, so nothing is scored: see Fig. 4.")
# the paper reports no Experiment 2 values, so no paper ordering can flip: only the line on how seeds combine
seeds2 = seeds_lines(rows2, {s: {} for s in built2}, [])[:1]
footer2 = run_footer("asl_sr", {"asl_sr": cfg}, foot, extra=[
    f"The paper shows Experiment 2 only as images (Fig. 4, linear vs proposed); {scored2}",
    f"Ours: mean over {per_subject2['subject'].nunique()} subjects.", *unavailable_line(keys2, available2),
    *verdicts(means2, available2, labels), *seeds2, *training_lines("exp2", ["proposed"], records)[0],
    pyramid_line("exp2", records[("exp2", "proposed")])])
write_table(table2, Path(snakemake.output.exp2_csv).with_suffix(""),
            title="Experiment 2 (trained on NR, generated on the T1 grid): PSNR / 3-D SSIM vs the truth and HR",
            footer=footer2)
log.info("table 1: %d rows, scored against %s; experiment 2: %d rows; training seeds %s; claim outcomes: %s",
         len(table), ", ".join(available) or "nothing", len(table2), ", ".join(map(str, per_seed)),
         ", ".join(claims["outcome"]))
for line in train_lines:
    log.info(line)
