"""Did a trained row learn? Its training records, whether they reached their plateau, and whether the row beats its
table's no-model reference row in a paired test over the test items. Every table step uses these, so "learned",
"plateau" and "beats the reference" mean the same in every footer and in the claims scorecard."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mrsr.stats import paired_better


def owner_of(path: str | Path, depth: int = 1, below: int = 1) -> str | tuple[str, ...]:
    """The method a training record belongs to. Records lie in .../<owner>/<training folders>/<file>, the last
    training folder 'seed-<n>'; `below`: how many training folders (1: seed; 2: fold and seed, or subject and
    seed); `depth`: how many folders name the owner (1: the method; 2: e.g. (dataset, method), as a tuple)."""
    folders = Path(path).parent.parts
    if len(folders) < depth + below or not folders[-1].startswith("seed-"):
        raise ValueError(f"{path}: expected .../<method>/{'<fold or subject>/' * (below - 1)}seed-<n>/<record file>")
    owner = folders[len(folders) - below - depth:len(folders) - below]
    return owner[0] if depth == 1 else tuple(owner)


def read_records(paths: Sequence[str | Path], depth: int = 1, below: int = 1) -> dict[Any, list[Any]]:
    """{owner (owner_of): [training record per training (seed, fold of a seed, subject)]} from the JSON files a
    trainer writes beside its model (loss.json, or a pyramid's training.json: one record per scale), in path order."""
    found: dict[Any, list[Any]] = {}
    for path in paths:
        found.setdefault(owner_of(path, depth, below), []).append(json.loads(Path(path).read_text()))
    return found


def plateau_status(records: Sequence[Mapping[str, Any]]) -> bool | None:
    """Every training reached its plateau (True), some did not (False), or not known: no records, or a training
    without validation data (None)."""
    reached = [r.get("plateau_reached") for r in records]
    return None if not reached or any(v is None for v in reached) else all(bool(v) for v in reached)


def row_status(learned: bool | None, records: Sequence[Mapping[str, Any]]) -> dict[str, bool | None]:
    """What the scorecard needs of a trained row: {'learned': beats its no-model reference, 'plateau'}."""
    return {"learned": learned, "plateau": plateau_status(records)}


def beats_reference(items: pd.DataFrame, method: str, reference: str, metric: str,
                    higher_is_better: bool = True) -> dict[str, Any]:
    """{'beats', 'p', 'n'}: the method's per-item `metric` against the reference row's, one-sided paired t-test
    over the items both were scored on (mrsr.stats.paired_better). `items`: long frame with columns method, item
    and the metric; several rows of one method and item (training seeds) are averaged first. ValueError when the
    method was not scored on every item of the reference."""
    mean = items.groupby(["method", "item"])[metric].mean()
    ours, ref = mean.loc[method], mean.loc[reference]
    common = ours.index.intersection(ref.index)
    if len(common) != len(ref):
        raise ValueError(f"{method}: scored on {len(ours)} test items, the reference {reference!r} on {len(ref)}; "
                         "they must be the same items")
    beats, p = paired_better(ours.loc[common].to_numpy(float), ref.loc[common].to_numpy(float), higher_is_better)
    return {"beats": bool(beats), "p": float(p), "n": int(len(common))}
