"""mrsr.learned: training records by method, plateau status, and "beats the reference" as a paired test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mrsr.learned import beats_reference, owner_of, plateau_status, read_records, row_status


def test_owner_is_the_folder_above_the_training_folders() -> None:
    assert owner_of("results/ixi_sr/models/cpce/seed-0/loss.json") == "cpce"
    assert owner_of("results/dsgan/models/gb/fold-1/seed-2/loss.json", below=2) == "gb"
    assert owner_of("results/deepasl/models/real/pr_02/fold-sub-01/seed-0/loss.json", depth=2, below=2) == (
        "real", "pr_02")
    # a subject sheet's subject may be named anything: the layout, not the name, finds the owner
    assert owner_of("r/asl_sr/models/exp1/proposed/patient7/seed-0/training.json", depth=2, below=2) == (
        "exp1", "proposed")
    with pytest.raises(ValueError, match="loss.json: expected .*/<method>/seed-<n>/"):
        owner_of("results/x/models/cpce/loss.json")
    with pytest.raises(ValueError, match="<method>/<fold or subject>/seed-<n>/"):
        owner_of("seed-0/loss.json", below=2)


def test_read_records_groups_by_method_in_path_order(tmp_path: Path) -> None:
    paths = []
    for method, seed, updates in (("a", 0, 10), ("b", 0, 20), ("a", 1, 30)):
        path = tmp_path / "models" / method / f"seed-{seed}" / "loss.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"updates": updates}))
        paths.append(path)
    found = read_records(paths)
    assert list(found) == ["a", "b"] and [r["updates"] for r in found["a"]] == [10, 30]


def test_plateau_status_and_row_status() -> None:
    assert plateau_status([{"plateau_reached": True}] * 2) is True
    assert plateau_status([{"plateau_reached": True}, {"plateau_reached": False}]) is False
    assert plateau_status([{"plateau_reached": True}, {"plateau_reached": None}]) is None  # one not validated
    assert plateau_status([]) is None
    assert row_status(False, [{"plateau_reached": True}]) == {"learned": False, "plateau": True}


def test_beats_reference_is_the_paired_test_over_items() -> None:
    rng = np.random.default_rng(2)
    rows = []
    for method, offset in (("bicubic", 0.0), ("gb", 0.3), ("zf", -0.5)):
        for i in range(12):
            rows.append({"method": method, "item": f"s{i % 3}/{i // 3}",
                         "psnr_brain": 25.0 + i * 0.1 + offset + rng.normal(0, 0.4)})
    frame = pd.DataFrame(rows)
    out = beats_reference(frame, "gb", "bicubic", "psnr_brain")
    b, g = (frame[frame.method == m]["psnr_brain"].to_numpy() for m in ("bicubic", "gb"))
    assert out["n"] == 12 and out["p"] == pytest.approx(stats.ttest_rel(g, b, alternative="greater").pvalue)
    assert out["beats"] == (out["p"] < 0.05)
    assert beats_reference(frame, "zf", "bicubic", "psnr_brain")["beats"] is False  # worse than Bicubic
    lower = beats_reference(frame, "zf", "bicubic", "psnr_brain", higher_is_better=False)  # e.g. an error metric
    assert lower["beats"] is True


def test_beats_reference_averages_seeds_per_item() -> None:
    frame = pd.DataFrame({"method": ["ref"] * 4 + ["m"] * 8, "item": list("abcd") * 3,
                          "v": [1.0, 2.0, 3.0, 4.0] + [1.5, 2.4, 3.6, 4.4] + [1.7, 2.6, 3.2, 4.8]})
    out = beats_reference(frame, "m", "ref", "v")
    expected = stats.ttest_rel([1.6, 2.5, 3.4, 4.6], [1.0, 2.0, 3.0, 4.0], alternative="greater").pvalue
    assert out["n"] == 4 and out["p"] == pytest.approx(expected)
