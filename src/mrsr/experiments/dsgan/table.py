"""Tables 2 and 3 of Huang et al. 2021 (ours beside the paper, with std columns), their footer lines, and the
claims' inputs. Each table is built per training seed (Bicubic: the same, untrained row in every seed) and combined
over seeds (mean, 'seed sd'); orderings, reference lines and claims read the seed means, the t-test
(mrsr.experiments.dsgan.evaluate.ttest) the per-slice values averaged over seeds, the kernel distance the mean over
seeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mrsr.experiments.dsgan.evaluate import BRAIN_METRICS, KERNEL_COLUMNS, MAIN_BRAIN_METRIC, METRICS, kernel_report
from mrsr.footer import paper_budgets, reference_lines, training_line
from mrsr.io import load_npz
from mrsr.learned import beats_reference, row_status
from mrsr.metrics import BRISQUE_LABEL
from mrsr.nets import build, count_params
from mrsr.scorecard import joint_status
from mrsr.tables import (aggregate, build_table, by_seed, combine_seeds, load_paper_values, ordering_summary,
                         paper_source, seeds_lines)

SLICE_KEY = ["method", "subject", "fold", "slice"]  # one row of the per-slice metrics
LABELS = {"bicubic": "Bicubic", "zf": "ZF+EDSR", "gb": "GB+EDSR", "dsgan": "DSGAN+EDSR", "dsn": "DSN+EDSR (proxy)",
          "hidden": "Hidden degradation+EDSR (upper bound)"}
# each table: the rule's output holding its .csv, its title
TABLES = {"table2": ("csv", "Table 2: SR of the real LR, training-set constructions vs Bicubic"),
          "table3": ("csv3", "Table 3: DSN (proxy) vs DSGAN")}
TABLE_METHODS = {"table2": ["bicubic", "zf", "gb", "dsgan"], "table3": ["dsn", "dsgan"]}  # the claims' rows


def paper_table(metrics: pd.DataFrame, paper: Mapping[str, Mapping], params: Mapping[str, int]) -> pd.DataFrame:
    """Ours (mean, std over slices) beside the paper's (mean, std) for the paper's rows; BRISQUE labelled as ours."""
    keys = [k for k, _ in METRICS]
    ours = aggregate(metrics[metrics["method"].isin(list(paper))], columns=keys)
    frame = build_table(ours, paper, params=params, metrics=keys).drop(columns=["#params (paper)"])
    for key in keys:
        name = key.upper()
        frame.insert(frame.columns.get_loc(name) + 1, f"{name} std", ours.loc[frame.index, f"{key}_std"])
        frame.insert(frame.columns.get_loc(f"{name} (paper)") + 1, f"{name} std (paper)",
                     [paper[k].get(f"{key}_std") for k in frame.index])
    inside = aggregate(metrics[metrics["method"].isin(list(paper))], columns=list(BRAIN_METRICS))
    for key, name in BRAIN_METRICS.items():
        frame[name] = inside.loc[frame.index, f"{key}_mean"]
        frame[f"{name} std"] = inside.loc[frame.index, f"{key}_std"]
    return frame.rename(columns={"BRISQUE": BRISQUE_LABEL, "BRISQUE std": f"{BRISQUE_LABEL} std"})


def means(frame: pd.DataFrame) -> pd.DataFrame:
    """{method key: {metric key: our mean}} of a paper_table frame, for the scorecard."""
    return pd.DataFrame({"brisque": frame[BRISQUE_LABEL], "ssim": frame["SSIM"], "psnr": frame["PSNR"]},
                        index=frame.index)


def our_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of a paper_table frame that hold our values: each metric's mean, std over slices and Δ."""
    names = [BRISQUE_LABEL if key == "brisque" else key.upper() for key, _ in METRICS] + list(BRAIN_METRICS.values())
    deltas = [f"Δ{key.upper()}" for key, _ in METRICS]
    return [c for c in frame.columns if c in names or c in deltas or c in [f"{n} std" for n in names]]


def seed_mean_metrics(per_seed: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """Per-slice metrics averaged over training seeds, one row per method, subject, fold and slice (first-seen
    order); every seed must score the same slices. One seed: its frame unchanged."""
    if not per_seed:
        raise ValueError("seed_mean_metrics: no per-seed metrics")
    if len(per_seed) == 1:
        return next(iter(per_seed.values()))
    stacked = pd.concat(list(per_seed.values()), ignore_index=True)
    counts = stacked.groupby(SLICE_KEY, sort=False).size()
    if (counts != len(per_seed)).any():
        raise ValueError(f"seed_mean_metrics: seeds {sorted(per_seed)} do not score the same slices: "
                         f"{counts[counts != len(per_seed)].index.tolist()[:5]}")
    values = [key for key, _ in METRICS] + [k for k in BRAIN_METRICS if k in stacked.columns]
    return stacked.groupby(SLICE_KEY, sort=False, as_index=False)[values].mean()


def item_samples(per_seed: Mapping[int, pd.DataFrame], methods: list[str]) -> pd.DataFrame:
    """The scorecard's per-item values: one row per method, test slice ('subject/slice') and training seed, one
    column per metric (the paper's and the brain ones)."""
    frames = []
    for seed, frame in per_seed.items():
        part = frame[frame["method"].isin(methods)]
        values = [k for k, _ in METRICS] + [k for k in BRAIN_METRICS if k in part.columns]
        frames.append(part.assign(item=part["subject"].astype(str) + "/" + part["slice"].astype(str),
                                  seed=seed)[["method", "item", "seed", *values]])
    return pd.concat(frames, ignore_index=True)


def metrics_by_seed(reference_paths: Sequence[str], metric_paths: Sequence[str]) -> dict[int, pd.DataFrame]:
    """{training seed: per-slice metrics of Bicubic (no training, one file for every seed) and that seed's rows}."""
    reference = list(reference_paths)
    return {seed: pd.concat([pd.read_csv(p, sep="\t") for p in reference + paths], ignore_index=True)
            for seed, paths in by_seed(metric_paths).items()}


def edsr_params(edsr: Mapping) -> dict[str, int]:
    """#params of the EDSR (dsgan.edsr) of every trained row."""
    n = count_params(build("edsr", n_blocks=int(edsr["n_blocks"]), channels=int(edsr["channels"])))
    return {k: n for k in ("zf", "gb", "dsgan", "dsn", "hidden")}


def hidden_kernel(path: str) -> np.ndarray | None:
    """The phantom's hidden degradation kernel from a subject's data file; None for acquired (sheet) data, whose
    kernel is unknown (stored as NaN)."""
    kernel = load_npz(path)["kernel"]
    return kernel if bool(np.isfinite(kernel).all()) else None


def seed_kernels(paths: Sequence[str], true_kernel: np.ndarray | None, gb_sigma: float) -> pd.DataFrame:
    """Learned (one training seed's slices) and GB kernel against the hidden kernel (NaN where it is unknown), the
    learned kernels' raw sum and phase."""
    learned = np.concatenate([load_npz(p)["kernels"] for p in paths])
    return kernel_report(true_kernel, learned, gb_sigma)


def kernel_table(paths: Sequence[str], true_kernel: np.ndarray | None, gb_sigma: float) -> pd.DataFrame:
    """seed_kernels of every training seed's KernelGAN files, combined over the seeds."""
    return combine_seeds({seed: seed_kernels(group, true_kernel, gb_sigma) for seed, group in by_seed(paths).items()},
                         KERNEL_COLUMNS)


def raw_kernel_line(kernels: pd.DataFrame, paths: Sequence[str], several: bool) -> str:
    """Footer line on the learned kernels before KernelGAN's normalisation: how many have a raw sum below 0.5, the
    mean sum and phase (kernels: kernel_table; paths: every KernelGAN file)."""
    raw = kernels.loc["dsgan"]
    sums = np.concatenate([load_npz(p)["kernels"].sum(axis=(1, 2)) for p in paths])
    low = int(np.sum(sums < 0.5))  # KernelGAN's sum-to-one term keeps a trained kernel's sum near 1
    return (f"Learned kernel before KernelGAN's normalisation: {low} of {len(sums)} kernels (slices x seeds) have a "
            f"raw sum below 0.5 (min {sums.min():.3f}; not converged: their G(HR) rests on a renormalised near-zero "
            f"kernel). Mean over slices{', seeds' if several else ''}: sum "
            f"{raw['kernel_sum']:.3f}; centre of mass minus the training's target (6.5, 6.5) (row, col) "
            f"({raw['phase_row']:+.2f}, {raw['phase_col']:+.2f}) HR px. G(HR) is applied with the kernel normalised to "
            "sum 1 and its centre of mass moved onto the real LR's grid (LR pixel i = HR pixel 2i + 1); the kernel "
            "distance renormalises and re-centres, so it sees neither.")


def common_lines(metrics: pd.DataFrame, tests: pd.DataFrame, kernels: pd.DataFrame, raw_line: str, cfg: Mapping,
                 data_paths: Sequence[str], *, seeds: Sequence[int], known: bool, upper: bool) -> list[str]:
    """Footer lines of both tables: what 'ours' is, the GB vs DSGAN t-test, the kernel distance (known: the hidden
    kernel is known), the raw kernel line, the slices each subject got, the upper-bound row, the training seeds."""
    several = len(seeds) > 1
    n = metrics.groupby("method").size()
    common = [f"Ours: mean (std, ddof 1) over {int(n.min())} test slices per method (each subject scored by the EDSR "
              f"of the fold that held it out; {cfg['folds']} folds). BRISQUE (LIVE model) is the natural-image model; "
              "the paper's BRISQUE column is its MR-trained model: compare orderings, not values.",
              "t-test DSGAN+EDSR vs GB+EDSR (paired over slices" + (", per-slice values averaged over the training "
                                                                   "seeds" if several else "") + "; paper: p < 0.05): "
              + "; ".join(f"{r.metric.upper()} Δ={r.mean_diff:+.3g} p={r.p_t:.3g} (one-sided, DSGAN better: "
                          f"{r.p_t_better:.3g})" for r in tests.itertuples()),
              (f"Kernel (phantom only): distance to the hidden kernel, DSGAN "
               f"{kernels.loc['dsgan', 'kernel_distance']:.3f} (mean of {int(kernels.loc['dsgan', 'n'])} slices"
               + (f", averaged over {len(seeds)} training seeds, seed sd "
                  f"{kernels.loc['dsgan', 'kernel_distance seed sd']:.3f}" if several else "")
               + f") vs GB {kernels.loc['gb', 'kernel_distance']:.3f}: "
               + ("DSGAN is closer." if kernels.loc["dsgan", "kernel_distance"] < kernels.loc["gb", "kernel_distance"]
                  else "DSGAN is NOT closer (target missed).")) if known else
              "Kernel: the true degradation kernel of acquired data is unknown; no kernel distance.", raw_line]
    # the slices each subject got: the phantom's interior may hold fewer distinct axial slices than asked
    asked = int(cfg["slices_per_subject"])
    got = [len(load_npz(p)["slices"]) for p in data_paths]
    if min(got) < asked:
        common.append(f"Slices: {asked} per subject asked, {min(got)}" + (f"-{max(got)}" if max(got) > min(got) else "")
                      + " got (plus validation slices): the brain's interior holds only that many distinct axial "
                      "slices on this grid; the training sets are that much smaller.")
    if upper:
        common.append("Hidden degradation+EDSR is an upper bound, not a compared method (phantom only; acquired data "
                      "have no known degradation): EDSR trained on the HR degraded by the phantom's hidden kernel and "
                      "x2 decimation (no misalignment, no noise); it has no paper value and enters no claim.")
    if several:
        common.append("Training seeds: DSGAN, the DSN proxy and EDSR are retrained per seed on the same data; Bicubic "
                      "(no training) is the same in every seed. The std columns are the per-seed std over slices, "
                      "averaged over the seeds.")
    return common


def brain_tests(metrics: pd.DataFrame, records: Mapping[str, list]) -> dict[str, dict]:
    """Every trained row (one with training records) against Bicubic on MAIN_BRAIN_METRIC: one-sided paired t-test
    over the test slices (metrics: seed_mean_metrics)."""
    items = metrics.assign(item=metrics["subject"].astype(str) + "/" + metrics["slice"].astype(str))
    return {m: beats_reference(items, m, "bicubic", MAIN_BRAIN_METRIC) for m in records}


def row_statuses(beats: Mapping[str, dict], records: Mapping[str, list]) -> dict[str, dict]:
    """Each trained row's scorecard status (learned: beats Bicubic inside the brain; plateau reached)."""
    return {m: row_status(beats[m]["beats"], runs) for m, runs in records.items()}


def training_lines(methods: list[str], records: Mapping[str, list], beats: Mapping[str, dict], several: bool,
                   labels: Mapping[str, str] = LABELS) -> list[str]:
    """One footer line per trained row (updates vs the paper's, plateau, beats Bicubic inside the brain), then the
    paired tests behind 'beats'."""
    budget = paper_budgets("dsgan").get("edsr")
    brain_name = BRAIN_METRICS[MAIN_BRAIN_METRIC]
    lines = [training_line(f"{labels[m]} ({len(records[m])} EDSRs: folds x seeds)", records[m], budget,
                           beats[m]["beats"], "Bicubic") for m in methods]
    tests = "; ".join(f"{labels[m]} p={beats[m]['p']:.3g}" for m in methods)
    n_pairs = beats[methods[0]]["n"]
    lines.append(f"Beats 'Bicubic' = higher {brain_name} (mask of the HR, dilated 2 px) in a one-sided paired t-test "
                 f"over {n_pairs} test slices" + (", per-slice values averaged over the training seeds" if several
                                                  else "") + f", p < 0.05: {tests}.")
    return lines


def seed_table(seed_metrics: pd.DataFrame, paper: dict, params: Mapping[str, int], upper: bool,
               labels: Mapping[str, str] = LABELS) -> pd.DataFrame:
    """One training seed's table: ours (mean, std over slices) beside the paper (the upper-bound row, Table 2
    only, has no paper values), our labels."""
    rows = {**paper, "hidden": {}} if upper and "gb" in paper else paper
    frame = paper_table(seed_metrics, rows, params)
    frame["Method"] = [labels[k] for k in frame.index]
    return frame


def table_report(table: str, per_seed: Mapping[int, pd.DataFrame], params: Mapping[str, int], common: list[str],
                 records: Mapping[str, list], beats: Mapping[str, dict], *, upper: bool
                 ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Table 2 or 3 ('table2', 'table3') over the training seeds: the combined table, its seed means without the
    upper-bound row (what orderings and claims read), and its footer lines (common lines first)."""
    seeds = sorted(per_seed)
    paper = load_paper_values("dsgan", table)
    tables = {seed: seed_table(per_seed[seed], paper, params, upper) for seed in seeds}
    frame = combine_seeds(tables, our_columns(tables[seeds[0]]))
    ours = means(frame)  # seed means
    scored = ours.drop(index=["hidden"], errors="ignore")  # the upper bound enters no claim or ordering
    extra = [*common, f"Paper values: {paper_source('dsgan', table)}"]
    extra += [f"Orderings: {o}" for o in ordering_summary(paper, scored.to_dict("index"), METRICS)]
    extra += seeds_lines(paper, {seed: means(t).to_dict("index") for seed, t in tables.items()}, METRICS)
    if table == "table2":
        extra += reference_lines(ours.to_dict("index"), "bicubic", "Bicubic", METRICS, labels=LABELS,
                                 names={"brisque": BRISQUE_LABEL})
        if ours.loc["dsgan", "psnr"] <= ours.loc["gb", "psnr"]:
            extra.append("Target missed: DSGAN+EDSR does not beat GB+EDSR on PSNR in this run.")
    extra += training_lines([m for m in ours.index if m in records], records, beats, len(seeds) > 1)
    return frame, scored, extra


def claim_status(status_of: Mapping[str, dict], test_rows: Sequence[str]) -> dict[str, dict]:
    """The scorecard's status per table and row: each trained row's (row_statuses); the t-test rows (one per
    metric) compare DSGAN+EDSR with GB+EDSR: they are testable only when both learned."""
    status = {t: {m: status_of[m] for m in ms if m in status_of} for t, ms in TABLE_METHODS.items()}
    status["tests"] = {row: joint_status([status_of.get("dsgan"), status_of.get("gb")]) for row in test_rows}
    return status


def claim_samples(per_seed: Mapping[int, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The scorecard's per-item values of each table's rows (item_samples)."""
    return {t: item_samples(per_seed, ms) for t, ms in TABLE_METHODS.items()}
