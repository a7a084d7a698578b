"""Tests for mrsr.figures (the figures shared by the experiments): files written, input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mrsr import figures as F


def _png_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size  # (width, height)


def _assert_written(paths: dict) -> None:
    assert sorted(paths) == ["pdf", "png"]
    assert paths["png"].stem == paths["pdf"].stem
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"


def test_grey_window():
    hr = np.arange(101, dtype=float)
    assert F.grey_window(hr) == pytest.approx((1.0, 99.0))
    assert F.grey_window(np.zeros((4, 4))) == (0.0, 1.0)  # flat image still gets a valid window


def _log(epochs: int, gan: bool, scale: float = 1.0) -> pd.DataFrame:
    e = np.arange(1, epochs + 1)
    data = {"epoch": e, "train_total": scale / e, "val_total": 1.5 * scale / e, "train_l1": 0.5 / e}
    if gan:
        data["train_d"] = 0.69 + 0.01 * np.sin(e)
    return pd.DataFrame(data)


def test_loss_curves_writes_files_and_checks_columns(tmp_path):
    logs = {"DCSRN L1": _log(10, False), "U-net 7": _log(10, True), "pix2pix 9": _log(1, True)}
    paths = F.loss_curves(logs, tmp_path / "loss", title="losses")
    _assert_written(paths)
    w, h = _png_size(paths["png"])
    assert w > h  # 3 panels across, one row
    with pytest.raises(ValueError, match="'DCSRN L1'.*val_total"):
        F.loss_curves({"DCSRN L1": _log(3, False).drop(columns="val_total")}, tmp_path / "bad", title="t")


def test_log_y_only_when_positive_and_spanning_two_decades():
    assert F._use_log_y([pd.Series([1.0, 0.005])])
    assert not F._use_log_y([pd.Series([1.0, 0.02])])
    assert not F._use_log_y([pd.Series([1.0, 0.001, -0.5])])  # a negative value forbids log


def test_epoch_series_averages_rows_per_epoch():
    log = pd.DataFrame({"epoch": [1, 1, 2], "train_total": [1.0, 3.0, 5.0], "val_total": [np.nan, 4.0, 6.0]})
    assert F._epoch_series(log, "train_total").to_dict() == {1: 2.0, 2: 5.0}
    assert F._epoch_series(log, "val_total").to_dict() == {1: 4.0, 2: 6.0}
