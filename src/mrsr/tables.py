"""Result tables: per-method aggregates next to the published values, orderings, CSV/Markdown/LaTeX output.

Output convention (write_table): stem.csv is pure data (one header row, the method key as first column,
full precision, no comment lines); the title and footer (data, preset, seeds, orderings, assumptions)
go only to the human-readable stem.md and stem.tex.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mrsr.io import write_text

PAPER_VALUES = "paper_values.yaml"  # in each experiment package: mrsr/experiments/<key>/
# Metric keys of the five papers, with their display names and direction (True: higher is better).
DISPLAY = {"psnr": "PSNR", "mse": "MSE", "ssim": "SSIM", "nrmse": "NRMSE", "brisque": "BRISQUE"}
DEFAULT_METRICS: tuple[tuple[str, bool], ...] = (("psnr", True), ("mse", False), ("ssim", True))
# Markdown/LaTeX number formats by display name; anything else gets 4 significant digits.
NUMERIC_TEXT = re.compile(r"^[+-]?[\d.,]+( \([\d.,eE+-]+\))?$|^–$")
FORMATS = {"PSNR": "{:.2f}", "MSE": "{:.4g}", "SSIM": "{:.3f}", "RMSE": "{:.2f}", "CCC": "{:.3f}", "#params": "{:,.0f}"}
TABLE_KEY = "source"  # per-table metadata key in paper_values.yaml; every other key is a method


def display_name(metric: str) -> str:
    """Display name of a metric key ('psnr' -> 'PSNR')."""
    return DISPLAY.get(metric, metric.upper())


def _paper_tables(experiment: str) -> dict:
    """Parse the paper_values.yaml of one experiment package; KeyError naming the experiment if it has none."""
    try:
        path = resources.files(f"mrsr.experiments.{experiment}").joinpath(PAPER_VALUES)
        text = path.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        known = sorted(p.name for p in resources.files("mrsr.experiments").iterdir() if p.joinpath(PAPER_VALUES).is_file())
        raise KeyError(f"{PAPER_VALUES}: no experiment {experiment!r}; expected one of {known}") from None
    return yaml.safe_load(text) or {}


def _paper_table(experiment: str, table: str) -> dict:
    """One table block of an experiment's paper_values.yaml; KeyError naming the file and the missing key."""
    tables = _paper_tables(experiment)
    if table not in tables:
        raise KeyError(
            f"mrsr/experiments/{experiment}/{PAPER_VALUES}: no table {table!r}; expected one of {sorted(tables)}"
        )
    return tables[table]


def load_paper_values(experiment: str, table: str) -> dict[str, dict]:
    """Published values {method key: {label, psnr, mse, ssim, params, ...}} in the paper's row order."""
    block = _paper_table(experiment, table)
    return {key: dict(entry) for key, entry in block.items() if key != TABLE_KEY}


def paper_source(experiment: str, table: str) -> str:
    """The `source` string of a paper table ('Ravikumar et al., Table 2 ...')."""
    return str(_paper_table(experiment, table).get(TABLE_KEY, f"{experiment}/{table}"))


def aggregate(
    metrics: pd.DataFrame, by: str = "method", columns: Sequence[str] = ("psnr", "mse", "ssim")
) -> pd.DataFrame:
    """Mean and sample std (ddof=1) of each metric per group, plus n (number of images); index = group key.

    Columns: <metric>_mean, <metric>_std for each metric, then n. Groups keep their first-seen order.
    """
    missing = [c for c in (by, *columns) if c not in metrics.columns]
    if missing:
        raise ValueError(f"metrics table: missing column(s) {missing}; expected {[by, *columns]}")
    # assumption: per-image values averaged (docs/experiments/field7to9.md, "Metrics": the published PSNR exceeds that of the mean MSE)
    grouped = metrics.groupby(by, sort=False)[list(columns)]
    mean, std = grouped.mean(), grouped.std(ddof=1)
    out = pd.DataFrame(index=mean.index)
    for c in columns:
        out[f"{c}_mean"] = mean[c].astype(float)
        out[f"{c}_std"] = std[c].astype(float)
    out["n"] = grouped.size().astype(int)
    return out


def ours_values(ours: pd.DataFrame, metrics: Sequence[str] = ("psnr", "mse", "ssim")) -> dict[str, dict]:
    """Turn an aggregate() frame into {method: {metric: mean}} for ordering_summary."""
    return {str(key): {m: float(ours.loc[key, _mean_column(ours, m)]) for m in metrics} for key in ours.index}


def _mean_column(ours: pd.DataFrame, metric: str) -> str:
    """Column holding our mean of metric: '<metric>_mean' (aggregate output) or plain '<metric>'."""
    for name in (f"{metric}_mean", metric):
        if name in ours.columns:
            return name
    raise ValueError(f"our results: no column {metric}_mean or {metric}; have {list(ours.columns)}")


def _better(a: float, b: float, higher_is_better: bool) -> bool:
    """True if a is strictly better than b (NaN is never better nor worse)."""
    return a > b if higher_is_better else a < b


def paper_orderings(paper: Mapping[str, Mapping], metric: str, higher_is_better: bool) -> list[tuple[str, str]]:
    """All ordered pairs (a, b) where the paper reports a strictly better than b on metric (paper row order)."""
    vals = {k: float(v[metric]) for k, v in paper.items() if v.get(metric) is not None}
    return [(a, b) for a in vals for b in vals if _better(vals[a], vals[b], higher_is_better)]


def _rank(values: Mapping[str, float], key: str, higher_is_better: bool) -> int:
    """1-based competition rank of key (ties share the better rank)."""
    return 1 + sum(_better(v, values[key], higher_is_better) for v in values.values())


def _label(paper: Mapping[str, Mapping], key: str) -> str:
    """Paper label of a method key, falling back to the key."""
    return str(paper.get(key, {}).get("label", key))


def _metric_spec(metrics: Sequence[tuple[str, bool]] | Mapping[str, bool]) -> list[tuple[str, bool]]:
    """Normalise a metrics spec ({metric: higher_is_better} or pairs) to a list of pairs."""
    return list(metrics.items()) if isinstance(metrics, Mapping) else [tuple(m) for m in metrics]


def ordering_summary(
    paper: Mapping[str, Mapping],
    ours: Mapping[str, Mapping[str, float]],
    metrics: Sequence[tuple[str, bool]] | Mapping[str, bool] = DEFAULT_METRICS,
) -> list[str]:
    """Per metric, one line: how many of the paper's strict pairwise orderings hold in ours; the paper's best's rank.

    ours: {method: {metric: value}} (see ours_values); extra methods in ours are ignored. A tie in ours
    counts as the ordering not holding.
    """
    missing = [k for k in paper if k not in ours]
    if missing:
        raise ValueError(f"our results: missing method(s) {missing} that the paper table reports")
    lines = []
    for metric, higher in _metric_spec(metrics):
        name = display_name(metric)
        pairs = paper_orderings(paper, metric, higher)
        if not pairs:
            lines.append(f"{name}: the paper reports no strict ordering between these methods")
            continue
        mine = {k: float(ours[k][metric]) for k in paper if paper[k].get(metric) is not None}
        held = sum(_better(mine[a], mine[b], higher) for a, b in pairs)
        paper_vals = {k: float(paper[k][metric]) for k in mine}
        best = min(paper_vals, key=lambda k: _rank(paper_vals, k, higher))  # first of any tie, in paper order
        rank = _rank(mine, best, higher)
        if rank == 1:
            where = f"the paper's best ({_label(paper, best)}) is also ours #1"
        else:
            ours_best = min(mine, key=lambda k: _rank(mine, k, higher))
            where = f"the paper's best ({_label(paper, best)}) is ours #{rank} (ours #1: {_label(paper, ours_best)})"
        lines.append(f"{name}: {held} of {len(pairs)} of the paper's pairwise orderings hold in our run; {where}")
    return lines


def build_table(
    ours: pd.DataFrame,
    paper: Mapping[str, Mapping],
    *,
    params: Mapping[str, int] | None,
    labels: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    metrics: Sequence[str] = ("psnr", "mse", "ssim"),
) -> pd.DataFrame:
    """Ours next to the paper, one row per paper method in the paper's order; index = method key.

    Columns: Method, then per metric '<M>', '<M> (paper)', 'Δ<M>' (ours − paper), then '#params',
    '#params (paper)'. Labels default to the paper's; a note is appended as ' (note)'.
    ValueError if a paper method is missing from ours.
    """
    missing = [k for k in paper if k not in ours.index]
    if missing:
        raise ValueError(
            f"our results: missing method(s) {missing} that the paper table reports; have {list(ours.index)}"
        )
    labels, notes, params = labels or {}, notes or {}, params or {}
    keys = list(paper)
    table = pd.DataFrame(index=pd.Index(keys, name="method_key"))
    table["Method"] = [labels.get(k, _label(paper, k)) + (f" ({notes[k]})" if k in notes else "") for k in keys]
    for m in metrics:
        name, col = display_name(m), _mean_column(ours, m)
        mine = ours.loc[keys, col].astype(float).to_numpy()
        theirs = np.array([_float_or_nan(paper[k].get(m)) for k in keys])
        table[name], table[f"{name} (paper)"], table[f"Δ{name}"] = mine, theirs, mine - theirs
    table["#params"] = pd.array([params.get(k) for k in keys], dtype="Int64")
    table["#params (paper)"] = pd.array([paper[k].get("params") for k in keys], dtype="Int64")
    return table


SEED_SD = " seed sd"  # suffix of the column holding the spread of a value over training seeds


def seed_of(path: str | Path) -> int:
    """The training seed of an output path (its 'seed-<n>' folder); ValueError naming the path if it has none."""
    match = re.search(r"(?:^|/)seed-(\d+)(?:/|$)", Path(path).as_posix())
    if match is None:
        raise ValueError(f"{path}: no 'seed-<n>' folder in the path")
    return int(match.group(1))


def by_seed(paths: Sequence[str | Path]) -> dict[int, list[str]]:
    """Paths grouped by their training seed (seed_of), seeds ascending, each group in the given order."""
    groups: dict[int, list[str]] = {}
    for path in paths:
        groups.setdefault(seed_of(path), []).append(str(path))
    return dict(sorted(groups.items()))


def combine_seeds(tables: Mapping[int, pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    """One table from per-seed tables of the same rows and columns: each of `columns` is averaged over the seeds and,
    with several seeds, followed by '<column> seed sd' (sample sd over seeds, ddof=1; none after a 'Δ' column, whose
    spread is that of its value, nor after a std over items, '<column> std' or '<key>_std': a spread of a spread
    says little); every other column is taken from the first seed and must agree across seeds (labels, parameter
    counts, paper values). NaN stays NaN."""
    if not tables:
        raise ValueError("combine_seeds: no per-seed table")
    seeds = sorted(tables)
    first = tables[seeds[0]]
    for seed in seeds[1:]:
        other = tables[seed]
        if list(other.index) != list(first.index) or list(other.columns) != list(first.columns):
            raise ValueError(f"combine_seeds: seed {seed}'s table has other rows or columns than seed {seeds[0]}'s")
        fixed = [c for c in first.columns if c not in columns]
        if not first[fixed].astype(object).equals(other[fixed].astype(object)):
            raise ValueError(f"combine_seeds: non-averaged columns differ between seeds {seeds[0]} and {seed}")
    missing = [c for c in columns if c not in first.columns]
    if missing:
        raise ValueError(f"combine_seeds: no column(s) {missing}; have {list(first.columns)}")
    out = first.copy()
    for column in columns:
        stacked = np.stack([tables[s][column].astype(float).to_numpy() for s in seeds])
        out[column] = stacked.mean(axis=0)
        if len(seeds) > 1 and not column.startswith("Δ") and not is_std_column(column):
            out.insert(out.columns.get_loc(column) + 1, column + SEED_SD, stacked.std(axis=0, ddof=1))
    return out


def is_std_column(column: str) -> bool:
    """A column holding a std over test items ('PSNR std', 'Syn PSNR (brain) std', 'kernel_distance_std')."""
    return column.endswith((" std", "_std"))


def value_columns(frame: pd.DataFrame, metrics: Sequence[str]) -> list[str]:
    """Columns of a build_table()/with_reference() frame computed from our values: each metric's display column
    and every Δ column (not paper values, labels, parameter counts): what combine_seeds averages."""
    names = {display_name(m) for m in metrics}
    return [c for c in frame.columns if c in names or c.startswith("Δ")]


def mean_over_seeds(per_seed: Mapping[int, Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """{method: {metric: mean over seeds}} from {seed: ours_values()} (every seed has the same methods)."""
    seeds = list(per_seed)
    first = per_seed[seeds[0]]
    return {k: {m: float(np.mean([per_seed[s][k][m] for s in seeds])) for m in first[k]} for k in first}


@dataclass(frozen=True)
class SeedTables:
    """A table built once per training seed, then combined (combine_seeds): the combined table, each seed's
    {row: {metric: mean}}, their mean over the seeds (what orderings, reference lines and claims read), and the
    first seed's aggregate (its counts)."""

    table: pd.DataFrame
    per_seed: dict[int, dict[str, dict[str, float]]]
    values: dict[str, dict[str, float]]
    first: pd.DataFrame


def over_seeds(groups: Mapping[int, Any], build: Callable[[Any], tuple[pd.DataFrame, pd.DataFrame]],
               metrics: Sequence[str], extra_columns: Sequence[str] = ()) -> SeedTables:
    """build(group) -> (table, aggregate) for each seed's group (e.g. by_seed's paths), combined over the seeds on
    the metrics' value columns (value_columns) and `extra_columns`; values from ours_values(aggregate, metrics)."""
    built = {seed: build(group) for seed, group in groups.items()}
    first_table, first = next(iter(built.values()))
    table = combine_seeds({seed: t for seed, (t, _) in built.items()},
                          value_columns(first_table, metrics) + list(extra_columns))
    per_seed = {seed: ours_values(ours, metrics) for seed, (_, ours) in built.items()}
    return SeedTables(table, per_seed, mean_over_seeds(per_seed), first)


def ordering_flips(
    paper: Mapping[str, Mapping],
    per_seed: Mapping[int, Mapping[str, Mapping[str, float]]],
    metrics: Sequence[tuple[str, bool]] | Mapping[str, bool] = DEFAULT_METRICS,
) -> list[str]:
    """The paper's strict pairwise orderings that hold for some training seeds and not for others, one line per
    metric that has any: 'PSNR: A better than B in seeds 0, 2, not in 1; ...'. per_seed: {seed: ours_values()}."""
    lines = []
    for metric, higher in _metric_spec(metrics):
        flips = []
        for a, b in paper_orderings(paper, metric, higher):
            held = {seed: _better(float(v[a][metric]), float(v[b][metric]), higher) for seed, v in per_seed.items()}
            if len(set(held.values())) > 1:
                yes = ", ".join(str(s) for s, h in held.items() if h)
                no = ", ".join(str(s) for s, h in held.items() if not h)
                flips.append(f"{_label(paper, a)} better than {_label(paper, b)} in seed(s) {yes}, not in {no}")
        if flips:
            lines.append(f"{display_name(metric)}: " + "; ".join(flips))
    return lines


def seeds_lines(paper: Mapping[str, Mapping], per_seed: Mapping[int, Mapping[str, Mapping[str, float]]],
                metrics: Sequence[tuple[str, bool]] | Mapping[str, bool] = DEFAULT_METRICS) -> list[str]:
    """Footer lines on training seeds: with one seed none; with several, how the values are combined and where the
    paper's orderings flip between seeds (or that none does)."""
    if len(per_seed) < 2:
        return []
    seeds = ", ".join(str(s) for s in sorted(per_seed))
    lines = [f"Training seeds {seeds}: each value is the mean over the seeds; '{SEED_SD.strip()}' columns give the "
             "sample standard deviation over seeds; orderings are checked on the seed means."]
    flips = ordering_flips(paper, per_seed, metrics)
    lines += [f"Ordering flips between seeds: {line}" for line in flips] or [
        "No paper ordering flips between seeds."]
    return lines


def with_reference(
    table: pd.DataFrame,
    ours: pd.DataFrame,
    *,
    key: str,
    label: str,
    metrics: Sequence[str] = ("psnr", "mse", "ssim"),
) -> pd.DataFrame:
    """A build_table() frame with a no-model reference row first and, per metric, 'Δ<M> vs <key>' (row − reference).

    The reference row (our aggregate under `key`, e.g. the input scored as the prediction) has no paper values.
    """
    if key not in ours.index:
        raise ValueError(f"our results: no reference row {key!r}; have {list(ours.index)}")
    row = pd.DataFrame(index=pd.Index([key], name=table.index.name), columns=table.columns)
    row["Method"] = label
    for m in metrics:
        row[display_name(m)] = float(ours.loc[key, _mean_column(ours, m)])
    out = pd.concat([row.astype(table.dtypes.to_dict()), table])
    for m in metrics:
        name = display_name(m)
        out[f"Δ{name} vs {key}"] = out[name].astype(float) - float(out.loc[key, name])
    return out


def _float_or_nan(value: object) -> float:
    """float(value), or NaN for None."""
    return math.nan if value is None else float(value)


def standard_footer(
    *,
    data: str,
    preset: str,
    seeds: Sequence[int],
    assumptions: Sequence[str],
    orderings: Sequence[str],
    source: str | None = None,
) -> list[str]:
    """Footer lines: Data, Preset, Seed(s), [Paper values], one 'Orderings:' per line, one 'Assumption:' each."""
    lines = [f"Data: {data}", f"Preset: {preset}", f"Seed(s): {', '.join(str(s) for s in seeds)}"]
    if source:
        lines.append(f"Paper values: {source}")
    lines += [f"Orderings: {o}" for o in orderings]
    lines += [f"Assumption: {a}" for a in assumptions]
    return lines


def _format_cell(column: str, value: object) -> str:
    """Human format of one cell: by metric (PSNR 2 dp, MSE 4 sig, SSIM 3 dp, params with separators); Δ signed."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    delta = column.startswith("Δ")
    base = column.removeprefix("Δ").removesuffix(" (paper)")
    words = base.split(" ")  # 'Syn PSNR' and 'PSNR vs input' are formatted as 'PSNR'
    text = FORMATS.get(next((w for w in words if w in FORMATS), words[-1]), "{:.4g}").format(value)
    return f"+{text}" if delta and float(value) > 0 else text


def _formatted_rows(df: pd.DataFrame) -> list[list[str]]:
    """Every row of df as formatted strings."""
    return [[_format_cell(c, v) for c, v in zip(df.columns, row)] for row in df.itertuples(index=False)]


def std_column(column: str) -> str:
    """Name of the std column that goes with `column` ('X' -> 'X std', 'X (paper)' -> 'X std (paper)')."""
    if column.endswith(" (paper)"):
        return f"{column.removesuffix(' (paper)')} std (paper)"
    return f"{column} std"


def mean_std_view(df: pd.DataFrame) -> pd.DataFrame:
    """People's view of a table with std columns: each 'X' and its 'X std' become one text cell 'mean (std)'."""
    out = df.copy()
    for column in df.columns:
        std = std_column(column)
        if std not in df.columns:
            continue
        out[column] = [_format_cell(column, m) if _float_or_nan(v) != _float_or_nan(v)
                       else f"{_format_cell(column, m)} ({_format_cell(column, v)})"
                       for m, v in zip(df[column], df[std])]
        out = out.drop(columns=std)
    return out


def _is_text_column(values: pd.Series) -> bool:
    """True for labels; False for numbers, also numbers already formatted as 'mean (std)' text."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return False
    return not all(isinstance(v, str) and NUMERIC_TEXT.match(v) for v in values)


def to_markdown(df: pd.DataFrame, *, title: str, footer: Sequence[str]) -> str:
    """Markdown: '## title', a pipe table (text left, numbers right), footer lines as bullets."""
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    align = [":---" if _is_text_column(df[c]) else "---:" for c in df.columns]
    lines = [f"## {title}", "", "| " + " | ".join(esc(c) for c in df.columns) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in _formatted_rows(df)]
    if footer:
        lines += [""] + [f"- {line}" for line in footer]
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "Δ": r"$\Delta$",
    "−": "$-$",
    "–": "--",
    "—": "---",
    "×": r"$\times$",
    "±": r"$\pm$",
    "→": r"$\to$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "σ": r"$\sigma$",
    "λ": r"$\lambda$",
    "µ": r"$\mu$",
    "μ": r"$\mu$",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials (% _ & # $ { } ~ ^ \\) and map a few Unicode symbols to math mode."""
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _latex_cell(text: str) -> str:
    """Escape a formatted cell; a leading '-' on a number becomes a math minus."""
    if text[:1] == "-" and text[1:2].isdigit():
        return "$-$" + latex_escape(text[1:])
    return latex_escape(text)


def to_latex(df: pd.DataFrame, *, title: str, footer: Sequence[str]) -> str:
    """LaTeX table env: booktabs tabular (scaled to the text width), caption = title, footnotesize footer."""
    spec = "".join("l" if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]) else "r" for c in df.columns)
    body = [" & ".join(_latex_cell(v) for v in row) + r" \\" for row in _formatted_rows(df)]
    lines = [
        "% requires \\usepackage{booktabs,graphicx}",
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\caption{{{latex_escape(title)}}}",
        r"\resizebox{\textwidth}{!}{%",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_escape(c) for c in df.columns) + r" \\",
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}}",
    ]
    if footer:
        lines += [r"\par\smallskip", r"{\footnotesize", *[latex_escape(f) + r"\par" for f in footer], "}"]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, stem: Path, *, title: str, footer: Sequence[str],
                mean_std: bool = False) -> dict[str, Path]:
    """Write stem.csv (pure data, full precision), stem.md and stem.tex (title + footer); return {ext: path}.

    With mean_std, Markdown and LaTeX show each 'X' with its 'X std' column as 'mean (std)'."""
    stem = Path(stem)
    paths = {ext: stem.with_name(f"{stem.name}.{ext}") for ext in ("csv", "md", "tex")}
    index = df.index.name is not None  # keep a named index (the method key) as the first CSV column
    write_text(paths["csv"], df.to_csv(index=index, lineterminator="\n"))
    shown = mean_std_view(df) if mean_std else df
    write_text(paths["md"], to_markdown(shown, title=title, footer=footer))
    write_text(paths["tex"], to_latex(shown, title=title, footer=footer))
    return paths
