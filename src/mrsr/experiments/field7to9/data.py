"""7T -> 9.4T data handling: per-subject patch containers, training and validation sets (the test slices and their
scoring: mrsr.experiments.field7to9.evaluate)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mrsr.io import load_npz
from mrsr.patches import random_patch_pairs
from mrsr.preprocess import clip_scale, normalise_zscore
from mrsr.train import TrainData


INPUT_KEY = "input"  # the no-model reference row: the registered, upsampled LR scored as the prediction
INPUT_LABEL = "input (no model)"


def method_labels(paper: Mapping[str, Mapping], cfg: Mapping) -> dict[str, str]:
    """Row labels of the paper's methods; perceptual rows without ImageNet VGG weights say so."""
    labels = {}
    for key, entry in paper.items():
        method = cfg["methods"].get(key, {})
        random_vgg = "perceptual" in method.get("losses", {}) and not cfg.get("vgg16_weights")
        labels[key] = str(entry.get("label", key)) + (" (random VGG)" if random_vgg else "")
    return labels


def slices_along(volume: np.ndarray, axis: int) -> np.ndarray:
    """The 2-D slices of a volume along one axis, stacked first."""
    return np.moveaxis(volume, axis, 0)


def foreground_from(hr: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The brain mask, or (no mask given) voxels above 10% of the HR's 99th percentile."""
    if mask is not None:
        return mask > 0.5
    # assumption: without a mask, foreground is a simple intensity threshold on the HR
    return hr > 0.1 * np.percentile(hr, 99)


def training_input(paths: list[str]) -> dict[str, object]:
    """What the training subjects' volumes looked like (mean HR voxel size in mm, mean LR background
    fraction), recorded in model.pt so `mrsr apply` can warn about a scan unlike them."""
    voxels, backgrounds = [], []
    for path in paths:
        container = load_npz(path)
        if "voxel_mm" in container:
            voxels.append(container["voxel_mm"])
            backgrounds.append(float(container["lr_background"]))
    if not voxels:
        return {}
    return {"voxel_mm": np.mean(voxels, axis=0).round(4).tolist(), "background_fraction": float(np.mean(backgrounds))}


def build_container(
    lr: np.ndarray, hr: np.ndarray, mask: np.ndarray | None, cfg: dict, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Normalise a registered LR/HR pair and sample its random training patches (paper 5.1-5.2)."""
    if lr.shape != hr.shape:
        raise ValueError(f"registered LR {lr.shape} and HR {hr.shape} differ in shape")
    pre = cfg["preprocess"]
    lo, hi = pre["clip_percentiles"]
    fg = foreground_from(hr, mask)
    lr_n, lr_stats = normalise_zscore(clip_scale(lr, lo, hi, pre["scale_max"]))
    hr_n, hr_stats = normalise_zscore(clip_scale(hr, lo, hi, pre["scale_max"]))
    per_axis = _split_count(cfg["patches_per_subject"], len(cfg["slice_axes"]))
    lr_p, hr_p = [], []
    for axis, n in zip(cfg["slice_axes"], per_axis):
        a, b = random_patch_pairs(
            slices_along(lr_n, axis), slices_along(hr_n, axis), n, cfg["patch_size"], rng,
            foreground=slices_along(fg, axis), min_foreground=cfg.get("min_foreground", 0.0),
        )
        lr_p.append(a)
        hr_p.append(b)
    return {
        "lr": lr_n.astype(np.float32), "hr": hr_n.astype(np.float32), "mask": fg.astype(np.uint8),
        "lr_patches": np.concatenate(lr_p), "hr_patches": np.concatenate(hr_p),
        "lr_stats": _stats_array(lr_stats), "hr_stats": _stats_array(hr_stats),
    }


def _split_count(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


_STAT_KEYS = ("min", "max", "mean", "std")


def _stats_array(stats: dict) -> np.ndarray:
    return np.array([stats[k] for k in _STAT_KEYS], dtype=np.float64)


def stats_dict(array: np.ndarray) -> dict[str, float]:
    """Normalisation statistics stored in a container, as the dict preprocess.apply_norm takes."""
    return {k: float(v) for k, v in zip(_STAT_KEYS, array)}


def method_entry(method: Mapping, cfg: Mapping) -> dict:
    """A method's config entry with the experiment-wide generator settings filled in (U-net output scale), without
    its `compute` override (precision and layout reach the job as params.compute, not as part of the method)."""
    entry = {k: v for k, v in method.items() if k != "compute"}
    if entry["generator"] == "unet_g":
        kwargs = dict(entry.get("generator_kwargs") or {})
        kwargs.setdefault("tanh_scale", cfg["unet_tanh_scale"])
        entry["generator_kwargs"] = kwargs
    return entry


def check_output_range(method: Mapping, targets: np.ndarray) -> None:
    """ValueError unless a bounded generator output (U-net: +-tanh_scale) covers every training target."""
    kwargs = method.get("generator_kwargs") or {}
    scale = kwargs.get("tanh_scale") if method["generator"] == "unet_g" else None
    if scale is None:
        return
    reach = float(np.abs(targets).max())
    if reach >= scale:
        raise ValueError(
            f"field7to9.unet_tanh_scale = {scale}: the U-net output (-{scale}, {scale}) cannot reach the "
            f"training targets (|z| up to {reach:.2f}); set it above {reach:.2f}"
        )


def load_training_data(paths: list[str | Path]) -> TrainData:
    """Concatenate the random patches of several subjects' containers."""
    if not paths:
        raise ValueError("no patch containers given (is the split empty?)")
    parts = [load_npz(p) for p in paths]
    return TrainData(
        lr=np.concatenate([p["lr_patches"] for p in parts]).astype(np.float32),
        hr=np.concatenate([p["hr_patches"] for p in parts]).astype(np.float32),
    )


def validation_data(paths: list[str | Path], n: int | None) -> TrainData:
    """The validation subjects' random patches (held out by subject from training and test), n of them evenly
    spaced through the concatenation (so every validation subject contributes), or all when n is None."""
    val = load_training_data(paths)
    if n is None or n >= len(val):
        return val
    keep = np.round(np.linspace(0, len(val) - 1, n)).astype(int)
    return TrainData(lr=val.lr[keep], hr=val.hr[keep])
