"""Tests for mrsr.experiments.field7to9.figures: comparison grids and RFSR panels (files written, layout geometry,
input checks), metric bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mrsr import tables as T
from mrsr.experiments.field7to9 import figures as F
from mrsr.figures import DPI
from test_figures import _assert_written, _png_size


def _slices(seed: int = 0, shape: tuple[int, int] = (32, 32)) -> dict[str, np.ndarray]:
    """A small z-scored LR / generated / HR triple."""
    rng = np.random.default_rng(seed)
    hr = rng.normal(size=shape)
    return {"lr": hr + rng.normal(scale=0.5, size=shape), "gen": hr + rng.normal(scale=0.2, size=shape), "hr": hr}


def test_comparison_grid_writes_png_pdf_with_rows_by_4_panel_geometry(tmp_path):
    rows = [{"label": f"Method {i}", **_slices(i), "metrics": {"psnr": 60.0 + i, "ssim": 0.5}} for i in range(3)]
    p1 = F.comparison_grid(rows[:1], tmp_path / "one", title="one row")
    p3 = F.comparison_grid(rows, tmp_path / "three", title="three rows")
    _assert_written(p1)
    _assert_written(p3)
    (w1, h1), (w3, h3) = _png_size(p1["png"]), _png_size(p3["png"])
    panel_px = F.PANEL_IN * DPI
    assert w1 == w3  # always 4 panel columns (+ colorbar)
    assert w1 > 4 * panel_px
    assert h3 - h1 == pytest.approx(2 * (F.PANEL_IN + F.GAP_IN) * DPI, abs=2)  # 2 extra rows of square panels
    assert 4 / 3 * 0.8 < w3 / h3 < 4 / 3 * 1.2  # about 4 square panels wide by 3 tall


def test_comparison_grid_panel_height_follows_image_aspect(tmp_path):
    wide = F.comparison_grid([{"label": "w", **_slices(0, (16, 32))}], tmp_path / "wide", title="w")
    square = F.comparison_grid([{"label": "s", **_slices(0, (32, 32))}], tmp_path / "square", title="s")
    (ww, hw), (ws, hs) = _png_size(wide["png"]), _png_size(square["png"])
    assert ww == ws
    assert hs - hw == pytest.approx(F.PANEL_IN / 2 * DPI, abs=2)


def test_comparison_grid_rejects_bad_rows(tmp_path):
    bad = _slices()
    bad["gen"] = bad["gen"][:-1]
    with pytest.raises(ValueError, match="'m1'.*one shape"):
        F.comparison_grid([{"label": "m1", **bad}], tmp_path / "x", title="t")
    with pytest.raises(ValueError, match="missing key"):
        F.comparison_grid([{"label": "m1", "lr": bad["lr"]}], tmp_path / "x", title="t")
    with pytest.raises(ValueError, match="no rows"):
        F.comparison_grid([], tmp_path / "x", title="t")


def test_symmetric_limit():
    diff = np.concatenate([np.linspace(-1, 1, 1001), [50.0]])
    assert 0.99 < F.symmetric_limit(diff) < 1.01  # a single outlier does not stretch the scale
    assert F.symmetric_limit(np.zeros(5)) == 1.0


def test_metrics_text_formats_mapping():
    assert F._metrics_text({"psnr": 65.123, "ssim": 0.5}) == "PSNR 65.12 dB, SSIM 0.500"
    assert F._metrics_text("free text") == "free text"


def test_rfsr_figure_is_one_row_of_four(tmp_path):
    s = _slices()
    paths = F.rfsr_figure(s["lr"], s["gen"], s["hr"], tmp_path / "rfsr", title="RFSR")
    _assert_written(paths)
    grid = F.comparison_grid([{"label": "x", **s}], tmp_path / "grid1", title="x")
    assert _png_size(paths["png"]) == _png_size(grid["png"])


def test_metric_bars_from_build_table(tmp_path):
    paper = T.load_paper_values("field7to9", "table2")
    ours = pd.DataFrame(
        {"psnr": [v["psnr"] - 1 for v in paper.values()], "mse": [0.1] * 5, "ssim": [0.2] * 5}, index=list(paper)
    )
    table = T.build_table(ours, paper, params={})
    _assert_written(F.metric_bars(table, tmp_path / "bars", title="PSNR"))
    _assert_written(F.metric_bars(table, tmp_path / "bars_ssim", title="SSIM", metric="SSIM"))
    with pytest.raises(ValueError, match="NRMSE"):
        F.metric_bars(table, tmp_path / "bad", title="t", metric="NRMSE")
