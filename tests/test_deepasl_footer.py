"""DeepASL's footer follows the run (assumptions with conditions) and its claims are scored from the tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mrsr.experiments.deepasl.evaluate import claim_tables, paired_tests, reference_lines
from mrsr.footer import applicable_assumptions, config_differences, deep_merge, load_assumptions
from mrsr.scorecard import evaluate_claims, load_claims

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
    return frame.set_index("claim")["held"]


def test_claims_hold_when_pr02_clearly_beats_dilated_and_every_network_beats_averaging() -> None:
    held = score(metrics_frame({"dilated": 1.0, "pr_02": 3.0, "pr_05": 2.0}, noise=0.05))
    assert len(held) == len(load_claims("deepasl")["claims"]) == 6
    # 8 matched pairs, every difference positive: Wilcoxon's exact p = 2 / 2^8 = 0.0078 < 0.01
    assert (held == "yes").all(), held


def test_claims_fail_when_dilated_wins_or_a_network_loses_to_averaging() -> None:
    held = score(metrics_frame({"dilated": 3.0, "pr_02": 1.0, "pr_05": -0.5}, noise=0.05))
    assert held["PR-λ=0.2 beats Dilated Conv on the synthetic set (PSNR, RMSE, CCC)"] == "no"
    assert held["Every network beats Averaging on the synthetic set (PSNR, RMSE, CCC)"] == "no"
    assert held["Every network beats Averaging on the real set (PSNR, RMSE, CCC)"] == "no"
    # the difference is significant (p small) even though it goes the wrong way: the 'beats' row says no
    assert held["PR-λ=0.2 vs Dilated Conv, synthetic PSNR: p << 0.05 (both tests p < 0.01)"] == "yes"


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
