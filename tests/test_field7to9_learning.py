"""field7to9 learns measurably: budgets in updates, validation data, interior test slices, brain-masked scoring,
the item-paired 'beats the input row' and the training status the claims get."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mrsr.experiments.field7to9.data import validation_data
from mrsr.experiments.field7to9.evaluate import interior_test_slices
from mrsr.experiments.field7to9.table import MAIN_BRAIN, items_frame, held_out_summary
from mrsr.learned import beats_reference, plateau_status, row_status
from mrsr.footer import paper_budgets
from mrsr.io import save_npz

REPO = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())["field7to9"]
PAPER = yaml.safe_load((REPO / "config/paper.yaml").read_text())["field7to9"]


def test_budgets_are_updates_and_the_paper_preset_matches_paper_budget_yaml() -> None:
    budgets = paper_budgets("field7to9")
    assert set(budgets) == set(DEFAULT["methods"])
    for family in ("cnn", "gan"):
        assert "epochs" not in DEFAULT[family] and set(DEFAULT[family]) == {"max_updates", "batch_size", "stopping"}
    assert not any("epochs" in m for m in DEFAULT["methods"].values())
    # paper: 9,300 patches at batch 32 -> 291 batches a pass; 10 passes (CNNs), 30 (GANs)
    assert PAPER["cnn"]["max_updates"] == 10 * -(-9300 // 32) == budgets["dcsrn_l1"]["updates"]
    assert PAPER["gan"]["max_updates"] == 30 * -(-9300 // 32) == budgets["unet7"]["updates"]
    assert PAPER["cnn"]["stopping"]["stop"] is False and PAPER["gan"]["stopping"]["stop"] is False


def container(path: Path, value: float, n: int) -> str:
    """A patch container whose patch i holds value + i (LR) and -(value + i) (HR)."""
    lr = (value + np.arange(n, dtype=np.float32))[:, None, None, None] * np.ones((1, 1, 4, 4), np.float32)
    save_npz(path, lr_patches=lr, hr_patches=-lr)
    return str(path)


def test_validation_data_spreads_over_every_validation_subject(tmp_path: Path) -> None:
    paths = [container(tmp_path / "a.npz", 0.0, 10), container(tmp_path / "b.npz", 100.0, 10)]
    val = validation_data(paths, 4)  # evenly spaced over the 20 concatenated patches: 0, 6, 13, 19
    assert val.lr[:, 0, 0, 0].tolist() == [0.0, 6.0, 103.0, 109.0]
    np.testing.assert_array_equal(val.hr, -val.lr)
    assert len(validation_data(paths, None)) == len(validation_data(paths, 50)) == 20


def test_test_slices_spread_through_the_interior() -> None:
    mask = np.zeros((100, 8, 8), bool)
    mask[10:90, 2:6, 2:6] = True  # 25% brain in slices 10..89
    mask[5:10, 3, 3] = True  # slices 5..9: too little brain to qualify
    cfg = {"min_slice_foreground": 0.2, "max_test_slices": 5}
    picked = interior_test_slices(mask, 0, cfg).tolist()
    lo, hi = 10 + 0.15 * 79, 89 - 0.15 * 79  # the qualifying range less 15% at each end
    assert picked == [int(round(v)) for v in np.linspace(lo, hi, 5)] == [22, 36, 50, 63, 77]
    assert interior_test_slices(mask, 0, {**cfg, "max_test_slices": None}).tolist() == list(range(10, 90))


def per_slice(method: str, psnr: np.ndarray, subject: str = "sub-06") -> pd.DataFrame:
    n = len(psnr)
    return pd.DataFrame({"method": method, "subject": subject, "axis": 2, "slice": np.arange(n), "psnr": psnr,
                         "mse": 1.0, "ssim": 0.5, "psnr_brain": psnr - 10, "mse_brain": 1.0, "ssim_brain": 0.4})


def test_beats_reference_is_a_paired_test_over_slices(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ref_psnr = 60 + 5 * rng.standard_normal(12)  # large spread between slices
    gain = 0.3 + 0.05 * rng.standard_normal(12)  # a small but consistent gain on every slice
    paths = {0: [], 1: []}
    for seed in paths:
        for method, psnr in (("good", ref_psnr + gain), ("same", ref_psnr.copy())):
            path = tmp_path / method / f"seed-{seed}" / "metrics.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            per_slice(method, psnr).to_csv(path, sep="\t", index=False)
            paths[seed].append(str(path))
    reference = tmp_path / "input.tsv"  # read back from a file like the methods' (bitwise the same values)
    per_slice("input", ref_psnr).to_csv(reference, sep="\t", index=False)
    items = items_frame(paths, pd.read_csv(reference, sep="\t"))
    assert len(items) == 2 * 3 * 12 and set(items["seed"]) == {0, 1} and items["item"].iloc[0] == "sub-06/2/0"
    good = beats_reference(items, "good", "input", MAIN_BRAIN)
    assert good["beats"] and good["n"] == 12 and good["p"] < 1e-6
    # an unpaired comparison of the means could not tell this gain from the slice-to-slice spread
    from scipy import stats
    assert stats.ttest_ind(ref_psnr + gain, ref_psnr, alternative="greater").pvalue > 0.4
    same = beats_reference(items, "same", "input", MAIN_BRAIN)  # identical outputs: no evidence either way
    assert same["beats"] is False and same["n"] == 12 and np.isnan(same["p"])
    runs = {"good": [{"plateau_reached": True}, {"plateau_reached": True}],
            "same": [{"plateau_reached": True}, {"plateau_reached": False}]}
    status = {m: row_status(beats_reference(items, m, "input", MAIN_BRAIN)["beats"], r) for m, r in runs.items()}
    assert status == {"good": {"learned": True, "plateau": True}, "same": {"learned": False, "plateau": False}}
    assert plateau_status([{"plateau_reached": None}]) is None and plateau_status([]) is None


def test_items_must_cover_the_reference_slices(tmp_path: Path) -> None:
    path = tmp_path / "m" / "seed-0" / "metrics.tsv"
    path.parent.mkdir(parents=True)
    per_slice("m", np.full(5, 61.0)).to_csv(path, sep="\t", index=False)
    items = items_frame({0: [str(path)]}, per_slice("input", np.full(6, 60.0)))
    with pytest.raises(ValueError, match="m: scored on 5 test items, the reference 'input' on 6"):
        beats_reference(items, "m", "input", MAIN_BRAIN)


def test_test_set_line_names_subjects_and_slices() -> None:
    line = held_out_summary(per_slice("input", np.zeros(16)))
    assert line == "Test set: 1 subject (sub-06: 16 slices), so every paired test and mean rests on 16 slices of one subject."
