"""One figure of Huang et al. (Figs 3-7) or the learned-kernel figure, from the first subject's first slice and the
first training seed (named in the title when there are several)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mrsr.experiments.dsgan import figures as F
from mrsr.experiments.dsgan.data import anisotropic_gaussian
from mrsr.figures import learning_curves
from mrsr.io import load_npz
from mrsr.runlog import log_to
from mrsr.experiments.dsgan.evaluate import kernel_report

log = log_to(snakemake.log[0])
cfg, name = snakemake.params.cfg, snakemake.wildcards.dsgan_figure
stem = Path(snakemake.output.png).with_suffix("")
seeds = list(snakemake.params.seeds)
of = f" of training seeds {', '.join(str(s) for s in seeds)}" if len(seeds) > 1 else ""
tag = f"({snakemake.params.preset} preset, seed {seeds[0]}{of}, {snakemake.params.subjects[0]} slice 0)"
d = load_npz(snakemake.input.data[0])
first = load_npz(snakemake.input.kernelgan[0])
hr, lr, nlm, gb = d["hr"][0], d["lr"][0], d["lr_nlm"][0], d["gb"][0]
dsgan_lr = first["lr"][0]
dsn_lr = load_npz(snakemake.input.dsn[0])[snakemake.params.subjects[0]][0]
ex = {Path(p).parent.parent.name: load_npz(p) for p in snakemake.input.examples}
if name == "fig3_gb_vs_real":
    F.image_row([("HR", hr), ("real LR", lr), ("real LR, NLM", nlm), ("GB (sigma 1.5) LR", gb),
                 ("DSGAN LR = G(HR)", dsgan_lr)], stem, f"Fig. 3: GB vs real LR {tag}", F.grey_window(hr))
elif name == "fig4_examples":
    srs = {"Bicubic": ex["bicubic"]["sr"], "ZF+EDSR": ex["zf"]["sr"], "GB+EDSR": ex["gb"]["sr"],
           "DSGAN+EDSR": ex["dsgan"]["sr"]}
    F.examples_figure(ex["bicubic"]["lr"], srs, ex["bicubic"]["hr"], stem, f"Fig. 4: SR of the real LR {tag}")
elif name == "fig5_mscn":
    F.mscn_figure({"real LR (NLM)": nlm, "DSGAN LR": dsgan_lr, "GB LR": gb}, stem,
                  f"Fig. 5: MSCN histograms (7x7, sigma 1) {tag}")
elif name == "fig6_profiles":
    F.profiles_figure(hr, {"real LR (NLM)": nlm, "DSN LR (proxy)": dsn_lr, "DSGAN LR": dsgan_lr}, lr.shape[0] // 2,
                      stem, f"Fig. 6: profiles through the middle row {tag}")
elif name == "fig7_dsn_vs_dsgan":
    F.examples_figure(ex["dsn"]["lr"], {"DSN+EDSR (proxy)": ex["dsn"]["sr"], "DSGAN+EDSR": ex["dsgan"]["sr"]},
                      ex["dsn"]["hr"], stem, f"Fig. 7: DSN vs DSGAN {tag}")
elif name == "kernels":
    learned = np.concatenate([load_npz(p)["kernels"] for p in snakemake.input.kernelgan])
    hidden = d["kernel"]
    gb_k = anisotropic_gaussian(hidden.shape[0], (cfg["gb_sigma"],) * 2, 0.0)
    known = bool(np.isfinite(hidden).all())  # acquired data: the truth is unknown
    report = kernel_report(hidden if known else None, learned, float(cfg["gb_sigma"]))
    dist = report["kernel_distance"].to_dict()
    raw = (f"raw sum {report.loc['dsgan', 'kernel_sum']:.3f}, centre of mass - target (row, col) "
           f"({report.loc['dsgan', 'phase_row']:+.2f}, {report.loc['dsgan', 'phase_col']:+.2f}) px")
    # learned kernels shown flipped (G correlates; the hidden kernel is convolved)
    F.kernels_figure(hidden if known else np.zeros_like(gb_k), np.flip(learned, (1, 2)), gb_k, dist, stem,
                     f"Learned vs hidden kernel (centred distance d; DSGAN {raw}) {tag}")
elif name == "learning_curves":
    names = ["ZF+EDSR", "GB+EDSR", "DSGAN+EDSR", "DSN+EDSR (proxy)", "DSN proxy (HR -> real LR)"]
    logs = {n: pd.read_csv(p) for n, p in zip(names, snakemake.input.logs)}
    records = {n: json.loads(Path(p).read_text()) for n, p in zip(names, snakemake.input.records)}
    learning_curves(logs, stem, title=f"Fold 0, seed {seeds[0]}: dashed = Bicubic (EDSR), HR resized (DSN)",
                    references={n: r["reference_val_mse"] for n, r in records.items()},
                    plateaus={n: r["plateau_update"] for n, r in records.items()})
else:
    raise ValueError(f"unknown dsgan figure {name!r}")
log.info("figure %s written", name)
