"""Claims as data, scored against hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from mrsr import scorecard as S

SPEC = {
    "paper": "P et al.",
    "higher_is_better": {"psnr": True, "rmse": False},
    "exclude": ["input"],
    "claims": [
        {"text": "a is best", "kind": "best", "table": "t", "method": "a", "metrics": ["psnr", "rmse"]},
        {"text": "b beats c", "kind": "beats", "table": "t", "method": "b", "other": "c", "metrics": ["psnr"]},
        {"text": "all beat input", "kind": "all_beat", "table": "t", "other": "input", "metrics": ["psnr"]},
        {"text": "a vs b significant", "kind": "below", "table": "tests", "method": "a_vs_b", "column": "p",
         "threshold": 0.05},
        {"text": "needs table u", "kind": "best", "table": "u", "method": "a", "metrics": ["psnr"]},
    ],
}


def tables() -> dict[str, pd.DataFrame]:
    t = pd.DataFrame({"psnr": [30.0, 29.0, 28.0, 28.5], "rmse": [1.0, 2.0, 3.0, 1.5]},
                     index=["a", "b", "c", "input"])
    tests = pd.DataFrame({"p": [0.2]}, index=["a_vs_b"])
    return {"t": t, "tests": tests}


def test_claims_scored_against_hand_made_tables() -> None:
    frame = S.evaluate_claims("x", tables(), preset="test", data="phantom", spec=SPEC)
    assert list(frame.columns) == S.COLUMNS
    assert list(frame["held"]) == ["yes", "yes", "no", "no", "n/a"]
    assert "psnr: a 30 vs b 29" in frame.loc[0, "evidence"]
    assert "not better: c" in frame.loc[2, "evidence"]  # c 28 < input 28.5
    assert "p = 0.2" in frame.loc[3, "evidence"]


def test_best_fails_when_another_row_is_better_on_one_metric() -> None:
    t = tables()
    t["t"].loc["b", "rmse"] = 0.5
    frame = S.evaluate_claims("x", t, preset="test", data="phantom", spec=SPEC)
    assert frame.loc[0, "held"] == "no" and "rmse: a 1 vs b 0.5" in frame.loc[0, "evidence"]


def test_claim_on_a_metric_the_table_lacks_is_not_testable() -> None:
    t = tables()
    t["t"] = t["t"].drop(columns="rmse")  # e.g. no reference to score it against
    frame = S.evaluate_claims("x", t, preset="test", data="sheet", spec=SPEC)
    assert list(frame["held"]) == ["n/a", "yes", "no", "no", "n/a"]
    assert "rmse not scored in this run" in frame.loc[0, "evidence"]


def test_scorecard_round_trip(tmp_path) -> None:
    frame = S.evaluate_claims("x", tables(), preset="test", data="phantom", spec=SPEC)
    S.write_claims(frame, tmp_path / "claims.csv")
    back = S.gather([tmp_path / "claims.csv", tmp_path / "claims.csv"])
    assert len(back) == 2 * len(frame) and list(back["held"][:5]) == list(frame["held"])
    md = S.scorecard_markdown(back)
    assert "4 of 8 testable claims held" in md and md.count("| P et al. |") == 10


def test_bad_claims_name_the_source_and_claim() -> None:
    assert S.check_spec(SPEC, "src") is SPEC
    bad = {**SPEC, "claims": [{"text": "t", "kind": "wins", "table": "t"}]}
    with pytest.raises(ValueError, match="src: claim 0 has kind 'wins'"):
        S.check_spec(bad, "src")
    bad = {**SPEC, "claims": [{"text": "t", "kind": "beats", "table": "t", "method": "a", "metrics": ["psnr"]}]}
    with pytest.raises(KeyError, match=r"claim 0 \(beats\) needs \['other'\]"):
        S.check_spec(bad, "src")
    bad = {**SPEC, "claims": [{"text": "t", "kind": "best", "table": "t", "method": "a", "metrics": ["ssim"]}]}
    with pytest.raises(KeyError, match="ssim"):
        S.check_spec(bad, "src")
