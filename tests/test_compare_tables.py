"""benchmarks/compare_tables.py: the difference of two runs' seed means against sqrt(2) x the larger seed sd."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("compare_tables", ROOT / "benchmarks" / "compare_tables.py")
compare_tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_tables)


def table(psnr: list[float], sd: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"method_key": ["ref", "net", "gan"], "Method": ["Input", "Net", "GAN"], "PSNR": psnr,
                         "PSNR seed sd": sd, "PSNR (paper)": [1.0, 2.0, 3.0]})


def test_differences_are_set_against_the_larger_seed_sd():
    # seeds 30/32 (sd sqrt(2)) and 31/31 (sd 0): the means 31 and 31 agree; the GAN's 20 vs 25 do not
    a = table([10.0, 31.0, 20.0], [0.0, math.sqrt(2), 1.0])
    b = table([10.0, 31.0, 25.0], [0.0, 0.0, 0.5])
    out = compare_tables.compare(a, b).set_index("method")
    assert list(out.index) == ["Net", "GAN"]  # the reference row (sd 0 in both) is skipped
    assert out.at["Net", "B - A"] == 0 and out.at["Net", "seed noise"] == pytest.approx(2.0)
    assert out.at["GAN", "B - A"] == 5.0 and out.at["GAN", "seed noise"] == pytest.approx(math.sqrt(2))
    assert list(out["within noise"]) == [True, False]
    assert set(out["metric"]) == {"PSNR"}
