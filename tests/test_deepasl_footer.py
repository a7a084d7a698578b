"""DeepASL's footer follows the run (assumptions with conditions), its claims are scored from the tables, and its
Table 1 combines training seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mrsr.experiments.deepasl.evaluate import paired_tests
from mrsr.experiments.deepasl.table import (KEYS, ROW_KEY, claim_tables, combine_tables, metrics_by_seed,
                                            reference_lines, seed_average, seed_means, seed_table)
from mrsr.footer import applicable_assumptions, config_differences, deep_merge, load_assumptions
from mrsr.scorecard import evaluate_claims, load_claims
from mrsr.tables import mean_std_view

REPO = Path(__file__).resolve().parents[1]


def section(*overrides: dict) -> dict:
    """config/config.yaml's deepasl section with overrides merged in (Snakemake's --configfile semantics)."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for extra in overrides:
        cfg = deep_merge(cfg, extra)
    return cfg["deepasl"]


def paper() -> dict:
    return yaml.safe_load((REPO / "config/paper.yaml").read_text())


def joined(cfg: dict) -> str:
    return "\n".join(applicable_assumptions("deepasl", cfg))


def test_assumptions_live_beside_the_experiment_not_in_the_config() -> None:
    assert "assumptions" not in section()
    entries = load_assumptions("deepasl")
    assert len(entries) > 10 and all("text" in e for e in entries)


def test_learning_rate_assumption_only_when_the_run_uses_1e_3() -> None:
    assert "Learning rate 1e-3" in joined(section())
    assert "Learning rate" not in joined(section(paper()))
    assert ("methods.pr_02.lr_g", 1e-3, 1e-4) in config_differences(section(), section(paper()))
    assert "bf16 mixed precision" in joined(section()) and "bf16" not in joined(section(paper()))


def test_a_subject_sheet_is_not_called_simulated() -> None:
    phantom = joined(section())
    assert "pCASL simulated from the phantom cohort" in phantom and "general kinetic model" in phantom
    sheet = joined(section({"deepasl": {"subject_sheet": "/data/subjects.tsv"}}))
    assert "simulated from the phantom" not in sheet and "single-pair GM perfusion SNR" not in sheet
    single = joined(section({"deepasl": {"real": {"model": "single_compartment"}}}))
    assert "inverse of eq. 1 (no model mismatch" in single and "general kinetic model" not in single


def test_inference_and_reference_lines_follow_the_config() -> None:
    default = joined(section())
    assert "Inference patch-wise as the paper: 40x40 patches" in default and "Whole-slice" not in default
    assert "noise-free ground truth" not in default
    other = joined(section({"deepasl": {"inference": "slice", "synthetic": {"cbf_reference": "ground_truth"}}}))
    assert "Whole-slice inference" in other and "patch-wise as the paper" not in other
    assert "Synthetic set: the CBF loss term is trained against the noise-free ground truth" in other
    # values named in the text are filled from the run's config
    assert "CBF term in units of 50 ml/100g/min" in joined(section({"deepasl": {"cbf_unit": 50.0}}))


def metrics_frame(gain: dict[str, float], noise: float = 0.0) -> pd.DataFrame:
    """Per-(subject, level) metrics of every method: averaging's PSNR 20 + level, each method `gain` dB better;
    RMSE falls and CCC rises with the gain; `noise` jitters each row."""
    rng = np.random.default_rng(0)
    rows = []
    for dataset in ("synthetic", "real"):
        for method, g in {"averaging": 0.0, **gain}.items():
            for subject in ("sub-01", "sub-02"):
                for level in (0.2, 0.4, 0.6, 0.8):
                    jitter = noise * rng.standard_normal()
                    rows.append({"dataset": dataset, "method": method, "subject": subject, "level": level,
                                 "psnr": 20 + 10 * level + g + jitter, "rmse": 10 - 0.2 * (g + jitter),
                                 "ccc": 0.8 + 0.01 * (g + jitter)})
    return pd.DataFrame(rows)


def score(metrics: pd.DataFrame) -> pd.DataFrame:
    tests = [{"dataset": d, **row} for d in ("synthetic", "real")
             for row in paired_tests(metrics[metrics["dataset"] == d], "pr_02", "dilated")]
    frame = evaluate_claims("deepasl", claim_tables(metrics, tests), preset="test", data="phantom")
    return frame.set_index("claim")["outcome"]


def test_claims_hold_when_pr02_clearly_beats_dilated_and_every_network_beats_averaging() -> None:
    held = score(metrics_frame({"dilated": 1.0, "pr_02": 3.0, "pr_05": 2.0}, noise=0.05))
    assert len(held) == len(load_claims("deepasl")["claims"]) == 6
    # 8 matched pairs, every difference positive: Wilcoxon's exact p = 2 / 2^8 = 0.0078 < 0.01
    assert (held == "held").all(), held


def test_claims_fail_when_dilated_wins_or_a_network_loses_to_averaging() -> None:
    held = score(metrics_frame({"dilated": 3.0, "pr_02": 1.0, "pr_05": -0.5}, noise=0.05))
    assert held["PR-λ=0.2 beats Dilated Conv on the synthetic set (PSNR, RMSE, CCC)"] == "not held"
    assert held["Every network beats Averaging on the synthetic set (PSNR, RMSE, CCC)"] == "not held"
    assert held["Every network beats Averaging on the real set (PSNR, RMSE, CCC)"] == "not held"
    # the difference is significant (p small) even though it goes the wrong way: the 'beats' row says no
    assert held["PR-λ=0.2 vs Dilated Conv, synthetic PSNR: p << 0.05 (both tests p < 0.01)"] == "held"


def test_claim_tables_take_the_larger_p_of_both_tests() -> None:
    tests = [{"dataset": "synthetic", "metric": "psnr", "p_ttest": 0.001, "p_wilcoxon": 0.03},
             {"dataset": "synthetic", "metric": "rmse", "p_ttest": float("nan"), "p_wilcoxon": 0.001}]
    tables = claim_tables(metrics_frame({"pr_02": 1.0}), tests)
    assert tables["tests_synthetic"].loc["psnr", "p_max"] == pytest.approx(0.03)
    assert np.isnan(tables["tests_synthetic"].loc["rmse", "p_max"])
    means = tables["table1_real"]
    assert means.loc["pr_02", "psnr"] == pytest.approx(means.loc["averaging", "psnr"] + 1.0)


def test_reference_lines_name_networks_that_fail_to_beat_averaging() -> None:
    means = pd.DataFrame({"psnr": [20.0, 21.0, 19.0], "rmse": [5.0, 4.0, 6.0], "ccc": [0.8, 0.9, 0.85]},
                         index=["averaging", "dilated", "pr_02"])
    lines = reference_lines(means, "synthetic", {"averaging": "Averaging", "pr_02": "PR-λ=0.2"})
    assert lines[0] == "Did not beat the reference row 'Averaging' on Syn PSNR: PR-λ=0.2."
    assert lines[1] == "Did not beat the reference row 'Averaging' on Syn RMSE: PR-λ=0.2."
    assert lines[2] == "Every trained method beats the reference row 'Averaging' on Syn CCC."


METHODS = ["averaging", "dilated", "pr_02", "pr_05", "pr_07", "pr_10"]
NETWORKS = ("dilated", "pr_02", "pr_05", "pr_07", "pr_10")
PARAMS = {"dilated": 100, **{k: 200 for k in NETWORKS[1:]}}


def seed_frames(gains: dict[int, dict[str, float]]) -> dict[str, pd.DataFrame]:
    """{metrics file path: rows} in the table rule's input order (dataset, method, seed): Averaging once (seed-0),
    each network once per seed."""
    metrics = {seed: metrics_frame(gain, noise=0.05 * (1 + seed)) for seed, gain in gains.items()}
    frames = {}
    for dataset in ("synthetic", "real"):
        for method in ("averaging", *NETWORKS):
            for seed, rows in metrics.items():
                if method != "averaging" or seed == 0:
                    path = f"results/deepasl/eval/{dataset}/{method}/seed-{seed}/metrics.tsv"
                    frames[path] = rows[(rows["dataset"] == dataset) & (rows["method"] == method)]
    return frames


def test_metrics_by_seed_give_every_seed_its_networks_and_the_one_averaging() -> None:
    frames = seed_frames({0: dict.fromkeys(NETWORKS, 1.0), 1: dict.fromkeys(NETWORKS, 2.0)})
    per_seed = metrics_by_seed(frames, [0, 1], ["averaging"])
    for seed in (0, 1):
        mine = [rows for path, rows in frames.items() if f"/seed-{seed}/" in path or "/averaging/" in path]
        pd.testing.assert_frame_equal(per_seed[seed], pd.concat(mine, ignore_index=True))
        assert len(per_seed[seed]) == 2 * 6 * 8 and list(per_seed[seed]["method"].unique()) == METHODS
    np.testing.assert_array_equal(per_seed[0]["psnr"].to_numpy()[:8], per_seed[1]["psnr"].to_numpy()[:8])
    assert (per_seed[1]["psnr"].to_numpy()[8:16] > per_seed[0]["psnr"].to_numpy()[8:16] + 0.5).all()
    with pytest.raises(ValueError, match=r"no network's metrics file of training seed\(s\) \[2\]"):
        metrics_by_seed(frames, [0, 1, 2], ["averaging"])
    with pytest.raises(ValueError, match="training seed 1 is not one of the run's seeds"):
        metrics_by_seed(frames, [0], ["averaging"])


def test_combined_table_is_the_mean_over_seeds_with_their_sd() -> None:
    gains = {0: dict(zip(NETWORKS, (1.0, 3.0, 2.0, 2.0, 1.5))), 1: dict(zip(NETWORKS, (2.0, 2.5, 2.0, 1.0, 1.5)))}
    per_seed = metrics_by_seed(seed_frames(gains), [0, 1], ["averaging"])
    built = {seed: seed_table(m, ["synthetic", "real"], PARAMS) for seed, m in per_seed.items()}
    table = combine_tables({seed: t for seed, (t, _) in built.items()}, ["synthetic", "real"])
    # recomputed from the rows: each seed's per-method mean, then the mean and sd (ddof 1) of the two
    syn = {seed: m[m["dataset"] == "synthetic"].groupby("method")["psnr"] for seed, m in per_seed.items()}
    means = pd.concat({seed: g.mean() for seed, g in syn.items()}, axis=1).loc[table.index]
    np.testing.assert_allclose(table["Syn PSNR"], means.mean(axis=1))
    np.testing.assert_allclose(table["Syn PSNR seed sd"], np.abs(means[0] - means[1]) / np.sqrt(2))
    np.testing.assert_allclose(table["ΔSyn PSNR"], table["Syn PSNR"] - table["Syn PSNR (paper)"])
    stds = pd.concat({seed: g.std(ddof=1) for seed, g in syn.items()}, axis=1).loc[table.index]
    np.testing.assert_allclose(table["Syn PSNR std"], stds.mean(axis=1))  # the mean of each seed's std
    assert table.loc["averaging", "Real CCC seed sd"] == 0.0  # computed once: no spread over seeds
    assert "Syn PSNR std seed sd" not in table.columns and list(table.index) == ["averaging", *NETWORKS]
    assert list(table.columns[:5]) == ["Method", "Syn PSNR", "Syn PSNR seed sd", "Syn PSNR std", "Syn PSNR (paper)"]
    # the people's view: 'mean (std)' in one cell, the seed sd in its own column
    view = mean_std_view(table)
    assert view.loc["pr_02", "Syn PSNR"] == f"{table.loc['pr_02', 'Syn PSNR']:.2f} ({stds.mean(axis=1)['pr_02']:.2f})"
    assert "Syn PSNR std" not in view.columns and "Syn PSNR seed sd" in view.columns
    # reference lines and orderings read the seed means, exactly the table's values
    ours = seed_means({seed: o["synthetic"] for seed, (_, o) in built.items()})
    np.testing.assert_array_equal(ours["psnr_mean"], table["Syn PSNR"])
    # one seed: that seed's table as it is, no 'seed sd' column
    one = combine_tables({0: built[0][0]}, ["synthetic", "real"])
    pd.testing.assert_frame_equal(one, built[0][0])
    assert not any(c.endswith("seed sd") for c in one.columns)


def test_tests_and_claims_read_each_rows_mean_over_seeds() -> None:
    # seed 0: PR-λ=0.2 loses to Dilated Conv; seed 1: it wins by more, so it wins on the seed means
    gains = {0: dict(zip(NETWORKS, (2.0, 1.0, 1.0, 1.0, 1.0))), 1: dict(zip(NETWORKS, (1.0, 4.0, 1.0, 1.0, 1.0)))}
    per_seed = metrics_by_seed(seed_frames(gains), [0, 1], ["averaging"])
    averaged = seed_average(per_seed)
    first = per_seed[0].set_index(ROW_KEY)
    second = per_seed[1].set_index(ROW_KEY).loc[first.index]
    np.testing.assert_allclose(averaged[KEYS], (first[KEYS].to_numpy() + second[KEYS].to_numpy()) / 2)
    synthetic = averaged[averaged["dataset"] == "synthetic"]
    tests = paired_tests(synthetic, "pr_02", "dilated")
    diff = synthetic[synthetic["method"] == "pr_02"]["psnr"].to_numpy() - synthetic[
        synthetic["method"] == "dilated"]["psnr"].to_numpy()
    assert tests[0]["n_pairs"] == 8 and tests[0]["mean_diff"] == pytest.approx(diff.mean())
    assert tests[0]["mean_diff"] == pytest.approx((-1.0 + 3.0) / 2, abs=0.2)  # jitter aside: +1 dB
    held = score(averaged)
    assert held["PR-λ=0.2 beats Dilated Conv on the synthetic set (PSNR, RMSE, CCC)"] == "held"
    assert score(per_seed[0])["PR-λ=0.2 beats Dilated Conv on the synthetic set (PSNR, RMSE, CCC)"] == "not held"
    # one seed: its rows unchanged
    pd.testing.assert_frame_equal(seed_average({0: per_seed[0]}), per_seed[0])
    with pytest.raises(ValueError, match="training seed 1 cover other"):
        seed_average({0: per_seed[0], 1: per_seed[1].iloc[1:]})
