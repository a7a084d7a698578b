"""Time to plateau per trained model, from a finished run's training logs.

    python benchmarks/time_to_plateau.py [results] [--markdown]

Every model the shared loop trains leaves loss.json (its training record: updates, budget, plateau reached and
at which update) beside loss.csv (one row per validation check, with the seconds that check's chunk of updates
and its validation took). From them, per model: updates done and budgeted, the update at which the plateau was
reached (if it was), the loop's seconds up to that check and in all. Checkpoint writes, data loading and model
construction are outside these seconds; the rule's wall time (benchmarks/rule_times.py) includes them.
Rows are grouped by experiment and method; several folds, seeds or scales of one method are summed (seconds)
or listed (updates as min-max). Name the CPU beside the figures: they are the machine's, not the method's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd


def model_row(record_path: Path, root: Path) -> dict:
    """One trained model: its place under root, record fields and the seconds to its plateau and in all."""
    record = json.loads(record_path.read_text())
    log = pd.read_csv(record_path.with_name("loss.csv"))
    if "seconds" not in log.columns or "update" not in log.columns:
        raise ValueError(f"{record_path.with_name('loss.csv')}: no 'update'/'seconds' columns; not a training log")
    reached, at = bool(record.get("plateau_reached")), record.get("plateau_update")
    parts = record_path.relative_to(root).parts
    return {"experiment": parts[0], "model": "/".join(parts[1:-1]), "updates": int(record["updates"]),
            "max_updates": int(record["max_updates"]), "batch_size": int(record["batch_size"]),
            "plateau_reached": reached, "plateau_update": int(at) if reached and at is not None else None,
            "seconds_to_plateau": float(log.loc[log["update"] <= at, "seconds"].sum()) if reached else None,
            "seconds": float(log["seconds"].sum())}


def method_of(model: str) -> str:
    """The method of a model path: the folder after 'models' or 'checkpoints' (asl_sr: experiment/method),
    without folds, seeds, subjects or scales."""
    parts = [p for p in model.split("/") if not p.startswith(("fold-", "seed-", "scale-", "sub-"))]
    if parts and parts[0] in ("models", "checkpoints", "dsn"):
        parts = parts[1:] if parts[0] != "dsn" else ["dsn (the downscaling network)"] + parts[1:]
    return "/".join(parts[:2]) if parts and parts[0] in ("exp1", "exp2") else (parts[0] if parts else model)


def collect(root: Path) -> pd.DataFrame:
    rows = [model_row(p, root) for p in sorted(root.rglob("loss.json"))]
    if not rows:
        raise SystemExit(f"time_to_plateau: no loss.json under {root}; run the workflow first")
    frame = pd.DataFrame(rows)
    frame["method"] = frame["model"].map(method_of)
    return frame


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per experiment and method: models, how many reached their plateau, updates (min-max), plateau update
    (min-max over those that reached it), loop seconds to plateau (sum over those) and in all (sum)."""
    def span(values: pd.Series) -> str:
        values = values.dropna().astype(int)
        if values.empty:
            return "-"
        return f"{values.min()}" if values.min() == values.max() else f"{values.min()}-{values.max()}"

    out = []
    for (experiment, method), group in frame.groupby(["experiment", "method"], sort=True):
        reached = group[group["plateau_reached"]]
        out.append({"experiment": experiment, "method": method, "models": len(group),
                    "plateau reached": f"{len(reached)}/{len(group)}", "updates": span(group["updates"]),
                    "budget": span(group["max_updates"]), "batch": span(group["batch_size"]),
                    "plateau at update": span(reached["plateau_update"]),
                    "s to plateau": round(reached["seconds_to_plateau"].sum(), 1) if len(reached) else None,
                    "s in all": round(group["seconds"].sum(), 1)})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", default="results", type=Path)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for docs/performance.md)")
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        parser.error(f"{args.results}: no such folder")
    table = summarise(collect(args.results))
    table = table.astype(object).where(table.notna(), "-")  # no plateau: no seconds to it
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1:])
