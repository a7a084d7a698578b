"""Claims as data, scored against hand-made tables (and per-item samples) with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

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


def spec_of(*claims: dict) -> dict:
    return {**SPEC, "claims": [{"text": f"claim {i}", **c} for i, c in enumerate(claims)]}


def long_frame(values: dict[str, np.ndarray], metric: str = "psnr") -> pd.DataFrame:
    """Per-item samples: method -> one value per item (items 0..n-1)."""
    return pd.DataFrame([{"method": m, "item": f"sub-{i}", metric: float(v)}
                         for m, vals in values.items() for i, v in enumerate(vals)])


def means_of(samples: pd.DataFrame, metric: str = "psnr") -> pd.DataFrame:
    return samples.groupby("method")[[metric]].mean()


BEATS = {"kind": "beats", "table": "t", "method": "a", "other": "b", "metrics": ["psnr"]}


def test_claims_scored_against_hand_made_tables() -> None:
    frame = S.evaluate_claims("x", tables(), preset="test", data="phantom", spec=SPEC)
    assert list(frame.columns) == S.COLUMNS
    assert list(frame["outcome"]) == ["held", "held", "not held", "not held", "untestable"]
    assert "psnr: a 30 vs b 29" in frame.loc[0, "evidence"]
    assert "not better: c" in frame.loc[2, "evidence"]  # c 28 < input 28.5
    assert "c not better than input" in frame.loc[2, "reason"]
    assert "p = 0.2" in frame.loc[3, "evidence"] and frame.loc[3, "reason"] == "p 0.2 >= 0.05"
    assert frame.loc[4, "reason"] == "table u not built in this run"
    # without per-item values only the means are compared, and the reason says so
    assert all(S.NO_TEST in r for r in frame.loc[:2, "reason"])


def test_best_fails_when_another_row_is_better_on_one_metric() -> None:
    t = tables()
    t["t"].loc["b", "rmse"] = 0.5
    frame = S.evaluate_claims("x", t, preset="test", data="phantom", spec=SPEC)
    assert frame.loc[0, "outcome"] == "not held" and "rmse: a 1 vs b 0.5" in frame.loc[0, "evidence"]
    assert frame.loc[0, "reason"].startswith("rmse: a not better than b (1 vs 0.5)")


def test_claim_on_a_metric_the_table_lacks_is_untestable() -> None:
    t = tables()
    t["t"] = t["t"].drop(columns="rmse")  # e.g. no reference to score it against
    frame = S.evaluate_claims("x", t, preset="test", data="sheet", spec=SPEC)
    assert list(frame["outcome"]) == ["untestable", "held", "not held", "not held", "untestable"]
    assert "rmse not scored in this run" in frame.loc[0, "reason"]


def test_consistent_paired_gain_holds_with_scipys_p() -> None:
    rng = np.random.default_rng(0)
    b = 30 + rng.normal(0, 2, 10)
    a = b + 1.0 + rng.normal(0, 0.1, 10)
    samples = long_frame({"a": a, "b": b})
    # two seeds per item around the item's value: the test reads their mean
    seeded = pd.concat([samples.assign(seed=0, psnr=samples["psnr"] - 0.3),
                        samples.assign(seed=1, psnr=samples["psnr"] + 0.3)], ignore_index=True)
    frame = S.evaluate_claims("x", {"t": means_of(samples)}, preset="test", data="phantom", spec=spec_of(BEATS),
                              samples={"t": seeded})
    p = stats.ttest_rel(a, b, alternative="greater").pvalue
    assert p < 1e-6
    assert frame.loc[0, "outcome"] == "held" and S.NO_TEST not in frame.loc[0, "reason"]
    assert f"p = {p:.3g}, n = 10" in frame.loc[0, "evidence"]
    assert f"diff {a.mean() - b.mean():+.4g}" in frame.loc[0, "evidence"]


def test_mean_gain_from_two_noisy_items_is_not_held() -> None:
    b = np.linspace(28, 32, 10)
    a = b + np.array([6.0, 5.0] + [-0.6] * 8)  # better in mean (+0.62) but on 2 of 10 items only
    samples = long_frame({"a": a, "b": b})
    frame = S.evaluate_claims("x", {"t": means_of(samples)}, preset="test", data="phantom", spec=spec_of(BEATS),
                              samples={"t": samples})
    p = stats.ttest_rel(a, b, alternative="greater").pvalue
    assert a.mean() > b.mean() and p >= 0.05
    assert frame.loc[0, "outcome"] == "not held"
    assert frame.loc[0, "reason"] == f"psnr: a vs b not significant (p = {p:.3g})"


def test_lower_is_better_metric_is_tested_one_sided_the_other_way() -> None:
    rng = np.random.default_rng(1)
    b = 2 + rng.normal(0, 0.5, 8)
    a = b - 0.3 + rng.normal(0, 0.05, 8)  # a has the lower rmse: a beats b
    samples = long_frame({"a": a, "b": b}, "rmse")
    claim = {**BEATS, "metrics": ["rmse"]}
    frame = S.evaluate_claims("x", {"t": means_of(samples, "rmse")}, preset="test", data="phantom",
                              spec=spec_of(claim, {**claim, "method": "b", "other": "a"}), samples={"t": samples})
    p = stats.ttest_rel(a, b, alternative="less").pvalue
    assert list(frame["outcome"]) == ["held", "not held"] and f"p = {p:.3g}" in frame.loc[0, "evidence"]
    assert "b not better than a" in frame.loc[1, "reason"]


@pytest.mark.parametrize(("sd", "outcome"), [(1.5, "not held"), (0.5, "held")])
def test_difference_within_the_seed_sd_is_not_held(sd: float, outcome: str) -> None:
    b = np.arange(10, dtype=float)
    a = b + 1.0 + np.tile([0.05, -0.05], 5)  # +1.0 on every item: p tiny
    samples = long_frame({"a": a, "b": b})
    table = means_of(samples).assign(**{"psnr seed sd": [sd, 0.2]})
    frame = S.evaluate_claims("x", {"t": table}, preset="test", data="phantom", spec=spec_of(BEATS),
                              samples={"t": samples})
    assert frame.loc[0, "outcome"] == outcome and f"seed sd {sd:.3g}" in frame.loc[0, "evidence"]
    if outcome == "not held":
        assert frame.loc[0, "reason"] == "psnr: a - b = +1 within the seed sd 1.5"


def test_too_few_pairs_or_no_variance_is_not_significant() -> None:
    few = long_frame({"a": np.array([31.0, 32.0]), "b": np.array([30.0, 30.5])})
    flat = long_frame({"a": np.arange(5.0) + 1, "b": np.arange(5.0)})  # every difference exactly 1
    for samples, why in ((few, "2 paired items (need 3)"), (flat, "the 5 paired differences have no variance")):
        frame = S.evaluate_claims("x", {"t": means_of(samples)}, preset="test", data="phantom",
                                  spec=spec_of(BEATS), samples={"t": samples})
        assert frame.loc[0, "outcome"] == "not held" and why in frame.loc[0, "evidence"]
        assert frame.loc[0, "reason"] == f"psnr: a vs b not significant: {why}"


def test_best_needs_a_significant_margin_over_every_other_row() -> None:
    rng = np.random.default_rng(2)
    base = 30 + rng.normal(0, 1, 12)
    samples = long_frame({"a": base + 1 + rng.normal(0, 0.1, 12), "b": base,  # a clearly beats b
                          "c": base + 0.9 + rng.normal(0, 2.0, 12)})           # not clearly beaten by a
    claim = {"kind": "best", "table": "t", "method": "a", "metrics": ["psnr"]}
    table = means_of(samples)
    assert table["psnr"].idxmax() == "a"
    frame = S.evaluate_claims("x", {"t": table}, preset="test", data="phantom", spec=spec_of(claim),
                              samples={"t": samples})
    assert frame.loc[0, "outcome"] == "not held" and frame.loc[0, "reason"].startswith("psnr: a vs c not significant")
    assert "not beaten: c" in frame.loc[0, "evidence"]
    frame = S.evaluate_claims("x", {"t": table}, preset="test", data="phantom",
                              spec=spec_of({**claim, "among": ["b"]}), samples={"t": samples})
    assert frame.loc[0, "outcome"] == "held"


def test_a_compared_row_that_did_not_learn_makes_the_claim_untestable() -> None:
    status = {"t": {"a": {"learned": False, "plateau": True}, "b": {"learned": True, "plateau": None},
                    "c": {"learned": True, "plateau": False}}}
    frame = S.evaluate_claims("x", tables(), preset="test", data="phantom", spec=SPEC, status=status)
    assert frame.loc[0, "outcome"] == "untestable"  # best: compares a (and c)
    assert frame.loc[0, "reason"] == "a did not beat its no-model reference; c did not reach its plateau"
    assert frame.loc[1, "outcome"] == "untestable" and frame.loc[1, "reason"] == "c did not reach its plateau"
    # the input row is absent from status: a reference, never the cause; unknown (None) flags do not count
    ok = {"t": {"a": {"learned": True, "plateau": None}, "b": {"learned": None, "plateau": None}}}
    frame = S.evaluate_claims("x", tables(), preset="test", data="phantom", spec=SPEC, status=ok)
    assert list(frame["outcome"]) == ["held", "held", "not held", "not held", "untestable"]


def test_status_of_a_row_the_claim_does_not_compare_changes_nothing() -> None:
    status = {"t": {"c": {"learned": False}}, "u": {"a": {"learned": False}}}
    claim = {**BEATS, "method": "a", "other": "b"}
    frame = S.evaluate_claims("x", tables(), preset="test", data="phantom", spec=spec_of(claim), status=status)
    assert frame.loc[0, "outcome"] == "held"


def test_all_of_is_held_only_when_every_part_holds() -> None:
    holds = {"kind": "beats", "table": "t", "method": "a", "other": "b", "metrics": ["psnr"]}
    fails = {"kind": "beats", "table": "t", "method": "c", "other": "input", "metrics": ["psnr"]}
    missing = {"kind": "beats", "table": "u", "method": "a", "other": "b", "metrics": ["psnr"]}
    spec = spec_of({"kind": "all_of", "parts": [holds, holds]}, {"kind": "all_of", "parts": [holds, fails]},
                   {"kind": "all_of", "parts": [fails, missing]})
    frame = S.evaluate_claims("x", tables(), preset="test", data="phantom", spec=spec)
    assert list(frame["outcome"]) == ["held", "not held", "untestable"]
    assert frame.loc[1, "reason"].startswith("part 2: psnr: c not better than input (28 vs 28.5)")
    assert frame.loc[2, "reason"] == "part 2: table u not built in this run"
    assert "part 1: psnr: a 30 vs b 29" in frame.loc[1, "evidence"] and "part 2: psnr: c 28" in frame.loc[1, "evidence"]
    # a part on an untrained row is untestable, and so is the whole claim
    status = {"t": {"a": {"learned": False}}}
    frame = S.evaluate_claims("x", tables(), preset="test", data="phantom", spec=spec, status=status)
    assert frame.loc[0, "outcome"] == "untestable" and "a did not beat its no-model reference" in frame.loc[0, "reason"]


def asl_table(nr: tuple[float, float], hr: tuple[float, float]) -> pd.DataFrame:
    """table1 with linear/spline at `nr`[0] vs NR and proposed at `nr`[1]; HR likewise from `hr`."""
    rows = {"nearest": (nr[0] - 1, 0.7, hr[0] - 1, 0.6), "linear": (nr[0], 0.8, hr[0], 0.7),
            "spline": (nr[0] + 0.1, 0.81, hr[0], 0.7), "proposed": (nr[1], 0.75, hr[1], 0.8),
            "no_t1": (0.0, 0.0, 99.0, 0.99)}
    return pd.DataFrame(rows, index=["psnr_nr", "ssim_nr", "psnr_hr", "ssim_hr"]).T


def test_asl_sr_claims_score_the_ranking_flip_together() -> None:
    spec = S.load_claims("asl_sr")
    assert S.check_spec(spec, "asl_sr") is spec and [c["kind"] for c in spec["claims"]] == ["all_of", "all_of", "best"]
    flip = S.evaluate_claims("asl_sr", {"table1": asl_table((34.0, 33.0), (32.0, 33.0))}, preset="test",
                             data="phantom")
    assert list(flip["outcome"]) == ["held", "held", "held"]
    # the proposed method fails everywhere: interpolation wins against NR, but that is no flip
    failed = S.evaluate_claims("asl_sr", {"table1": asl_table((34.0, 20.0), (32.0, 20.0))}, preset="test",
                               data="phantom")
    assert list(failed["outcome"]) == ["not held", "not held", "not held"]
    assert failed.loc[0, "reason"].startswith("part 2: psnr_hr: proposed not better than")
    # no HR on these data: the flip is untestable
    no_hr = asl_table((34.0, 33.0), (32.0, 33.0)).drop(columns=["psnr_hr", "ssim_hr"])
    frame = S.evaluate_claims("asl_sr", {"table1": no_hr}, preset="test", data="sheet")
    assert list(frame["outcome"]) == ["untestable"] * 3 and "psnr_hr, ssim_hr not scored" in frame.loc[0, "reason"]


def test_scorecard_round_trip(tmp_path) -> None:
    frame = S.evaluate_claims("x", tables(), preset="test", data="phantom", spec=SPEC)
    S.write_claims(frame, tmp_path / "claims.csv")
    back = S.gather([tmp_path / "claims.csv", tmp_path / "claims.csv"])
    assert len(back) == 2 * len(frame) and list(back["outcome"][:5]) == list(frame["outcome"])
    md = S.scorecard_markdown(back)
    assert "4 held, 4 not held, 2 untestable of 10 claims in this run." in md and md.count("| P et al. |") == 10
    assert "| Outcome | Reason |" in md


def test_gather_reads_a_claims_file_from_before_the_outcome_column(tmp_path) -> None:
    old = pd.DataFrame({"experiment": ["x"] * 3, "paper": ["P"] * 3, "claim": ["c1", "c2", "c3"],
                        "held": ["yes", "no", "n/a"], "evidence": ["e"] * 3, "preset": ["test"] * 3,
                        "data": ["phantom"] * 3})
    old.to_csv(tmp_path / "claims.csv", index=False)
    back = S.gather([tmp_path / "claims.csv"])
    assert list(back.columns) == S.COLUMNS and list(back["outcome"]) == ["held", "not held", "untestable"]


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


PART = {"kind": "beats", "table": "t", "method": "a", "other": "b", "metrics": ["psnr"]}


@pytest.mark.parametrize(("parts", "error", "message"), [
    (None, KeyError, r"claim 1 \(all_of\) needs a non-empty list 'parts'"),
    ([], KeyError, r"claim 1 \(all_of\) needs a non-empty list 'parts'"),
    ([PART, {**PART, "kind": "all_of"}], ValueError, "claim 1 part 1 has kind 'all_of'"),
    ([{k: v for k, v in PART.items() if k != "other"}], KeyError, r"claim 1 part 0 \(beats\) needs \['other'\]"),
    ([{**PART, "text": "t"}], ValueError, "claim 1 part 0 has its own 'text'"),
    ([{**PART, "metrics": ["ssim"]}], KeyError, "claim 1 part 0 uses metrics"),
    ([{k: v for k, v in PART.items() if k != "table"}], KeyError, "claim 1 part 0 needs 'table'"),
])
def test_bad_all_of_names_the_file_claim_and_part(parts, error, message) -> None:
    claim = {"text": "both", "kind": "all_of", **({} if parts is None else {"parts": parts})}
    bad = {**SPEC, "claims": [SPEC["claims"][0], claim]}
    with pytest.raises(error, match="mrsr/experiments/x/claims.yaml: " + message):
        S.check_spec(bad, "mrsr/experiments/x/claims.yaml")


def test_joint_status_of_a_comparison_row():
    from mrsr.scorecard import joint_status

    good = {"learned": True, "plateau": True}
    assert joint_status([good, good]) == good
    assert joint_status([good, {"learned": False, "plateau": True}]) == {"learned": False, "plateau": True}
    assert joint_status([good, None]) == {"learned": None, "plateau": None}  # a row with no record: unknown
    assert joint_status([{"learned": None, "plateau": False}, good]) == {"learned": None, "plateau": False}
