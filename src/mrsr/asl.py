"""pCASL: the Buxton single-compartment model (CBF quantification, eq. 1 of Ulas et al., and its inverse), Buxton
et al.'s (1998) general kinetic model, control/label simulation, noise levels, and DeepASL training samples.

Units: times in seconds, CBF in ml/100g/min, signals in arbitrary units with M0 (SI_PD) on the same scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# Consensus pCASL constants (Alsop et al. 2015, the paper's ref. [2]).
ALPHA = 0.85  # labelling efficiency
T1_BLOOD = 1.65  # s, blood T1 at 3 T
PARTITION = 0.9  # ml/g, brain-blood partition coefficient (beta in the paper's eq. 1)


@dataclass(frozen=True)
class Kinetics:
    """Constants of the paper's eq. (1): label duration tau, post-label delay, and the consensus values."""

    tau: float
    pld: float
    alpha: float = ALPHA
    t1_blood: float = T1_BLOOD
    partition: float = PARTITION

    @classmethod
    def from_config(cls, cfg: Mapping[str, float]) -> Kinetics:
        """Build from a mapping with keys tau, pld[, alpha, t1_blood, partition]."""
        return cls(**{k: float(v) for k, v in cfg.items() if k in cls.__dataclass_fields__})

    @property
    def factor(self) -> float:
        """CBF = factor * dM / M0 (paper eq. 1 without dM and SI_PD)."""
        num = 6000.0 * self.partition * math.exp(self.pld / self.t1_blood)
        den = 2.0 * self.alpha * self.t1_blood * (1.0 - math.exp(-self.tau / self.t1_blood))
        return num / den


def cbf_scale(m0: np.ndarray, kin: Kinetics, mask: np.ndarray | None = None, min_m0: float = 1e-6) -> np.ndarray:
    """Per-voxel factor s with CBF = s * dM: kin.factor / M0 where M0 > min_m0 (and in mask), else 0."""
    m0 = np.asarray(m0, dtype=np.float64)
    ok = m0 > min_m0
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)
    out = np.zeros_like(m0)
    out[ok] = kin.factor / m0[ok]
    return out.astype(np.float32)


def quantify_cbf(dm: np.ndarray, m0: np.ndarray, kin: Kinetics, mask: np.ndarray | None = None) -> np.ndarray:
    """CBF (ml/100g/min) from the perfusion-weighted image dM and SI_PD (M0): the paper's eq. (1)."""
    return (np.asarray(dm, dtype=np.float32) * cbf_scale(m0, kin, mask)).astype(np.float32)


def perfusion_signal(cbf: np.ndarray, m0: np.ndarray, kin: Kinetics) -> np.ndarray:
    """dM = control - label of the Buxton model: the inverse of quantify_cbf."""
    return (np.asarray(cbf, dtype=np.float64) * np.asarray(m0, dtype=np.float64) / kin.factor).astype(np.float32)


def pcasl_general_signal(cbf: np.ndarray, att: np.ndarray, t1_tissue: np.ndarray, tau: float, pld: float, *,
                         alpha: float = ALPHA, t1_blood: float = T1_BLOOD, partition: float = PARTITION,
                         m0: np.ndarray | float = 1.0) -> np.ndarray:
    """dM = control - label of Buxton et al.'s (1998) general kinetic model for (p)CASL, read at t = tau + pld.

    Plug-flow delivery c(t) = alpha e^(-att/T1b) for att <= t < att + tau (0 otherwise), instant exchange
    with residue e^(-f t / lambda) and tissue relaxation e^(-t / T1), so with 1/T1' = 1/T1 + f/lambda:
      t < att:                  dM = 0
      att <= t < att + tau:     dM = 2 M0b f T1' alpha e^(-att/T1b) (1 - e^(-(t - att)/T1'))
      t >= att + tau:           dM = 2 M0b f T1' alpha e^(-att/T1b) e^(-(t - tau - att)/T1') (1 - e^(-tau/T1'))
    with M0b = M0 / lambda (m0: tissue M0, SI_PD) and f = cbf / 6000 in ml/g/s (cbf in ml/100g/min, times
    in s; arrays broadcast, scalars work). With T1' = T1b and att <= pld it reduces to the inverse of eq. (1),
    `perfusion_signal`. Voxels with cbf <= 0 give 0; t1_tissue must be > 0 wherever cbf > 0.
    """
    cbf, att, t1, m0 = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (cbf, att, t1_tissue, m0)))
    flowing = cbf > 0
    if np.any(flowing & ~(t1 > 0)):
        raise ValueError("pcasl_general_signal: t1_tissue must be > 0 wherever cbf > 0")
    f = np.where(flowing, cbf, 0.0) / 6000.0
    t1p = 1.0 / (1.0 / np.where(flowing, t1, 1.0) + f / partition)
    t = float(tau) + float(pld)
    amplitude = 2.0 * (m0 / partition) * f * t1p * alpha * np.exp(-att / t1_blood)
    arriving = amplitude * (1.0 - np.exp(-np.maximum(t - att, 0.0) / t1p))
    arrived = amplitude * np.exp(-np.maximum(t - tau - att, 0.0) / t1p) * (1.0 - np.exp(-tau / t1p))
    out = np.where(t < att, 0.0, np.where(t < att + tau, arriving, arrived))
    return np.where(flowing, out, 0.0).astype(np.float32)


# ---------------------------------------------------------------- acquisition grid


def resample_to_grid(volume: np.ndarray, voxel_in: Sequence[float], voxel_out: Sequence[float],
                     shape_out: Sequence[int], order: int = 1) -> np.ndarray:
    """Resample a volume to an anisotropic grid of shape_out centred on the input's centre.

    Before linear interpolation, each axis is box-averaged over the output voxel extent (Gaussian with
    the same variance), so coarse voxels integrate their content as a real acquisition does.
    """
    volume = np.asarray(volume, dtype=np.float32)
    ratio = np.asarray(voxel_out, float) / np.asarray(voxel_in, float)
    sigma = np.sqrt(np.maximum(ratio**2 - 1.0, 0.0) / 12.0)
    smooth = ndimage.gaussian_filter(volume, sigma) if np.any(sigma > 0) else volume
    centre_in = (np.asarray(volume.shape) - 1) / 2.0
    centre_out = (np.asarray(shape_out) - 1) / 2.0
    offset = centre_in - ratio * centre_out
    return ndimage.affine_transform(smooth, np.diag(ratio), offset=offset, output_shape=tuple(shape_out),
                                    order=order, mode="constant", cval=0.0).astype(np.float32)


def gaussian_fwhm(volume: np.ndarray, fwhm_mm: float, voxel_mm: Sequence[float], axes: Sequence[int]) -> np.ndarray:
    """Gaussian smoothing with the given FWHM (mm) along `axes` only (the paper's 4 mm step; in-plane)."""
    if fwhm_mm <= 0:
        return np.asarray(volume, dtype=np.float32)
    sigma = [0.0] * volume.ndim
    for ax in axes:
        sigma[ax] = fwhm_mm / (2.0 * math.sqrt(2.0 * math.log(2.0))) / float(voxel_mm[ax])
    return ndimage.gaussian_filter(np.asarray(volume, dtype=np.float32), sigma).astype(np.float32)


# ---------------------------------------------------------------- simulation


def control_label(m0: np.ndarray, dm: np.ndarray, n_pairs: int, sigma: float | np.ndarray,
                  rng: np.random.Generator, motion_mm: float = 0.0,
                  voxel_mm: Sequence[float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Control - label of n_pairs repetitions: control = M0 + noise, label = M0 - dM + noise.

    Gaussian noise of s.d. sigma (scalar or voxel-wise map) is drawn independently for every control and
    label image. motion_mm > 0 shifts each pair (control and label together) by its own random in-plane
    translation (s.d. motion_mm per axis): residual motion between pairs left after motion correction.
    assumption: no motion within a pair (without background suppression, a shift between control and label
    of the full M0 signal would swamp dM at every tissue edge).
    """
    m0 = np.asarray(m0, dtype=np.float32)
    dm = np.asarray(dm, dtype=np.float32)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float32), m0.shape)
    out = np.empty((n_pairs, *m0.shape), dtype=np.float32)
    for r in range(n_pairs):
        control = m0 + sigma * rng.standard_normal(m0.shape, dtype=np.float32)
        label = m0 - dm + sigma * rng.standard_normal(m0.shape, dtype=np.float32)
        out[r] = control - label
        if motion_mm > 0:
            out[r] = _shift_in_plane(out[r], motion_mm, voxel_mm, rng)
    return out


def _shift_in_plane(volume: np.ndarray, sd_mm: float, voxel_mm: Sequence[float],
                    rng: np.random.Generator) -> np.ndarray:
    """Translate a (Z, Y, X) volume by a random in-plane shift (s.d. sd_mm per axis), linear interpolation."""
    shift = [0.0, *(rng.normal(0.0, sd_mm) / float(voxel_mm[ax]) for ax in (1, 2))]
    return ndimage.shift(volume, shift, order=1, mode="nearest").astype(np.float32)


def noise_sigma(dm_gm: float, pair_snr: float) -> float:
    """Per-image noise s.d. giving single-pair perfusion SNR pair_snr in GM: dM_GM / (sqrt(2) sigma)."""
    if pair_snr <= 0:
        raise ValueError(f"pair_snr: expected > 0, got {pair_snr}")
    return float(dm_gm / (math.sqrt(2.0) * pair_snr))


def noise_level_means(pairs: np.ndarray, fractions: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """(L, Z, Y, X): for each fraction, the mean of a random subset of round(fraction * R) pairs (>= 1)."""
    n = len(pairs)
    out = []
    for frac in fractions:
        k = max(1, int(round(float(frac) * n)))
        pick = np.sort(rng.choice(n, size=k, replace=False))
        out.append(pairs[pick].mean(axis=0))
    return np.stack(out).astype(np.float32)


def drop_end_slices(volume: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Remove n slices at each end of `axis` (the paper drops the top and bottom slice)."""
    if n <= 0:
        return volume
    if volume.shape[axis] <= 2 * n:
        raise ValueError(f"cannot drop {n} slices at each end of an axis with {volume.shape[axis]} slices")
    return np.take(volume, np.arange(n, volume.shape[axis] - n), axis=axis)


# ---------------------------------------------------------------- training samples


def rigid_variants(n: int) -> list[tuple[int, bool]]:
    """The first n of the 8 exact rigid in-plane transforms (k * 90 degree rotation, optional flip)."""
    if not 1 <= n <= 8:
        raise ValueError(f"augmentations: expected 1..8 rigid variants, got {n}")
    return [(k, flip) for flip in (False, True) for k in range(4)][:n]


def apply_rigid(slices: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Rotate (..., H, W) by k * 90 degrees, then flip left-right if asked."""
    out = np.rot90(slices, k, axes=(-2, -1))
    return np.ascontiguousarray(out[..., ::-1] if flip else out)


def grid_patches(image: np.ndarray, size: int) -> np.ndarray:
    """Non-overlapping size x size patches of (..., H, W), zero-padded up to multiples of size: (P, ..., s, s)."""
    h, w = image.shape[-2:]
    ph, pw = -(-h // size) * size, -(-w // size) * size
    pad = [(0, 0)] * (image.ndim - 2) + [(0, ph - h), (0, pw - w)]
    padded = np.pad(image, pad)
    tiles = [padded[..., i:i + size, j:j + size] for i in range(0, ph, size) for j in range(0, pw, size)]
    return np.stack(tiles)


def training_patches(noisy: np.ndarray, clean: np.ndarray, ref_cbf: np.ndarray, scale: np.ndarray,
                     mask: np.ndarray, *, size: int, augmentations: int,
                     min_brain: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patches of one subject: input dM_n (N,1,s,s), target residual N = dM_n - dM_c (N,1,s,s) and
    aux (N,3,s,s) = [reference CBF f_t, CBF scale (CBF = scale * dM), brain mask].

    noisy: (L, Z, H, W) noise levels; the others (Z, H, W). Every slice of every level goes through each
    rigid variant, then a non-overlapping grid; patches with brain fraction < min_brain are dropped.
    """
    levels = noisy.shape[0]
    stack = np.concatenate([noisy, np.broadcast_to(clean, noisy.shape[1:])[None], ref_cbf[None], scale[None],
                            mask[None].astype(np.float32)])  # (L + 4, Z, H, W)
    xs, ys, auxs = [], [], []
    for k, flip in rigid_variants(augmentations):
        tiles = grid_patches(apply_rigid(stack, k, flip), size)  # (P, L + 4, Z, s, s)
        tiles = np.moveaxis(tiles, 2, 1).reshape(-1, levels + 4, size, size)  # (P*Z, L + 4, s, s)
        brain = tiles[:, -1].mean(axis=(1, 2))
        tiles = tiles[brain >= max(min_brain, 1e-9)]
        for lev in range(levels):
            xs.append(tiles[:, lev:lev + 1])
            ys.append(tiles[:, lev:lev + 1] - tiles[:, levels:levels + 1])
            auxs.append(tiles[:, levels + 1:])
    cat = lambda parts: np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)  # noqa: E731
    return cat(xs), cat(ys), cat(auxs)


def subsample(rng: np.random.Generator, n_total: int, n_keep: int | None) -> np.ndarray:
    """Sorted random indices of min(n_keep, n_total) samples (all when n_keep is None)."""
    if n_keep is None or n_keep >= n_total:
        return np.arange(n_total)
    return np.sort(rng.choice(n_total, size=n_keep, replace=False))
