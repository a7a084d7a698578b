"""One subject's slices: HR, the "real" LR (phantom: hidden kernel, misalignment, noise, x2; subject sheet: the
acquired LR registered to the HR and brought to half its resolution), its NLM-denoised version, and the GB and ZF
training-set constructions (phantom: also the hidden degradation's, the upper bound); all scaled by each HR slice's maximum."""
import numpy as np

from mrsr.experiments.dsgan import data as D
from mrsr.io import read_nifti, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
ph = cfg["phantom"]
rng = np.random.default_rng([snakemake.params.seed, 12, snakemake.params.index])
sheet = "hr" in snakemake.input.keys()
if sheet:
    hr_vol, lr_vol = read_nifti(snakemake.input.hr), read_nifti(snakemake.input.lr)
    image = hr_vol.data
    mask = read_nifti(snakemake.input.mask).data > 0.5 if "mask" in snakemake.input.keys() else D.default_mask(image)
    real = D.registered_lr_slices(lr_vol.data, lr_vol.affine, image, hr_vol.affine, seed=int(snakemake.params.seed),
                                  transform=cfg.get("registration", "SyN"),
                                  reg_iterations=cfg.get("reg_iterations", [40, 20, 0]))
    kernel = np.full((int(ph["kernel_size"]),) * 2, np.nan)  # unknown for acquired data
else:
    image = read_nifti(snakemake.input.image).data
    mask = read_nifti(snakemake.input.mask).data > 0.5
    kernel = D.acquisition_psf(int(ph["kernel_size"]), float(ph["kspace_fraction"]))
slices, val_slices = D.pick_slices(mask, int(cfg["slices_per_subject"]), int(cfg["val_slices_per_subject"]),
                                   float(cfg["slice_margin"]))
if len(slices) < int(cfg["slices_per_subject"]):  # said in the log and the tables' footer
    log.warning("%d slices asked, %d distinct ones in the brain's interior: using %d", int(cfg["slices_per_subject"]),
                len(slices), len(slices))


def slice_arrays(z: int, *, constructions: bool) -> dict[str, np.ndarray]:
    """HR slice z scaled by its maximum, its real LR (and NLM-denoised), the GB and ZF constructions if asked."""
    hr = D.even_crop(image[..., z].astype(np.float64))
    peak = max(float(hr.max()), 1e-12)
    hr = hr / peak
    if sheet:
        shift, lr = np.zeros(2), real[..., z] / peak
    else:
        shift = rng.uniform(-ph["max_shift_px"], ph["max_shift_px"], size=2)
        lr = D.real_lr(hr, kernel, shift, float(ph["noise_sd"]), rng)
    out = {"hr": hr, "lr": lr, "lr_nlm": D.nlm(lr, cfg["nlm"]), "shift": shift}
    if constructions:
        out["gb"] = D.gb_lr(hr, float(cfg["gb_sigma"]))
        out["zf"] = D.zf_lr(hr, float(cfg["zf_fermi"]["radius"]), float(cfg["zf_fermi"]["width"]))
        if not sheet:  # the upper bound: the hidden degradation itself (unknown for acquired data)
            out["hidden"] = D.hidden_lr(hr, kernel)
    return out


def stacked(rows: list[dict[str, np.ndarray]], prefix: str = "") -> dict[str, np.ndarray]:
    return {prefix + k: np.stack([r[k] for r in rows]).astype(np.float32) for k in rows[0]}


# slices: training data when the subject is in a fold's training set, test data when held out; validation slices
# (other slices of the same subject): only ever used as held-out validation of the folds that train on the subject
arrays = stacked([slice_arrays(z, constructions=True) for z in slices])
if val_slices:
    arrays |= stacked([slice_arrays(z, constructions=False) for z in val_slices], "val_")
save_npz(snakemake.output[0], **arrays, kernel=kernel.astype(np.float32), slices=np.asarray(slices),
         val_slices=np.asarray(val_slices, dtype=np.int64))
log.info("%s (%s): %d slices %s, validation slices %s, HR %s -> LR %s", snakemake.wildcards.dsgan_subject,
         "sheet" if sheet else "phantom", len(slices), slices, val_slices, arrays["hr"].shape[1:], arrays["lr"].shape[1:])
