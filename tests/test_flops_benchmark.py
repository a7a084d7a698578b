"""benchmarks/flops.py: its registry covers every configured network, and its FLOP count matches a hand count."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("flops", ROOT / "benchmarks" / "flops.py")
flops = importlib.util.module_from_spec(spec)
sys.modules["flops"] = flops  # dataclasses look their module up there
spec.loader.exec_module(flops)


def test_cases_cover_every_network_once_with_the_configured_shapes():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    found = {c.name: c for c in flops.cases(config)}
    for key in config["experiments"]:
        networks = {m["generator"] for m in config[key].get("methods", {}).values() if "generator" in m}
        assert networks == {c.method["generator"] for c in found.values() if c.experiment == key}
    dcsrn = found["field7to9/dcsrn_l1"]
    assert dcsrn.same_as == ("dcsrn_l2",) and (dcsrn.batch, dcsrn.patch) == (32, 64)
    assert (found["field7to9/unet5"].batch, found["deepasl/pr_02"].batch) == (8, 25)
    assert found["deepasl/pr_02"].same_as == ("pr_05", "pr_07", "pr_10")


def test_flop_count_of_a_deepasl_step_matches_the_hand_count():
    """DeepASL: conv 1->48, 7 x conv 48->48, conv 48->1, all 3x3 'same'. Per pixel the forward takes
    2 * sum(cin * cout * 9) FLOPs; backward: weight gradients cost the same again, input gradients the same
    minus the first layer's (the input needs no gradient)."""
    case = flops.Case("deepasl", "pr_02", {"trainer": "kinetic", "generator": "deepasl", "lambda": 0.2,
                                           "lr_g": 1e-3}, batch=2, patch=12)
    macs = 1 * 48 * 9 + 7 * 48 * 48 * 9 + 48 * 1 * 9
    pixels = 2 * 12 * 12
    assert flops.count_flops(case) == 2 * pixels * (macs + macs + (macs - 48 * 9))
