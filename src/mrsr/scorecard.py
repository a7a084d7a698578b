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
    exclude: [input]          # rows never counted in `best` or the default `all_beat` set

The experiment's table script builds {table name: DataFrame indexed by method key, one column per
metric (means)} and calls evaluate_claims(); write_claims() writes results/<key>/claims.csv, which the
common `scorecard` rule gathers into results/scorecard.{csv,md}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mrsr.io import write_text

CLAIMS = "claims.yaml"  # in each experiment package: mrsr/experiments/<key>/
COLUMNS = ["experiment", "paper", "claim", "held", "evidence", "preset", "data"]
KINDS = ("best", "beats", "all_beat", "below")


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


def check_spec(spec: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    """A claims spec's shape; KeyError/ValueError naming the source and the claim."""
    for key in ("paper", "claims"):
        if key not in spec:
            raise KeyError(f"{source}: missing key {key!r}")
    for i, claim in enumerate(spec["claims"]):
        if claim.get("kind") not in KINDS:
            raise ValueError(f"{source}: claim {i} has kind {claim.get('kind')!r}; expected one of {KINDS}")
        if "text" not in claim or "table" not in claim:
            raise KeyError(f"{source}: claim {i} needs 'text' and 'table'")
        needed = {"best": ["method", "metrics"], "beats": ["method", "other", "metrics"],
                  "all_beat": ["other", "metrics"], "below": ["method", "column", "threshold"]}[claim["kind"]]
        missing = [k for k in needed if k not in claim]
        if missing:
            raise KeyError(f"{source}: claim {i} ({claim['kind']}) needs {missing}")
        unknown = [m for m in claim.get("metrics", []) if m not in spec.get("higher_is_better", {})]
        if unknown:
            raise KeyError(f"{source}: claim {i} uses metrics {unknown} without a higher_is_better entry")
    return spec


def _value(tables: Mapping[str, pd.DataFrame], table: str, method: str, metric: str) -> float:
    frame = tables[table]
    if method not in frame.index or metric not in frame.columns:
        return math.nan
    return float(frame.loc[method, metric])


def _better(a: float, b: float, higher: bool) -> bool:
    """Strictly better; NaN is never better."""
    return (a > b) if higher else (a < b)


def _best_of(values: Mapping[str, float], higher: bool) -> str:
    """Key of the best finite value (any key if all are NaN)."""
    finite = {k: v for k, v in values.items() if not math.isnan(v)} or dict(values)
    return (max if higher else min)(finite, key=finite.get)


def _fmt(v: float) -> str:
    return "nan" if math.isnan(v) else f"{v:.4g}"


def _score(claim: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], higher_is_better: Mapping[str, bool],
           exclude: Sequence[str]) -> tuple[bool | None, str]:
    """(held, evidence) of one claim; held None when a row or table it needs is missing in this run."""
    table = claim["table"]
    if table not in tables:
        return None, f"table {table} not built in this run"
    frame = tables[table]
    kind = claim["kind"]
    if kind == "below":
        v = _value(tables, table, claim["method"], claim["column"])
        if math.isnan(v):
            return None, f"{claim['method']} {claim['column']} missing"
        return v < float(claim["threshold"]), f"{claim['column']} = {v:.3g} (threshold {claim['threshold']})"
    metrics = claim["metrics"]
    unscored = [m for m in metrics if m not in frame.columns]
    if unscored:
        return None, f"{', '.join(unscored)} not scored in this run (no reference for it)"
    held, evidence = True, []
    if kind in ("best", "beats"):
        method = claim["method"]
        if method not in frame.index:
            return None, f"{method} not in {table}"
        others = ([claim["other"]] if kind == "beats"
                  else claim.get("among") or [m for m in frame.index if m != method and m not in exclude])
        others = [o for o in others if o != method and o in frame.index]
        if not others:
            return None, f"nothing to compare {method} with in {table}"
        for metric in metrics:
            mine = _value(tables, table, method, metric)
            rest = {o: _value(tables, table, o, metric) for o in others}
            ok = all(_better(mine, v, higher_is_better[metric]) for v in rest.values())
            held &= ok
            best_other = _best_of(rest, higher_is_better[metric])
            evidence.append(f"{metric}: {method} {_fmt(mine)} vs {best_other} {_fmt(rest[best_other])}")
        return held, "; ".join(evidence)
    other = claim["other"]
    if other not in frame.index:
        return None, f"{other} not in {table}"
    methods = [m for m in (claim.get("methods") or [m for m in frame.index if m != other and m not in exclude])
               if m in frame.index]
    for metric in metrics:
        ref = _value(tables, table, other, metric)
        losers = [m for m in methods if not _better(_value(tables, table, m, metric), ref, higher_is_better[metric])]
        held &= not losers
        evidence.append(f"{metric}: {other} {_fmt(ref)}; not better: {', '.join(losers) if losers else 'none'}")
    return held, "; ".join(evidence)


def evaluate_claims(experiment: str, tables: Mapping[str, pd.DataFrame], *, preset: str, data: str,
                    spec: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per claim (COLUMNS); `held` is 'yes', 'no' or 'n/a' (not testable in this run)."""
    spec = spec or load_claims(experiment)
    exclude = list(spec.get("exclude", []))
    rows = []
    for claim in spec["claims"]:
        held, evidence = _score(claim, tables, spec.get("higher_is_better", {}), exclude)
        rows.append({"experiment": experiment, "paper": spec["paper"], "claim": claim["text"],
                     "held": "n/a" if held is None else ("yes" if held else "no"), "evidence": evidence,
                     "preset": preset, "data": data})
    return pd.DataFrame(rows, columns=COLUMNS)


def write_claims(frame: pd.DataFrame, path: str | Path) -> None:
    """results/<key>/claims.csv (atomic)."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: claims frame lacks columns {missing}")
    write_text(path, frame[COLUMNS].to_csv(index=False))


def scorecard_markdown(frame: pd.DataFrame) -> str:
    """The whole scorecard as Markdown: a count line, then one table row per claim."""
    held = int((frame["held"] == "yes").sum())
    tested = int((frame["held"] != "n/a").sum())
    lines = ["# Claims scorecard", "",
             f"{held} of {tested} testable claims held in this run ({len(frame)} claims in all).", "",
             "| Paper | Claim | Held | Evidence | Preset | Data |", "|---|---|---|---|---|---|"]
    for _, r in frame.iterrows():
        cells = [str(r[c]).replace("|", "\\|") for c in ("paper", "claim", "held", "evidence", "preset", "data")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def gather(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate experiments' claims.csv files in order."""
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
