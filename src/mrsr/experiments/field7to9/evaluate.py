"""7T -> 9.4T evaluation: the test slices of a subject's container (interior slices with enough brain, along each
configured axis), dense-patch prediction of a slice, and scoring against the HR (paper eq. 6-8), whole slice and
inside the brain."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mrsr.experiments.field7to9.data import slices_along
from mrsr.io import load_npz
from mrsr.metrics import brain_mask, brain_metrics, image_metrics, interior_slices
from mrsr.patches import predict_image
from mrsr.predictions import PredictionWriter


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

