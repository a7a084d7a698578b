"""The claims scorecard: each paper's headline claims as data, scored on every run.

An experiment package declares its claims in `claims.yaml`:

    paper: "Ravikumar et al."
    higher_is_better: {psnr: true, ssim: true, mse: false}   # direction of every metric used
    claims:
      - text: "U-net 7 is the best GAN"
        kind: best            # method beats every other row of the table (or of `among`)
        table: table3
        method: unet7
        among: [dcgan1, unet5]  # optional; default every row but `exclude` (the reference rows)
        metrics: [psnr, ssim]
      - {text: ..., kind: beats, table: t, method: a, other: b, metrics: [psnr]}
      - {text: ..., kind: all_beat, table: t, methods: [a, b], other: ref, metrics: [psnr]}  # methods default: all but other/exclude
      - {text: ..., kind: below, table: tests, method: row key, column: p_t, threshold: 0.05}
      - text: "Against NR linear wins, against HR the proposed method wins"
        kind: all_of          # held only when every part holds; untestable when any part is
        parts:                # each part: a claim of the kinds above, without `text`
          - {kind: beats, table: t, method: linear, other: proposed, metrics: [psnr_nr]}
          - {kind: best, table: t, method: proposed, among: [linear], metrics: [psnr_hr]}
    exclude: [input]          # rows never counted in `best` or the default `all_beat` set

The experiment's table script builds {table name: DataFrame indexed by method key, one column per
metric (means)} and calls evaluate_claims(); write_claims() writes results/<key>/claims.csv, which the
common `scorecard` rule gathers into results/scorecard.{csv,md}.

Each claim's `outcome` is 'held', 'not held' or 'untestable', with a short `reason` and the numbers in
`evidence`. A claim is untestable when a table, row or metric it needs is missing in this run, or when
a trained row it compares did not learn. evaluate_claims() takes two optional keywords for that:

  status  {table: {method: {"learned": bool | None, "plateau": bool | None}}}: learned False (the row
          did not beat its no-model reference) or plateau False (its training did not level off) makes
          every claim comparing that row untestable. None means unknown; rows absent from status
          (references, interpolations, the input) are not trained and never make a claim untestable.
  samples {table: long DataFrame with columns method, item (slice or subject id, paired across
          methods), optional seed, one column per metric}. With samples for a table, "A beats B on m"
          (in best, beats and all_beat) needs a one-sided paired t-test over the items (each item
          averaged over seeds first) with p < 0.05 (fewer than 3 pairs or paired differences without
          variance: not significant) and, when the table has a column '<m> seed sd', a difference
          of means larger than the larger of the two rows' seed sds. Without samples it is the plain
          comparison of the means, and the reason says no paired test was made.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mrsr.io import write_text
from mrsr.stats import ALPHA, paired_p
from mrsr.tables import SEED_SD  # suffix of a column holding a metric's spread over training seeds

CLAIMS = "claims.yaml"  # in each experiment package: mrsr/experiments/<key>/
COLUMNS = ["experiment", "paper", "claim", "outcome", "reason", "evidence", "preset", "data"]
OUTCOMES = ("held", "not held", "untestable")
KINDS = ("best", "beats", "all_beat", "below", "all_of")
NEEDED = {"best": ["method", "metrics"], "beats": ["method", "other", "metrics"], "all_beat": ["other", "metrics"],
          "below": ["method", "column", "threshold"]}  # keys each simple kind needs besides `table`
NO_TEST = "(no paired test: per-item values not given)"

Status = Mapping[str, Mapping[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class Verdict:
    """One claim's outcome (OUTCOMES), a short reason and the numbers behind it."""

    outcome: str
    reason: str
    evidence: str = ""


@dataclass(frozen=True)
class Context:
    """What every claim of one experiment is scored against."""

    tables: Mapping[str, pd.DataFrame]
    higher: Mapping[str, bool]
    exclude: Sequence[str] = ()
    status: Status = field(default_factory=dict)
    samples: Mapping[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """'a beats b on metric' in one table: the verdict, its evidence and, when it fails, why."""

    better: bool
    evidence: str
    failure: str = ""


def joint_status(statuses: Sequence[Mapping[str, Any] | None]) -> dict[str, bool | None]:
    """Status of a row that compares trained rows (e.g. a paired test's p-value row): learned and plateau are
    False if any compared row's is False, else None if any is unknown, else True."""
    out: dict[str, bool | None] = {}
    for key in ("learned", "plateau"):
        values = [None if st is None else st.get(key) for st in statuses]
        out[key] = False if False in values else (None if None in values else True)
    return out


def has_claims(experiment: str) -> bool:
    """True if the experiment package declares claims."""
    return resources.files(f"mrsr.experiments.{experiment}").joinpath(CLAIMS).is_file()


def load_claims(experiment: str) -> dict[str, Any]:
    """The experiment package's claims.yaml, checked for shape; KeyError/ValueError name the file."""
    source = f"mrsr/experiments/{experiment}/{CLAIMS}"
    path = resources.files(f"mrsr.experiments.{experiment}").joinpath(CLAIMS)
    if not path.is_file():
        raise FileNotFoundError(f"{source}: no claims file")
    return check_spec(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, source)


def _check_simple(claim: Mapping[str, Any], spec: Mapping[str, Any], where: str) -> None:
    """A best/beats/all_beat/below claim (or all_of part); `where` names the file and the claim."""
    if "table" not in claim:
        raise KeyError(f"{where} needs 'table'")
    missing = [k for k in NEEDED[claim["kind"]] if k not in claim]
    if missing:
        raise KeyError(f"{where} ({claim['kind']}) needs {missing}")
    unknown = [m for m in claim.get("metrics", []) if m not in spec.get("higher_is_better", {})]
    if unknown:
        raise KeyError(f"{where} uses metrics {unknown} without a higher_is_better entry")


def _check_parts(claim: Mapping[str, Any], spec: Mapping[str, Any], where: str) -> None:
    """An all_of claim's parts: a non-empty list of simple claims without text."""
    parts = claim.get("parts")
    if not isinstance(parts, list) or not parts:
        raise KeyError(f"{where} (all_of) needs a non-empty list 'parts'")
    for j, part in enumerate(parts):
        at = f"{where} part {j}"
        if not isinstance(part, Mapping) or part.get("kind") not in NEEDED:
            kind = part.get("kind") if isinstance(part, Mapping) else part
            raise ValueError(f"{at} has kind {kind!r}; expected one of {tuple(NEEDED)}")
        if "text" in part:
            raise ValueError(f"{at} has its own 'text'; only the all_of claim has one")
        _check_simple(part, spec, at)


def check_spec(spec: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    """A claims spec's shape; KeyError/ValueError naming the source and the claim."""
    for key in ("paper", "claims"):
        if key not in spec:
            raise KeyError(f"{source}: missing key {key!r}")
    for i, claim in enumerate(spec["claims"]):
        where = f"{source}: claim {i}"
        if claim.get("kind") not in KINDS:
            raise ValueError(f"{where} has kind {claim.get('kind')!r}; expected one of {KINDS}")
        if "text" not in claim:
            raise KeyError(f"{where} needs 'text'")
        if claim["kind"] == "all_of":
            _check_parts(claim, spec, where)
        else:
            _check_simple(claim, spec, where)
    return spec


def _value(frame: pd.DataFrame, method: str, column: str) -> float:
    """frame[method, column] as a float; NaN when either is missing."""
    if method not in frame.index or column not in frame.columns:
        return math.nan
    return float(frame.loc[method, column])


def _better(a: float, b: float, higher: bool) -> bool:
    """Strictly better; NaN is never better."""
    return (a > b) if higher else (a < b)


def _best_of(values: Mapping[str, float], higher: bool) -> str:
    """Key of the best finite value (any key if all are NaN)."""
    finite = {k: v for k, v in values.items() if not math.isnan(v)} or dict(values)
    return (max if higher else min)(finite, key=finite.get)


def _fmt(v: float) -> str:
    return "nan" if math.isnan(v) else f"{v:.4g}"


def _is_false(flag: Any) -> bool:
    """A status flag that is known and false (None and NaN are unknown)."""
    if flag is None or (isinstance(flag, float) and math.isnan(flag)):
        return False
    return not bool(flag)


def _untrained(ctx: Context, table: str, rows: Sequence[str]) -> str:
    """Why the compared trained rows make the claim untestable ('' when none did not learn)."""
    reasons = []
    for row in dict.fromkeys(rows):
        flags = ctx.status.get(table, {}).get(row, {})
        if _is_false(flags.get("learned")):
            reasons.append(f"{row} did not beat its no-model reference")
        if _is_false(flags.get("plateau")):
            reasons.append(f"{row} did not reach its plateau")
    return "; ".join(reasons)


def _pairs(samples: pd.DataFrame, a: str, b: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-item values of a and b (each item averaged over seeds), on the items both have."""
    if metric not in samples.columns:
        return np.empty(0), np.empty(0)
    means = samples[samples["method"].isin([a, b])].groupby(["method", "item"])[metric].mean()
    wide = means.unstack("method").reindex(columns=[a, b]).dropna()
    return wide[a].to_numpy(dtype=float), wide[b].to_numpy(dtype=float)


def _paired_p(samples: pd.DataFrame, a: str, b: str, metric: str, higher: bool) -> tuple[float | None, str]:
    """One-sided paired t-test p that a beats b over the items (mrsr.stats); None (with why) when no test can be made."""
    return paired_p(*_pairs(samples, a, b, metric), higher)


def _seed_sd(frame: pd.DataFrame, a: str, b: str, metric: str) -> float:
    """The larger of a's and b's seed sd of metric (NaN without a seed sd column)."""
    sds = [_value(frame, row, metric + SEED_SD) for row in (a, b)]
    finite = [s for s in sds if not math.isnan(s)]
    return max(finite) if finite else math.nan


def _compare(ctx: Context, table: str, a: str, b: str, metric: str) -> Comparison:
    """Does a beat b on metric? Means, and with samples the paired test and the seed-sd margin."""
    frame, higher = ctx.tables[table], ctx.higher[metric]
    va, vb = _value(frame, a, metric), _value(frame, b, metric)
    diff = va - vb
    head = f"{metric}: {a} {_fmt(va)} vs {b} {_fmt(vb)}"
    if not _better(va, vb, higher):
        failure = f"{metric}: {a} not better than {b} ({_fmt(va)} vs {_fmt(vb)})"
    else:
        failure = ""
    if table not in ctx.samples:
        return Comparison(not failure, f"{head} (diff {diff:+.4g})", failure)
    p, test = _paired_p(ctx.samples[table], a, b, metric, higher)
    sd = _seed_sd(frame, a, b, metric)
    margin = "" if math.isnan(sd) else f", seed sd {sd:.3g}"
    if not failure and p is None:
        failure = f"{metric}: {a} vs {b} {test}"
    elif not failure and p >= ALPHA:
        failure = f"{metric}: {a} vs {b} not significant (p = {p:.3g})"
    elif not failure and not abs(diff) > sd and not math.isnan(sd):
        failure = f"{metric}: {a} - {b} = {diff:+.3g} within the seed sd {sd:.3g}"
    return Comparison(not failure, f"{head} (diff {diff:+.4g}, {test}{margin})", failure)


def _summary(failures: Sequence[str]) -> str:
    """A short reason from the failed comparisons: the first, and how many more."""
    more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
    return failures[0] + more


def _verdict(ctx: Context, table: str, failures: Sequence[str], evidence: Sequence[str]) -> Verdict:
    """held/not held from the failed comparisons of a best/beats/all_beat claim."""
    how = ("paired test p < 0.05 and beyond the seed sd where given" if table in ctx.samples
           else f"on the means {NO_TEST}")
    if failures:
        reason = _summary(failures) + ("" if table in ctx.samples else f" {NO_TEST}")
        return Verdict("not held", reason, "; ".join(evidence))
    return Verdict("held", f"better on every metric ({how})", "; ".join(evidence))


def _missing(ctx: Context, claim: Mapping[str, Any], rows: Sequence[str]) -> str:
    """Why a table, row or metric the claim needs is missing ('' when nothing is)."""
    table = claim["table"]
    if table not in ctx.tables:
        return f"table {table} not built in this run"
    frame = ctx.tables[table]
    unscored = [m for m in claim.get("metrics", []) if m not in frame.columns]
    if unscored:
        return f"{', '.join(unscored)} not scored in this run (no reference for it)"
    absent = [r for r in rows if r not in frame.index]
    return f"{', '.join(absent)} not in {table}" if absent else ""


def _score_best(ctx: Context, claim: Mapping[str, Any]) -> Verdict:
    """The method beats every other row (or every row of `among`) on every metric."""
    table, method = claim["table"], claim["method"]
    if why := _missing(ctx, claim, [method]):
        return Verdict("untestable", why)
    frame = ctx.tables[table]
    others = claim.get("among") or [m for m in frame.index if m != method and m not in ctx.exclude]
    others = [o for o in others if o != method and o in frame.index]
    if not others:
        return Verdict("untestable", f"nothing to compare {method} with in {table}")
    if why := _untrained(ctx, table, [method, *others]):
        return Verdict("untestable", why)
    failures, evidence = [], []
    for metric in claim["metrics"]:
        results = {o: _compare(ctx, table, method, o, metric) for o in others}
        closest = _best_of({o: _value(frame, o, metric) for o in others}, ctx.higher[metric])
        lost = [o for o, c in results.items() if not c.better]
        evidence.append(results[closest].evidence + (f", not beaten: {', '.join(lost)}" if lost else ""))
        failures += [results[o].failure for o in lost]
    return _verdict(ctx, table, failures, evidence)


def _score_beats(ctx: Context, claim: Mapping[str, Any]) -> Verdict:
    """The method beats the other row on every metric."""
    table, method, other = claim["table"], claim["method"], claim["other"]
    if why := _missing(ctx, claim, [method, other]) or _untrained(ctx, table, [method, other]):
        return Verdict("untestable", why)
    results = [_compare(ctx, table, method, other, m) for m in claim["metrics"]]
    return _verdict(ctx, table, [c.failure for c in results if not c.better], [c.evidence for c in results])


def _score_all_beat(ctx: Context, claim: Mapping[str, Any]) -> Verdict:
    """Every listed method (default: every row but `other` and `exclude`) beats the other row."""
    table, other = claim["table"], claim["other"]
    if why := _missing(ctx, claim, [other]):
        return Verdict("untestable", why)
    frame = ctx.tables[table]
    methods = [m for m in (claim.get("methods") or [m for m in frame.index if m != other and m not in ctx.exclude])
               if m in frame.index]
    if not methods:
        return Verdict("untestable", f"no method to compare with {other} in {table}")
    if why := _untrained(ctx, table, [*methods, other]):
        return Verdict("untestable", why)
    failures, evidence = [], []
    for metric in claim["metrics"]:
        results = {m: _compare(ctx, table, m, other, metric) for m in methods}
        losers = [m for m, c in results.items() if not c.better]
        failures += [results[m].failure for m in losers]
        detail = "; ".join(c.evidence for c in results.values()) if table in ctx.samples else ""
        evidence.append(f"{metric}: {other} {_fmt(_value(frame, other, metric))}; not better: "
                        f"{', '.join(losers) if losers else 'none'}" + (f" [{detail}]" if detail else ""))
    return _verdict(ctx, table, failures, evidence)


def _score_below(ctx: Context, claim: Mapping[str, Any]) -> Verdict:
    """A value of the table (e.g. a p-value) is below the threshold."""
    table, method, column = claim["table"], claim["method"], claim["column"]
    if table not in ctx.tables:
        return Verdict("untestable", f"table {table} not built in this run")
    v = _value(ctx.tables[table], method, column)
    if math.isnan(v):
        return Verdict("untestable", f"{method} {column} missing")
    if why := _untrained(ctx, table, [method]):
        return Verdict("untestable", why)
    threshold = float(claim["threshold"])
    evidence = f"{column} = {v:.3g} (threshold {claim['threshold']})"
    if v < threshold:
        return Verdict("held", f"{column} {v:.3g} < {threshold:g}", evidence)
    return Verdict("not held", f"{column} {v:.3g} >= {threshold:g}", evidence)


def _score_all_of(ctx: Context, claim: Mapping[str, Any]) -> Verdict:
    """Held when every part holds; untestable when any part is; else not held, the reason from the failing part."""
    verdicts = [_score(part, ctx) for part in claim["parts"]]
    evidence = " | ".join(f"part {j + 1}: {v.evidence}" for j, v in enumerate(verdicts) if v.evidence)
    for outcome in ("untestable", "not held"):
        failing = [f"part {j + 1}: {v.reason}" for j, v in enumerate(verdicts) if v.outcome == outcome]
        if failing:
            return Verdict(outcome, "; ".join(failing), evidence)
    return Verdict("held", f"all {len(verdicts)} parts held", evidence)


SCORERS = {"best": _score_best, "beats": _score_beats, "all_beat": _score_all_beat, "below": _score_below,
           "all_of": _score_all_of}


def _score(claim: Mapping[str, Any], ctx: Context) -> Verdict:
    return SCORERS[claim["kind"]](ctx, claim)


def evaluate_claims(experiment: str, tables: Mapping[str, pd.DataFrame], *, preset: str, data: str,
                    spec: Mapping[str, Any] | None = None, status: Status | None = None,
                    samples: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per claim (COLUMNS): outcome 'held', 'not held' or 'untestable', its reason and evidence.

    status and samples are optional (see the module docstring): status makes claims on rows that did not
    learn untestable; samples make "beats" a one-sided paired test with a seed-sd margin."""
    spec = spec or load_claims(experiment)
    ctx = Context(tables, spec.get("higher_is_better", {}), list(spec.get("exclude", [])), status or {},
                  samples or {})
    rows = []
    for claim in spec["claims"]:
        verdict = _score(claim, ctx)
        rows.append({"experiment": experiment, "paper": spec["paper"], "claim": claim["text"],
                     "outcome": verdict.outcome, "reason": verdict.reason, "evidence": verdict.evidence,
                     "preset": preset, "data": data})
    return pd.DataFrame(rows, columns=COLUMNS)


def write_claims(frame: pd.DataFrame, path: str | Path) -> None:
    """results/<key>/claims.csv (atomic)."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: claims frame lacks columns {missing}")
    write_text(path, frame[COLUMNS].to_csv(index=False))


def outcome_counts(frame: pd.DataFrame) -> str:
    """e.g. '3 held, 5 not held, 11 untestable of 19 claims'."""
    counts = ", ".join(f"{int((frame['outcome'] == o).sum())} {o}" for o in OUTCOMES)
    return f"{counts} of {len(frame)} claims"


def scorecard_markdown(frame: pd.DataFrame) -> str:
    """The whole scorecard as Markdown: a count line, then one table row per claim."""
    shown = ("paper", "claim", "outcome", "reason", "evidence", "preset", "data")
    lines = ["# Claims scorecard", "", f"{outcome_counts(frame)} in this run.", "",
             "| Paper | Claim | Outcome | Reason | Evidence | Preset | Data |", "|---|---|---|---|---|---|---|"]
    for _, r in frame.iterrows():
        lines.append("| " + " | ".join(str(r[c]).replace("|", "\\|") for c in shown) + " |")
    return "\n".join(lines) + "\n"


LEGACY = {"yes": "held", "no": "not held", "n/a": "untestable"}  # the former `held` column


def _upgrade(frame: pd.DataFrame) -> pd.DataFrame:
    """A claims.csv written before the outcome column (held yes/no/n/a) in the current COLUMNS."""
    if "outcome" in frame.columns or "held" not in frame.columns:
        return frame
    frame = frame.assign(outcome=frame["held"].map(LEGACY).fillna("untestable"), reason="")
    return frame[COLUMNS]


def gather(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate experiments' claims.csv files in order."""
    frames = [_upgrade(pd.read_csv(p, dtype=str, keep_default_na=False)) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
