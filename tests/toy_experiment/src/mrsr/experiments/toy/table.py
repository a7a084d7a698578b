"""The toy's table: mean scores per method beside the (made-up) paper values, its reference lines and the input of
its claims (the means, and the per-signal values for the paired test)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mrsr.footer import failed_to_beat, reference_line

METRICS = {"psnr": True, "mse": False}  # metric -> higher is better
REFERENCE = "noisy"  # the no-model reference row: the noisy input (width 1)


def toy_table(metrics: Mapping[str, pd.DataFrame], paper: Mapping[str, Mapping], labels: Mapping[str, str]
              ) -> pd.DataFrame:
    """One row per method (index: method key): Method, then per metric ours, the paper's and the difference."""
    table = pd.DataFrame(index=pd.Index(list(metrics), name="method_key"))
    table["Method"] = [labels[k] for k in metrics]
    for metric in METRICS:
        name = metric.upper()
        table[name] = [float(frame[metric].mean()) for frame in metrics.values()]
        table[f"{name} (paper)"] = [float(paper.get(k, {}).get(metric, float("nan"))) for k in metrics]
        table[f"Δ{name}"] = table[name] - table[f"{name} (paper)"]
    return table


def reference_lines(table: pd.DataFrame) -> list[str]:
    """One footer line per metric: the methods that do not beat the noisy input."""
    labels = dict(table["Method"])
    return [reference_line(metric.upper(), labels[REFERENCE],
                           failed_to_beat(dict(table[metric.upper()]), REFERENCE, higher, labels))
            for metric, higher in METRICS.items()]


def claim_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as mrsr.scorecard reads it: one column per metric key."""
    return table[[m.upper() for m in METRICS]].rename(columns=str.lower)


def claim_samples(metrics: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-signal values (method, item, one column per metric): "beats" becomes a paired test over the signals."""
    return pd.concat([frame.assign(method=method) for method, frame in metrics.items()], ignore_index=True)
