"""benchmarks/flops.py: its registry covers every configured network, and its FLOP count matches a hand count."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from mrsr.train.multiscale import pyramid_shapes

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("flops", ROOT / "benchmarks" / "flops.py")
flops = importlib.util.module_from_spec(spec)
sys.modules["flops"] = flops  # dataclasses look their module up there
spec.loader.exec_module(flops)


DSGAN_NETWORKS = {"kernelgan": ("dsgan_g", "dsgan_d"), "dsn": ("dsn_proxy", None), "edsr": ("edsr", None)}


def configured_networks(config: dict, key: str) -> set[str]:
    """Generators of an experiment's methods; dsgan's from its kernelgan/dsn/edsr sections, asl_sr's model."""
    if key == "dsgan":
        return {DSGAN_NETWORKS[k][0] for k in DSGAN_NETWORKS if k in config[key]}
    if key == "asl_sr":
        return {config[key]["model"]["generator"]}
    return {m["generator"] for m in config[key].get("methods", {}).values() if "generator" in m}


def test_cases_cover_every_network_once_with_the_configured_shapes():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    found = {c.name: c for c in flops.cases(config)}
    assert "dsgan" in config["experiments"]
    for key in config["experiments"]:
        assert configured_networks(config, key) == {c.method["generator"] for c in found.values()
                                                     if c.experiment == key}
    dcsrn = found["field7to9/dcsrn_l1"]
    assert dcsrn.same_as == ("dcsrn_l2",) and (dcsrn.batch, dcsrn.patch) == (8, 64)
    assert (found["field7to9/unet5"].batch, found["deepasl/pr_02"].batch) == (8, 8)
    assert found["deepasl/pr_02"].same_as == ("pr_05", "pr_07", "pr_10", "pr_02_gt")  # same network


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


def test_asl_sr_case_is_the_finest_scale_on_the_nr_volume():
    """Experiment 2's finest scale: the whole NR volume (fine matrix / nr_factor) with ASL + T1 channels, batch 1,
    the critic width SinGAN gives that scale, and a counted step on those shapes."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    section = config["asl_sr"]
    (case,) = [c for c in flops.cases(config) if c.experiment == "asl_sr"]
    nr = tuple(m // f for m, f in zip(section["grid"]["fine_matrix"], section["grid"]["nr_factor"]))
    assert case.grid == nr and case.batch == 1 and case.channels == 2
    assert case.shape == "1x2x" + "x".join(map(str, nr))
    n_scales = len(pyramid_shapes(nr, 0.75, 8, section["model"]["pyramid"]["max_scales"]))
    nfc = section["model"]["discriminator_kwargs"]["nfc"]
    assert case.method["discriminator_kwargs"]["nfc"] == min(nfc * 2 ** ((n_scales - 1) // 4), 128)
    assert case.method["residual"] is True and case.method["trainer"] == "pyramid"
    small = flops.replace(case, grid=(8, 8, 8))
    lr, hr, _ = flops.batch_for(small)
    assert lr.shape == (1, 2, 8, 8, 8) and hr.shape == (1, 1, 8, 8, 8)


@pytest.mark.usefixtures("one_thread")
def test_gradient_penalty_steps_are_counted():
    """WGAN-GP steps call torch.autograd.grad, which FlopCounterMode's module tracker cannot run with (torch 2.13):
    the total-only counter counts them (GAN-CPCE's 2-D step and asl_sr's 3-D pyramid step)."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    (cpce,) = [c for c in flops.cases(config) if c.name == "ixi_sr/cpce"]
    assert flops.count_flops(flops.replace(cpce, batch=1, patch=16)) > 0
    (pyramid,) = [c for c in flops.cases(config) if c.experiment == "asl_sr"]
    assert flops.count_flops(flops.replace(pyramid, grid=(8, 8, 8))) > 0
