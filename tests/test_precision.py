"""Precision and memory layout (mrsr.device.Compute): bf16 training learns and saves fp32 weights, the fp32 path
is the plain PyTorch loop bit for bit, bf16 and fp32 inference agree, the config key is validated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from snakemake.utils import validate

from mrsr.device import Compute, seed_everything
from mrsr.experiments import experiment_keys
from mrsr.nets import build
from mrsr.train import ModelMeta, TrainData, build_trainer, fit, load_model, predict_fn, save_model
from mrsr.train.loop import epoch_permutation, prepare, train_step

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")
BF16, BF16_NHWC = Compute("bf16"), Compute("bf16", channels_last=True)
SUPERVISED = {"trainer": "supervised", "generator": "dcsrn", "losses": {"l1": 1.0}, "lr_g": 1e-3}
GAN = {"trainer": "gan", "generator": "unet_g", "discriminator": "patchgan", "conditional": True,
       "losses": {"bce": 1.0, "l1": 1.5, "gdl": 1.5}, "lr_g": 2e-4, "lr_d": 2e-5, "init": "normal"}
KINETIC = {"trainer": "kinetic", "generator": "deepasl", "lambda": 0.5, "lr_g": 1e-3}


def make_data(n: int, size: int = 16, seed: int = 0, aux: bool = False) -> TrainData:
    """Easy task: hr = 0.5 * smoothed noise lr; aux = (ref CBF, scale, mask) consistent with it for the kinetic loss."""
    rng = np.random.default_rng(seed)
    lr = rng.normal(size=(n, 1, size, size)).astype(np.float32)
    lr = (lr + np.roll(lr, 1, axis=-1) + np.roll(lr, 1, axis=-2)) / 3
    hr = 0.5 * lr
    extra = np.concatenate([100.0 * (lr - hr), np.full_like(lr, 100.0), np.ones_like(lr)], axis=1) if aux else None
    return TrainData(lr=lr, hr=hr, aux=extra)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def val_total(trainer, data: TrainData) -> float:
    """Validation loss (fp32, eval mode) of a trainer's generator on all of data."""
    trainer.generator.eval()
    extra = {} if data.aux is None else {"aux": torch.from_numpy(data.aux)}
    with torch.no_grad():
        value = trainer.val_step(torch.from_numpy(data.lr), torch.from_numpy(data.hr), **extra)["total"]
    trainer.generator.train()
    return value


def bf16_steps(method: dict, data: TrainData, compute: Compute, epochs: int) -> tuple[float, float, object]:
    """(loss before, loss after, trainer) for `epochs` bf16 passes of train_step, one batch each."""
    seed_everything(0)
    trainer = build_trainer(method, CPU, patch_size=data.lr.shape[-1])
    before = val_total(trainer, data)
    lr, hr = torch.from_numpy(data.lr), torch.from_numpy(data.hr)
    aux = None if data.aux is None else torch.from_numpy(data.aux)
    for epoch in range(1, epochs + 1):
        order = epoch_permutation(len(lr), 0, epoch)
        trainer.generator.train()
        train_step(trainer, lr[order], hr[order], {} if aux is None else {"aux": aux[order]}, compute)
    return before, val_total(trainer, data), trainer


@pytest.mark.parametrize("method,data,epochs", [(SUPERVISED, make_data(8), 1),
                                                (KINETIC, make_data(8, aux=True), 1),
                                                (GAN, make_data(4, size=64), 5)], ids=["supervised", "kinetic", "gan"])
@pytest.mark.parametrize("compute", [BF16, BF16_NHWC], ids=["bf16", "bf16-channels-last"])
def test_bf16_step_lowers_the_loss_and_keeps_fp32_weights(tmp_path, method, data, epochs, compute):
    before, after, trainer = bf16_steps(method, data, compute, epochs)
    assert after < before
    with torch.no_grad(), compute.autocast(CPU):  # the forward really runs in bf16 under this setting
        assert trainer.generator(torch.from_numpy(data.lr)).dtype == torch.bfloat16
    floats = [v for v in trainer.state_dict()["generator"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float32 for v in floats)
    save_model(tmp_path / "model.pt", trainer.generator, method, ModelMeta("field7to9", "fcn", 0))
    blob = torch.load(tmp_path / "model.pt", weights_only=True)
    saved = [v for v in blob["state_dict"].values() if v.is_floating_point()]
    assert all(v.dtype == torch.float32 and v.is_contiguous() for v in saved)
    loaded, _, _ = load_model(tmp_path / "model.pt")  # loads into a plain fp32 contiguous network
    reference = trainer.generator.eval().to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        x = torch.from_numpy(data.lr)
        assert torch.equal(loaded(x), reference(x))


@pytest.mark.parametrize("key", ["cpce", "circle"])
def test_bf16_wgan_and_cycle_steps_update_fp32_weights(key):
    """The ixi_sr trainers (WGAN-GP critic steps with a gradient penalty; cycle with two generators) under bf16
    autocast + channels-last: finite losses, every generator weight still fp32 and changed by the step."""
    method = {k: v for k, v in yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["ixi_sr"]["methods"][key]
              .items() if k not in ("label", "batch_size")}
    data = make_data(4, size=32)
    seed_everything(0)
    trainer = prepare(build_trainer(method, CPU, patch_size=32), BF16_NHWC)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    values = train_step(trainer, torch.from_numpy(data.lr), torch.from_numpy(data.hr), {}, BF16_NHWC)
    assert all(np.isfinite(v) for v in values.values())
    after = trainer.generator.state_dict()
    assert all(after[k].dtype == torch.float32 for k in after if after[k].is_floating_point())
    assert any(not torch.equal(before[k], after[k]) for k in after)


def plain_loop(data: TrainData, val: TrainData, epochs: int, batch_size: int, seed: int) -> torch.nn.Module:
    """What fit did before precision existed, written out with bare PyTorch: seed, build, Adam, L1, the epoch
    permutation; validation under no_grad."""
    seed_everything(seed)
    model = build("dcsrn")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    lr, hr = torch.from_numpy(data.lr), torch.from_numpy(data.hr)
    for epoch in range(1, epochs + 1):
        model.train()
        order = epoch_permutation(len(lr), seed, epoch)
        for start in range(0, len(lr), batch_size):
            idx = order[start:start + batch_size]
            loss = F.l1_loss(model(lr[idx]), hr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            model(torch.from_numpy(val.lr))
    return model.eval()


@pytest.mark.parametrize("compute", [None, Compute("fp32", channels_last=False)], ids=["default", "explicit"])
def test_fp32_path_is_the_plain_loop_bit_for_bit(tmp_path, compute):
    train, val = make_data(10), make_data(3, seed=1)
    ours = fit(SUPERVISED, train, val, epochs=3, batch_size=4, seed=5, device="cpu", ckpt_dir=tmp_path / "ckpt",
               log_csv=tmp_path / "log.csv", progress=False, compute=compute).generator
    plain = plain_loop(train, val, epochs=3, batch_size=4, seed=5)
    a, b = ours.state_dict(), plain.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_bf16_run_differs_from_fp32_and_does_not_resume_its_checkpoints(tmp_path):
    train = make_data(8)
    common = dict(epochs=2, batch_size=4, seed=0, device="cpu", ckpt_dir=tmp_path / "ckpt", progress=False)
    half = fit(SUPERVISED, train, None, log_csv=tmp_path / "bf16.csv", compute=BF16, **common).generator
    with pytest.warns(UserWarning, match="written for another"):
        full = fit(SUPERVISED, train, None, log_csv=tmp_path / "fp32.csv", **common).generator
    fresh = fit(SUPERVISED, train, None, log_csv=tmp_path / "fresh.csv", **{**common, "ckpt_dir": tmp_path / "new"}).generator
    assert not torch.equal(half.body[0].weight, full.body[0].weight)
    assert torch.equal(full.body[0].weight, fresh.body[0].weight)  # trained from scratch, not from bf16 weights


def test_bf16_and_fp32_inference_of_a_trained_model_agree(tmp_path):
    """Tolerance: bf16 keeps 8 significant bits (relative rounding 2**-9 = 0.2 %); through DCSRN's 6 layers the
    output's RMS difference stays below 2 % of the output's RMS and every voxel within 10 % of it."""
    train = make_data(16, size=32)
    model = fit(SUPERVISED, train, None, epochs=4, batch_size=4, seed=0, device="cpu", ckpt_dir=tmp_path / "ckpt",
                log_csv=tmp_path / "log.csv", progress=False).generator
    x = make_data(6, size=32, seed=3).lr
    full = predict_fn(model, "cpu", 4)(x)
    nhwc = predict_fn(model, "cpu", 4, Compute("fp32", channels_last=True))(x)
    half = predict_fn(model, "cpu", 4, BF16)(x)
    half_nhwc = predict_fn(model, "cpu", 4, BF16_NHWC)(x)
    scale = float(np.sqrt(np.mean(full**2)))
    assert half.dtype == np.float32 and half.shape == x.shape
    np.testing.assert_allclose(nhwc, full, rtol=0, atol=1e-5 * scale)  # layout alone: float reordering only
    for out in (half, half_nhwc):
        diff = out - full
        assert 0 < np.sqrt(np.mean(diff**2)) < 0.02 * scale  # really bf16 (not equal), and close
        assert np.abs(diff).max() < 0.10 * scale


def test_compute_from_config_names_the_key():
    assert Compute.from_config({}) == Compute() and Compute().is_default
    assert Compute.from_config({"compute": {"precision": "bf16"}}) == Compute("bf16", False)
    # a method's own compute overrides the experiment's key by key; unset keys inherit
    section = {"compute": {"precision": "bf16", "channels_last": True}}
    assert Compute.from_config(section, {"compute": {"channels_last": False}}) == Compute("bf16", False)
    assert Compute.from_config(section, {"lr_g": 1e-3}) == Compute("bf16", True)
    with pytest.raises(ValueError, match="method's compute.*'layout'"):
        Compute.from_config(section, {"compute": {"layout": "nhwc"}})
    with pytest.raises(ValueError, match="compute.precision"):
        Compute.from_config({"compute": {"precision": "fp16"}})
    with pytest.raises(ValueError, match="'compute' has unknown"):
        Compute.from_config({"compute": {"dtype": "bf16"}})


@pytest.mark.parametrize("key", experiment_keys())
def test_every_experiment_schema_accepts_compute_and_rejects_bad_values(key):
    section = yaml.safe_load((ROOT / "config" / "config.yaml").read_text()).get(key) or {}  # absent: schema defaults
    schema = str(ROOT / "workflow" / "schemas" / f"{key}.schema.yaml")
    validate({**section, "compute": {"precision": "bf16", "channels_last": True}}, schema=schema)
    for bad in ({"precision": "fp16"}, {"channels_last": "yes"}, {"dtype": "bf16"}):
        with pytest.raises(Exception, match="compute|fp16|yes|dtype"):
            validate({**section, "compute": bad}, schema=schema)


PYRAMID = {"generator": "unet3d", "generator_kwargs": {"widths": [4, 8, 8]}, "discriminator": "markov3d",
           "discriminator_kwargs": {"nfc": 4, "n_body": 1}, "init": "normal", "lr_g": 5e-4, "lr_d": 5e-4,
           "lambda_gp": 0.1, "lambda_mse": 10.0, "lambda_lowpass": 10.0, "lowpass_sigma": 5.0, "d_steps": 1,
           "g_steps": 1, "pyramid": {"factor": 0.75, "min_size": 6, "max_scales": 2}}


def test_channels_last_covers_3d_networks(tmp_path):
    """5-D weights and inputs take the NDHWC layout (nn.Module.to(memory_format=channels_last) raises on them):
    same output as the contiguous layout; asl_sr's 3-D pyramid trains in bf16 channels-last, saves contiguous fp32
    weights, and its bf16 super-resolution agrees with fp32's within the DCSRN tolerance above (2 % of the RMS)."""
    net = build("unet3d", widths=(4, 8, 8), in_channels=2).eval()
    x = torch.randn(1, 2, 12, 10, 9)
    with torch.no_grad():
        reference = net(x)
    nhwc = Compute("fp32", channels_last=True)
    nhwc.module(net)
    assert all(p.is_contiguous(memory_format=torch.channels_last_3d) for p in net.parameters() if p.ndim == 5)
    assert not all(p.is_contiguous() for p in net.parameters() if p.ndim == 5)
    assert nhwc.tensor(x).is_contiguous(memory_format=torch.channels_last_3d)
    with torch.no_grad():
        torch.testing.assert_close(net(nhwc.tensor(x)), reference, rtol=0, atol=1e-5)

    from mrsr.train.multiscale import load_pyramid, save_pyramid, train_pyramid

    rng = np.random.default_rng(0)
    asl = rng.random((12, 10, 9)).astype(np.float32) + 1.0
    t1 = rng.random((12, 10, 9)).astype(np.float32) + 1.0
    pyr = train_pyramid(PYRAMID, asl, t1, max_updates=2, seed=0, device="cpu", ckpt_dir=tmp_path, progress=False,
                        compute=BF16_NHWC)
    fine = rng.random((24, 20, 9)).astype(np.float32) + 1.0
    full = pyr.super_resolve(asl, fine, fine.shape)
    half = pyr.super_resolve(asl, fine, fine.shape, BF16_NHWC)
    save_pyramid(tmp_path / "model.pt", pyr, ModelMeta("asl_sr", "t1"))
    saved = torch.load(tmp_path / "model.pt", weights_only=True)["state_dicts"]
    assert all(t.dtype == torch.float32 and t.is_contiguous() for sd in saved for t in sd.values() if t.is_floating_point())
    scale = float(np.sqrt(np.mean(full**2)))
    assert half.dtype == np.float32 and half.shape == fine.shape
    assert 0 < np.sqrt(np.mean((half - full) ** 2)) < 0.02 * scale
    np.testing.assert_allclose(load_pyramid(tmp_path / "model.pt").super_resolve(asl, fine, fine.shape), full, atol=1e-5)


def test_convolution_losses_stay_fp32_under_bf16_autocast():
    """asl_sr's low-pass MSE and DSGAN's regularisers (kernel composition, bicubic reference) are convolutions,
    which autocast would run in bf16; they compute in fp32 and give the fp32 values under autocast."""
    from mrsr.losses import lowpass_mse
    from mrsr.train.dsgan import DSGANTrainer

    rng = np.random.default_rng(0)
    real = torch.from_numpy(rng.random((1, 1, 12, 10, 9)).astype(np.float32))
    fake = real + 0.01 * torch.from_numpy(rng.normal(size=real.shape).astype(np.float32))
    plain = lowpass_mse(fake, real, 2.0)
    with BF16.autocast("cpu"):
        mixed = lowpass_mse(fake, real, 2.0)
    assert mixed.dtype == torch.float32 and mixed.item() == plain.item()

    seed_everything(0)
    trainer = DSGANTrainer({"lr_g": 2e-4, "lr_d": 2e-4}, CPU, patch_size=64)
    x = torch.from_numpy(rng.random((1, 1, 64, 64)).astype(np.float32))
    with torch.no_grad():
        out = trainer.generator(x)
        reference = trainer.regulariser(out, x)
        with BF16.autocast("cpu"):
            terms = trainer.regulariser(out, x)
    for name, value in reference.items():
        assert terms[name].dtype == torch.float32 and terms[name].item() == value.item(), name
