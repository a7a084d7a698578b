"""Preprocessing (Ravikumar et al., docs/experiments/field7to9.md, "Simulation and preprocessing"): N4, upsampling and registration with antspyx; percentile
clipping, [0, 1] + z-score normalisation; seeded train/val/test split by subject.

Geometry: arrays are (data, affine) pairs with a nibabel-style RAS voxel-to-world affine; ANTs images carry
origin/spacing/direction in ITK's LPS world, and to_ants/from_ants convert exactly (no shear allowed).

Threads: ITK reads ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS once, when the process creates its first ITK
object (even an image), and ignores later changes. So the first ANTs call made through this module sets
it to 1 (unless that call is n4/register with single_thread=False); a later single_thread=True request
after a multi-threaded start only warns. ANTs work done outside this module before it is not detected.
Verified with antspyx 0.6.3: one thread + a fixed seed gives bit-identical SyN output; the default (all
cores) does not. On 2 cores ITK's threading gave no measurable speed-up at the cohort's sizes.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_NORM_EPS = 1e-8
_LPS = np.diag([-1.0, -1.0, 1.0])
_THREADS_ENV = "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"
_itk_started_threads: str | None = None  # the env value when this module first touched ITK


def _start_itk(single_thread: bool = True) -> None:
    """Before this module's first ITK use, set one ITK thread if asked; warn if asked too late."""
    global _itk_started_threads
    if _itk_started_threads is None:
        if single_thread:
            os.environ[_THREADS_ENV] = "1"
        _itk_started_threads = os.environ.get(_THREADS_ENV, "default")
    elif single_thread and _itk_started_threads != "1":
        warnings.warn(
            "single_thread requested after ANTs/ITK already started multi-threaded in this process; "
            f"set {_THREADS_ENV}=1 before the first ANTs call for reproducible results",
            RuntimeWarning, stacklevel=3,
        )


def to_ants(data: np.ndarray, affine: np.ndarray):
    """A float32 ANTs image with the world geometry of (data, affine) (3-D, RAS affine without shear)."""
    import ants

    if _itk_started_threads is None:
        _start_itk(True)
    data = np.asarray(data, dtype=np.float32)
    affine = np.asarray(affine, dtype=np.float64)
    if data.ndim != 3 or affine.shape != (4, 4):
        raise ValueError(f"to_ants: expected 3-D data and a 4x4 affine, got {data.shape} and {affine.shape}")
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    direction = affine[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-5):
        raise ValueError(f"to_ants: the affine has shear, which ITK images cannot represent:\n{affine}")
    return ants.from_numpy(np.ascontiguousarray(data), origin=(_LPS @ affine[:3, 3]).tolist(),
                           spacing=spacing.tolist(), direction=_LPS @ direction)


def from_ants(image) -> tuple[np.ndarray, np.ndarray]:
    """(float32 data, RAS affine) of a 3-D ANTs image."""
    direction = np.asarray(image.direction, dtype=np.float64)
    affine = np.eye(4)
    affine[:3, :3] = _LPS @ direction * np.asarray(image.spacing, dtype=np.float64)
    affine[:3, 3] = _LPS @ np.asarray(image.origin, dtype=np.float64)
    return np.asarray(image.numpy(), dtype=np.float32), affine


def n4(
    data: np.ndarray,
    affine: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    shrink_factor: int = 2,
    iterations: Sequence[int] = (50, 50, 30),
    spline_param: float | Sequence[int] | None = None,
    tolerance: float = 1e-7,
    single_thread: bool = True,
) -> np.ndarray:
    """N4 bias-field correction (ants.n4_bias_field_correction), fitted inside `mask` if given (paper 5.2).

    Negative input is clipped to 0. One entry of `iterations` per fitting level. spline_param: ants'
    B-spline spacing (mm, scalar) or mesh size per axis; None = ants' default (mesh size 1).
    """
    import ants

    _start_itk(single_thread)
    image = to_ants(np.clip(data, 0.0, None), affine)
    ants_mask = None
    if mask is not None:
        if np.shape(mask) != np.shape(data):
            raise ValueError(f"n4: mask shape {np.shape(mask)} differs from the image's {np.shape(data)}")
        if not np.any(mask):
            raise ValueError("n4: the mask is empty (expected some brain voxels)")
        ants_mask = to_ants((np.asarray(mask) > 0).astype(np.float32), affine)
    corrected = ants.n4_bias_field_correction(
        image, mask=ants_mask, shrink_factor=int(shrink_factor), spline_param=spline_param,
        convergence={"iters": [int(i) for i in iterations], "tol": float(tolerance)},
    )
    return from_ants(corrected)[0]


def upsampled_grid(shape: Sequence[int], affine: np.ndarray,
                   factor: float | Sequence[float]) -> tuple[tuple[int, ...], np.ndarray]:
    """Shape and affine of factor x finer voxels (per axis; < 1 = coarser) covering exactly the same field of
    view; the shape times the factor must be whole."""
    factor = np.broadcast_to(np.asarray(factor, dtype=np.float64), (3,))
    new_shape = np.asarray(shape[:3], dtype=np.float64) * factor
    if np.any(np.abs(new_shape - np.round(new_shape)) > 1e-6) or np.any(new_shape < 1):
        raise ValueError(f"upsampled_grid: {tuple(shape[:3])} x {factor.tolist()} is not a whole number of voxels")
    fine = np.diag([*(1.0 / factor), 1.0])
    # new voxel k has its centre at old index -0.5 + (k + 0.5) / factor
    fine[:3, 3] = -0.5 + 0.5 / factor
    return tuple(int(round(n)) for n in new_shape), np.asarray(affine, dtype=np.float64) @ fine


def upsample(data: np.ndarray, affine: np.ndarray, factor: int, *,
             interpolation: str = "bSpline") -> tuple[np.ndarray, np.ndarray]:
    """Resample to factor x finer voxels over the same field of view (paper 5.2: 7T upsampled x2).

    ants.resample_image would keep the first voxel centre (shifting the field of view by half a coarse
    voxel), so the target grid is built explicitly and filled with ants.resample_image_to_target.
    """
    import ants

    if int(factor) != factor or factor < 1:
        raise ValueError(f"upsample: factor must be a positive integer, got {factor}")
    shape, fine_affine = upsampled_grid(np.shape(data), affine, int(factor))
    target = to_ants(np.zeros(shape, dtype=np.float32), fine_affine)
    fine = ants.resample_image_to_target(to_ants(data, affine), target, interp_type=interpolation)
    return fine.numpy().astype(np.float32), fine_affine


def register(
    moving: np.ndarray,
    moving_affine: np.ndarray,
    fixed: np.ndarray,
    fixed_affine: np.ndarray,
    *,
    seed: int,
    transform: str = "SyN",
    aff_iterations: Sequence[int] = (2100, 1200, 1200, 10),
    reg_iterations: Sequence[int] = (40, 20, 0),
    aff_shrink_factors: Sequence[int] | None = None,
    aff_smoothing_sigmas: Sequence[int] | None = None,
    single_thread: bool = True,
    onto: tuple[Sequence[int], np.ndarray] | None = None,
    label: str = "moving image",
    **options,
) -> np.ndarray:
    """Register moving to fixed with ants.registration and return the warped moving image on the fixed grid, or
    with onto = (shape, affine) on that grid (e.g. finer voxels in the fixed image's space; linear interpolation).

    transform: any ants type_of_transform; "SyN" = affine + deformable (paper 5.2: "affine + deformable"),
    "Affine", "Rigid", "AffineFast", "SyNRA", ... aff_iterations / reg_iterations: per level for the
    linear / SyN stages. The metric sampling is seeded (antsRegistration --random-seed, set through
    ants.config) and single_thread sets one ITK thread, yet antspyx 0.6.3 is not reproducible bit for bit:
    on the tiny run's N4-corrected phantom volumes (sub-01) two calls with the same seed, in one process or
    in two, differ for Rigid, Affine and SyN alike (also with the Platform or Pool threader and 100 %
    sampling): SyN output voxels by up to 0.053 (image max 0.25), 0.6-1.1e-3 on average inside the brain
    (0.5-0.9 % of its mean). Small synthetic volumes (tests/test_preprocess.py) do repeat exactly.
    Every result is checked: its normalised mutual information with the fixed image must not fall more than
    REGISTRATION_TOLERANCE below the unregistered image's; otherwise it is retried (seed + 1, then seed + 2 from
    the identity) and finally a ValueError names `label` (e.g. the subject) and the metric.
    Extra **options go to ants.registration.
    """
    import ants

    _start_itk(single_thread)
    aff_iterations = tuple(int(i) for i in aff_iterations)
    levels = len(aff_iterations)
    # ants' defaults (6,4,2,1)/(3,2,1,0) hold for 4 levels; other lengths get the same pattern's tail.
    if aff_shrink_factors is None:
        aff_shrink_factors = tuple(2 ** i for i in range(levels - 1, -1, -1)) if levels != 4 else (6, 4, 2, 1)
    if aff_smoothing_sigmas is None:
        aff_smoothing_sigmas = tuple(range(levels - 1, -1, -1)) if levels != 4 else (3, 2, 1, 0)
    fixed_img, moving_img = to_ants(fixed, fixed_affine), to_ants(moving, moving_affine)
    settings = dict(type_of_transform=transform, aff_iterations=aff_iterations,
                    aff_shrink_factors=tuple(aff_shrink_factors), aff_smoothing_sigmas=tuple(aff_smoothing_sigmas),
                    reg_iterations=tuple(int(i) for i in reg_iterations), **options)
    before = mutual_information(fixed, ants.resample_image_to_target(moving_img, fixed_img).numpy())
    # ants writes its transforms to files; they go into a folder that is removed with them
    with tempfile.TemporaryDirectory(prefix="mrsr-ants-") as workdir:
        return _register_checked(ants, fixed, fixed_img, moving_img, before, seed, settings, onto, label,
                                 Path(workdir))


def _register_checked(ants, fixed: np.ndarray, fixed_img, moving_img, before: float, seed: int, settings: dict,
                      onto: tuple[Sequence[int], np.ndarray] | None, label: str, workdir: Path) -> np.ndarray:
    """register's attempts and quality check, every ants output file under workdir."""
    tried = []
    # Quality check: a registration that leaves the images less similar than they were unregistered has diverged
    # (seen once: a rigid T1w-to-M0 fit ending with correlation 0.006). Retry with another seed, then from the
    # identity instead of the centres-of-mass alignment, then stop naming the image and the metric.
    for attempt, (attempt_seed, init) in enumerate(((seed, None), (seed + 1, None), (seed + 2, "identity"))):
        result = _ants_registration(ants, fixed_img, moving_img, attempt_seed, init,
                                    {**settings, "outprefix": f"{workdir}/attempt{attempt}_"})
        after = mutual_information(fixed, result["warpedmovout"].numpy())
        tried.append(f"seed {attempt_seed}{' from identity' if init else ''}: {after:.3f}")
        if after >= (1 - REGISTRATION_TOLERANCE) * before:
            if attempt:
                warnings.warn(f"register: {label}: registration diverged and was retried ({'; '.join(tried)}; "
                              f"unregistered {before:.3f})", stacklevel=3)
            break
    else:
        raise ValueError(f"register: {label}: registration diverged: normalised mutual information with the fixed "
                         f"image {'; '.join(tried)}, below the unregistered {before:.3f} by more than "
                         f"{REGISTRATION_TOLERANCE:.0%}")
    if onto is None:
        return result["warpedmovout"].numpy().astype(np.float32)
    target = to_ants(np.zeros(tuple(onto[0]), dtype=np.float32), onto[1])
    warped = ants.apply_transforms(fixed=target, moving=moving_img, transformlist=result["fwdtransforms"],
                                   interpolator="linear")
    return warped.numpy().astype(np.float32)


REGISTRATION_TOLERANCE = 0.05  # registered NMI may be this much (relative) below the unregistered one


def mutual_information(a: np.ndarray, b: np.ndarray, bins: int = 32) -> float:
    """Normalised mutual information (H(a) + H(b)) / H(a, b) of two images on one grid: 1 when independent, 2 when
    one determines the other; a contrast-independent similarity for checking registrations."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"mutual_information: images of {a.size} and {b.size} voxels; they must share a grid")
    joint, _, _ = np.histogram2d(a, b, bins=bins)
    p = joint / joint.sum()

    def entropy(q: np.ndarray) -> float:
        q = q[q > 0]
        return float(-(q * np.log(q)).sum())

    h_joint = entropy(p)
    return (entropy(p.sum(1)) + entropy(p.sum(0))) / h_joint if h_joint > 0 else 2.0


def _ants_registration(ants, fixed_img, moving_img, seed: int, initial_transform: str | None,
                       settings: dict) -> dict:
    """One ants.registration call under a given metric-sampling seed (restored afterwards)."""
    previous_seed = ants.config._random_seed
    ants.config._random_seed = int(seed)  # antspyx 0.6 passes it on as --random-seed
    try:
        return ants.registration(fixed=fixed_img, moving=moving_img, initial_transform=initial_transform,
                                 **settings)
    except ValueError as exc:
        raise ValueError(f"register: transform '{settings['type_of_transform']}' rejected by ants.registration: "
                         f"{exc}") from exc
    finally:
        ants.config._random_seed = previous_seed


def _values(data: np.ndarray, mask: np.ndarray | None, where: str) -> np.ndarray:
    """The voxels used for statistics: all, or those inside a non-empty mask of the same shape."""
    data = np.asarray(data)
    if mask is None:
        return data.ravel()
    if np.shape(mask) != data.shape:
        raise ValueError(f"{where}: mask shape {np.shape(mask)} differs from the image's {data.shape}")
    values = data[np.asarray(mask) > 0]
    if values.size == 0:
        raise ValueError(f"{where}: the mask is empty (expected some foreground voxels)")
    return values


def clip_bounds(data: np.ndarray, lo_pct: float = 0.1, hi_pct: float = 99.9,
                mask: np.ndarray | None = None) -> tuple[float, float]:
    """The intensities at the [lo_pct, hi_pct] percentiles (over the mask if given), as clip_scale uses them."""
    if not 0.0 <= lo_pct < hi_pct <= 100.0:
        raise ValueError(f"clip_scale: expected 0 <= lo_pct < hi_pct <= 100, got {lo_pct}, {hi_pct}")
    lo, hi = np.percentile(_values(data, mask, "clip_scale"), [lo_pct, hi_pct])
    if hi <= lo:
        raise ValueError(f"clip_scale: the {lo_pct}/{hi_pct} percentiles are equal ({lo}); the image is constant")
    return float(lo), float(hi)


def clip_scale(data: np.ndarray, lo_pct: float = 0.1, hi_pct: float = 99.9, out_max: float = 1000.0,
               mask: np.ndarray | None = None) -> np.ndarray:
    """Clip to the [lo_pct, hi_pct] percentiles (over the mask if given), scale to [0, out_max] (paper 5.2)."""
    lo, hi = clip_bounds(data, lo_pct, hi_pct, mask)
    return ((np.clip(data, lo, hi) - lo) * (out_max / (hi - lo))).astype(np.float32)


def unclip_scale(scaled: np.ndarray, bounds: tuple[float, float], out_max: float) -> np.ndarray:
    """Inverse of clip_scale's scaling: [0, out_max] -> [lo, hi] (clipped values stay at the bounds)."""
    lo, hi = bounds
    return (np.asarray(scaled, dtype=np.float64) * ((hi - lo) / out_max) + lo).astype(np.float32)


def background_fraction(data: np.ndarray) -> float:
    """Fraction of voxels below 10% of the 99th percentile: the air around a head (0 for a cropped brain)."""
    data = np.asarray(data)
    return float(np.mean(data < 0.1 * np.percentile(data, 99)))


def normalise_zscore(data: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Scale to [0, 1] by min/max, then z-score (paper 5.2); stats (min, max, mean, std) over the mask if given.

    apply_norm(other, stats) repeats the same transform; invert_norm undoes it.
    """
    values = _values(data, mask, "normalise_zscore").astype(np.float64)
    lo, hi = float(values.min()), float(values.max())
    unit = (values - lo) / max(hi - lo, _NORM_EPS)
    stats = {"min": lo, "max": hi, "mean": float(unit.mean()), "std": float(max(unit.std(), _NORM_EPS))}
    return apply_norm(data, stats), stats


def apply_norm(data: np.ndarray, stats: dict[str, float]) -> np.ndarray:
    """The transform of normalise_zscore with given stats: ((x - min)/(max - min) - mean)/std."""
    unit = (np.asarray(data, dtype=np.float64) - stats["min"]) / max(stats["max"] - stats["min"], _NORM_EPS)
    return ((unit - stats["mean"]) / stats["std"]).astype(np.float32)


def invert_norm(z: np.ndarray, stats: dict[str, float]) -> np.ndarray:
    """Inverse of apply_norm: z-score -> [0, 1] -> the original intensity range."""
    unit = np.asarray(z, dtype=np.float64) * stats["std"] + stats["mean"]
    return (unit * max(stats["max"] - stats["min"], _NORM_EPS) + stats["min"]).astype(np.float32)


SPLITS = ("train", "val", "test")


def split_counts(n: int, fractions: Sequence[float]) -> dict[str, int]:
    """Subjects per split: val and test = round-half-up(n * fraction), train the rest, with minimums.

    Every split with a positive fraction gets at least one subject when n allows it; if subjects run
    short, val gives way first, then test (train always keeps one). Examples at 70/20/10: 2 -> 1/0/1,
    3 -> 1/1/1, 6 -> 4/1/1, 10 -> 7/2/1, 44 -> 31/9/4 (the paper's 31 training specimens).
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not fractions[0] > 0:
        raise ValueError(f"split: expected three fractions (train > 0, val, test >= 0), got {list(fractions)}")
    total = float(sum(fractions))
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"split: fractions must sum to 1, got {list(fractions)} (sum {total})")
    minimum = 1 + (fractions[2] > 0)
    if n < minimum:
        raise ValueError(f"split: {n} subject(s) cannot fill train and test; need at least {minimum}")
    count = {s: int(np.floor(n * f + 0.5)) for s, f in zip(SPLITS, fractions)}
    for s, f in zip(SPLITS[1:], fractions[1:]):
        count[s] = max(count[s], 1) if f > 0 else 0
    while n - count["val"] - count["test"] < 1:  # train keeps one: val gives way first, then test
        count["val" if count["val"] > 0 else "test"] -= 1
    count["train"] = n - count["val"] - count["test"]
    return count


def split_subjects(subjects: Sequence[str], fractions: Sequence[float] = (0.7, 0.2, 0.1), *,
                   seed: int) -> dict[str, list[str]]:
    """Seeded split by subject into train/val/test (paper 5.2: 70/20/10 by specimen); see split_counts.

    Deterministic: the sorted ids are permuted by np.random.default_rng(seed), so the input order does not
    matter; each list is returned sorted.
    """
    subjects = [str(s) for s in subjects]
    if len(set(subjects)) != len(subjects):
        duplicates = sorted({s for s in subjects if subjects.count(s) > 1})
        raise ValueError(f"split: subject ids must be unique, repeated: {duplicates}")
    count = split_counts(len(subjects), fractions)
    order = [str(s) for s in np.random.default_rng(seed).permutation(sorted(subjects))]
    n_test, n_val = count["test"], count["val"]
    return {
        "train": sorted(order[n_test + n_val:]),
        "val": sorted(order[n_test:n_test + n_val]),
        "test": sorted(order[:n_test]),
    }
