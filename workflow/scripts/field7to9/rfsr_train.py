"""Train RFSR (random forest on residuals) on HR training patches (paper 6.1)."""
import numpy as np

from mrsr.experiments.field7to9.data import load_training_data
from mrsr.experiments.field7to9.rfsr import fit_rfsr, save_rfsr
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
cfg = snakemake.params.rfsr
seed = int(snakemake.wildcards.seed)
train = load_training_data(snakemake.input.train)
rng = np.random.default_rng(seed)
pick = rng.choice(len(train.hr), size=min(cfg["n_patches"], len(train.hr)), replace=False)
model = fit_rfsr(
    train.hr[pick, 0], n_estimators=cfg["n_estimators"], max_depth=cfg["max_depth"], seed=seed,
    n_jobs=snakemake.threads, factor=cfg.get("factor", 2),
)
save_rfsr(snakemake.output[0], model, {"n_patches": len(pick), **cfg})
log.info("RFSR: %d trees, depth %d, %d patches", cfg["n_estimators"], cfg["max_depth"], len(pick))
