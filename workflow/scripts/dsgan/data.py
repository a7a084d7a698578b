"""One subject's slices: HR, the phantom's "real" LR (hidden kernel, misalignment, noise, x2), its NLM-denoised
version, and the GB and ZF training-set constructions; all scaled by each HR slice's maximum."""
import numpy as np

from mrsr.experiments.dsgan import data as D
from mrsr.io import read_nifti, save_npz
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = snakemake.params.cfg
ph = cfg["phantom"]
rng = np.random.default_rng([snakemake.params.seed, 12, snakemake.params.index])
image = read_nifti(snakemake.input.image).data
mask = read_nifti(snakemake.input.mask).data > 0.5
slices = D.select_slices(image, mask, int(cfg["slices_per_subject"]), float(cfg.get("min_brain", 0.3)))
kernel = D.anisotropic_gaussian(int(ph["kernel_size"]), ph["kernel_sigmas"], float(ph["kernel_theta_deg"]))
out = {k: [] for k in ("hr", "lr", "lr_nlm", "gb", "zf", "shift")}
for z in slices:
    hr = D.even_crop(image[..., z].astype(np.float64))
    hr = hr / max(float(hr.max()), 1e-12)
    shift = rng.uniform(-ph["max_shift_px"], ph["max_shift_px"], size=2)
    lr = D.real_lr(hr, kernel, shift, float(ph["noise_sd"]), rng)
    out["hr"].append(hr)
    out["lr"].append(lr)
    out["lr_nlm"].append(D.nlm(lr, cfg["nlm"]))
    out["gb"].append(D.gb_lr(hr, float(cfg["gb_sigma"])))
    out["zf"].append(D.zf_lr(hr, float(cfg["zf_fermi"]["radius"]), float(cfg["zf_fermi"]["width"])))
    out["shift"].append(shift)
arrays = {k: np.stack(v).astype(np.float32) for k, v in out.items()}
save_npz(snakemake.output[0], **arrays, kernel=kernel.astype(np.float32), slices=np.asarray(slices))
log.info("%s: %d slices %s, HR %s -> LR %s; noise s.d. %.3g", snakemake.wildcards.dsgan_subject, len(slices),
         slices, arrays["hr"].shape[1:], arrays["lr"].shape[1:], ph["noise_sd"])
