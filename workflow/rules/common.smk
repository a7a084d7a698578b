# Shared helpers: config validation, subject lists, splits, resource defaults.
from pathlib import Path

from snakemake.utils import validate

from mrsr.preprocess import split_subjects
from mrsr.sheets import read_field_sheet

SCHEMAS = Path(workflow.current_basedir).parent / "schemas"
validate(config, schema=str(SCHEMAS / "config.schema.yaml"))

SEED = int(config["seed"])
FIELD = config["field7to9"]


def phantom_subjects() -> list[str]:
    """Subject ids of the phantom cohort."""
    return [f"sub-{i:02d}" for i in range(1, int(config["cohort"]["n_subjects"]) + 1)]


FIELD_SHEET = (
    read_field_sheet(FIELD["subject_sheet"], schema=SCHEMAS / "field_sheet.schema.yaml")
    if FIELD["subject_sheet"]
    else None
)
FIELD_SUBJECTS = list(FIELD_SHEET) if FIELD_SHEET else phantom_subjects()
FIELD_SPLIT = split_subjects(FIELD_SUBJECTS, tuple(FIELD["split"]), seed=SEED)
FIELD_METHODS = list(FIELD["methods"])
FIELD_TABLES = sorted({m["table"] for m in FIELD["methods"].values()})
ALL_SUBJECTS = sorted(set(FIELD_SUBJECTS) | set(phantom_subjects()))


wildcard_constraints:
    subject="|".join(ALL_SUBJECTS),
    method="|".join(FIELD_METHODS),
    seed=r"\d+",
    role="lr|hr",


def all_targets() -> list[str]:
    """Final outputs of every configured experiment."""
    targets = ["results/cohort/subjects.tsv"]
    if "field7to9" in config["experiments"]:
        targets += field_final_outputs()
    if "deepasl" in config["experiments"]:
        targets += deepasl_final_outputs()
    return targets


def subject_index(wildcards) -> int:
    """Position of a phantom subject in the cohort (seeds its random stream)."""
    return phantom_subjects().index(wildcards.subject)


def gpu_runtime(wildcards, attempt) -> int:
    """Runtime in minutes, scaled by the retry attempt."""
    return 60 * attempt


def mem_for_attempt(wildcards, attempt) -> int:
    """Memory in MB, scaled by the retry attempt."""
    return 4000 * attempt


# ---- 7T -> 9.4T (Ravikumar et al.): paths, figures and input functions ----

FIELD_DIR = "results/field7to9"

# Paper figures: which methods each shows (methods missing from the config are skipped).
FIELD_FIGURES = {
    "fig4_rfsr": {"kind": "rfsr"},
    "fig5_dcsrn_curves": {
        "kind": "curves",
        "methods": ["dcsrn_l1", "dcsrn_p", "dcsrn_l2"],
    },
    "fig6_fcn_curves": {"kind": "curves", "methods": ["fcn1", "fcn2"]},
    "fig7_cnn_examples": {
        "kind": "grid",
        "methods": ["dcsrn_l1", "dcsrn_l2", "dcsrn_p", "fcn1", "fcn2"],
    },
    "fig8_gan_examples": {"kind": "grid", "methods": ["dcgan2", "unet7", "pix2pix9"]},
    "fig9_dcgan_diff": {
        "kind": "grid",
        "methods": ["dcgan2", "dcgan3", "dcgan1", "dcgan4"],
    },
    "fig10_unet_diff": {
        "kind": "grid",
        "methods": ["unet7", "unet5", "unet6", "unet8"],
    },
    "fig11_pix2pix_diff": {
        "kind": "grid",
        "methods": ["pix2pix9", "pix2pix10", "pix2pix11"],
    },
    "fig12_gan_curves": {
        "kind": "curves",
        "methods": ["dcgan1", "dcgan2", "unet7", "pix2pix9"],
    },
}


def field_figure_methods(figure: str) -> list[str]:
    """Configured methods shown in a figure."""
    return [m for m in FIELD_FIGURES[figure].get("methods", []) if m in FIELD_METHODS]


def field_final_outputs() -> list[str]:
    """Tables (csv/md/tex) and figures (png/pdf) of the experiment."""
    outs = expand(
        f"{FIELD_DIR}/tables/{{table}}.{{ext}}",
        table=FIELD_TABLES,
        ext=["csv", "md", "tex"],
    )
    outs += expand(f"{FIELD_DIR}/tables/{{table}}_overview.png", table=FIELD_TABLES)
    figures = [f for f in FIELD_FIGURES if f == "fig4_rfsr" or field_figure_methods(f)]
    outs += expand(
        f"{FIELD_DIR}/figures/{{figure}}.{{ext}}", figure=figures, ext=["png", "pdf"]
    )
    return outs


def field_raw(wildcards) -> str:
    """The LR or HR volume before preprocessing: the subject sheet's file or the simulation."""
    if FIELD_SHEET:
        return FIELD_SHEET[wildcards.subject][wildcards.role]
    return f"{FIELD_DIR}/raw/{wildcards.subject}/{wildcards.role}.nii.gz"


def field_mask(wildcards) -> list[str]:
    """Optional brain mask on the HR grid (empty list when the sheet gives none)."""
    if FIELD_SHEET:
        mask = FIELD_SHEET[wildcards.subject].get("mask")
        return [mask] if mask else []
    return [f"{FIELD_DIR}/raw/{wildcards.subject}/mask.nii.gz"]


def field_patch_files(split: str) -> list[str]:
    """Patch containers of the subjects in one split."""
    return expand(f"{FIELD_DIR}/patches/{{subject}}.npz", subject=FIELD_SPLIT[split])


def field_method(wildcards) -> dict:
    """The config entry of a method."""
    return FIELD["methods"][wildcards.method]


def field_epochs(wildcards) -> int:
    """Epochs of a method: its own value, else its family's default."""
    method = FIELD["methods"][wildcards.method]
    family = "cnn" if method["trainer"] == "supervised" else "gan"
    return int(method.get("epochs", FIELD[family]["epochs"]))


def field_batch_size(wildcards) -> int:
    """Batch size of a method: its own value, else its family's default."""
    method = FIELD["methods"][wildcards.method]
    family = "cnn" if method["trainer"] == "supervised" else "gan"
    return int(method.get("batch_size", FIELD[family]["batch_size"]))


def field_table_metrics(wildcards) -> list[str]:
    """Metric files of the methods in one table."""
    methods = [
        m for m in FIELD_METHODS if FIELD["methods"][m]["table"] == wildcards.table
    ]
    return expand(
        f"{FIELD_DIR}/eval/{{method}}/seed-{SEED}/metrics.tsv", method=methods
    )


def field_figure_inputs(wildcards) -> list[str]:
    """Example slices, or loss logs, of the methods a figure shows."""
    spec = FIELD_FIGURES[wildcards.figure]
    if spec["kind"] == "rfsr":
        return [f"{FIELD_DIR}/eval/rfsr/seed-{SEED}/examples.npz"]
    name = "loss.csv" if spec["kind"] == "curves" else "examples.npz"
    folder = "models" if spec["kind"] == "curves" else "eval"
    return expand(
        f"{FIELD_DIR}/{folder}/{{method}}/seed-{SEED}/{name}",
        method=field_figure_methods(wildcards.figure),
    )


def field_figure_spec(wildcards) -> dict:
    """Kind and methods of a figure."""
    return {
        **FIELD_FIGURES[wildcards.figure],
        "methods": field_figure_methods(wildcards.figure),
    }


def field_inference_settings() -> dict:
    """What `mrsr apply` needs to treat a new volume as the training data were treated."""
    pre = FIELD["preprocess"]
    return {
        "patch_size": FIELD["patch_size"],
        "stride": FIELD["stride"],
        "crop": FIELD["crop"],
        "axes": FIELD["slice_axes"],
        "clip_percentiles": pre["clip_percentiles"],
        "scale_max": pre["scale_max"],
        "upsample_factor": FIELD["simulation"]["factor"],
    }
