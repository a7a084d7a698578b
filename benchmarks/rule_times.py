"""Wall time and peak memory per rule, from the workflow's benchmark files.

    python benchmarks/rule_times.py [benchmarks/results]

Prints one row per experiment and one per rule (jobs, total and max seconds, CPU seconds, max RSS) and the sum
over jobs. Job seconds are not wall time: with --cores 2 two jobs run at once. CPU seconds (the benchmark's
cpu_time) hardly change when other work loads the machine; job seconds do.
Run after `snakemake --cores 2`; the end-to-end wall time is what `time snakemake ...` reports.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def collect(root: Path) -> pd.DataFrame:
    """One row per benchmark file: rule (the folder under the experiment), job, seconds, CPU seconds, max_rss MB."""
    rows = []
    for tsv in sorted(root.rglob("*.tsv")):
        frame = pd.read_csv(tsv, sep="\t")
        rule = "/".join(tsv.relative_to(root).parts[:-1])
        rows.append({"rule": rule, "job": tsv.stem, "s": float(frame["s"].iloc[0]),
                     "cpu_s": float(pd.to_numeric(frame["cpu_time"], errors="coerce").iloc[0]),
                     "max_rss_mb": float(pd.to_numeric(frame["max_rss"], errors="coerce").iloc[0])})
    return pd.DataFrame(rows)


def summarise(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: number of jobs, total/max seconds, CPU seconds, max RSS."""
    return (
        jobs.groupby("rule")
        .agg(jobs=("job", "count"), total_s=("s", "sum"), max_s=("s", "max"), cpu_s=("cpu_s", "sum"),
             max_rss_mb=("max_rss_mb", "max"))
        .sort_values("total_s", ascending=False)
    )


def per_experiment(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per experiment (the first folder of the rule): jobs, job seconds, the slowest job, CPU seconds, peak RSS."""
    exp = jobs.assign(experiment=jobs["rule"].str.split("/").str[0])
    return (
        exp.groupby("experiment")
        .agg(jobs=("job", "count"), total_s=("s", "sum"), max_s=("s", "max"), cpu_s=("cpu_s", "sum"),
             max_rss_mb=("max_rss_mb", "max"))
        .sort_values("total_s", ascending=False)
    )


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results")
    jobs = collect(root)
    if jobs.empty:
        sys.exit(f"no benchmark files under {root}: run the workflow first")
    print(per_experiment(jobs).to_markdown(floatfmt=".1f"))
    print()
    table = summarise(jobs)
    print(table.to_markdown(floatfmt=".1f"))
    print(f"\n{len(jobs)} jobs, {jobs.s.sum():.0f} s of job time, {jobs.cpu_s.sum():.0f} CPU s, "
          f"peak RSS {jobs.max_rss_mb.max():.0f} MB")
    print("slowest jobs:")
    print(jobs.sort_values("s", ascending=False).head(8).to_markdown(index=False, floatfmt=".1f"))


if __name__ == "__main__":
    main()
