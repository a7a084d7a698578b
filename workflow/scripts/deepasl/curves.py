"""Learning curves of one DeepASL set: validation MSE against updates for every network (first fold and seed)."""
import json
from pathlib import Path

import pandas as pd

from mrsr.figures import learning_curves
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
labels = snakemake.params.labels
names = [labels[m] for m in snakemake.params.methods]
logs = {name: pd.read_csv(path) for name, path in zip(names, snakemake.input.logs)}
records = {name: json.loads(Path(path).read_text()) for name, path in zip(names, snakemake.input.records)}
dataset = snakemake.wildcards.deepasl_dataset
paths = learning_curves(logs, Path(snakemake.output.png).with_suffix(""),
                        title=f"DeepASL {dataset} set: validation MSE, held-out {snakemake.params.fold}, seed "
                              f"{snakemake.params.seed} (preset {snakemake.params.preset})",
                        references={n: r["reference_val_mse"] for n, r in records.items()},
                        plateaus={n: r["plateau_update"] for n, r in records.items()})
log.info("wrote %s", paths)
