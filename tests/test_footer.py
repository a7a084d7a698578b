"""Footers generated from the effective config: differences from the paper preset, assumptions, reference rows."""

from __future__ import annotations

import math

import pytest

from mrsr import footer as F


def test_differences_list_every_changed_leaf_and_nothing_else() -> None:
    ours = {"epochs": 3, "gan": {"batch_size": 8, "lr": 1e-3}, "axes": [2], "same": "x"}
    paper = {"epochs": 30, "gan": {"batch_size": 32, "lr": 1e-3}, "axes": [0, 1, 2], "same": "x", "extra": 1}
    diffs = F.config_differences(ours, paper)
    assert diffs == [("axes", [2], [0, 1, 2]), ("epochs", 3, 30), ("extra", F.MISSING, 1), ("gan.batch_size", 8, 32)]
    line = F.format_differences(diffs, "field7to9")[0]
    assert "epochs = 3 (paper preset: 30)" in line and "gan.batch_size = 8 (paper preset: 32)" in line
    assert "lr" not in line and "same" not in line
    assert "equals the paper preset" in F.format_differences([], "field7to9")[0]


def test_deep_merge_follows_configfile_semantics() -> None:
    merged = F.deep_merge({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "e": 2})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}


def test_assumption_conditions_and_filled_values(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [
        {"text": "Phantom data.", "when": {"subject_sheet": None}},
        {"text": "Patches with < {patches.min_brain} brain are rejected."},
        {"text": "Only in the paper preset.", "when": {"patches.count": [300, 3000]}},
        {"text": "Sheet data ({subject_sheet}).", "when": {"subject_sheet": {"not": None}}},
        {"text": "Not the paper's counts.", "when": {"patches.count": {"not": [300, 3000]}}},
    ]
    monkeypatch.setattr(F, "load_assumptions", lambda experiment: entries)
    cfg = {"subject_sheet": None, "patches": {"min_brain": 0.1, "count": 48}}
    assert F.applicable_assumptions("x", cfg) == ["Phantom data.", "Patches with < 0.1 brain are rejected.",
                                                  "Not the paper's counts."]
    cfg = {"subject_sheet": "/data/s.tsv", "patches": {"min_brain": 0.25, "count": 300}}
    assert F.applicable_assumptions("x", cfg) == ["Patches with < 0.25 brain are rejected.", "Only in the paper preset.",
                                                  "Sheet data (/data/s.tsv)."]
    monkeypatch.setattr(F, "load_assumptions", lambda experiment: [{"text": "{nope}"}])
    with pytest.raises(KeyError, match="nope"):
        F.applicable_assumptions("x", cfg)


def test_run_footer_states_data_preset_seed_and_differences(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(F, "load_assumptions", lambda experiment: [{"text": "A {epochs}-epoch run."}])
    params = {"data": "subject sheet /d/s.tsv", "preset": "default", "seeds": [0, 1],
              "differences": [["epochs", 3, 10]]}
    lines = F.run_footer("x", {"epochs": 3}, params, extra=["Reference: input."])
    assert lines[0] == "Data: subject sheet /d/s.tsv."
    assert lines[1] == "Preset: default; seed(s): 0, 1."
    assert "epochs = 3 (paper preset: 10)" in lines[2]
    assert lines[3] == "Reference: input." and lines[4] == "Assumption: A 3-epoch run."


def test_failed_to_beat_respects_direction_and_nan() -> None:
    psnr = {"input": 30.0, "a": 31.0, "b": 29.0, "c": math.nan}
    assert F.failed_to_beat(psnr, "input", True, labels={"b": "B"}) == ["B", "c"]
    rmse = {"avg": 5.0, "a": 4.0, "b": 6.0}
    assert F.failed_to_beat(rmse, "avg", False) == ["b"]
    assert "Did not beat the reference row 'Averaging' on RMSE: b." == F.reference_line("RMSE", "Averaging", ["b"])


# How each experiment's table script hands its config to run_footer (asl_sr's keys carry the section name).
FOOTER_CONFIG = {"field7to9": lambda s: s, "deepasl": lambda s: s, "ixi_sr": lambda s: s, "dsgan": lambda s: s,
                 "asl_sr": lambda s: {"asl_sr": s}}


@pytest.mark.parametrize("experiment", sorted(FOOTER_CONFIG))
def test_every_experiment_states_bf16_exactly_when_it_is_on(experiment: str) -> None:
    """Each experiment's assumptions resolve against its default section (no 'when' names a missing key) and state
    bf16 mixed precision, with the layout, exactly when compute.precision is bf16."""
    import copy
    from pathlib import Path

    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text())
    assert set(FOOTER_CONFIG) == set(config["experiments"])
    texts = {}
    for precision in ("fp32", "bf16"):
        section = copy.deepcopy(config[experiment])
        section["compute"] = {"precision": precision, "channels_last": True}
        texts[precision] = [t for t in F.applicable_assumptions(experiment, FOOTER_CONFIG[experiment](section))
                            if "bf16" in t]
    assert texts["fp32"] == []
    assert len(texts["bf16"]) == 1 and "channels-last True" in texts["bf16"][0]
