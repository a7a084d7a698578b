"""Lyu et al. 2019 (ixi_sr) library: parameter counts, k-space LR, gradient penalty, lr schedule, trainers, importer."""

import math

import nibabel as nib
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from mrsr.cli import main as cli_main
from mrsr.experiments.ixi_sr.data import (bicubic_reference, brain_patches, ixi_rows, kspace_lr, load_slice_pairs,
                                          patch_pairs, slice_pairs)
from mrsr.io import save_npz
from mrsr.losses import gradient_penalty, total_variation, wgan_critic_loss
from mrsr.nets import build, count_params
from mrsr.nets.lyu import circle_widths
from mrsr.sheets import read_sheet
from mrsr.train import TrainData, fit, lr_factor
from mrsr.train.cycle import FakePool

PAPER_SCHEDULE = {"constant_epochs": 50, "decay_epochs": 50, "final_factor": 0.02}


@pytest.mark.parametrize("name, kwargs, expected", [
    ("cpce", {}, 62_016),  # docs/experiments/ixi_sr.md, "Networks"
    ("circle_g", {}, 611_418),  # Lyu variant, docs/experiments/ixi_sr.md, "Networks"
])
def test_generator_parameter_counts(name, kwargs, expected):
    assert count_params(build(name, **kwargs)) == expected


def test_critic_sizes_and_shapes():
    # docs/experiments/ixi_sr.md, "Networks": CPCE critic 17.9 M, CIRCLE critic 36 M parameters at 64x64 (FC heads dominate)
    assert round(count_params(build("cpce_critic", patch_size=64)) / 1e6, 1) == 17.9
    assert round(count_params(build("circle_critic", patch_size=64)) / 1e6) == 36
    x = torch.rand(2, 1, 32, 32)
    assert build("cpce_critic", patch_size=32)(x).shape == (2, 1)
    assert build("circle_critic", patch_size=32)(x).shape == (2, 1)


def test_circle_widths_and_full_slice_sizes():
    assert circle_widths(128, 16, 12) == [128, 105, 92, 80, 70, 61, 53, 45, 37, 30, 22, 16]
    x = torch.rand(1, 1, 48, 40)  # full slices of any size: CPCE restores it, CIRCLE needs even sides
    assert build("cpce")(x).shape == x.shape
    assert build("circle_g")(x).shape == x.shape
    with pytest.raises(ValueError, match="even"):
        build("circle_g")(torch.rand(1, 1, 33, 32))


def test_kspace_lr_hand_example():
    # 8x8 image 1 + 0.5 cos(2 pi i/8) + 0.3 cos(2 pi 3 j/8): the central 4x4 of the centred 8x8 spectrum keeps
    # frequencies -2..1 on each axis, so the +-1 term survives and the +-3 term is removed.
    i, j = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    img = 1 + 0.5 * np.cos(2 * np.pi * i / 8) + 0.3 * np.cos(2 * np.pi * 3 * j / 8)
    lr = kspace_lr(img)
    assert lr.shape == img.shape
    np.testing.assert_allclose(lr, 1 + 0.5 * np.cos(2 * np.pi * i / 8), atol=1e-12)
    assert kspace_lr(img).sum() == pytest.approx(64.0)  # DC (mean) unchanged; input untouched
    assert img[0, 0] == pytest.approx(1.8)


def test_slice_pairs_range_and_bicubic_reference():
    rng = np.random.default_rng(0)
    vol = np.zeros((20, 20, 6))
    vol[4:16, 4:16, 1:5] = 100 + 20 * rng.random((12, 12, 4))
    pairs = slice_pairs(vol, size=24, axis=2, min_foreground=0.1)
    assert pairs["hr"].shape == pairs["lr"].shape == (4, 24, 24)
    assert pairs["hr"].min() >= 0 and pairs["hr"].max() == pytest.approx(1.0)
    assert not np.allclose(pairs["lr"], pairs["hr"])
    x, y = patch_pairs(pairs["lr"], pairs["hr"], size=16, stride=8)
    assert x.shape == y.shape == (4 * 4, 1, 16, 16)
    flat = np.full((16, 16), 0.5)
    np.testing.assert_allclose(bicubic_reference(flat), flat, atol=1e-6)


class Square(nn.Module):
    """D(x) = c * sum(x^2): grad D = 2 c x."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))

    def forward(self, x):
        return self.c * (x**2).flatten(1).sum(1, keepdim=True)


def test_gradient_penalty_by_hand():
    real = torch.tensor([[[[1.0, 2.0], [0.0, 1.0]]], [[[0.5, 0.0], [0.0, 0.0]]]])
    fake = torch.zeros_like(real)
    alpha = torch.tensor([0.5, 1.0]).view(2, 1, 1, 1)
    c = 0.75
    # x_hat = alpha real; ||2 c x_hat|| = 2 c alpha ||real||: sample 1: 1.5 * 0.5 * sqrt(6); sample 2: 1.5 * 0.5
    norms = [1.5 * 0.5 * math.sqrt(6.0), 1.5 * 0.5]
    expected = sum((n - 1) ** 2 for n in norms) / 2
    critic = Square(c)
    gp = gradient_penalty(critic, real, fake, alpha)
    assert gp.item() == pytest.approx(expected, rel=1e-6)
    # d GP / d c by hand: n_i = 2 c a_i ||r_i|| -> d/dc (n_i - 1)^2 = 2 (n_i - 1) n_i / c
    gp.backward()
    assert critic.c.grad.item() == pytest.approx(sum(2 * (n - 1) * n / c for n in norms) / 2, rel=1e-6)


def test_gradient_penalty_linear_critic_and_critic_loss():
    lin = nn.Linear(4, 1)
    critic = nn.Sequential(nn.Flatten(), lin)
    real, fake = torch.rand(3, 1, 2, 2), torch.rand(3, 1, 2, 2)
    w = lin.weight.detach()
    assert gradient_penalty(critic, real, fake).item() == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-5)
    total, terms = wgan_critic_loss(critic, real, fake, gp_weight=10.0)
    wd = (critic(real).mean() - critic(fake).mean()).item()
    assert terms["wasserstein"].item() == pytest.approx(wd, rel=1e-5)
    assert total.item() == pytest.approx(-wd + 10 * (w.norm().item() - 1) ** 2, rel=1e-5)


def test_total_variation_by_hand():
    x = torch.tensor([[[[0.0, 1.0], [3.0, 1.0]]]])
    # vertical |3-0| + |1-1| = 3, horizontal |1-0| + |1-3| = 3 -> 6 / 4 pixels
    assert total_variation(x).item() == pytest.approx(1.5)


@pytest.mark.parametrize("epoch, lr", [(1, 1e-4), (50, 1e-4), (51, 1e-4 - 98e-6 / 50), (75, 5.1e-5),
                                       (100, 2e-6), (120, 2e-6)])
def test_lr_schedule_paper_epochs(epoch, lr):
    # paper: 1e-4 for epochs 1-50, linear decay to 2e-6 over epochs 51-100
    assert 1e-4 * lr_factor(PAPER_SCHEDULE, epoch) == pytest.approx(lr, rel=1e-9)


def test_lr_schedule_rejects_bad_keys():
    assert lr_factor(None, 7) == 1.0
    with pytest.raises(ValueError, match="schedule"):
        lr_factor({"constant_epochs": 1}, 1)


def test_fake_pool_keeps_at_most_size_and_returns_batch():
    torch.manual_seed(0)
    pool = FakePool(3)
    out = pool.query(torch.arange(5.0).view(5, 1, 1, 1))
    assert out.shape == (5, 1, 1, 1) and len(pool.images) == 3
    assert torch.equal(out[:3], torch.arange(3.0).view(3, 1, 1, 1))  # filling: the new images come back


METHODS = {
    "wgan_gp": {"trainer": "wgan_gp", "generator": "cpce", "discriminator": "cpce_critic", "lr_g": 1e-4,
                "lr_d": 1e-4, "n_critic": 2, "gp_weight": 10.0, "lambda_p": 0.1, "betas": [0.9, 0.999]},
    "cycle": {"trainer": "cycle", "generator": "circle_g", "generator_kwargs": {"first_width": 16, "n_layers": 3},
              "discriminator": "circle_critic", "lr_g": 1e-4, "lr_d": 1e-4, "pool_size": 4, "supervised_weight": 0.5},
}


@pytest.mark.filterwarnings("ignore:no VGG-19 weights")
@pytest.mark.parametrize("key", ["wgan_gp", "cycle"])
def test_trainers_on_shared_loop_schedule_and_resume(tmp_path, key):
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    hr = rng.random((6, 1, 16, 16)).astype(np.float32)
    data = TrainData(np.clip(hr + 0.1, 0, 1), hr)
    method = {**METHODS[key], "schedule": {"constant_epochs": 1, "decay_epochs": 2, "final_factor": 0.1}}
    kw = dict(epochs=3, batch_size=3, seed=1, device="cpu", progress=False)
    full = fit(method, data, None, ckpt_dir=tmp_path / "a", log_csv=tmp_path / "a.csv", **kw).generator
    fit(method, data, None, ckpt_dir=tmp_path / "b", log_csv=tmp_path / "b.csv", stop_after_checks=2, **kw)
    resumed = fit(method, data, None, ckpt_dir=tmp_path / "b", log_csv=tmp_path / "b.csv", **kw).generator
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)
    log = np.genfromtxt(tmp_path / "a.csv", delimiter=",", names=True)
    np.testing.assert_allclose(log["train_lr_factor"], [1.0, 0.55, 0.1])
    assert np.all(np.isfinite(log["train_total"])) and np.all(log["train_gp" if key == "wgan_gp" else "train_gp_y"] >= 0)


def write_ixi(folder, name, shape=(6, 5, 4)):
    nib.save(nib.Nifti1Image(np.ones(shape, dtype=np.float32), np.eye(4)), folder / name)


def test_ixi_importer_writes_valid_sheet(tmp_path):
    ixi = tmp_path / "ixi"
    ixi.mkdir()
    for name in ("IXI002-Guys-0828-T2.nii.gz", "IXI012-HH-1211-T2.nii.gz", "IXI013-Guys-0700-T2.nii.gz",
                 "IXI002-Guys-0828-T1.nii.gz", "notes.txt"):
        write_ixi(ixi, name) if name.endswith(".gz") else (ixi / name).write_text("x")
    sheet = tmp_path / "sheets" / "ixi.tsv"
    assert cli_main(["import-ixi", str(ixi), str(sheet), "--site", "guys"]) == 0
    from pathlib import Path

    schema = Path(__file__).parents[1] / "workflow" / "schemas" / "ixi_sr_sheet.schema.yaml"
    rows = read_sheet(sheet, schema=schema, file_columns=("t2w",))
    assert list(rows) == ["IXI002", "IXI013"]
    assert rows["IXI013"]["t2w"] == str((ixi / "IXI013-Guys-0700-T2.nii.gz").resolve())
    assert [r["site"] for r in ixi_rows(ixi)] == ["Guys", "HH", "Guys"]
    with pytest.raises(ValueError, match="no IXI T2 files from site 'IOP'"):
        ixi_rows(ixi, site="IOP")


# ---------------------------------------------------------------- issue 18: budgets, validation, brain scoring

from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from mrsr.experiments.ixi_sr.data import split_slices, validation_flags  # noqa: E402
from mrsr.experiments.ixi_sr.evaluate import slice_metrics  # noqa: E402
from mrsr.experiments.ixi_sr.training import schedule_in_passes, trainer_method  # noqa: E402
from mrsr.footer import paper_budgets  # noqa: E402
from mrsr.metrics import brain_mask  # noqa: E402

ROOT = Path(__file__).parents[1]


def test_schedule_in_passes_reproduces_the_paper_epochs():
    # the paper preset: 100 passes of 3,063 updates; fractions 0.5 + 0.5 give 50 constant + 50 decaying passes
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())["ixi_sr"]
    got = schedule_in_passes(paper["schedule"], 306_300, 3_063)
    assert got == pytest.approx(PAPER_SCHEDULE)
    assert lr_factor(got, 50) == 1.0 and lr_factor(got, 100) * 1e-4 == pytest.approx(2e-6)
    # a default-like budget: 240 updates of 30 batches a pass = 8 passes, constant for 4
    assert schedule_in_passes({"constant_fraction": 0.5, "decay_fraction": 0.5, "final_factor": 0.02}, 240, 30) == \
        {"constant_epochs": 4.0, "decay_epochs": 4.0, "final_factor": 0.02}
    # under one pass (the default's 240 updates of ~500 batches a pass): the loop's one lr for pass 1 is the constant one
    short = schedule_in_passes({"constant_fraction": 0.5, "decay_fraction": 0.5, "final_factor": 0.02}, 240, 496)
    assert short["constant_epochs"] == 1.0 and lr_factor(short, 1) == 1.0
    with pytest.raises(ValueError, match="config ixi_sr.schedule"):
        schedule_in_passes({"constant_epochs": 1, "decay_epochs": 1, "final_factor": 0.1}, 10, 2)


def test_trainer_method_drops_budget_keys():
    entry = {"label": "X", "trainer": "cycle", "batch_size": 8, "max_updates": 9, "stopping": {"patience": 2}, "lr_g": 1}
    assert trainer_method(entry, {"a": 1}) == {"trainer": "cycle", "lr_g": 1, "schedule": {"a": 1}}


def test_config_budgets_in_updates_and_paper_budget():
    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())["ixi_sr"]
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())["ixi_sr"]
    assert "epochs" not in default and "epochs" not in paper
    budgets = paper_budgets("ixi_sr")
    # 8,000 slices x 49 patches (stride 32 on 256 px) x 100 epochs / batch
    assert budgets["cpce"]["updates"] == math.ceil(8000 * 49 / 128) * 100 == 306_300  # last batch of a pass smaller
    assert budgets["circle"]["updates"] == 8000 * 49 // 64 * 100 == 612_500
    for key in ("cpce", "circle"):
        assert paper["methods"][key]["max_updates"] == budgets[key]["updates"]
        assert paper["methods"][key]["stopping"]["stop"] is False
        assert default["methods"][key]["stopping"]["stop"] is True
        assert 1 <= default["methods"][key]["max_updates"] < budgets[key]["updates"]


def phantom_volume(n_slices: int = 20) -> np.ndarray:
    """A bright ellipsoid 'head' in a dark field, (32, 32, n_slices), brighter towards the last slice (no two alike)."""
    i, j, k = np.meshgrid(np.linspace(-1, 1, 32), np.linspace(-1, 1, 32), np.linspace(-1, 1, n_slices), indexing="ij")
    return ((i / 0.8) ** 2 + (j / 0.7) ** 2 + (k / 0.9) ** 2 <= 1).astype(np.float32) * (0.5 + 0.4 * np.abs(i) + 0.05 * k)


def test_validation_slices_are_interior_and_held_out_of_training():
    pairs = slice_pairs(phantom_volume(), size=32, axis=2, min_foreground=0.05, val_slices=3)
    n = len(pairs["hr"])
    flagged = np.flatnonzero(pairs["val"])
    assert len(flagged) == 3 and flagged[0] > 0 and flagged[-1] < n - 1  # spread, no end slice
    assert flagged[1] == pytest.approx((n - 1) / 2, abs=1)  # one through the middle
    train, val = split_slices(pairs)
    assert len(train["hr"]) == n - 3 and len(val["hr"]) == 3
    np.testing.assert_array_equal(val["lr"], pairs["lr"][flagged])
    held = {s.tobytes() for s in val["hr"]}
    assert not any(s.tobytes() in held for s in train["hr"])  # disjoint
    none = slice_pairs(phantom_volume(), size=32, axis=2, min_foreground=0.05)  # a test subject: none held out
    assert not none["val"].any()
    # every 2nd qualifying slice, from the first; the validation slices are chosen among those
    stepped = slice_pairs(phantom_volume(), size=32, axis=2, min_foreground=0.05, val_slices=1, step=2)
    np.testing.assert_array_equal(stepped["hr"], none["hr"][::2])
    np.testing.assert_array_equal(stepped["lr"], none["lr"][::2])
    assert stepped["val"].sum() == 1
    with pytest.raises(ValueError, match="ixi_sr.slice_step"):
        slice_pairs(phantom_volume(), size=32, axis=2, min_foreground=0.05, step=0)
    with pytest.raises(ValueError, match="ixi_sr.val_slices"):
        validation_flags(pairs["hr"][:2], 2)


def test_slice_metrics_inside_the_brain():
    hr = phantom_volume()[:, :, 10]
    pred = hr.copy()
    pred[0:3, 0:3] = 1.0  # an error in the background corner only: outside the dilated brain mask
    m = slice_metrics(pred, hr)
    assert m["psnr"] == pytest.approx(10 * np.log10(1 / (9 / hr.size)))
    assert math.isinf(m["psnr_brain"]) and m["ssim_brain"] == pytest.approx(1.0)
    inside = hr.copy()
    inside[16, 16] += 0.1  # one brain pixel: MSE over the mask's pixels
    n_mask = int(brain_mask(hr).sum())
    assert slice_metrics(inside, hr)["psnr_brain"] == pytest.approx(10 * np.log10(n_mask / 0.01), rel=1e-4)


# ---------------------------------------------------------------- issue 19 (b): the VGG-19 route of GAN-CPCE

from mrsr import losses  # noqa: E402
from mrsr.nets.vgg import vgg19_features  # noqa: E402


@pytest.fixture(scope="module")
def vgg19_perceptual() -> losses.VGG19Perceptual:
    with pytest.warns(UserWarning, match="random VGG"):
        return losses.VGG19Perceptual(seed=0)


def test_vgg19_input_is_torchvision_imagenet_normalised(vgg19_perceptual):
    x = torch.tensor([0.0, 0.485, 1.0]).view(1, 1, 1, 3)
    got = vgg19_perceptual.prepare(x)[0, :, 0]  # (3 channels, 3 pixels)
    expected = torch.tensor([[(v - m) / s for v in (0.0, 0.485, 1.0)]
                             for m, s in zip((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    torch.testing.assert_close(got, expected)
    assert got[0, 1] == 0  # the ImageNet red mean maps to 0; a [0, 1] image stays within about +-2.7
    assert got.abs().max() < 2.7
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        vgg19_perceptual.prepare(torch.zeros(1, 3, 4, 4))


def test_vgg19_cut_is_relu5_4(vgg19_perceptual):
    layers = list(vgg19_perceptual.features)
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert len(layers) == 36 and len(convs) == 16  # torchvision vgg19 features[:36]
    assert isinstance(layers[-1], nn.ReLU) and isinstance(layers[-2], nn.Conv2d)  # relu5_4 (after the 16th conv)
    assert sum(isinstance(m, nn.MaxPool2d) for m in layers) == 4  # pool5 is not included
    assert vgg19_perceptual.features(torch.zeros(1, 3, 32, 32)).shape == (1, 512, 2, 2)


def test_vgg19_loads_torchvision_keys(tmp_path):
    reference, _ = vgg19_features(seed=7)  # stands in for torchvision weights: other values than seed 0
    state = {f"features.{k}": v.clone() for k, v in reference.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the classifier of a full vgg19 state dict is ignored
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    loaded = losses.VGG19Perceptual(weights_path=str(path))
    assert not loaded.random_weights
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(loaded.features.state_dict()[key], value)
    assert not any(p.requires_grad for p in loaded.features.parameters())
    x, y = torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)
    feats = reference(loaded.prepare(x)), reference(loaded.prepare(y))
    assert float(loaded(x, y)) == pytest.approx(float(F.mse_loss(*feats)), rel=1e-5)
    del state["features.34.weight"]  # conv5_4 missing
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"vgg19.pth lacks the expected torchvision keys: features.34.weight"):
        losses.VGG19Perceptual(weights_path=str(path))


@pytest.mark.filterwarnings("ignore:no VGG-19 weights")
def test_circle_default_is_supervised():
    # issue 19 (c): the paper trains GAN-CIRCLE "in the supervised learning framework": the reference's 0.5 L1 term
    circle = yaml.safe_load((ROOT / "config/config.yaml").read_text())["ixi_sr"]["methods"]["circle"]
    assert circle["supervised_weight"] == 0.5
    from mrsr.train.cycle import CycleTrainer

    torch.manual_seed(0)
    small = {**trainer_method(circle, {}), "generator_kwargs": {"first_width": 16, "n_layers": 3}}
    small.pop("schedule")
    trainer = CycleTrainer(small, torch.device("cpu"), patch_size=16)
    x, y = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        expected = float(F.l1_loss(trainer.generator(x), y))
    terms = trainer.train_step(x, y)
    assert terms["supervised"] == pytest.approx(expected, rel=1e-5)


def test_stored_slices_rebuild_the_same_lr(tmp_path):
    # the data rule stores HR only; load_slice_pairs rebuilds exactly the LR slice_pairs made
    pairs = slice_pairs(phantom_volume(), size=32, axis=2, min_foreground=0.05, val_slices=2)
    save_npz(tmp_path / "s.npz", hr=pairs["hr"], val=pairs["val"], voxel_mm=np.array([1.0, 1.0]))
    loaded = load_slice_pairs(tmp_path / "s.npz")
    np.testing.assert_array_equal(loaded["lr"], pairs["lr"])
    np.testing.assert_array_equal(loaded["val"], pairs["val"])
    assert loaded["lr"].dtype == np.float32


def test_brain_patches_drop_background_patches():
    y = np.zeros((3, 1, 4, 4), np.float32)
    y[1, 0, :2] = 0.5  # half of the patch is brain
    y[2, 0, 0, 0] = 0.5  # 1/16 of it
    x = y + 1.0
    kx, ky = brain_patches(x, y, 0.1)
    np.testing.assert_array_equal(ky, y[1:2])
    np.testing.assert_array_equal(kx, x[1:2])  # the pairs stay aligned
    assert len(brain_patches(x, y, 0.0)[0]) == 3  # 0: every patch

