"""field7to9 fidelity: the U-net output covers z-scored targets, the input reference row, generated footers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from scipy.ndimage import gaussian_filter

from mrsr import nets
from mrsr.experiments.field7to9.data import check_output_range, method_entry
from mrsr.preprocess import normalise_zscore

REPO = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())["field7to9"]


# paper Table 1: generator and discriminator figure panels, generator loss weights, learning rates (G, D)
PAPER_TABLE1 = {
    "dcgan1": ("dcgan1_g", "disc_b", {"bce": 1, "l1": 1.5, "gdl": 1.5}, 5e-5, 2e-5),
    "dcgan2": ("dcgan2_g", "disc_d", {"bce": 1, "l1": 1.5}, 2e-4, 2e-5),
    "dcgan3": ("dcgan3_g", "disc_f", {"bce": 1, "l1": 1.5}, 2e-4, 2e-5),
    "dcgan4": ("dcgan3_g", "disc_f", {"bce": 1, "l1": 1.5, "gdl": 1.5}, 2e-4, 2e-5),
    "unet5": ("unet_g", "disc_d", {"bce": 1, "l1": 1.5, "gdl": 2}, 2e-3, 2e-4),
    "unet6": ("unet_g", "disc_d", {"bce": 1, "l1": 1.5, "gdl": 2}, 2e-3, 2e-4),
    "unet7": ("unet_g", "disc_d", {"bce": 1, "l1": 2}, 2e-3, 2e-4),
    "unet8": ("unet_g", "disc_d", {"bce": 1, "l1": 1.5, "gdl": 2}, 2e-3, 1e-3),
    "pix2pix9": ("unet_g", "patchgan", {"bce": 1, "l1": 1.5}, 5e-5, 2e-5),
    "pix2pix10": ("unet_g", "patchgan", {"bce": 1, "l2": 1.5}, 5e-5, 2e-5),
    "pix2pix11": ("unet_g", "patchgan", {"bce": 1, "l1": 1.5, "perceptual": 1}, 5e-5, 2e-5),
}


@pytest.mark.parametrize("key", PAPER_TABLE1)
def test_gan_rows_train_with_the_papers_table1_networks_weights_and_rates(key: str) -> None:
    generator, discriminator, losses, lr_g, lr_d = PAPER_TABLE1[key]
    method = DEFAULT["methods"][key]
    assert (method["generator"], method["discriminator"]) == (generator, discriminator)
    assert method["losses"] == losses and (method["lr_g"], method["lr_d"]) == (lr_g, lr_d)
    assert "betas" not in method and "init" not in method  # the declared defaults (footer), not per-row tuning


def zscored_pairs(n: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n (LR, HR) pairs like the data: dark background, a 'brain' ellipse (a third of the image) with
    brighter blobs, scaled to [0, 1] then z-scored (paper 5.2): the brain has z > 1, as in the phantom
    HR volumes; LR = blurred HR with less contrast."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    lr, hr = [], []
    for _ in range(n):
        cy, cx = rng.uniform(29, 35, 2)
        brain = ((yy - cy) / 22) ** 2 + ((xx - cx) / 19) ** 2 < 1
        img = 0.7 * brain
        for by, bx in rng.uniform(20, 44, (6, 2)):
            img = np.where(brain & ((yy - by) ** 2 + (xx - bx) ** 2 < 20), 1.0, img)
        hr.append(normalise_zscore(img)[0])
        lr.append(normalise_zscore(gaussian_filter(0.5 + 0.6 * img, 1.5))[0])
    return np.stack(lr)[:, None].astype(np.float32), np.stack(hr)[:, None].astype(np.float32)


def fit_unet(tanh_scale: float | None, lr: np.ndarray, hr: np.ndarray, steps: int = 150) -> np.ndarray:
    """Train the paper's U-net generator (L1, Adam 2e-3 as U-net 7) on the pairs; return its eval-mode output."""
    torch.manual_seed(0)
    net = nets.init_normal(nets.build("unet_g", tanh_scale=tanh_scale))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, betas=(0.5, 0.999))
    x, y = torch.from_numpy(lr), torch.from_numpy(hr)
    for _ in range(steps):
        loss = (net(x) - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return net.eval()(x).numpy()


def test_default_unet_fits_zscored_targets_beyond_tanh_range() -> None:
    lr, hr = zscored_pairs(8)
    assert (hr > 1).mean() > 0.25 and hr.max() > 1.9  # the brain is above z = 1
    scale = DEFAULT["unet_tanh_scale"]
    assert scale is None  # linear output by default: nothing to check, even for real data with |z| >= 4
    check_output_range({"generator": "unet_g", "generator_kwargs": {"tanh_scale": scale}}, 5 * hr)
    with pytest.raises(ValueError, match="unet_tanh_scale = 4.0"):
        check_output_range({"generator": "unet_g", "generator_kwargs": {"tanh_scale": 4.0}}, 5 * hr)
    with pytest.raises(ValueError, match="unet_tanh_scale = 1.0"):
        check_output_range({"generator": "unet_g", "generator_kwargs": {"tanh_scale": 1.0}}, hr)
    # pix2pix's plain Tanh: whatever it learns, its error is at least that of clipping the target to (-1, 1)
    floor = float(np.mean(np.clip(np.abs(hr) - 1, 0, None) ** 2))
    plain = fit_unet(1.0, lr, hr)
    assert plain.max() < 1 and np.mean((plain - hr) ** 2) >= floor
    scaled = fit_unet(scale, lr, hr)
    inside = hr > 1
    assert np.median(scaled[inside]) > 1.2 and scaled.max() > 1.5
    assert np.mean((scaled - hr) ** 2) < 0.5 * floor


def test_method_entry_gives_unets_the_configured_scale() -> None:
    methods = DEFAULT["methods"]
    unet = method_entry(methods["unet7"], DEFAULT)
    assert unet["generator_kwargs"]["tanh_scale"] == DEFAULT["unet_tanh_scale"]
    assert "generator_kwargs" not in methods["unet7"]  # the config itself is not modified
    sharpened = method_entry(methods["unet6"], DEFAULT)["generator_kwargs"]
    assert sharpened == {"sharpen": True, "tanh_scale": DEFAULT["unet_tanh_scale"]}
    own = method_entry({**methods["pix2pix9"], "generator_kwargs": {"tanh_scale": None}}, DEFAULT)
    assert own["generator_kwargs"]["tanh_scale"] is None
    assert "tanh_scale" not in (method_entry(methods["dcsrn_l1"], DEFAULT).get("generator_kwargs") or {})


def table_footer(tmp_path: Path, configfiles: list[Path] = (), config: dict | None = None) -> list[str]:
    """The footer Table 3 would get in a run with this configuration (planned by a dry run)."""
    from test_workflow import dag_jobs

    from mrsr.footer import run_footer

    jobs = [j for j in dag_jobs(tmp_path, list(configfiles), config) if j.rule.name == "field_table"]
    job = next(j for j in jobs if j.wildcards["field_table"] == "table3")
    return run_footer("field7to9", job.params.cfg, job.params.footer)


def test_footer_follows_a_changed_config_value(tmp_path: Path) -> None:
    default = table_footer(tmp_path)
    assert default[0].startswith("Data: phantom (6 subjects") and default[1] == "Preset: default; seed(s): 0."
    assert "gan.max_updates = 250 (paper preset: 8730)" in default[2] and "min_foreground" not in default[2]
    assert "cnn.batch_size = 8 (paper preset: 32)" in default[2]
    assert "Assumption: Training patches with less than 0.1 brain are redrawn" in "\n".join(default)
    assert any("perceptual rows, labelled '(random VGG)'" in line for line in default)
    changed = table_footer(tmp_path, config={"field7to9": {"min_foreground": 0.3, "unet_tanh_scale": 6.0}})
    assert "min_foreground = 0.3 (paper preset: 0.1)" in changed[2]
    assert "unet_tanh_scale = 6 (paper preset: null)" in changed[2]
    text = "\n".join(changed)
    assert "less than 0.3 brain" in text and "less than 0.1 brain" not in text
    assert "unet_tanh_scale = 6 (null: no Tanh" in text


def test_footer_of_the_paper_preset_and_of_a_subject_sheet(tmp_path: Path) -> None:
    paper = table_footer(tmp_path, [REPO / "config/paper.yaml"])
    assert paper[1] == "Preset: paper; seed(s): 0, 1, 2."  # config/paper.yaml: three training seeds
    assert paper[2] == "Config: every field7to9 value equals the paper preset (config/paper.yaml)."
    assert not any(line.startswith("Differs") for line in paper)
    rows = ["subject\tlr\thr"]
    for s in ("a", "b", "c"):
        for role in ("lr", "hr"):
            (tmp_path / f"{s}_{role}.nii.gz").write_bytes(b"")
        rows.append(f"{s}\t{s}_lr.nii.gz\t{s}_hr.nii.gz")
    sheet = tmp_path / "subjects.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    mine = table_footer(tmp_path, config={"field7to9": {"subject_sheet": str(sheet)}})
    assert mine[0] == f"Data: subject sheet {sheet}."
    text = "\n".join(mine)
    assert "phantom" not in text.lower() and "MNI152" not in text
    assert f"subject_sheet = {sheet} (paper preset: null)" in mine[2]


def test_reference_row_first_with_deltas_and_formats() -> None:
    import pandas as pd

    from mrsr.experiments.field7to9.data import INPUT_KEY, INPUT_LABEL, method_labels
    from mrsr.tables import build_table, to_markdown, with_reference

    paper = {"a": {"label": "A", "psnr": 60.0, "mse": 0.1, "ssim": 0.5, "params": 10},
             "p": {"label": "P", "psnr": 61.0, "mse": 0.09, "ssim": 0.4, "params": 20}}
    ours = pd.DataFrame({"psnr_mean": [62.0, 59.5, 60.0], "mse_mean": [0.05, 0.2, 0.1], "ssim_mean": [0.6, 0.3, 0.45]},
                        index=["a", "p", INPUT_KEY])
    cfg = {"vgg16_weights": None, "methods": {"a": {"losses": {"l1": 1.0}}, "p": {"losses": {"perceptual": 1.0}}}}
    labels = method_labels(paper, cfg)
    assert labels == {"a": "A", "p": "P (random VGG)"}
    assert method_labels(paper, {**cfg, "vgg16_weights": "/w/vgg16.pth"})["p"] == "P"
    table = with_reference(build_table(ours, paper, params={"a": 10, "p": 20}, labels=labels), ours,
                           key=INPUT_KEY, label=INPUT_LABEL)
    assert list(table.index) == [INPUT_KEY, "a", "p"] and table.loc[INPUT_KEY, "Method"] == INPUT_LABEL
    assert table["ΔPSNR vs input"].tolist() == pytest.approx([0.0, 2.0, -0.5])
    assert table["ΔMSE vs input"].tolist() == pytest.approx([0.0, -0.05, 0.1])
    assert np.isnan(table.loc[INPUT_KEY, "PSNR (paper)"]) and table["PSNR (paper)"]["a"] == 60.0
    md = to_markdown(table, title="t", footer=[])
    assert "| input (no model) | 60.00 | – |" in md and "| +2.00 |" in md and "| -0.50 |" in md
