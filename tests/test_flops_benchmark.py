"""benchmarks/flops.py: its registry covers every configured network, and its FLOP count matches a hand count."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("flops", ROOT / "benchmarks" / "flops.py")
flops = importlib.util.module_from_spec(spec)
sys.modules["flops"] = flops  # dataclasses look their module up there
spec.loader.exec_module(flops)


DSGAN_NETWORKS = {"kernelgan": ("dsgan_g", "dsgan_d"), "dsn": ("dsn_proxy", None), "edsr": ("edsr", None)}


def configured_networks(config: dict, key: str) -> set[str]:
    """Generators of an experiment's methods; dsgan's from its kernelgan/dsn/edsr sections."""
    if key == "dsgan":
        return {DSGAN_NETWORKS[k][0] for k in DSGAN_NETWORKS if k in config[key]}
    return {m["generator"] for m in config[key].get("methods", {}).values() if "generator" in m}


def test_cases_cover_every_network_once_with_the_configured_shapes():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    found = {c.name: c for c in flops.cases(config)}
    assert "dsgan" in config["experiments"]
    for key in config["experiments"]:
        assert configured_networks(config, key) == {c.method["generator"] for c in found.values()
                                                     if c.experiment == key}
    dcsrn = found["field7to9/dcsrn_l1"]
    assert dcsrn.same_as == ("dcsrn_l2",) and (dcsrn.batch, dcsrn.patch) == (32, 64)
    assert (found["field7to9/unet5"].batch, found["deepasl/pr_02"].batch) == (8, 25)
    assert found["deepasl/pr_02"].same_as == ("pr_05", "pr_07", "pr_10")


def test_dsgan_cases_take_the_configured_networks_and_shapes():
    """DSGAN: batch 1, 64-pixel HR crops -> 26-pixel real-LR crops; DSN proxy 64 -> 32 in its batch; EDSR x2 with the
    edsr section's blocks, channels, LR patch and batch."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    section = config["dsgan"]
    found = {c.method_key: c for c in flops.cases(config) if c.experiment == "dsgan"}
    assert set(found) == set(DSGAN_NETWORKS)
    for key, (generator, discriminator) in DSGAN_NETWORKS.items():
        assert (found[key].method["generator"], found[key].method.get("discriminator")) == (generator, discriminator)
        assert found[key].method["lr_g"] == float(section[key]["lr"])
    kernelgan, dsn, edsr = found["kernelgan"], found["dsn"], found["edsr"]
    assert kernelgan.method["trainer"] == "dsgan" and kernelgan.method["lr_d"] == float(section["kernelgan"]["lr"])
    assert (kernelgan.batch, kernelgan.patch, kernelgan.target_patch) == (1, 64, 26)
    assert (dsn.batch, dsn.patch, dsn.target_patch) == (section["dsn"]["batch_size"], 64, 32)
    ecfg = section["edsr"]
    assert edsr.method["generator_kwargs"] == {"n_blocks": ecfg["n_blocks"], "channels": ecfg["channels"]}
    assert (edsr.batch, edsr.patch, edsr.target_patch) == (ecfg["batch_size"], ecfg["patch_size"],
                                                           2 * ecfg["patch_size"])
    assert edsr.shape == f"{ecfg['batch_size']}x{ecfg['patch_size']}x{ecfg['patch_size']}->{2 * ecfg['patch_size']}"


@pytest.mark.usefixtures("one_thread")  # tests/conftest.py
def test_dsgan_cases_run_a_counted_step_on_their_shapes():
    """Each dsgan case's batch fits its trainer (G's output matches D's reals and the targets): one counted step."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for case in (c for c in flops.cases(config) if c.experiment == "dsgan"):
        assert flops.count_flops(flops.replace(case, batch=1)) > 0


def test_flop_count_of_a_deepasl_step_matches_the_hand_count():
    """DeepASL: conv 1->48, 7 x conv 48->48, conv 48->1, all 3x3 'same'. Per pixel the forward takes
    2 * sum(cin * cout * 9) FLOPs; backward: weight gradients cost the same again, input gradients the same
    minus the first layer's (the input needs no gradient)."""
    case = flops.Case("deepasl", "pr_02", {"trainer": "kinetic", "generator": "deepasl", "lambda": 0.2,
                                           "lr_g": 1e-3}, batch=2, patch=12)
    macs = 1 * 48 * 9 + 7 * 48 * 48 * 9 + 48 * 1 * 9
    pixels = 2 * 12 * 12
    assert flops.count_flops(case) == 2 * pixels * (macs + macs + (macs - 48 * 9))
