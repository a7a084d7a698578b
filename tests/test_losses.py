"""Tests for mrsr.losses: hand-computed GDL, BCE terms, perceptual loss, generator loss weighting."""

from __future__ import annotations

import math

import pytest
import torch

from mrsr import losses
from mrsr.nets.vgg import vgg16_features

pytestmark = pytest.mark.filterwarnings("ignore:no VGG-16 weights path")

REAL_2X2 = torch.tensor([[[[1.0, 2.0], [3.0, 5.0]]]])


def test_l1_l2_means() -> None:
    fake, real = torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 0.0, 1.0])
    assert float(losses.l1(fake, real)) == pytest.approx(5 / 3)
    assert float(losses.l2(fake, real)) == pytest.approx(13 / 3)


# By hand for real = [[1, 2], [3, 5]] with zero padding:
#   x: [[-1, 1]] on rows [0 1 2 0], [0 3 5 0] -> [1, 1, -2], [3, 2, -5]
#   y: [[1], [-1]] on columns [0 1 3 0], [0 2 5 0] -> rows [-1, -2], [-2, -3], [3, 5]
# fake = 0: squares sum 44 + 52 = 96, / 4 pixels = 24; p = 1: (14 + 16) / 4 = 7.5.
# fake = 1 everywhere: x grads [1, 0, -1] per row, y grads rows [-1, -1], [0, 0], [1, 1]
#   |.| differences x: 0, 1, 1, 2, 2, 4 -> 26; y: 0, 1, 2, 3, 2, 4 -> 34; (26 + 34) / 4 = 15.
@pytest.mark.parametrize("fake_value,p,expected", [(0.0, 2, 24.0), (0.0, 1, 7.5), (1.0, 2, 15.0)])
def test_gdl_hand_computed(fake_value: float, p: float, expected: float) -> None:
    fake = torch.full_like(REAL_2X2, fake_value)
    assert float(losses.gdl(fake, REAL_2X2, p=p)) == pytest.approx(expected)


def test_gdl_zero_for_identical() -> None:
    x = torch.randn(2, 1, 16, 16)
    assert float(losses.gdl(x, x.clone())) == 0.0


def test_gdl_constant_offset_changes_border_terms_only() -> None:
    # For x >= 0 and c > 0 only the zero-padded border differences change, each by exactly c:
    # 2H (x) + 2W (y) terms of c^2 per image, / (H * W) after averaging over B * C * H * W.
    h, w, c = 4, 6, 0.5
    x = torch.rand(2, 1, h, w)
    expected = c**2 * 2 * (h + w) / (h * w)
    assert float(losses.gdl(x + c, x)) == pytest.approx(expected)
    assert float(losses.gdl(x, x + c)) == pytest.approx(expected)


def test_gdl_channels_averaged() -> None:
    torch.manual_seed(0)
    fake, real = torch.randn(2, 2, 8, 8), torch.randn(2, 2, 8, 8)
    per_channel = [losses.gdl(fake[:, i : i + 1], real[:, i : i + 1]) for i in range(2)]
    assert float(losses.gdl(fake, real)) == pytest.approx(float(sum(per_channel) / 2))


def test_gdl_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="equal shape"):
        losses.gdl(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))


def test_bce_terms() -> None:
    zeros = torch.zeros(4, 1)
    assert float(losses.bce_d(zeros, zeros)) == pytest.approx(math.log(2))
    assert float(losses.bce_g(zeros)) == pytest.approx(math.log(2))
    logits = torch.tensor([1.0, -2.0])
    expected_g = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(2.0))) / 2
    assert float(losses.bce_g(logits)) == pytest.approx(expected_g)
    # D: real logits 1 -> softplus(-1); fake logits -2 -> softplus(-2)
    expected_d = 0.5 * (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(-2.0)))
    assert float(losses.bce_d(torch.tensor([1.0]), torch.tensor([-2.0]))) == pytest.approx(expected_d)
    assert float(losses.bce_d(torch.full((3,), 30.0), torch.full((3,), -30.0))) < 1e-12


@pytest.fixture(scope="module")
def perceptual() -> losses.PerceptualLoss:
    return losses.PerceptualLoss(seed=0)


def test_perceptual_identical_zero_and_positive(perceptual: losses.PerceptualLoss) -> None:
    torch.manual_seed(0)
    real = torch.randn(2, 1, 32, 32)
    assert perceptual.random_weights
    assert float(perceptual(real.clone(), real)) == 0.0
    assert float(perceptual(real + 0.3 * torch.randn_like(real), real)) > 0.0


def test_perceptual_zscore_invariance(perceptual: losses.PerceptualLoss) -> None:
    torch.manual_seed(1)
    fake, real = torch.randn(2, 1, 32, 32), torch.randn(2, 1, 32, 32)
    base = float(perceptual(fake, real))
    assert float(perceptual(3.0 * fake + 7.0, real - 2.0)) == pytest.approx(base, rel=1e-4)


def test_perceptual_deterministic_per_seed(perceptual: losses.PerceptualLoss) -> None:
    torch.manual_seed(2)
    fake, real = torch.randn(1, 1, 32, 32), torch.randn(1, 1, 32, 32)
    again = losses.PerceptualLoss(seed=0)
    other = losses.PerceptualLoss(seed=1)
    assert float(again(fake, real)) == float(perceptual(fake, real))
    assert float(other(fake, real)) != pytest.approx(float(perceptual(fake, real)))


def test_perceptual_gradients_reach_fake_not_vgg(perceptual: losses.PerceptualLoss) -> None:
    fake = torch.randn(1, 1, 32, 32, requires_grad=True)
    perceptual(fake, torch.randn(1, 1, 32, 32)).backward()
    assert fake.grad is not None and float(fake.grad.abs().sum()) > 0
    assert all(p.grad is None and not p.requires_grad for p in perceptual.parameters())
    perceptual.train()
    assert not perceptual.blocks.training


def test_perceptual_loaded_weights(tmp_path) -> None:
    ref, _ = vgg16_features(seed=11)
    path = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in ref.state_dict().items()}, path)
    loaded = losses.PerceptualLoss(weights_path=str(path))
    assert not loaded.random_weights
    same_seed = losses.PerceptualLoss(seed=11)
    fake, real = torch.randn(1, 1, 32, 32), torch.randn(1, 1, 32, 32)
    assert float(loaded(fake, real)) == pytest.approx(float(same_seed(fake, real)))


def test_generator_loss_weighting() -> None:
    torch.manual_seed(3)
    fake, real, logits = torch.randn(2, 1, 16, 16), torch.randn(2, 1, 16, 16), torch.randn(2, 1)
    loss = losses.GeneratorLoss({"bce": 1.0, "l1": 1.5, "gdl": 2.0, "l2": 0.25})
    total, terms = loss(fake, real, fake_logits=logits)
    expected = {
        "bce": float(losses.bce_g(logits)),
        "l1": float(losses.l1(fake, real)),
        "gdl": float(losses.gdl(fake, real)),
        "l2": float(losses.l2(fake, real)),
    }
    assert terms == pytest.approx(expected)
    weighted = expected["bce"] + 1.5 * expected["l1"] + 2.0 * expected["gdl"] + 0.25 * expected["l2"]
    assert float(total) == pytest.approx(weighted)


def test_generator_loss_backward() -> None:
    fake = torch.randn(1, 1, 16, 16, requires_grad=True)
    total, _ = losses.GeneratorLoss({"l1": 1.0, "gdl": 1.0})(fake, torch.randn(1, 1, 16, 16))
    total.backward()
    assert fake.grad is not None


def test_generator_loss_with_perceptual(perceptual: losses.PerceptualLoss) -> None:
    fake, real = torch.randn(1, 1, 32, 32), torch.randn(1, 1, 32, 32)
    loss = losses.GeneratorLoss({"l1": 1.5, "perceptual": 1.0}, perceptual=perceptual)
    assert loss.perceptual is perceptual
    total, terms = loss(fake, real)
    assert terms["perceptual"] == pytest.approx(float(perceptual(fake, real)))
    assert float(total) == pytest.approx(1.5 * terms["l1"] + terms["perceptual"])


def test_generator_loss_builds_default_perceptual() -> None:
    loss = losses.GeneratorLoss({"perceptual": 1.0})
    assert isinstance(loss.perceptual, losses.PerceptualLoss) and loss.perceptual.random_weights


def test_generator_loss_errors() -> None:
    with pytest.raises(ValueError, match="'ssim'"):
        losses.GeneratorLoss({"l1": 1.0, "ssim": 1.0})
    with pytest.raises(ValueError, match="empty"):
        losses.GeneratorLoss({})
    with pytest.raises(ValueError, match="fake_logits"):
        losses.GeneratorLoss({"bce": 1.0})(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4))
