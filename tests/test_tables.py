"""Tests for mrsr.tables: paper values, aggregation, orderings, table building and writing."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mrsr import tables as T

TOY_PAPER = {
    "a": {"label": "Alpha", "psnr": 30.0, "mse": 0.1, "ssim": 0.9, "params": 1000},
    "b": {"label": "Beta", "psnr": 20.0, "mse": 0.2, "ssim": 0.5, "params": 2000},
    "c": {"label": "Gamma", "psnr": 10.0, "mse": 0.3, "ssim": 0.5, "params": 3000},
}


def _metrics_frame() -> pd.DataFrame:
    """Per-image metrics: method b listed first, a has two images, b three."""
    return pd.DataFrame(
        {
            "method": ["b", "a", "b", "a", "b"],
            "subject": ["s1"] * 5,
            "slice": [0, 0, 1, 1, 2],
            "psnr": [20.0, 10.0, 22.0, 30.0, 24.0],
            "mse": [0.2, 0.4, 0.3, 0.2, 0.1],
            "ssim": [0.5, 0.1, 0.6, 0.3, 0.7],
        }
    )


def test_paper_values_has_all_16_methods_with_published_numbers():
    t2 = T.load_paper_values("field7to9", "table2")
    t3 = T.load_paper_values("field7to9", "table3")
    assert list(t2) == ["fcn1", "fcn2", "dcsrn_l1", "dcsrn_l2", "dcsrn_p"]
    assert list(t3) == [
        "dcgan1",
        "dcgan2",
        "dcgan3",
        "dcgan4",
        "unet5",
        "unet6",
        "unet7",
        "unet8",
        "pix2pix9",
        "pix2pix10",
        "pix2pix11",
    ]
    for entry in {**t2, **t3}.values():
        assert set(entry) == {"label", "psnr", "mse", "ssim", "params"}
    assert t2["fcn1"] == {"label": "FCN 1", "psnr": 57.01, "mse": 0.147, "ssim": 0.116, "params": 308545}
    assert t2["fcn2"]["ssim"] == 0.0679
    assert t2["dcsrn_p"]["psnr"] == 64.1
    assert t3["unet7"]["psnr"] == 67.55
    assert t3["unet7"]["mse"] == 0.0174
    assert t3["pix2pix11"]["ssim"] == 0.443
    assert t3["dcgan1"]["params"] == 6885
    assert t3["dcgan3"]["params"] == 868369
    assert all(t3[k]["params"] == 1829025 for k in t3 if k.startswith(("unet", "pix2pix")))
    assert T.paper_source("field7to9", "table2").startswith("Ravikumar et al., Table 2")
    assert T.paper_source("field7to9", "table3").startswith("Ravikumar et al., Table 3")


def test_paper_values_unknown_keys_name_the_file_and_key():
    with pytest.raises(KeyError, match="paper_values.yaml.*nope"):
        T.load_paper_values("nope", "table2")
    with pytest.raises(KeyError, match="field7to9.*table9"):
        T.load_paper_values("field7to9", "table9")


def test_aggregate_means_stds_and_counts():
    agg = T.aggregate(_metrics_frame())
    assert list(agg.index) == ["b", "a"]  # first-seen order
    assert agg.loc["a", "psnr_mean"] == pytest.approx(20.0)
    assert agg.loc["a", "psnr_std"] == pytest.approx(math.sqrt(200.0))  # (10-20)^2 + (30-20)^2 over n-1 = 1
    assert agg.loc["b", "psnr_mean"] == pytest.approx(22.0)
    assert agg.loc["b", "psnr_std"] == pytest.approx(2.0)
    assert agg.loc["a", "mse_mean"] == pytest.approx(0.3)
    assert agg.loc["b", "ssim_mean"] == pytest.approx(0.6)
    assert agg.loc["b", "ssim_std"] == pytest.approx(0.1)
    assert agg.loc["a", "n"] == 2 and agg.loc["b", "n"] == 3


def test_aggregate_missing_column_raises():
    with pytest.raises(ValueError, match="ssim"):
        T.aggregate(_metrics_frame().drop(columns="ssim"))


def test_paper_orderings_lists_exactly_the_strict_pairs():
    assert T.paper_orderings(TOY_PAPER, "psnr", True) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert T.paper_orderings(TOY_PAPER, "mse", False) == [("a", "b"), ("a", "c"), ("b", "c")]
    # b and c tie on SSIM: no ordering between them
    assert T.paper_orderings(TOY_PAPER, "ssim", True) == [("a", "b"), ("a", "c")]
    assert sorted(T.paper_orderings(TOY_PAPER, "psnr", False)) == [("b", "a"), ("c", "a"), ("c", "b")]


def test_ordering_summary_counts_and_best_rank():
    ours = {
        "a": {"psnr": 1.0, "mse": 0.1, "ssim": 0.5},  # PSNR order reversed except b > c
        "b": {"psnr": 3.0, "mse": 0.2, "ssim": 0.5},  # SSIM: a ties b -> (a, b) does not hold
        "c": {"psnr": 2.0, "mse": 0.3, "ssim": 0.4},
        "extra": {"psnr": 99.0, "mse": 0.0, "ssim": 1.0},  # not in the paper: ignored
    }
    lines = T.ordering_summary(TOY_PAPER, ours)
    assert len(lines) == 3
    assert lines[0].startswith("PSNR: 1 of 3 ")
    assert "paper's best (Alpha) is ours #3 (ours #1: Beta)" in lines[0]
    assert lines[1].startswith("MSE: 3 of 3 ")
    assert "(Alpha) is also ours #1" in lines[1]
    assert lines[2].startswith("SSIM: 1 of 2 ")  # (a, c) holds, (a, b) is a tie in ours
    assert "(Alpha) is also ours #1" in lines[2]  # a ties b for first: competition rank 1


def test_ordering_summary_missing_method_raises():
    with pytest.raises(ValueError, match="'c'"):
        T.ordering_summary(TOY_PAPER, {"a": {"psnr": 1, "mse": 1, "ssim": 1}, "b": {"psnr": 1, "mse": 1, "ssim": 1}})


def test_build_table_orders_rows_labels_and_exact_deltas():
    agg = T.aggregate(_metrics_frame().assign(method=lambda d: d["method"].map({"a": "c", "b": "a"})))
    agg.loc["b"] = agg.loc["a"] + 1.0
    table = T.build_table(
        agg, TOY_PAPER, params={"a": 11, "b": 22}, labels={"b": "Beta'"}, notes={"c": "perceptual: random VGG"}
    )
    assert list(table.index) == ["a", "b", "c"]
    assert list(table.columns) == [
        "Method",
        "PSNR",
        "PSNR (paper)",
        "ΔPSNR",
        "MSE",
        "MSE (paper)",
        "ΔMSE",
        "SSIM",
        "SSIM (paper)",
        "ΔSSIM",
        "#params",
        "#params (paper)",
    ]
    assert list(table["Method"]) == ["Alpha", "Beta'", "Gamma (perceptual: random VGG)"]
    for m in ("psnr", "mse", "ssim"):
        name = T.display_name(m)
        for key in table.index:
            assert table.loc[key, name] == agg.loc[key, f"{m}_mean"]
            assert table.loc[key, f"{name} (paper)"] == TOY_PAPER[key][m]
            assert table.loc[key, f"Δ{name}"] == agg.loc[key, f"{m}_mean"] - TOY_PAPER[key][m]
    assert table.loc["a", "#params"] == 11 and pd.isna(table.loc["c", "#params"])
    assert list(table["#params (paper)"]) == [1000, 2000, 3000]


def test_build_table_missing_method_names_it():
    agg = T.aggregate(_metrics_frame())  # methods a and b only
    with pytest.raises(ValueError, match="'c'"):
        T.build_table(agg, TOY_PAPER, params={})


def test_standard_footer_lines():
    lines = T.standard_footer(
        data="phantom",
        preset="default",
        seeds=[0, 1],
        assumptions=["A1", "A2"],
        orderings=["PSNR: 1 of 3"],
        source="Paper, Table 2",
    )
    assert lines == [
        "Data: phantom",
        "Preset: default",
        "Seed(s): 0, 1",
        "Paper values: Paper, Table 2",
        "Orderings: PSNR: 1 of 3",
        "Assumption: A1",
        "Assumption: A2",
    ]


def test_write_table_writes_csv_md_tex(tmp_path):
    agg = T.aggregate(_metrics_frame().assign(method=lambda d: d["method"].map({"a": "c", "b": "a"})))
    agg.loc["b"] = agg.loc["a"] + 1.0
    table = T.build_table(agg, TOY_PAPER, params={"a": 308545, "b": 2, "c": 3}, notes={"c": "note_x"})
    footer = ["Data: phantom", "Assumption: SSIM data_range = 2 (100% of range)"]
    paths = T.write_table(table, tmp_path / "sub" / "table2", title="Table 2: CNN models", footer=footer)
    assert sorted(paths) == ["csv", "md", "tex"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    assert not list((tmp_path / "sub").glob(".*tmp*"))  # no temp files left

    csv = pd.read_csv(paths["csv"], index_col="method_key")
    assert list(csv.index) == ["a", "b", "c"]
    assert csv.loc["b", "ΔPSNR"] == pytest.approx(table.loc["b", "ΔPSNR"], rel=1e-12)
    assert "#" not in paths["csv"].read_text(encoding="utf-8").splitlines()[-1]  # pure data, no comment footer

    md = paths["md"].read_text(encoding="utf-8")
    assert "Table 2: CNN models" in md
    for line in footer:
        assert f"- {line}" in md
    for label in ("Alpha", "Beta", "Gamma (note_x)"):
        assert f"| {label} |" in md
    assert "308,545" in md
    assert f"| {table.loc['a', 'PSNR']:.2f} |" in md

    tex = paths["tex"].read_text(encoding="utf-8")
    assert r"\caption{Table 2: CNN models}" in tex
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\footnotesize" in tex
    assert r"data\_range = 2 (100\% of range)" in tex
    assert r"Gamma (note\_x)" in tex
    assert r"\#params" in tex and r"$\Delta$PSNR" in tex
    assert "100% " not in tex and "note_x" not in tex


def test_latex_escape_specials():
    assert T.latex_escape("a_b % c & d # e $ {f}") == r"a\_b \% c \& d \# e \$ \{f\}"


def test_mean_std_view_merges_each_mean_with_its_std():
    table = pd.DataFrame({"Method": ["A", "B"], "Syn PSNR": [24.114, 23.5], "Syn PSNR std": [4.7412, None],
                          "Syn PSNR (paper)": [20.3, 25.2], "Syn PSNR std (paper)": [4.81, 5.09],
                          "ΔSyn PSNR": [3.814, -1.7]})
    view = T.mean_std_view(table)
    assert list(view.columns) == ["Method", "Syn PSNR", "Syn PSNR (paper)", "ΔSyn PSNR"]
    assert list(view["Syn PSNR"]) == ["24.11 (4.74)", "23.50"]  # a missing std leaves the mean alone
    assert list(view["Syn PSNR (paper)"]) == ["20.30 (4.81)", "25.20 (5.09)"]
    assert view["ΔSyn PSNR"].tolist() == [3.814, -1.7]


def test_write_table_mean_std_keeps_the_csv_whole(tmp_path):
    table = pd.DataFrame({"Method": ["A"], "CCC": [0.9], "CCC std": [0.05]})
    paths = T.write_table(table, tmp_path / "t", title="T", footer=[], mean_std=True)
    assert list(pd.read_csv(paths["csv"]).columns) == ["Method", "CCC", "CCC std"]
    assert "| A | 0.900 (0.050) |" in paths["md"].read_text(encoding="utf-8")
    assert "0.900 (0.050)" in paths["tex"].read_text(encoding="utf-8")


def test_markdown_aligns_numbers_right_and_labels_left():
    table = pd.DataFrame({"Method": ["A", "B"], "CCC": ["0.900 (0.050)", "–"], "Note": ["x", "0.1"]})
    md = T.to_markdown(table, title="T", footer=[])
    assert "| :--- | ---: | :--- |" in md


def test_seed_of_and_by_seed_read_the_seed_folder():
    paths = ["r/eval/unet7/seed-2/metrics.tsv", "r/eval/fcn1/seed-10/metrics.tsv", "r/eval/fcn1/seed-2/metrics.tsv"]
    assert T.seed_of(paths[1]) == 10
    assert T.by_seed(paths) == {2: [paths[0], paths[2]], 10: [paths[1]]}
    with pytest.raises(ValueError, match="r/eval/seed2/metrics.tsv: no 'seed-<n>'"):
        T.seed_of("r/eval/seed2/metrics.tsv")


def _seed_table(psnr: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame({"Method": ["A", "B"], "PSNR": psnr, "PSNR (paper)": [30.0, 31.0]},
                         index=pd.Index(["a", "b"], name="method_key"))
    frame["ΔPSNR"] = frame["PSNR"] - frame["PSNR (paper)"]
    return frame


def test_combine_seeds_means_and_sample_sd_over_seeds():
    per_seed = {0: _seed_table([30.0, 33.0]), 1: _seed_table([32.0, 30.0]), 2: _seed_table([34.0, 30.0])}
    out = T.combine_seeds(per_seed, ["PSNR", "ΔPSNR"])
    assert list(out.columns) == ["Method", "PSNR", "PSNR seed sd", "PSNR (paper)", "ΔPSNR"]
    np.testing.assert_allclose(out["PSNR"], [32.0, 31.0])
    np.testing.assert_allclose(out["PSNR seed sd"], [2.0, np.sqrt(3.0)])  # sd of (30, 32, 34) and of (33, 30, 30)
    np.testing.assert_allclose(out["ΔPSNR"], out["PSNR"] - out["PSNR (paper)"])
    assert list(out["Method"]) == ["A", "B"]
    one = T.combine_seeds({0: per_seed[0]}, ["PSNR"])  # one seed: the table itself, no sd column
    pd.testing.assert_frame_equal(one, per_seed[0])


def test_combine_seeds_rejects_tables_that_disagree():
    other = _seed_table([30.0, 31.0])
    other.loc["b", "PSNR (paper)"] = 99.0
    with pytest.raises(ValueError, match="differ between seeds 0 and 1"):
        T.combine_seeds({0: _seed_table([30.0, 31.0]), 1: other}, ["PSNR"])
    with pytest.raises(ValueError, match="other rows or columns"):
        T.combine_seeds({0: _seed_table([30.0, 31.0]), 1: _seed_table([30.0, 31.0]).iloc[:1]}, ["PSNR"])


def test_ordering_flips_name_the_pair_and_the_seeds():
    paper = {"a": {"label": "A", "psnr": 31.0}, "b": {"label": "B", "psnr": 30.0}, "c": {"label": "C", "psnr": 29.0}}
    per_seed = {0: {"a": {"psnr": 32.0}, "b": {"psnr": 31.0}, "c": {"psnr": 20.0}},
                1: {"a": {"psnr": 30.0}, "b": {"psnr": 31.0}, "c": {"psnr": 20.0}},
                2: {"a": {"psnr": 33.0}, "b": {"psnr": 31.0}, "c": {"psnr": 20.0}}}
    assert T.ordering_flips(paper, per_seed, [("psnr", True)]) == [
        "PSNR: A better than B in seed(s) 0, 2, not in 1"]
    lines = T.seeds_lines(paper, per_seed, [("psnr", True)])
    assert lines[0].startswith("Training seeds 0, 1, 2: each value is the mean over the seeds")
    assert lines[1] == "Ordering flips between seeds: PSNR: A better than B in seed(s) 0, 2, not in 1"
    steady = {s: {"a": {"psnr": 32.0}, "b": {"psnr": 31.0}, "c": {"psnr": 20.0}} for s in (0, 1)}
    assert T.seeds_lines(paper, steady, [("psnr", True)])[-1] == "No paper ordering flips between seeds."
    assert T.seeds_lines(paper, {0: per_seed[0]}, [("psnr", True)]) == []


def test_value_columns_and_mean_over_seeds():
    frame = T.with_reference(T.build_table(pd.DataFrame({"psnr_mean": [30.0, 31.0]}, index=["a", "in"]),
                                           {"a": {"label": "A", "psnr": 29.0}}, params={"a": 5}, metrics=["psnr"]),
                             pd.DataFrame({"psnr_mean": [30.0, 31.0]}, index=["a", "in"]), key="in", label="input",
                             metrics=["psnr"])
    assert T.value_columns(frame, ["psnr"]) == ["PSNR", "ΔPSNR", "ΔPSNR vs in"]
    per_seed = {0: {"a": {"psnr": 30.0, "ssim": 0.5}}, 3: {"a": {"psnr": 33.0, "ssim": 0.7}}}
    assert T.mean_over_seeds(per_seed) == {"a": {"psnr": 31.5, "ssim": pytest.approx(0.6)}}
