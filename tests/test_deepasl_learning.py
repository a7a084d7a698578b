"""DeepASL learns or says it did not: validation slices held out of the training subjects, brain-masked scores,
the per-row training footer lines and the claim status from item-paired tests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mrsr.experiments.deepasl.data import fold_data, validation_slices
from mrsr.experiments.deepasl.evaluate import MAIN, brain_scores, with_items
from mrsr.experiments.deepasl.table import claim_samples, learning_status, training_lines
from mrsr.learned import beats_reference, read_records
from mrsr.footer import paper_budgets

REPO = Path(__file__).resolve().parents[1]
CFG = {**yaml.safe_load((REPO / "config/config.yaml").read_text())["deepasl"], "patch_size": 8, "augmentations": 1,
       "min_brain": 0.0, "patches_per_fold": None, "validation": {"slices_per_subject": 2, "patches": None}}


def subject(marker: float, z: int = 6, val: tuple[int, ...] = (1, 4)) -> dict[str, np.ndarray]:
    """One subject's data-step arrays on a (z, 8, 8) grid; every voxel of slice k of noise level l holds
    marker + k + 0.1 l, so a patch names its subject and slice."""
    shape = (z, 8, 8)
    slices = np.arange(z, dtype=np.float32)[:, None, None] + np.zeros(shape, np.float32)
    noisy = np.stack([marker + slices + 0.1 * lev for lev in range(2)])
    return {"noisy": noisy, "clean": np.zeros(shape, np.float32), "ref_cbf": np.zeros(shape, np.float32),
            "scale": np.ones(shape, np.float32), "mask": np.ones(shape, np.float32),
            "val_slices": np.asarray(val, np.int64)}


def test_validation_slices_are_brain_slices_and_leave_training_slices() -> None:
    mask = np.zeros((10, 4, 4))
    mask[2:8, 1:3, 1:3] = 1
    got = validation_slices(mask, 3, np.random.default_rng(0))
    assert len(set(got)) == 3 and set(got) <= set(range(2, 8)) and list(got) == sorted(got)
    assert len(validation_slices(mask, 0, np.random.default_rng(0))) == 0
    with pytest.raises(ValueError, match="deepasl.validation.slices_per_subject"):
        validation_slices(mask, 6, np.random.default_rng(0))  # no training slice would be left


def test_fold_data_validates_on_held_out_slices_of_training_subjects_only() -> None:
    subjects = {"sub-02": subject(100.0), "sub-03": subject(200.0, val=(0, 5))}
    train, val = fold_data(subjects, CFG, "synthetic", seed=0)
    sources = lambda data: {float(v) for v in np.round(data.lr[:, 0, 0, 0] - 0.1 * np.round(  # noqa: E731
        (data.lr[:, 0, 0, 0] % 1) * 10), 3)}
    # the validation patches: exactly the two subjects' val_slices, every noise level, one rigid variant
    assert sources(val) == {101.0, 104.0, 200.0, 205.0} and len(val) == 4 * 2
    assert sources(train) == {100.0, 102.0, 103.0, 105.0, 202.0, 203.0, 201.0, 204.0}
    assert sources(train).isdisjoint(sources(val)) and len(train) == 8 * 2
    # the residual target is the input minus the complete image (zero here)
    np.testing.assert_array_equal(val.hr, val.lr)
    none = {k: {**v, "val_slices": np.zeros(0, np.int64)} for k, v in subjects.items()}
    assert fold_data(none, CFG, "synthetic", seed=0)[1] is None
    with pytest.raises(KeyError, match="sub-02"):
        fold_data({"sub-02": {k: v for k, v in subject(1.0).items() if k != "val_slices"}}, CFG, "synthetic", 0)


def test_brain_scores_known_answer_inside_the_mask() -> None:
    ref = np.zeros((3, 32, 32), np.float32)
    ref[:, 8:24, 8:24] = 4.0
    ref[:, 10:12, 10:12] = 2.0  # range inside the mask: 0..4 (the dilated mask reaches background)
    head = np.zeros(ref.shape, bool)
    head[:, 6:26, 6:26] = True
    pred = ref + np.where(head, 0.5, 9.0)  # errors outside the mask do not count
    got = brain_scores(pred, ref, head, [0, 2])
    assert got["psnr_brain"] == pytest.approx(10 * math.log10(16 / 0.25))
    assert brain_scores(ref, ref, head, [1])["ssim_brain"] == pytest.approx(1.0)
    assert got["ssim_brain"] < 1.0


def metrics_frame() -> pd.DataFrame:
    """Two trained methods against Averaging over 2 subjects x 3 levels: 'good' is 1 dB better on every item
    (plus small noise), 'flat' equals Averaging up to noise of both signs."""
    rows, rng = [], np.random.default_rng(1)
    for sub in ("sub-01", "sub-02"):
        for level in (0.2, 0.4, 0.6):
            base = 20 + 10 * level
            noise = rng.normal(0, 0.05, 2)
            for method, value in (("averaging", base), ("good", base + 1 + noise[0]),
                                  ("flat", base + (0.05 if level != 0.4 else -0.1) * (1 if sub == "sub-01" else -1))):
                rows.append({"dataset": "synthetic", "method": method, "subject": sub, "level": level,
                             "psnr": value, "rmse": 1.0, "ccc": 0.9, "psnr_brain": value, "ssim_brain": 0.8})
    return pd.DataFrame(rows)


def write_record(root: Path, method: str, fold: str, **record) -> str:
    path = root / "models/synthetic" / method / f"fold-{fold}" / "seed-0" / "loss.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    base = {"updates": 300, "max_updates": 400, "batch_size": 8, "n_train": 400, "plateau_reached": True,
            "plateau_update": 200, "val_mse": 0.001, "reference_val_mse": 0.002}
    path.write_text(json.dumps({**base, **record}))
    return str(path)


def test_status_and_training_lines_from_item_paired_tests(tmp_path: Path) -> None:
    metrics = metrics_frame()
    good = beats_reference(with_items(metrics), "good", "averaging", MAIN)
    assert good["beats"] and good["p"] < 1e-4
    flat = beats_reference(with_items(metrics), "flat", "averaging", MAIN)
    assert flat["beats"] is False and flat["p"] == pytest.approx(0.5, abs=0.5)
    paths = [write_record(tmp_path, "good", "sub-01"), write_record(tmp_path, "good", "sub-02", plateau_update=250),
             write_record(tmp_path, "flat", "sub-01", plateau_reached=False, plateau_update=None, updates=400)]
    records = read_records(paths, depth=2, below=2)
    assert [r["plateau_update"] for r in records[("synthetic", "good")]] == [200, 250]
    status = learning_status(metrics, records)
    assert status["table1_synthetic"]["good"]["learned"] is True and status["table1_synthetic"]["good"]["plateau"]
    assert status["table1_synthetic"]["flat"]["learned"] is False
    assert status["table1_synthetic"]["flat"]["plateau"] is False
    lines = training_lines(records, status, {"good": "Good", "flat": "Flat", "averaging": "Averaging"},
                           paper_budgets("deepasl") | {"good": {"updates": 7200, "how": "stated"}})
    assert len(lines) == 2
    assert lines[0].startswith("Training, Good (synthetic set, 2 fold/seed models): 300, 300 updates at batch 8 vs "
                               "paper ~7,200 (stated); plateau reached (update 200, 250); beats 'Averaging'")
    assert "validation MSE 0.001 vs no-model 0.002" in lines[0]
    assert "plateau not reached; does NOT beat 'Averaging'" in lines[1] and "paper: not stated" in lines[1]
    with pytest.raises(ValueError, match="<fold or subject>/seed-<n>"):
        read_records([str(tmp_path / "loss.json")], depth=2, below=2)


def test_claim_samples_are_per_item_long_frames() -> None:
    samples = claim_samples(metrics_frame())["table1_synthetic"]
    assert list(samples.columns) == ["method", "item", "psnr", "rmse", "ccc", "psnr_brain", "ssim_brain"]
    assert len(samples) == 18 and samples.groupby("method")["item"].nunique().eq(6).all()
    assert "sub-02/0.4" in set(samples["item"])


def test_paper_budget_matches_the_papers_training_statement() -> None:
    budgets = paper_budgets("deepasl")
    assert set(budgets) == {"dilated", "pr_02", "pr_05", "pr_07", "pr_10"}
    assert all(b["updates"] == 18000 // 500 * 200 for b in budgets.values())


def test_a_methods_ground_truth_cbf_reference_reaches_the_kinetic_loss() -> None:
    """pr_02_gt's cbf_reference 'ground_truth' puts the set's noise-free CBF (truth_cbf) into the CBF term; the
    set's own setting (the paper's complete image, ref_cbf) stays the default. On a case where the two differ the
    losses differ, and each equals its hand-computed value."""
    import torch

    from mrsr.train.kinetic import kinetic_loss

    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())["deepasl"]
    assert cfg["methods"]["pr_02_gt"]["cbf_reference"] == "ground_truth"
    assert cfg["synthetic"]["cbf_reference"] == "complete"
    data = {**subject(0.0), "ref_cbf": np.full((6, 8, 8), 60.0, np.float32),
            "truth_cbf": np.full((6, 8, 8), 65.0, np.float32), "scale": np.full((6, 8, 8), 50.0, np.float32)}
    data["clean"] = data["ref_cbf"] / data["scale"]  # the complete image, whose CBF is ref_cbf
    subjects = {"sub-02": data}
    complete, _ = fold_data(subjects, CFG, "synthetic", seed=0)
    truth, _ = fold_data(subjects, CFG, "synthetic", seed=0, cbf_reference=cfg["methods"]["pr_02_gt"]["cbf_reference"])
    assert (complete.aux[:, 0] == 60.0).all() and (truth.aux[:, 0] == 65.0).all()
    np.testing.assert_array_equal(complete.lr, truth.lr)  # only the CBF reference changes
    residual = torch.zeros_like(torch.from_numpy(truth.hr))  # no denoising: f(dM_n - 0) = scale * dM_n
    loss = {name: kinetic_loss(residual, torch.from_numpy(d.hr), torch.from_numpy(d.lr), torch.from_numpy(d.aux),
                               lam=0.2, cbf_unit=100.0) for name, d in (("complete", complete), ("truth", truth))}
    image = float(np.mean(truth.hr.astype(np.float64) ** 2))  # mask 1 everywhere
    for name, f_t in (("complete", 60.0), ("truth", 65.0)):  # by hand: ((f_t - scale * dM_n) / u)^2
        cbf = float(np.mean(((f_t - 50.0 * truth.lr.astype(np.float64)) / 100.0) ** 2))
        assert float(loss[name]["cbf"]) == pytest.approx(cbf, rel=1e-5)
        assert float(loss[name]["total"]) == pytest.approx(0.2 * image + 0.8 * cbf, rel=1e-5)
    assert float(loss["truth"]["cbf"]) != pytest.approx(float(loss["complete"]["cbf"]), rel=1e-3)
    acquired = {"sub-02": {k: v for k, v in data.items() if k != "truth_cbf"}}
    with pytest.raises(ValueError, match="no ground truth"):
        fold_data(acquired, CFG, "real", seed=0, cbf_reference="ground_truth")
