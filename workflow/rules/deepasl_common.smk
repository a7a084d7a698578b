# Ulas et al. 2018, DeepASL: pCASL simulation (synthetic and real-like sets), leave-one-subject-out
# training of Dilated Conv and DeepASL (PR-lambda), evaluation, Table 1 and Figures 2-4.
# Wildcards: deepasl_subject, deepasl_dataset, deepasl_method, deepasl_fold, deepasl_figure (and the shared seed).
# Globals, wildcard constraints and input functions of workflow/rules/deepasl.smk.
from mrsr.sheets import read_sheet


def deepasl_final_outputs() -> list[str]:
    """Table 1 (csv/md/tex + paired tests) and the figures whose dataset is built."""
    outs = expand(f"{ASL_DIR}/tables/table1.{{ext}}", ext=["csv", "md", "tex"])
    outs += [f"{ASL_DIR}/tables/table1_tests.tsv", f"{ASL_DIR}/claims.csv"]
    outs += expand(
        f"{ASL_DIR}/figures/learning_curves_{{d}}.{{ext}}",
        d=ASL_DATASETS,
        ext=["png", "pdf"],
    )
    figures = [f for f, s in ASL_FIGURES.items() if s["dataset"] in ASL_DATASETS]
    outs += expand(
        f"{ASL_DIR}/figures/{{deepasl_figure}}.{{ext}}",
        deepasl_figure=figures,
        ext=["png", "pdf"],
    )
    return outs


DEEPASL = register_experiment(
    "deepasl", deepasl_final_outputs, uses_cohort=lambda: ASL_SHEET is None
)
ASL_DIR = "results/deepasl"
ASL_SHEET = (
    read_sheet(
        DEEPASL["subject_sheet"],
        schema=SCHEMAS / "deepasl_sheet.schema.yaml",
        file_columns=("asl", "aslcontext", "m0", "t1w", "mask", "gm", "wm"),
    )
    if DEEPASL["subject_sheet"]
    else None
)
ASL_SUBJECTS = (
    list(ASL_SHEET) if ASL_SHEET else phantom_subjects()[: int(DEEPASL["n_subjects"])]
)
# Synthetic data need GM/WM maps: always for the phantom, only if every sheet row gives them.
ASL_DATASETS = (
    ["synthetic", "real"]
    if ASL_SHEET is None or all(r.get("gm") and r.get("wm") for r in ASL_SHEET.values())
    else ["real"]
)
# What the footer and the scorecard say the data are.
ASL_DATA = (
    "phantom cohort (simulated pCASL: synthetic and real-like sets)"
    if ASL_SHEET is None
    else f"subject sheet {DEEPASL['subject_sheet']} (real set: its acquired pCASL"
    + (
        "; synthetic set: simulated from its M0 and GM/WM maps)"
        if "synthetic" in ASL_DATASETS
        else ")"
    )
)
ASL_HELDOUT = (
    ASL_SUBJECTS[: int(DEEPASL["folds"])] if DEEPASL["folds"] else list(ASL_SUBJECTS)
)
ASL_METHODS = list(DEEPASL["methods"])
# Cohort maps a phantom subject's sets are simulated from (ATT and tissue T1: the general kinetic model).
ASL_COHORT_MAPS = ("pd", "gm", "wm", "cbf", "mask", "att", "t1map")
ASL_LABELS = {k: m["label"] for k, m in DEEPASL["methods"].items()}
# Paper figures: kind, dataset, fraction of pairs, methods shown (unconfigured ones are skipped).
ASL_FIGURES = {
    "fig2_synthetic": {
        "kind": "images",
        "dataset": "synthetic",
        "fraction": 0.2,
        "title": "Fig. 2",
    },
    "fig3_real": {
        "kind": "images",
        "dataset": "real",
        "fraction": 0.4,
        "title": "Fig. 3",
    },
    # assumption: Fig. 4 uses the real set at 40% of pairs (the paper names neither)
    "fig4_bland_altman": {
        "kind": "bland_altman",
        "dataset": "real",
        "fraction": 0.4,
        "title": "Fig. 4 (GM CBF)",
    },
}
ASL_FIGURE_METHODS = [m for m in ("averaging", "dilated", "pr_02") if m in ASL_METHODS]


wildcard_constraints:
    deepasl_subject="|".join(ASL_SUBJECTS),
    deepasl_fold="|".join(ASL_SUBJECTS),
    deepasl_dataset="synthetic|real",
    deepasl_method="|".join(ASL_METHODS),
    deepasl_figure="|".join(ASL_FIGURES),


def deepasl_maps(wildcards) -> dict[str, str]:
    """Cohort maps of a phantom subject; nothing for a subject-sheet subject (read via params)."""
    if ASL_SHEET:
        return {}
    return {
        k: f"results/cohort/{wildcards.deepasl_subject}/{k}.nii.gz"
        for k in ASL_COHORT_MAPS
    }


def deepasl_sheet_files(wildcards) -> list[str]:
    """The subject sheet's files of one subject (so edits retrigger the rule)."""
    if not ASL_SHEET:
        return []
    return [v for k, v in ASL_SHEET[wildcards.deepasl_subject].items() if k != "t1w"]


def deepasl_sheet_row(wildcards) -> dict:
    """The subject-sheet row, or an empty dict for phantom subjects."""
    return dict(ASL_SHEET[wildcards.deepasl_subject]) if ASL_SHEET else {}


def deepasl_subject_index(wildcards) -> int:
    """Position of the subject (seeds its random stream)."""
    return ASL_SUBJECTS.index(wildcards.deepasl_subject)


def deepasl_train_data(wildcards) -> list[str]:
    """Data of every subject but the held-out one."""
    return expand(
        f"{ASL_DIR}/data/{wildcards.deepasl_dataset}/{{s}}.npz",
        s=[s for s in ASL_SUBJECTS if s != wildcards.deepasl_fold],
    )


def deepasl_method_entry(wildcards) -> dict:
    """The config entry of a method."""
    return DEEPASL["methods"][wildcards.deepasl_method]


def deepasl_inference_settings(wildcards) -> dict:
    """What `mrsr apply` needs to prepare a new ASL series as this model's dataset was prepared."""
    return {
        "dataset": wildcards.deepasl_dataset,
        "patch_size": (
            DEEPASL["patch_size"] if DEEPASL["inference"] == "patch" else None
        ),
        "smooth_fwhm_mm": float(DEEPASL[wildcards.deepasl_dataset]["smooth_fwhm_mm"]),
        "normalise": "dM and M0 scaled so the brain-mean M0 is 100",
        "output": "denoised mean control - label (dM)",
    }


def deepasl_trained_on(wildcards) -> dict:
    """The training data of a model, for `mrsr apply`'s warnings (the phantom's in-plane grid)."""
    found = {
        "data": ASL_DATA,
        "experiment": "deepasl",
        "contrast": "pCASL perfusion (dM)",
    }
    if ASL_SHEET is None:
        found["voxel_mm"] = [float(DEEPASL["grid"]["inplane_mm"])] * 2
    return found


def deepasl_fold_models(wildcards) -> list[str]:
    """One model per held-out subject; none for Averaging (no network)."""
    if not DEEPASL["methods"][wildcards.deepasl_method].get("generator"):
        return []
    return expand(
        f"{ASL_DIR}/models/{wildcards.deepasl_dataset}/{wildcards.deepasl_method}/fold-{{f}}/seed-{wildcards.seed}/model.pt",
        f=ASL_HELDOUT,
    )


def deepasl_heldout_data(wildcards) -> list[str]:
    """Data of the held-out subjects, in fold order."""
    return expand(
        f"{ASL_DIR}/data/{wildcards.deepasl_dataset}/{{s}}.npz", s=ASL_HELDOUT
    )


def deepasl_gpu(wildcards) -> int:
    """1 for network methods, 0 for Averaging."""
    return 1 if DEEPASL["methods"][wildcards.deepasl_method].get("generator") else 0


def deepasl_runs_on(method: str, dataset: str) -> bool:
    """The method runs on the set: every built set, or those of its `datasets` list."""
    return dataset in DEEPASL["methods"][method].get("datasets", ASL_DATASETS)


def deepasl_seeds(method: str) -> list[int]:
    """Training seeds a method is evaluated with: all for a network; the data seed for Averaging (no network:
    computed once, shared by every seed's table)."""
    return SEEDS if DEEPASL["methods"][method].get("generator") else [SEED]


def deepasl_metric_files(wildcards) -> list[str]:
    """Metrics of every method on every built dataset, a network's once per training seed."""
    return [
        f"{ASL_DIR}/eval/{dataset}/{m}/seed-{seed}/metrics.tsv"
        for dataset in ASL_DATASETS
        for m in ASL_METHODS
        if deepasl_runs_on(m, dataset)
        for seed in deepasl_seeds(m)
    ]


def deepasl_figure_inputs(wildcards) -> list[str]:
    """Example arrays of the methods a figure shows (networks: the first training seed)."""
    dataset = ASL_FIGURES[wildcards.deepasl_figure]["dataset"]
    return [
        f"{ASL_DIR}/eval/{dataset}/{m}/seed-{deepasl_seeds(m)[0]}/examples.npz"
        for m in ASL_FIGURE_METHODS
    ]


def deepasl_figure_spec(wildcards) -> dict:
    """Kind, dataset, fraction and methods of a figure."""
    return {**ASL_FIGURES[wildcards.deepasl_figure], "methods": ASL_FIGURE_METHODS}


def deepasl_trained() -> list[str]:
    """Methods with a network (trained), in config order."""
    return [m for m in ASL_METHODS if DEEPASL["methods"][m].get("generator")]


def deepasl_record_files(wildcards) -> list[str]:
    """Training record of every trained model: dataset x network x held-out fold x seed."""
    return [
        f"{ASL_DIR}/models/{d}/{m}/fold-{f}/seed-{s}/loss.json"
        for d in ASL_DATASETS
        for m in deepasl_trained()
        if deepasl_runs_on(m, d)
        for f in ASL_HELDOUT
        for s in SEEDS
    ]


def deepasl_curve_logs(wildcards) -> list[str]:
    """Training logs the learning-curve figure draws: every network of the set, first fold and seed."""
    return [
        f"{ASL_DIR}/models/{wildcards.deepasl_dataset}/{m}/fold-{ASL_HELDOUT[0]}/seed-{SEEDS[0]}/loss.csv"
        for m in deepasl_trained()
        if deepasl_runs_on(m, wildcards.deepasl_dataset)
    ]


def deepasl_curve_methods(wildcards) -> list[str]:
    """The networks of the set's learning-curve figure (those that run on it)."""
    return [
        m for m in deepasl_trained() if deepasl_runs_on(m, wildcards.deepasl_dataset)
    ]


def deepasl_curve_records(wildcards) -> list[str]:
    """The training records beside deepasl_curve_logs (no-model reference, plateau)."""
    return [p.removesuffix(".csv") + ".json" for p in deepasl_curve_logs(wildcards)]
