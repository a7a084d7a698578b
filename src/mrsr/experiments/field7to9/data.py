"""7T -> 9.4T data handling: per-subject patch containers, training sets, test slices, evaluation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mrsr.io import load_npz
from mrsr.metrics import brain_mask, brain_metrics, image_metrics, interior_slices
from mrsr.patches import predict_image, random_patch_pairs
from mrsr.predictions import PredictionWriter
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


@dataclass(frozen=True)
class EvalSlice:
    subject: str
    axis: int
    index: int
    lr: np.ndarray
    hr: np.ndarray
    mask: np.ndarray


def interior_test_slices(mask: np.ndarray, axis: int, cfg: Mapping) -> np.ndarray:
    """Slices along `axis` with at least min_slice_foreground brain; with max_test_slices, that many spread
    evenly through the interior of the qualifying range (mrsr.metrics.interior_slices), not its first/last."""
    fg = slices_along(mask, axis)
    frac = fg.reshape(fg.shape[0], -1).mean(axis=1)
    qualifies = frac >= cfg.get("min_slice_foreground", 0.0)
    keep = np.flatnonzero(qualifies)
    limit = cfg.get("max_test_slices")
    if limit and len(keep) > limit:
        picked = interior_slices(fg & qualifies[:, None, None], limit, axis=0)
        keep = np.array([i for i in picked if qualifies[i]], dtype=int)
    return keep


def iter_test_slices(container: dict, subject: str, cfg: dict) -> Iterator[EvalSlice]:
    """Full test slices with enough brain (interior_test_slices), along each configured axis."""
    for axis in cfg["slice_axes"]:
        fg = slices_along(container["mask"], axis)
        keep = interior_test_slices(container["mask"].astype(bool), axis, cfg)
        lr, hr = slices_along(container["lr"], axis), slices_along(container["hr"], axis)
        for i in keep:
            yield EvalSlice(subject, axis, int(i), lr[i], hr[i], fg[i].astype(bool))


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray], containers: dict[str, str | Path], cfg: dict, method: str,
    writer: PredictionWriter | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, float]]:
    """Predict every test slice, score it against the HR (paper eq. 6-8), keep the middle slice as example; every
    prediction goes to `writer` (test-set NIfTI) when one is given."""
    rows, examples, seconds = [], {}, 0.0
    for subject, path in containers.items():
        container = load_npz(path)
        voxel_mm = tuple(container["voxel_mm"]) if "voxel_mm" in container else (1.0, 1.0, 1.0)
        slices = list(iter_test_slices(container, subject, cfg))
        if not slices:
            raise ValueError(f"{path}: no test slice has >= {cfg.get('min_slice_foreground')} foreground")
        for n, s in enumerate(slices):
            start = time.perf_counter()
            pred = predict(s.lr)
            seconds += time.perf_counter() - start
            scores = image_metrics(pred, s.hr, peak=cfg["psnr_peak"], ssim_range=cfg["ssim_data_range"])
            scores |= brain_metrics(pred, s.hr, peak=cfg["psnr_peak"], ssim_range=cfg["ssim_data_range"],
                                    mask=slice_brain_mask(s.hr))
            rows.append({"method": method, "subject": subject, "axis": s.axis, "slice": s.index, **scores})
            if writer is not None:
                writer.add_slice(subject, s.index, pred, axis=s.axis, voxel_mm=voxel_mm)
            if not examples and n == len(slices) // 2:
                examples = {"lr": s.lr, "gen": pred.astype(np.float32), "hr": s.hr,
                            "subject": np.array(subject), "slice": np.array(s.index), "axis": np.array(s.axis)}
    return pd.DataFrame(rows), examples, {"predict_seconds": seconds, "n_slices": len(rows)}


def slice_brain_mask(hr: np.ndarray) -> np.ndarray:
    """The scoring mask of a test slice: mrsr.metrics.brain_mask (dilated head mask) of the HR, shifted so its
    background is 0 (the z-scored HR's background is negative)."""
    return brain_mask(hr - hr.min())


def net_predictor(predict_batch: Callable[[np.ndarray], np.ndarray], cfg: dict) -> Callable[[np.ndarray], np.ndarray]:
    """Dense stride-`stride` patches, the network, and overlap-averaged stitching after a `crop` border."""
    def predict(img: np.ndarray) -> np.ndarray:
        return predict_image(
            predict_batch, img, size=cfg["patch_size"], stride=cfg["stride"], crop=cfg["crop"],
            batch_size=cfg.get("infer_batch", 64),
        )
    return predict

