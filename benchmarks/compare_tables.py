"""Compare the tables of two workflow runs that differ in one setting (e.g. compute.precision fp32 vs bf16), each
run with the same two or more training seeds (`seeds: [0, 1]`): is the change smaller than seed-to-seed noise?

For every trained row and metric of each table, prints both runs' seed means and seed sds, the difference of the
means, and the seed-to-seed noise of a difference of two single runs, sqrt(2) x the larger seed sd (for two seeds
that is the larger run's |seed 0 - seed 1|). 'within noise' says whether |difference| is below it. Rows whose seed sd
is 0 in both runs (no-model references, computed once) are skipped.

    python benchmarks/compare_tables.py /tmp/fp32/results /tmp/bf16/results ixi_sr/tables/table1.csv \
        dsgan/tables/table2.csv asl_sr/tables/table1.csv
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

SD = " seed sd"


def compare(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, metric) with a seed sd column in both tables and a nonzero seed sd in either."""
    a, b = a.set_index("method_key"), b.set_index("method_key")
    rows = []
    for metric in (c[: -len(SD)] for c in a.columns if c.endswith(SD) and c in b.columns):
        for key in a.index.intersection(b.index):
            sd = max(float(a.at[key, metric + SD]), float(b.at[key, metric + SD]))
            if not sd > 0:
                continue
            diff = float(b.at[key, metric]) - float(a.at[key, metric])
            noise = math.sqrt(2) * sd
            rows.append({"method": a.at[key, "Method"], "metric": metric, "A": float(a.at[key, metric]),
                         "A seed sd": float(a.at[key, metric + SD]), "B": float(b.at[key, metric]),
                         "B seed sd": float(b.at[key, metric + SD]), "B - A": diff, "seed noise": noise,
                         "within noise": abs(diff) < noise})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="results/ folder of run A")
    parser.add_argument("b", type=Path, help="results/ folder of run B")
    parser.add_argument("tables", nargs="+", help="table CSVs relative to the results folders")
    args = parser.parse_args()
    for table in args.tables:
        frame = compare(pd.read_csv(args.a / table), pd.read_csv(args.b / table))
        print(f"\n{table}: {int(frame['within noise'].sum()) if len(frame) else 0} of {len(frame)} within noise")
        if len(frame):
            print(frame.to_markdown(index=False, floatfmt=".4g"))


if __name__ == "__main__":
    main()
