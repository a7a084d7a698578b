"""Shared pieces for showing that methods learn: brain-mask scoring, interior slices, learning curves, footer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skimage.metrics import structural_similarity

from mrsr.figures import learning_curves
from mrsr.footer import paper_budgets, training_line
from mrsr.metrics import brain_mask, brain_metrics, interior_slices, masked_ssim, psnr, ssim


def head(shape=(40, 48, 44)) -> np.ndarray:
    """An ellipsoid 'head' of intensity 1 with a dark ventricle (0.05) and a bright speck outside it."""
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"))
    img = (((grid / np.array([0.7, 0.8, 0.75])[:, None, None, None]) ** 2).sum(0) < 1).astype(float)
    img[((grid / 0.15) ** 2).sum(0) < 1] = 0.05
    img[1, 1, 1] = 1.0
    return img


def test_brain_mask_fills_holes_drops_specks_and_dilates():
    img = head()
    inside = brain_mask(img, dilate=0)
    assert inside[20, 24, 22]  # the dark ventricle is filled
    assert not inside[1, 1, 1]  # the isolated speck is not the largest component
    assert inside.sum() == pytest.approx((img > 0.1).sum() - 1 + ((img == 0.05).sum()), abs=0)
    grown = brain_mask(img, dilate=2)
    assert grown.sum() > inside.sum() and np.all(grown[inside])
    with pytest.raises(ValueError, match="99th percentile"):
        brain_mask(np.zeros((8, 8)))


def test_masked_ssim_is_the_ssim_map_mean_inside_the_mask():
    rng = np.random.default_rng(0)
    ref = head()[20]
    pred = ref + 0.05 * rng.normal(size=ref.shape)
    mask = brain_mask(ref)
    _, full = structural_similarity(pred, ref, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, full=True)
    inner = np.zeros_like(mask)
    inner[5:-5, 5:-5] = True  # ssim() leaves out the border of incomplete windows
    assert masked_ssim(pred, ref, mask, 1.0) == pytest.approx(full[mask & inner].mean(), rel=1e-12)
    assert masked_ssim(pred, ref, np.ones_like(mask), 1.0) == pytest.approx(ssim(pred, ref, 1.0), rel=1e-12)


def test_brain_metrics_ignore_background_errors():
    """An offset of 0.1 on the background only: whole-image PSNR drops, the brain's PSNR stays infinite."""
    ref = head()[20]
    mask = brain_mask(ref, dilate=0)
    pred = ref + 0.1 * ~mask
    scores = brain_metrics(pred, ref, peak=1.0, ssim_range=1.0, mask=mask)
    assert scores["mse_brain"] == 0 and scores["psnr_brain"] == np.inf
    assert psnr(pred, ref, 1.0) < 30


def test_interior_slices_skip_the_ends():
    mask = np.zeros((100, 4, 4), bool)
    mask[20:81] = True
    assert interior_slices(mask, 5, axis=0, margin=0.15) == [29, 40, 50, 60, 71]
    assert interior_slices(mask, 3, axis=0, margin=0.0) == [20, 50, 80]


def test_training_line_states_updates_paper_plateau_and_reference():
    recs = [{"updates": 480, "batch_size": 8, "plateau_reached": True, "plateau_update": 400},
            {"updates": 500, "batch_size": 8, "plateau_reached": False, "plateau_update": None}]
    line = training_line("DCSRN L1", recs, {"updates": 30000, "how": "10 epochs x 3000 batches"}, False, "input")
    assert line == ("Training, DCSRN L1: 480, 500 updates at batch 8 vs paper ~30,000 (10 epochs x 3000 batches); "
                    "plateau reached in 1 of 2 trainings; does NOT beat 'input'.")
    assert "plateau not checked" in training_line("x", [{"updates": 3, "batch_size": 1}], None, None, "LR")
    kept = [{**recs[0], "kept_update": 400}, {**recs[1], "kept_update": 450}]  # early stopping kept a best check
    assert ("plateau reached in 1 of 2 trainings; the generator of update 400, 450 kept (early stopping: the best "
            "check); does NOT beat") in training_line("DCSRN L1", kept, None, False, "input")
    assert "kept" not in training_line("x", [{**recs[0], "kept_update": 480}], None, True, "input")


def test_paper_budgets_absent_is_empty():
    assert paper_budgets("field7to9") == {} or all("updates" in v for v in paper_budgets("field7to9").values())


def test_learning_curves_figure(tmp_path):
    logs = {m: pd.DataFrame({"update": [10, 20, 30], "val_mse": [1.0, 0.5, 0.45], "val_mse_smooth": [1, 0.7, 0.6]})
            for m in ("a", "b")}
    out = learning_curves(logs, tmp_path / "curves", title="t", references={"a": 0.8}, plateaus={"a": 20})
    assert out["png"].stat().st_size > 1000
    with pytest.raises(ValueError, match="val_mse"):
        learning_curves({"a": pd.DataFrame({"epoch": [1]})}, tmp_path / "x", title="t")


def test_paired_better_matches_scipy_and_needs_a_margin():
    from scipy import stats

    from mrsr.stats import paired_better

    rng = np.random.default_rng(1)
    b = rng.normal(30, 2, size=12)
    a = b + 0.5 + rng.normal(0, 0.2, size=12)  # consistently better
    held, p = paired_better(a, b, higher_is_better=True)
    assert held and p == pytest.approx(stats.ttest_rel(a, b, alternative="greater").pvalue)
    assert not paired_better(a, b, higher_is_better=False)[0]  # lower is better: a is worse
    noisy = b + 0.04 + rng.normal(0, 1.0, size=12)  # +0.04 on average is not a win
    assert not paired_better(noisy, b, True)[0]
    assert paired_better(b, b, True)[0] is False  # identical: no evidence
    assert paired_better(a[:2], b[:2], True)[0] is False  # too few pairs
    with pytest.raises(ValueError, match="pairs"):
        paired_better([1, 2, 3], [1, 2], True)
