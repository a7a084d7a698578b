# Globals, wildcard constraints and input functions of workflow/rules/dsgan.smk.
from mrsr.sheets import read_sheet


def dsgan_final_outputs() -> list[str]:
    """Tables 2 and 3 (csv/md/tex), the t-test, the kernel report, claims and every figure."""
    outs = expand(
        f"{DSGAN_DIR}/tables/{{t}}.{{ext}}",
        t=["table2", "table3"],
        ext=["csv", "md", "tex"],
    )
    outs += [
        f"{DSGAN_DIR}/tables/ttest_gb_vs_dsgan.tsv",
        f"{DSGAN_DIR}/tables/kernels.tsv",
        f"{DSGAN_DIR}/claims.csv",
    ]
    outs += expand(
        f"{DSGAN_DIR}/figures/{{dsgan_figure}}.{{ext}}",
        dsgan_figure=DSGAN_FIGURES,
        ext=["png", "pdf"],
    )
    return outs


DSGAN = register_experiment(
    "dsgan", dsgan_final_outputs, uses_cohort=lambda: DSGAN_SHEET is None
)
DSGAN_DIR = "results/dsgan"
DSGAN_SHEET = (
    read_sheet(
        DSGAN["subject_sheet"],
        schema=SCHEMAS / "dsgan_sheet.schema.yaml",
        file_columns=("lr", "hr", "mask"),
    )
    if DSGAN["subject_sheet"]
    else None
)
if DSGAN_SHEET is None and int(DSGAN["n_subjects"]) > int(
    config["cohort"]["n_subjects"]
):
    raise ValueError(
        f"config key 'dsgan.n_subjects' ({DSGAN['n_subjects']}) exceeds 'cohort.n_subjects' ({config['cohort']['n_subjects']})"
    )
DSGAN_SUBJECTS = (
    list(DSGAN_SHEET) if DSGAN_SHEET else phantom_subjects()[: int(DSGAN["n_subjects"])]
)
DSGAN_FOLDS = [str(i) for i in range(int(DSGAN["folds"]))]
if len(DSGAN_SUBJECTS) < int(DSGAN["folds"]):
    raise ValueError(
        "config key 'dsgan.folds' exceeds 'dsgan.n_subjects': every fold needs a held-out subject"
    )
# Training-set constructions (each trains its own EDSR) and the evaluated methods (+ the Bicubic reference).
DSGAN_COMPARED = ["zf", "gb", "dsgan", "dsn"]
# the upper bound: EDSR on pairs made with the phantom's hidden degradation (acquired data have none)
DSGAN_UPPER = ["hidden"] if DSGAN_SHEET is None else []
DSGAN_CONSTRUCTIONS = [*DSGAN_COMPARED, *DSGAN_UPPER]
DSGAN_METHODS = ["bicubic", *DSGAN_CONSTRUCTIONS]
DSGAN_FIGURES = [
    "fig3_gb_vs_real",
    "fig4_examples",
    "fig5_mscn",
    "fig6_profiles",
    "fig7_dsn_vs_dsgan",
    "kernels",
    "learning_curves",
]
DSGAN_DATA_LABEL = (
    (
        f"phantom cohort ({DSGAN['contrast']} axial slices of the brain, not the paper's liver), "
        "'real' LR by a hidden kernel (the LR scan's k-space truncation PSF), misalignment and noise"
    )
    if DSGAN_SHEET is None
    else f"subject sheet {DSGAN['subject_sheet']}"
)


def dsgan_inference_settings() -> dict:
    """What `mrsr apply` needs to treat a new LR scan as the test slices were treated (EDSR models)."""
    return {
        "slice_axis": 2,  # axial slices of the volumes (scripts/dsgan/data.py)
        "upsample_factor": 2,
        "normalise": "each slice by its maximum",
        "denoise": bool(DSGAN.get("denoise_test_input", True)),
        "nlm": dict(DSGAN["nlm"]),
    }


def dsgan_trained_on() -> dict:
    """The training data of dsgan's EDSR models, for `mrsr apply`'s warnings (the HR grid's voxels, phantom only)."""
    found = {"data": DSGAN_DATA_LABEL, "experiment": "dsgan"}
    if DSGAN_SHEET is None:
        voxel = float(config["cohort"]["voxel_mm"])
        found.update(contrast=DSGAN["contrast"], voxel_mm=[voxel, voxel])
    return found


wildcard_constraints:
    dsgan_subject="|".join(DSGAN_SUBJECTS),
    dsgan_fold="|".join(DSGAN_FOLDS),
    dsgan_construction="|".join(DSGAN_CONSTRUCTIONS),
    dsgan_method="|".join(DSGAN_METHODS),
    dsgan_figure="|".join(DSGAN_FIGURES),


def dsgan_fold_of(subject: str) -> str:
    """Cross-validation fold of a subject (subjects dealt round-robin)."""
    return str(DSGAN_SUBJECTS.index(subject) % int(DSGAN["folds"]))


def dsgan_split(fold: str) -> tuple[list[str], list[str]]:
    """(training subjects, held-out subjects) of a fold."""
    test = [s for s in DSGAN_SUBJECTS if dsgan_fold_of(s) == fold]
    return [s for s in DSGAN_SUBJECTS if s not in test], test


def dsgan_subject_index(wildcards) -> int:
    """Position of the subject (seeds its random stream)."""
    return DSGAN_SUBJECTS.index(wildcards.dsgan_subject)


def dsgan_cohort(wildcards) -> dict[str, str]:
    """The cohort contrast and brain mask of a phantom subject, or the sheet's LR, HR (and mask)."""
    s = wildcards.dsgan_subject
    if DSGAN_SHEET:
        return {k: v for k, v in DSGAN_SHEET[s].items() if v}
    return {
        "image": f"results/cohort/{s}/{DSGAN['contrast']}.nii.gz",
        "mask": f"results/cohort/{s}/mask.nii.gz",
    }


def dsgan_subject_files(kind: str, subjects: list[str]) -> list[str]:
    """Per-subject data files ('data'; the data seed's, shared by every training seed)."""
    return [f"{DSGAN_DIR}/{kind}/{s}.npz" for s in subjects]


def dsgan_kernelgan_files(seed: int | str, subjects: list[str]) -> list[str]:
    """Per-subject learned degradations (G(HR), kernels) of one training seed."""
    return [f"{DSGAN_DIR}/kernelgan/seed-{seed}/{s}.npz" for s in subjects]


def dsgan_dsn_inputs(wildcards) -> list[str]:
    """Data of the fold's training subjects."""
    return dsgan_subject_files("data", dsgan_split(wildcards.dsgan_fold)[0])


def dsgan_train_inputs(wildcards) -> dict[str, list[str]]:
    """Training subjects' data, plus their DSGAN LR or the fold's DSN LR (of the same training seed)."""
    train = dsgan_split(wildcards.dsgan_fold)[0]
    inputs = {"data": dsgan_subject_files("data", train)}
    if wildcards.dsgan_construction == "dsgan":
        inputs["synthetic"] = dsgan_kernelgan_files(wildcards.seed, train)
    if wildcards.dsgan_construction == "dsn":
        inputs["synthetic"] = [
            f"{DSGAN_DIR}/dsn/fold-{wildcards.dsgan_fold}/seed-{wildcards.seed}/lr.npz"
        ]
    return inputs


def dsgan_infer_inputs(wildcards) -> dict[str, list[str]]:
    """Every subject's data and, for a trained method, one model per fold."""
    inputs = {"data": dsgan_subject_files("data", DSGAN_SUBJECTS)}
    if wildcards.dsgan_method != "bicubic":
        inputs["models"] = expand(
            f"{DSGAN_DIR}/models/{wildcards.dsgan_method}/fold-{{f}}/seed-{wildcards.seed}/model.pt",
            f=DSGAN_FOLDS,
        )
    return inputs


def dsgan_infer_gpu(wildcards) -> int:
    """1 for the EDSR rows, 0 for Bicubic."""
    return 0 if wildcards.dsgan_method == "bicubic" else 1


def dsgan_metric_files(wildcards) -> dict[str, list[str]]:
    """Per-slice metrics: Bicubic once (data seed; no training), every EDSR method per training seed."""
    return {
        "reference": [f"{DSGAN_DIR}/eval/bicubic/seed-{SEED}/metrics.tsv"],
        "metrics": expand(
            f"{DSGAN_DIR}/eval/{{m}}/seed-{{s}}/metrics.tsv",
            s=SEEDS,
            m=DSGAN_CONSTRUCTIONS,
        ),
    }


def dsgan_record_files(wildcards) -> list[str]:
    """Training records (loss.json) of every EDSR (construction, fold, seed)."""
    return expand(
        f"{DSGAN_DIR}/models/{{m}}/fold-{{f}}/seed-{{s}}/loss.json",
        m=DSGAN_CONSTRUCTIONS,
        f=DSGAN_FOLDS,
        s=SEEDS,
    )


def dsgan_figure_inputs(wildcards) -> dict[str, list[str]]:
    """Everything a figure may show, of the first training seed: the first subject's data, DSGAN and DSN LR,
    every method's examples (Bicubic's from the data seed), the fold-0 logs and records of every trained network
    (EDSR per construction, the DSN proxy)."""
    first, seed = DSGAN_SUBJECTS[0], SEEDS[0]
    logs = [f"{DSGAN_DIR}/models/{m}/fold-0/seed-{seed}/loss" for m in DSGAN_COMPARED]
    logs.append(f"{DSGAN_DIR}/dsn/fold-0/seed-{seed}/loss")
    return {
        "logs": [f"{stem}.csv" for stem in logs],
        "records": [f"{stem}.json" for stem in logs],
        "data": [f"{DSGAN_DIR}/data/{first}.npz"],
        "kernelgan": dsgan_kernelgan_files(seed, DSGAN_SUBJECTS),
        "dsn": [f"{DSGAN_DIR}/dsn/fold-{dsgan_fold_of(first)}/seed-{seed}/lr.npz"],
        "examples": [f"{DSGAN_DIR}/eval/bicubic/seed-{SEED}/examples.npz"]
        + expand(f"{DSGAN_DIR}/eval/{{m}}/seed-{seed}/examples.npz", m=DSGAN_COMPARED),
    }
