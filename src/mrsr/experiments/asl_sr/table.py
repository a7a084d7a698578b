"""Table 1 of Cui et al. 2020 (Experiment 1: PSNR/SSIM against NR, HR and the truth, beside the paper) and the
Experiment 2 table (linear vs proposed on the T1 grid against the truth and HR), with their footer lines.

Each table is built per training seed (the interpolations, scored once, in every seed's table), then combined: mean
over seeds and, with several seeds, a 'seed sd' column per value; orderings, verdicts and claims read the seed
means. Every table also has '(brain)' columns; every trained row gets a training line: updates per scale beside the
paper's, plateau, and whether it beats linear interpolation inside the brain (paired test over interior slices of
every subject)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from mrsr.footer import paper_budgets, reference_lines, training_line
from mrsr.learned import beats_reference, plateau_status
from mrsr.nets import build, count_params
from mrsr.tables import (aggregate, build_table, by_seed, combine_seeds, load_paper_values, ordering_summary,
                         ours_values, paper_source, seeds_lines)

REF_NAMES = {"nr": "NR", "hr": "HR", "truth": "Truth"}
METRICS = ("psnr", "ssim", "psnr_brain", "ssim_brain")
# The reference of each experiment's main metric (brain PSNR): the first the data have (HR is the truth's closest
# stand-in in Experiment 1; the paper's NR is noisier than the output it scores).
MAIN_REFS = {"exp1": ("hr", "nr"), "exp2": ("truth", "hr")}
NO_MODEL = "linear"  # the no-model reference row of both tables
# what the finer scales' inputs upsample (asl_sr.model.scale_input)
SCALE_INPUT_NAMES = {"reconstruction": "the coarser reconstruction", "real": "the real coarser volume"}
EXP2_ROWS = {"linear": {"label": "Linear"}, "proposed": {"label": "Proposed"}}  # the Experiment 2 table's rows


@dataclass(frozen=True)
class Report:
    """One table (seeds combined) and what is written beside it: its title, its footer lines (before the run
    footer's), its seed means under their keys (what the claims read), the scored keys, each trained row's
    scorecard status and training lines."""

    table: pd.DataFrame
    title: str
    extra: list[str]
    means: pd.DataFrame
    available: list[str]
    status: dict[str, dict]
    train_lines: list[str]


def read_metrics(paths: Sequence[str]) -> pd.DataFrame:
    """The eval rules' metrics.tsv (or slices.tsv) files in one frame."""
    return pd.concat([pd.read_csv(p, sep="\t") for p in paths], ignore_index=True)


def metrics_by_seed(baseline_paths: Sequence[str], metric_paths: Sequence[str]) -> dict[int, pd.DataFrame]:
    """{training seed: the interpolations' metrics (scored once, in every seed) and that seed's trained rows'}."""
    baselines = read_metrics(baseline_paths)
    return {seed: pd.concat([baselines, read_metrics(paths)], ignore_index=True)
            for seed, paths in by_seed(metric_paths).items()}


def method_rows(variants: Sequence[str]) -> tuple[dict, dict[str, str], dict, list[str]]:
    """Table 1's paper values, every row's label, its rows (the paper's, then each configured variant of the proposed
    method, not in the paper) and those variants (the configured ones other than 'proposed')."""
    paper = load_paper_values("asl_sr", "table1")
    labels = {k: v["label"] for k, v in paper.items()}
    variants = [v for v in variants if v != "proposed"]
    labels.update({v: f"Proposed ({v}, not in the paper)" for v in variants})
    rows = {**paper, **{v: {"label": labels[v]} for v in variants}}
    return paper, labels, rows, variants


def generator_params(model: Mapping) -> dict[str, int]:
    """{'proposed': #params of the generator at the configured widths (two input channels)}."""
    return {"proposed": count_params(build(model["generator"], **{**model.get("generator_kwargs", {}),
                                                                    "in_channels": 2}))}


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


def subject_line(subject: str, p: pd.DataFrame, available: list[str], paper: Mapping, labels: Mapping[str, str]
                 ) -> str:
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


def exp1_table(metrics: pd.DataFrame, rows: Mapping, params: Mapping[str, int]
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Table 1 of one seed's metrics (display columns); its aggregate, per-subject frame, column keys, scored keys."""
    per_subject, keys, available = wide(metrics, "exp1")
    keys = [k for k in keys if k in available or not k.endswith("_truth")]  # the truth only where it is known
    ours = aggregate(per_subject, columns=keys)
    table = build_table(ours, rows, params=params, metrics=keys)
    table = table.drop(columns=[c for c in table.columns if ("TRUTH" in c or "BRAIN" in c)
                                and ("(paper)" in c or c.startswith("Δ"))])
    return display(table, keys), ours, per_subject, keys, available


def exp2_table(metrics: pd.DataFrame, params: Mapping[str, int], rows: Mapping = EXP2_ROWS
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """The Experiment 2 table of one seed's metrics, as exp1_table (no paper values, so no Δ columns)."""
    per_subject, keys, available = wide(metrics, "exp2")
    ours = aggregate(per_subject, columns=keys)
    table = build_table(ours, rows, params=params, metrics=keys)
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


def slice_scores(slices: pd.DataFrame, experiment: str) -> tuple[pd.DataFrame, str | None]:
    """Per-slice brain PSNR of every method (trained rows averaged over seeds) against the experiment's main
    reference, from the eval rules' slices files in one frame (read_metrics): columns method, item, psnr_brain;
    and that reference (None: the data have none)."""
    part = slices[slices["experiment"] == experiment]
    ref = next((r for r in MAIN_REFS[experiment] if (part["reference"] == r).any()), None)
    part = part[part["reference"] == ref].groupby(["method", "item"], as_index=False)["psnr_brain"].mean()
    return part, ref


def beats_no_model(slices: pd.DataFrame, experiment: str, method: str) -> tuple[bool | None, float, str | None]:
    """(the row beats linear interpolation on brain PSNR, one-sided paired t-test over slices; p; reference)."""
    part, ref = slice_scores(slices, experiment)
    if ref is None:
        return None, float("nan"), None
    test = beats_reference(part, method, NO_MODEL, "psnr_brain")
    return test["beats"], test["p"], ref


def mean_of(runs: list[list[dict]], key: str) -> float:
    """Mean over runs of the finest scale's record value `key` (NaN where not recorded)."""
    values = [run[-1].get(key) for run in runs]
    return float(pd.Series([v for v in values if v is not None], dtype=float).mean())


def training_lines(experiment: str, methods: Sequence[str], records: Mapping[tuple[str, str], list[list[dict]]],
                   slices: pd.DataFrame, labels: Mapping[str, str]) -> tuple[list[str], dict[str, dict]]:
    """Footer lines of the trained rows of one experiment (training_line on the finest scale's records, one per
    subject and seed, with the coarser scales' updates and the brain-PSNR test), and their scorecard status."""
    budget = paper_budgets("asl_sr").get("proposed")
    lines, status = [], {}
    for method in methods:
        runs = records[(experiment, method)]
        better, p, ref = beats_no_model(slices, experiment, method)
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


def pyramid_line(experiment: str, runs: list[list[dict]], sigma: float) -> str:
    """The scales actually trained (shapes of the first run) and the low-pass sigma (voxels, asl_sr.model.lowpass_sigma)
    relative to each scale's grid."""
    shapes = [r["shape"] for r in runs[0]]
    spans = ", ".join(f"{'x'.join(map(str, sh))} ({100 * sigma / max(sh):.0f}-{100 * sigma / min(sh):.0f} %)"
                      for sh in shapes)
    return (f"Pyramid ({experiment}): {len(shapes)} scales trained, coarse to fine: {spans} = grid shape (the "
            f"low-pass loss's sigma, {sigma:g} voxels, as a share of the longest-shortest axis): at these grids the "
            "'super low-pass' keeps little more than each volume's mean and gross gradient.")


def samples_of(metrics: Mapping[int, pd.DataFrame], experiment: str) -> pd.DataFrame:
    """Per-item values for the scorecard's paired tests: method, item (subject), seed, one column per table key."""
    frames = [wide(m, experiment)[0].assign(seed=seed) for seed, m in metrics.items()]
    return pd.concat(frames, ignore_index=True).rename(columns={"subject": "item"})


def exp1_report(per_seed: Mapping[int, pd.DataFrame], slices: pd.DataFrame, records: Mapping, *, paper: Mapping,
                rows: Mapping, labels: Mapping[str, str], params: Mapping[str, int], variants: Sequence[str],
                sigma: float) -> Report:
    """Table 1 over the training seeds (per_seed: metrics_by_seed), its title and footer lines: paper source,
    per-subject values, orderings, verdicts against linear, seed lines, training lines of the proposed row and its
    variants, the pyramid. records: training records by (experiment, method); slices: the per-slice files in one
    frame; sigma: the low-pass loss's sigma (voxels)."""
    train_lines, status = training_lines("exp1", ["proposed", *variants], records, slices, labels)
    built = {seed: exp1_table(m, rows, params) for seed, m in per_seed.items()}
    _, ours, _, keys, available = built[min(built)]
    table = combined({s: b[0] for s, b in built.items()}, keys)
    means = seed_means(table, available, ours.index)
    per_subject = per_subject_means([b[2] for b in built.values()])
    paper_keys = [k for k in ("psnr_nr", "ssim_nr", "psnr_hr", "ssim_hr") if k in available]
    paper_metrics = [(k, True) for k in paper_keys]
    orderings = ordering_summary(paper, ours_values(means, paper_keys), paper_metrics)
    subjects = [subject_line(s, part.set_index("method"), available, paper, labels)
                for s, part in per_subject.groupby("subject")]
    seed_note = ", mean over the training seeds" if len(per_seed) > 1 else ""
    extra = [f"Paper values: {paper_source('asl_sr', 'table1')}; the paper has no truth columns.",
             f"Ours: mean over {per_subject['subject'].nunique()} subjects; per subject (PSNR/SSIM{seed_note}):",
             *subjects, *unavailable_line(keys, available), *[f"Orderings: {o}" for o in orderings],
             *verdicts(means, available, labels),
             *seeds_lines(paper, {s: ours_values(b[1], paper_keys) for s, b in built.items()}, paper_metrics),
             "#params: generator at this preset's widths (the paper preset: 340,321).", *train_lines,
             pyramid_line("exp1", records[("exp1", "proposed")], sigma)]
    title = ("Table 1: Experiment 1 (trained on LR, generated on the NR grid): PSNR / 3-D SSIM vs "
             + ", ".join(REF_NAMES[k.rsplit("_", 1)[1]] for k in keys if k.startswith("psnr_") and "brain" not in k)
             + " (also inside the brain)")
    return Report(table, title, extra, means, available, status, train_lines)


def exp2_report(per_seed: Mapping[int, pd.DataFrame], slices: pd.DataFrame, records: Mapping, *,
                labels: Mapping[str, str], params: Mapping[str, int], sigma: float) -> Report:
    """The Experiment 2 table over the training seeds, its title and footer lines (as exp1_report; the paper reports
    no Experiment 2 values)."""
    built = {seed: exp2_table(m, params) for seed, m in per_seed.items()}
    _, ours, per_subject, keys, available = built[min(built)]
    table = combined({s: b[0] for s, b in built.items()}, keys)
    means = seed_means(table, available, ours.index)
    scored = ("the phantom's truth allows scores." if available else
              "these data have neither HR nor a truth on the T1 grid, so nothing is scored: see Fig. 4.")
    # the paper reports no Experiment 2 values, so no paper ordering can flip: only the line on how seeds combine
    seeds = seeds_lines(EXP2_ROWS, {s: {} for s in built}, [])[:1]
    train_lines, status = training_lines("exp2", ["proposed"], records, slices, labels)
    extra = [f"The paper shows Experiment 2 only as images (Fig. 4, linear vs proposed); {scored}",
             f"Ours: mean over {per_subject['subject'].nunique()} subjects.", *unavailable_line(keys, available),
             *verdicts(means, available, labels), *seeds, *train_lines,
             pyramid_line("exp2", records[("exp2", "proposed")], sigma)]
    title = "Experiment 2 (trained on NR, generated on the T1 grid): PSNR / 3-D SSIM vs the truth and HR"
    return Report(table, title, extra, means, available, status, train_lines)
