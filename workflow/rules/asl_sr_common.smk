# Cui et al. 2020: unsupervised multi-scale 3-D GAN super-resolution of ASL with a T1 prior.
# Globals, wildcard constraints and input functions of workflow/rules/asl_sr.smk.
# Wildcards: asl_sr_subject, asl_sr_exp (exp1: LR -> NR grid, exp2: NR -> T1 grid), asl_sr_variant
# (proposed and the configured ablations), asl_sr_figure (and the shared seed: the training seed, one of SEEDS).
from mrsr.experiments.asl_sr.data import SHEET_COLUMNS
from mrsr.sheets import read_sheet


def asl_sr_final_outputs() -> list[str]:
    """Table 1 and the Experiment 2 table (csv/md/tex), the claims, Figures 2-4 and the loss curves."""
    outs = expand(
        f"{ASR_DIR}/tables/{{t}}.{{ext}}",
        t=["table1", "exp2"],
        ext=["csv", "md", "tex"],
    )
    outs.append(f"{ASR_DIR}/claims.csv")
    outs += expand(
        f"{ASR_DIR}/figures/{{f}}.{{ext}}", f=ASR_FIGURES, ext=["png", "pdf"]
    )
    return outs


ASL_SR = register_experiment(
    "asl_sr", asl_sr_final_outputs, uses_cohort=lambda: ASR_SHEET is None
)
ASR_DIR = "results/asl_sr"
ASR_SHEET = (
    read_sheet(
        ASL_SR["subject_sheet"],
        schema=SCHEMAS / "asl_sr_sheet.schema.yaml",
        file_columns=SHEET_COLUMNS,
    )
    if ASL_SR["subject_sheet"]
    else None
)
ASR_SUBJECTS = (
    list(ASR_SHEET) if ASR_SHEET else phantom_subjects()[: int(ASL_SR["n_subjects"])]
)
# What the footer and the scorecard say the data are.
ASR_DATA = (
    "phantom cohort (simulated pCASL, Buxton general model)"
    if ASR_SHEET is None
    else f"subject sheet {ASL_SR['subject_sheet']} (acquired pCASL: NR = its averaged perfusion; no HR, no truth)"
)
ASR_VARIANTS = ["proposed", *ASL_SR.get("ablations", {})]
# Experiment 1 trains every variant; Experiment 2 (paper Fig. 4) only the proposed method.
ASR_RUNS = [("exp1", v) for v in ASR_VARIANTS] + [("exp2", "proposed")]
ASR_FIGURES = [
    "fig2_sagittal",
    "fig3_transaxial",
    "fig4_exp2",
    "loss_curves",
    "learning_curves",
]
ASR_MAPS = ("cbf", "att", "t1map", "pd", "t1w", "mask", "gm")

# Keys that only shape the phantom's simulation: a sheet run's footer does not list them.
ASR_PHANTOM_KEYS = ("n_subjects", "kinetics.", "grid.fine_", "hr_snr_gm", "noise_ratio")


wildcard_constraints:
    asl_sr_subject="|".join(ASR_SUBJECTS),
    asl_sr_exp="exp1|exp2",
    asl_sr_variant="|".join(ASR_VARIANTS),
    asl_sr_figure="|".join(ASR_FIGURES),


def asl_sr_maps(wildcards) -> dict[str, str]:
    """The cohort maps the simulation reads, or the subject sheet's files of the subject."""
    if ASR_SHEET:
        return dict(ASR_SHEET[wildcards.asl_sr_subject])
    return {
        m: f"results/cohort/{wildcards.asl_sr_subject}/{m}.nii.gz" for m in ASR_MAPS
    }


def asl_sr_subject_index(wildcards) -> int:
    """Position of the subject (seeds its noise)."""
    return ASR_SUBJECTS.index(wildcards.asl_sr_subject)


def asl_sr_method(wildcards) -> dict:
    """The model config of a variant: the proposed model with the ablation's overrides."""
    if wildcards.asl_sr_variant == "proposed":
        return dict(ASL_SR["model"])
    return {**ASL_SR["model"], **ASL_SR["ablations"][wildcards.asl_sr_variant]}


def asl_sr_run_dirs(subject: str, seed) -> dict[str, str]:
    """{'<exp>/<variant>': model directory} of every training run of a subject."""
    return {
        f"{e}/{v}": f"{ASR_DIR}/models/{e}/{v}/{subject}/seed-{seed}"
        for e, v in ASR_RUNS
    }


def asl_sr_sr_files(wildcards) -> list[str]:
    """The SR volumes of every run of a subject."""
    return [
        f"{d}/sr.npz"
        for d in asl_sr_run_dirs(wildcards.asl_sr_subject, wildcards.seed).values()
    ]


def asl_sr_training_files() -> list[str]:
    """The per-scale training records of every run, subject and training seed (runs in ASR_RUNS order)."""
    return [
        f"{ASR_DIR}/models/{e}/{v}/{s}/seed-{seed}/training.json"
        for e, v in ASR_RUNS
        for s in ASR_SUBJECTS
        for seed in SEEDS
    ]


def asl_sr_figure_inputs(wildcards) -> dict[str, list[str]]:
    """Example slices of every subject (the data and interpolations; the trained runs of the first training seed)
    and the per-scale loss logs and training records of the first subject's runs of that seed.
    """
    return {
        "baselines": expand(
            f"{ASR_DIR}/eval/{{s}}/seed-{SEED}/baselines.npz", s=ASR_SUBJECTS
        ),
        "examples": expand(
            f"{ASR_DIR}/eval/{{s}}/seed-{SEEDS[0]}/examples.npz", s=ASR_SUBJECTS
        ),
        "logs": [
            f"{d}/loss.csv" for d in asl_sr_run_dirs(ASR_SUBJECTS[0], SEEDS[0]).values()
        ],
        "training": [
            f"{d}/training.json"
            for d in asl_sr_run_dirs(ASR_SUBJECTS[0], SEEDS[0]).values()
        ],
    }


def asl_sr_footer() -> dict:
    """footer_params of the tables: the data source; a sheet run leaves out the phantom-only differences."""
    foot = footer_params("asl_sr", ASR_DATA, ASR_SHEET is None)
    if ASR_SHEET is not None:
        foot["differences"] = [
            d for d in foot["differences"] if not d[0].startswith(ASR_PHANTOM_KEYS)
        ]
    return foot
