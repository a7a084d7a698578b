"""Image-quality metrics (MSE, PSNR, SSIM), computed in float64; the one metrics module."""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity


SSIM_PAD = 5  # (window 11 - 1) / 2: skimage's Gaussian window for sigma 1.5, truncate 3.5


def _pair(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return both images as float64, raising ValueError if their shapes differ."""
    pred, ref = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference shape {ref.shape}")
    return pred, ref


def mse(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean squared difference."""
    pred, ref = _pair(pred, ref)
    return float(np.mean((pred - ref) ** 2))


def psnr_from_mse(mse_value: float, peak: float) -> float:
    """20 log10(peak / sqrt(mse)) in dB; inf when mse == 0."""
    if peak <= 0:
        raise ValueError(f"peak: expected > 0, got {peak}")
    if mse_value == 0:
        return math.inf
    return 20.0 * math.log10(peak / math.sqrt(mse_value))


def psnr(pred: np.ndarray, ref: np.ndarray, peak: float) -> float:
    """Peak signal-to-noise ratio in dB for the given peak value."""
    return psnr_from_mse(mse(pred, ref), peak)


def ssim(pred: np.ndarray, ref: np.ndarray, data_range: float) -> float:
    """Mean SSIM of 2-D or 3-D images (Wang 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03).

    Every axis needs at least 11 samples (the Gaussian window's size).
    """
    pred, ref = _pair(pred, ref)
    if data_range <= 0:
        raise ValueError(f"data_range: expected > 0, got {data_range}")
    return float(
        structural_similarity(
            pred,
            ref,
            data_range=data_range,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


def image_metrics(
    pred: np.ndarray,
    ref: np.ndarray,
    *,
    peak: float,
    ssim_range: float,
    mask: np.ndarray | None = None,
) -> dict[str, float]:
    """Return {'psnr', 'mse', 'ssim'}: MSE/PSNR over the mask's voxels (all if None), SSIM over the whole image.

    SSIM ignores the mask because its windows need whole neighbourhoods; a masked mean of the
    SSIM map would change the metric's definition.
    """
    pred, ref = _pair(pred, ref)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != ref.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {ref.shape}")
        if not mask.any():
            raise ValueError("mask: selects no voxels")
        err = mse(pred[mask], ref[mask])
    else:
        err = mse(pred, ref)
    return {"psnr": psnr_from_mse(err, peak), "mse": err, "ssim": ssim(pred, ref, ssim_range)}


# ---------------------------------------------------------------- scoring inside the brain


def brain_mask(reference: np.ndarray, *, fraction: float = 0.1, dilate: int = 2) -> np.ndarray:
    """Head mask of a reference image (2-D or 3-D): voxels above `fraction` of its 99th percentile, holes filled,
    the largest connected component, dilated by `dilate` voxels (so edges and the skull boundary stay scored)."""
    from scipy import ndimage  # local: scipy is only needed here

    ref = np.asarray(reference, dtype=np.float64)
    peak = float(np.percentile(ref, 99))
    if not np.isfinite(peak) or peak <= 0:
        raise ValueError("brain_mask: the reference's 99th percentile is not positive; cannot threshold it")
    mask = ndimage.binary_fill_holes(ref > fraction * peak)
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum(mask, labels, index=range(1, n + 1))
        mask = labels == 1 + int(np.argmax(sizes))
    if dilate > 0:
        mask = ndimage.binary_dilation(mask, iterations=dilate)
    return mask


def masked_ssim(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray, data_range: float) -> float:
    """Mean of the SSIM map (same windows as ssim()) over the mask's voxels, leaving out the 5-voxel border that
    ssim() leaves out too (windows there are incomplete), so an all-true mask gives ssim() exactly."""
    pred, ref = _pair(pred, ref)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != ref.shape or not mask.any():
        raise ValueError(f"mask: shape {mask.shape} must equal the image's {ref.shape} and select voxels")
    _, full = structural_similarity(pred, ref, data_range=data_range, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, full=True)
    pad = SSIM_PAD
    inner = np.zeros_like(mask)
    inner[tuple(slice(pad, n - pad) for n in mask.shape)] = True
    if not (mask & inner).any():
        raise ValueError("mask: selects no voxel farther than 5 voxels from the border")
    return float(full[mask & inner].mean())


def brain_metrics(pred: np.ndarray, ref: np.ndarray, *, peak: float, ssim_range: float,
                  mask: np.ndarray) -> dict[str, float]:
    """{'psnr_brain', 'mse_brain', 'ssim_brain'}: MSE/PSNR over the brain mask, the SSIM map's mean inside it."""
    pred, ref = _pair(pred, ref)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != ref.shape or not mask.any():
        raise ValueError(f"mask: shape {mask.shape} must equal the image's {ref.shape} and select voxels")
    err = mse(pred[mask], ref[mask])
    return {"psnr_brain": psnr_from_mse(err, peak), "mse_brain": err,
            "ssim_brain": masked_ssim(pred, ref, mask, ssim_range)}


def interior_slices(mask: np.ndarray, n: int, axis: int = 0, *, margin: float = 0.15) -> list[int]:
    """n slice indices along `axis` spread evenly through the brain's interior: the mask's extent on that axis
    with `margin` of it cut at each end (no vertex or inferior cerebellum slices)."""
    occupied = np.flatnonzero(np.asarray(mask, bool).any(axis=tuple(i for i in range(np.ndim(mask)) if i != axis)))
    if occupied.size == 0:
        raise ValueError("interior_slices: the mask is empty")
    lo, hi = occupied[0], occupied[-1]
    cut = margin * (hi - lo)
    return sorted({int(round(v)) for v in np.linspace(lo + cut, hi - cut, n)})


# ---------------------------------------------------------------- ASL (DeepASL, docs/experiments/deepasl.md, "Metrics")


def rmse(pred: np.ndarray, ref: np.ndarray) -> float:
    """Root mean squared difference."""
    return math.sqrt(mse(pred, ref))


def lins_ccc(x: np.ndarray, y: np.ndarray) -> float:
    """Lin's concordance correlation coefficient 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2), 1/n moments."""
    x, y = _pair(x, y)
    x, y = x.ravel(), y.ravel()
    if x.size < 2:
        raise ValueError(f"lins_ccc needs at least 2 values, got {x.size}")
    mx, my = x.mean(), y.mean()
    sxy = np.mean((x - mx) * (y - my))
    den = x.var() + y.var() + (mx - my) ** 2
    return float(2.0 * sxy / den) if den > 0 else math.nan


def asl_metrics(dm: np.ndarray, dm_ref: np.ndarray, cbf: np.ndarray, cbf_ref: np.ndarray,
                mask: np.ndarray) -> dict[str, float]:
    """{'psnr', 'rmse', 'ccc'} inside the brain mask: PSNR of the perfusion-weighted image with peak
    max_mask(dm_ref) (assumption, docs/experiments/deepasl.md, "Metrics"), RMSE and Lin's CCC of CBF."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != np.shape(dm_ref) or not mask.any():
        raise ValueError(f"mask: expected a non-empty mask of shape {np.shape(dm_ref)}, got {mask.shape}")
    peak = float(np.max(np.asarray(dm_ref)[mask]))
    return {"psnr": psnr(np.asarray(dm)[mask], np.asarray(dm_ref)[mask], peak),
            "rmse": rmse(np.asarray(cbf)[mask], np.asarray(cbf_ref)[mask]),
            "ccc": lins_ccc(np.asarray(cbf)[mask], np.asarray(cbf_ref)[mask])}


# ---------------------------------------------------------------- BRISQUE (Mittal et al. 2012; docs/experiments/dsgan.md, "BRISQUE")

BRISQUE_LABEL = "BRISQUE (LIVE model)"
ALPHA_GRID = np.arange(0.2, 10.0, 0.001)  # the reference's grid search 0.2:0.001:10


def gaussian_window(size: int, sigma: float) -> np.ndarray:
    """size x size Gaussian window on offsets -(size//2) .. size//2, sum 1."""
    z = np.arange(size) - size // 2
    g = np.exp(-(z[:, None] ** 2 + z[None, :] ** 2) / (2.0 * sigma**2))
    return g / g.sum()


def mscn(img: np.ndarray, *, size: int = 7, sigma: float = 7.0 / 6.0, c: float = 1.0 / 255.0) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients (I - mu) / (sd + C) with a Gaussian window (zero-padded
    'same' correlation, sd = sqrt|E[I^2] - mu^2|). BRISQUE: 7x7, sigma 7/6, [0, 1] image, C = 1/255; Huang et al.'s
    Fig. 5: 7x7, sigma 1, 0-255 image, C = 1."""
    from scipy import signal

    img = np.asarray(img, dtype=np.float64)
    w = gaussian_window(size, sigma)
    mu = signal.convolve2d(img, w, mode="same")
    sd = np.sqrt(np.abs(signal.convolve2d(img**2, w, mode="same") - mu**2))
    return (img - mu) / (sd + c)


def pairwise_products(m: np.ndarray) -> dict[str, np.ndarray]:
    """Products of neighbouring MSCN coefficients: horizontal, vertical, main and secondary diagonal."""
    return {"horizontal": m[:, :-1] * m[:, 1:], "vertical": m[:-1, :] * m[1:, :],
            "main_diagonal": m[:-1, :-1] * m[1:, 1:], "secondary_diagonal": m[1:, :-1] * m[:-1, 1:]}


def _alpha_from_ratio(ratio: float, ratio_of_alpha: np.ndarray) -> float:
    """Grid value of alpha whose moment ratio is closest to `ratio`."""
    return float(ALPHA_GRID[np.argmin(np.abs(ratio_of_alpha - ratio))])


def ggd_fit(x: np.ndarray) -> tuple[float, float]:
    """(alpha, sigma^2) of a zero-mean generalised Gaussian by moment matching: E[x^2] / E|x|^2 =
    G(1/a) G(3/a) / G(2/a)^2 (Sharifi & Leon-Garcia)."""
    from scipy.special import gamma

    x = np.asarray(x, dtype=np.float64).ravel()
    var = float(np.mean(x**2))
    rho = var / float(np.mean(np.abs(x))) ** 2
    a = ALPHA_GRID
    return _alpha_from_ratio(rho, gamma(1 / a) * gamma(3 / a) / gamma(2 / a) ** 2), var


def aggd_fit(x: np.ndarray) -> tuple[float, float, float, float]:
    """(alpha, mean, sigma_l^2, sigma_r^2) of an asymmetric generalised Gaussian (Lasmar et al.; BRISQUE)."""
    from scipy.special import gamma

    x = np.asarray(x, dtype=np.float64).ravel()
    left, right = x[x < 0], x[x >= 0]
    sl = float(np.sqrt(np.mean(left**2))) if left.size else 0.0
    sr = float(np.sqrt(np.mean(right**2))) if right.size else 0.0
    g = sl / sr if sr > 0 else np.inf
    r_hat = float(np.mean(np.abs(x))) ** 2 / float(np.mean(x**2))
    r_norm = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    a = ALPHA_GRID
    alpha = _alpha_from_ratio(r_norm, gamma(2 / a) ** 2 / (gamma(1 / a) * gamma(3 / a)))
    mean = (sr - sl) * gamma(2 / alpha) / gamma(1 / alpha) * np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, float(mean), sl**2, sr**2


def half_scale_bicubic(img: np.ndarray) -> np.ndarray:
    """Downscale by 2 as OpenCV's INTER_CUBIC (a = -0.75, no anti-aliasing, replicated border): output pixel i
    samples input position 2i + 0.5 with taps [-0.09375, 0.59375, 0.59375, -0.09375] at 2i-1 .. 2i+2."""
    taps = np.array([-0.09375, 0.59375, 0.59375, -0.09375])
    out = np.asarray(img, dtype=np.float64)
    for axis in (0, 1):
        n = out.shape[axis] // 2
        idx = np.clip(2 * np.arange(n)[:, None] + np.arange(-1, 3)[None, :], 0, out.shape[axis] - 1)
        out = np.tensordot(np.take(out, idx, axis=axis), taps, axes=([axis + 1], [0]))
    return out


def brisque_features(img: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a [0, 1] grey image: at full and half scale, MSCN GGD (alpha, sigma^2) and, for
    each of the 4 pairwise products, AGGD (alpha, mean, sigma_l^2, sigma_r^2)."""
    img = np.asarray(img, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 14:
        raise ValueError(f"BRISQUE needs a 2-D image of at least 14x14 pixels, got shape {img.shape}")
    feats: list[float] = []
    for scaled in (img, half_scale_bicubic(img)):
        m = mscn(scaled)
        feats += list(ggd_fit(m))
        for product in pairwise_products(m).values():
            feats += list(aggd_fit(product))
    return np.asarray(feats)


def load_brisque_model(model_dir: str | None = None) -> dict[str, np.ndarray | float]:
    """The LIVE BRISQUE epsilon-SVR shipped in the `brisque` wheel (svm.txt, normalize.pickle), as arrays:
    {'sv', 'coef', 'rho', 'gamma', 'min', 'max'}."""
    import pickle
    from pathlib import Path

    if model_dir is None:
        from importlib.util import find_spec

        spec = find_spec("brisque")  # located, not imported: the package imports OpenCV, which we do not need
        if spec is None or spec.origin is None:
            raise ValueError("BRISQUE needs the 'brisque' package (pip install brisque) for its LIVE model")
        model_dir = str(Path(spec.origin).parent / "models")
    svm, norm = Path(model_dir) / "svm.txt", Path(model_dir) / "normalize.pickle"
    header, coef, sv = {}, [], []
    with open(svm) as fh:
        for line in fh:
            if line.strip() == "SV":
                break
            key, *value = line.split()
            header[key] = value
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            coef.append(float(parts[0]))
            row = np.zeros(36)
            for item in parts[1:]:
                i, v = item.split(":")
                row[int(i) - 1] = float(v)
            sv.append(row)
    if header.get("svm_type") != ["epsilon_svr"] or header.get("kernel_type") != ["rbf"]:
        raise ValueError(f"{svm}: expected an epsilon-SVR with an RBF kernel, got {header}")
    with open(norm, "rb") as fh:
        scale = pickle.load(fh)
    return {"sv": np.asarray(sv), "coef": np.asarray(coef), "rho": float(header["rho"][0]),
            "gamma": float(header["gamma"][0]), "min": np.asarray(scale["min_"], dtype=np.float64),
            "max": np.asarray(scale["max_"], dtype=np.float64)}


def svr_score(features: np.ndarray, model: dict) -> float:
    """libsvm epsilon-SVR prediction: sum_i coef_i exp(-gamma ||x - sv_i||^2) - rho, x scaled to [-1, 1] by the
    model's feature min/max."""
    x = -1.0 + 2.0 * (np.asarray(features, dtype=np.float64) - model["min"]) / (model["max"] - model["min"])
    d2 = np.sum((model["sv"] - x) ** 2, axis=1)
    return float(np.dot(model["coef"], np.exp(-model["gamma"] * d2)) - model["rho"])


def brisque(img: np.ndarray, model: dict | None = None) -> float:
    """BRISQUE score of a [0, 1] grey image with the LIVE model (lower is better; not the paper's MR-trained SVR)."""
    return svr_score(brisque_features(img), model if model is not None else load_brisque_model())
