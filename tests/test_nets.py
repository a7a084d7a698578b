"""Tests for mrsr.nets: registry, exact parameter counts, shapes, sharpening, init, VGG loading."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mrsr import nets
from mrsr.nets.cnn import Sharpen
from mrsr.nets.vgg import vgg16_features

pytestmark = pytest.mark.filterwarnings("ignore:no VGG-16 weights path")

GENERATORS = ("fcn1", "fcn2", "dcsrn", "dcgan1_g", "dcgan2_g", "dcgan3_g", "unet_g")
DISCRIMINATORS = ("disc_b", "disc_d", "disc_f", "patchgan")

# paper Table 2/3 counts (fcn2: our reconstruction, the paper says 155,681; docs/experiments/field7to9.md, "Networks").
PARAMS = {
    "fcn1": 308_545,
    "fcn2": 134_657,
    "dcsrn": 53_977,
    "dcgan1_g": 6_885,
    "dcgan2_g": 458_385,
    "dcgan3_g": 868_369,
    "unet_g": 1_829_025,
}
# pix2pix NLayerDiscriminator(ndf=64, n_layers=3, BN): convs 16*in*64+64, 16*64*128, 16*128*256, 16*256*512,
# 16*512+1 plus BN affine 2*(128+256+512).
PATCHGAN_PARAMS = {1: 2_763_585, 2: 2_764_609}
VGG_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21)


def test_names_cover_all_networks() -> None:
    asl = ("deepasl", "dilated_conv")  # DeepASL paper; counted in tests/test_asl.py
    lyu = ("cpce", "circle_g")  # Lyu et al. 2019
    dsgan = ("dsgan_g", "edsr", "dsn_proxy")  # Huang et al.; counted in tests/test_dsgan.py
    cui = ("unet3d",)  # Cui et al.; counted in tests/test_asl_sr.py
    critics = ("cpce_critic", "circle_critic", "dsgan_d", "markov3d")
    assert nets.NAMES == GENERATORS + asl + lyu + dsgan + cui + DISCRIMINATORS + critics


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown network 'resnet'.*fcn1.*patchgan"):
        nets.build("resnet")


def test_unknown_option_is_named() -> None:
    with pytest.raises(ValueError, match="bogus"):
        nets.build("fcn1", bogus=True)


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_param_count(name: str) -> None:
    assert nets.count_params(nets.build(name)) == PARAMS[name]


@pytest.mark.parametrize("name", GENERATORS)
def test_sharpen_keeps_param_count_and_state_keys(name: str) -> None:
    plain, sharp = nets.build(name), nets.build(name, sharpen=True)
    assert nets.count_params(sharp) == PARAMS[name]
    assert plain.state_dict().keys() == sharp.state_dict().keys()


@pytest.mark.parametrize("in_channels", [1, 2])
def test_patchgan_param_count(in_channels: int) -> None:
    assert nets.count_params(nets.build("patchgan", in_channels=in_channels)) == PATCHGAN_PARAMS[in_channels]


def test_disc_d_param_count() -> None:
    # conv 16*64+64, conv 16*64*128 + BN 256, conv 16*128*256 + BN 512, linear 256*8*8+1 (64x64 input).
    expected = 16 * 64 + 64 + 16 * 64 * 128 + 256 + 16 * 128 * 256 + 512 + 256 * 64 + 1
    assert nets.count_params(nets.build("disc_d")) == expected


def test_count_params_ignores_frozen() -> None:
    net = nn.Linear(3, 2)
    net.bias.requires_grad_(False)
    assert nets.count_params(net) == 6


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_shape_64(name: str) -> None:
    net = nets.build(name).train()
    x = torch.randn(2, 1, 64, 64)
    y = net(x)
    assert y.shape == x.shape
    y.mean().backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("name,in_channels,shape", [
    ("disc_b", 1, (2, 1)), ("disc_d", 2, (2, 1)), ("disc_f", 1, (2, 1)), ("patchgan", 2, (2, 1, 6, 6)),
])
def test_discriminator_shape_64(name: str, in_channels: int, shape: tuple[int, ...]) -> None:
    net = nets.build(name, in_channels=in_channels)
    assert net(torch.randn(2, in_channels, 64, 64)).shape == shape


def test_linear_head_patch_size() -> None:
    net = nets.build("disc_d", patch_size=32)
    assert net(torch.randn(2, 1, 32, 32)).shape == (2, 1)
    with pytest.raises(ValueError, match="patch_size"):
        net(torch.randn(2, 1, 64, 64))
    with pytest.raises(ValueError, match="multiple of 16"):
        nets.build("disc_f", patch_size=40)


def test_unet_size_checks() -> None:
    net = nets.build("unet_g")
    with pytest.raises(ValueError, match="multiples of 64"):
        net(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        net(torch.randn(1, 2, 64, 64))
    small = nets.build("unet_g", num_downs=5).eval()
    assert small(torch.randn(1, 1, 32, 32)).shape == (1, 1, 32, 32)


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_unet_scaled_tanh_output(scale: float) -> None:
    torch.manual_seed(0)
    x = 50 * torch.randn(2, 1, 64, 64)
    bounded = nets.init_normal(nets.build("unet_g", tanh_scale=scale)).eval()
    free = nets.build("unet_g", tanh_scale=None).eval()
    free.load_state_dict(bounded.state_dict())
    with torch.no_grad():
        yb, yf = bounded(x), free(x)
    assert yb.abs().max() <= scale
    torch.testing.assert_close(yb, scale * torch.tanh(yf))
    assert nets.count_params(bounded) == 1_829_025  # the scale is a constant, not a parameter
    with pytest.raises(ValueError, match="tanh_scale"):
        nets.build("unet_g", tanh_scale=0.0)


def test_unet_has_one_dropout_block() -> None:
    drops = [m for m in nets.build("unet_g").modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 1 and drops[0].p == 0.5


def test_sharpen_constant_image_unchanged() -> None:
    x = torch.full((1, 1, 8, 8), 3.5)
    torch.testing.assert_close(Sharpen()(x)[..., 1:-1, 1:-1], x[..., 1:-1, 1:-1])
    torch.testing.assert_close(Sharpen()(x), x)  # replicate padding: borders too


def test_sharpen_kernel_on_impulse() -> None:
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    expected = torch.zeros(5, 5)
    expected[2, 2] = 5.0
    expected[1, 2] = expected[3, 2] = expected[2, 1] = expected[2, 3] = -1.0
    torch.testing.assert_close(Sharpen()(x)[0, 0], expected)


def test_sharpened_generator_applies_kernel() -> None:
    torch.manual_seed(1)
    plain = nets.build("dcgan1_g").eval()
    sharp = nets.build("dcgan1_g", sharpen=True).eval()
    sharp.load_state_dict(plain.state_dict())
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(sharp(x), Sharpen()(plain(x)))
    assert not any("kernel" in name for name, _ in sharp.named_parameters())


def test_init_normal_statistics() -> None:
    torch.manual_seed(0)
    net = nets.init_normal(nets.build("patchgan", in_channels=2)).requires_grad_(False)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    big = convs[3].weight  # 512*256*16 values
    assert abs(float(big.mean())) < 1e-3 and abs(float(big.std()) - 0.02) < 1e-3
    assert float(convs[0].bias.abs().sum()) == 0.0
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    bn_w = torch.cat([b.weight for b in bns])
    assert abs(float(bn_w.mean()) - 1.0) < 5e-3 and 0.01 < float(bn_w.std()) < 0.03
    assert float(torch.cat([b.bias for b in bns]).abs().sum()) == 0.0


def test_vgg_layout_and_frozen() -> None:
    features, is_random = vgg16_features(seed=0)
    assert is_random and len(features) == 23 and not features.training
    assert [i for i, m in enumerate(features) if isinstance(m, nn.Conv2d)] == list(VGG_CONV_INDICES)
    assert [i for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)] == [4, 9, 16]
    assert all(not p.requires_grad for p in features.parameters())
    assert sum(p.numel() for p in features.parameters()) == 7_635_264
    assert features(torch.randn(1, 3, 32, 32)).shape == (1, 512, 4, 4)


def test_vgg_random_is_deterministic_per_seed() -> None:
    a, _ = vgg16_features(seed=3)
    b, _ = vgg16_features(seed=3)
    c, _ = vgg16_features(seed=4)
    for key, value in a.state_dict().items():
        torch.testing.assert_close(value, b.state_dict()[key], rtol=0, atol=0)
    assert not torch.equal(a[0].weight, c[0].weight)


def test_vgg_random_does_not_touch_global_rng() -> None:
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    vgg16_features(seed=0)
    torch.testing.assert_close(torch.rand(3), expected)


def torchvision_style_state(seed: int) -> dict[str, torch.Tensor]:
    """A fake torchvision VGG-16 state dict: random features.N tensors plus classifier keys."""
    gen = torch.Generator().manual_seed(seed)
    ref, _ = vgg16_features(seed=99)
    state = {f"features.{k}": torch.randn(v.shape, generator=gen) for k, v in ref.state_dict().items()}
    state["classifier.0.weight"] = torch.randn(8, 4, generator=gen)
    state["classifier.0.bias"] = torch.randn(8, generator=gen)
    return state


def test_vgg_load_round_trip(tmp_path) -> None:
    state = torchvision_style_state(seed=5)
    path = tmp_path / "vgg16.pth"
    torch.save(state, path)
    features, is_random = vgg16_features(str(path))
    assert not is_random
    for i in VGG_CONV_INDICES:
        torch.testing.assert_close(features[i].weight, state[f"features.{i}.weight"], rtol=0, atol=0)
        torch.testing.assert_close(features[i].bias, state[f"features.{i}.bias"], rtol=0, atol=0)
    assert all(not p.requires_grad for p in features.parameters())


def test_vgg_missing_file(tmp_path) -> None:
    path = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        vgg16_features(str(path))


def test_vgg_missing_keys_named(tmp_path) -> None:
    state = torchvision_style_state(seed=5)
    del state["features.21.weight"], state["features.0.bias"]
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"partial\.pth.*features\.0\.bias.*features\.21\.weight"):
        vgg16_features(str(path))


def test_vgg_wrong_shape_named(tmp_path) -> None:
    state = torchvision_style_state(seed=5)
    state["features.2.weight"] = torch.zeros(64, 64, 5, 5)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"bad\.pth.*features\.2\.weight"):
        vgg16_features(str(path))
