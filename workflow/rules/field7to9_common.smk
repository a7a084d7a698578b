# Ravikumar et al.: 7T -> 9.4T synthesis. Simulation, N4, registration, patches,
# training and inference of every method, tables 2 and 3 and figures 4-12.
# Wildcards: field_subject, field_role, field_method, field_table, field_figure (and the shared seed).
# Globals, wildcard constraints and input functions of workflow/rules/field7to9.smk.
from mrsr.experiments.field7to9.data import method_entry as field_method_config
from mrsr.experiments.field7to9.methods import batch_and_patch, family
from mrsr.preprocess import split_subjects
from mrsr.sheets import read_field_sheet


def field_final_outputs() -> list[str]:
    """Tables (csv/md/tex), the claims scored and figures (png/pdf) of the experiment."""
    outs = expand(
        f"{FIELD_DIR}/tables/{{field_table}}.{{ext}}",
        field_table=FIELD_TABLES,
        ext=["csv", "md", "tex"],
    )
    outs.append(f"{FIELD_DIR}/claims.csv")
    outs += expand(
        f"{FIELD_DIR}/tables/{{field_table}}_overview.png", field_table=FIELD_TABLES
    )
    figures = [f for f in FIELD_FIGURES if f == "fig4_rfsr" or field_figure_methods(f)]
    outs += expand(
        f"{FIELD_DIR}/figures/{{field_figure}}.{{ext}}",
        field_figure=figures,
        ext=["png", "pdf"],
    )
    return outs


FIELD = register_experiment(
    "field7to9", field_final_outputs, uses_cohort=lambda: FIELD_SHEET is None
)
FIELD_DIR = "results/field7to9"
FIELD_SHEET = (
    read_field_sheet(FIELD["subject_sheet"], schema=SCHEMAS / "field_sheet.schema.yaml")
    if FIELD["subject_sheet"]
    else None
)
FIELD_SUBJECTS = list(FIELD_SHEET) if FIELD_SHEET else phantom_subjects()
FIELD_SPLIT = split_subjects(FIELD_SUBJECTS, tuple(FIELD["split"]), seed=SEED)
FIELD_DATA = (
    f"phantom ({len(FIELD_SUBJECTS)} subjects simulated from the MNI152 2009 templates)"
    if FIELD_SHEET is None
    else f"subject sheet {FIELD['subject_sheet']}"
)
FIELD_DATA_SHORT = (  # figure titles
    "phantom data"
    if FIELD_SHEET is None
    else f"subject sheet {Path(FIELD['subject_sheet']).name}"
)
FIELD_METHODS = list(FIELD["methods"])
FIELD_TABLES = sorted({m["table"] for m in FIELD["methods"].values()})


wildcard_constraints:
    field_subject="|".join(FIELD_SUBJECTS),
    field_method="|".join(FIELD_METHODS),
    field_role="lr|hr",
    field_table="|".join(FIELD_TABLES),


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
    # not in the paper: validation MSE against updates of every trained method, per table
    "learning_table2": {"kind": "learning", "table": "table2"},
    "learning_table3": {"kind": "learning", "table": "table3"},
}


def field_figure_methods(figure: str) -> list[str]:
    """Configured methods shown in a figure (a learning-curve figure: every method of its table)."""
    spec = FIELD_FIGURES[figure]
    if spec["kind"] == "learning":
        return [
            m for m in FIELD_METHODS if FIELD["methods"][m]["table"] == spec["table"]
        ]
    return [m for m in spec.get("methods", []) if m in FIELD_METHODS]


def field_subject_index(wildcards) -> int:
    """Position of a phantom subject in the cohort (seeds its random stream)."""
    return phantom_subjects().index(wildcards.field_subject)


def field_raw(wildcards) -> str:
    """The LR or HR volume before preprocessing: the subject sheet's file or the simulation."""
    if FIELD_SHEET:
        return FIELD_SHEET[wildcards.field_subject][wildcards.field_role]
    return f"{FIELD_DIR}/raw/{wildcards.field_subject}/{wildcards.field_role}.nii.gz"


def field_mask(wildcards) -> list[str]:
    """Optional brain mask on the HR grid (empty list when the sheet gives none)."""
    if FIELD_SHEET:
        mask = FIELD_SHEET[wildcards.field_subject].get("mask")
        return [mask] if mask else []
    return [f"{FIELD_DIR}/raw/{wildcards.field_subject}/mask.nii.gz"]


def field_patch_files(split: str) -> list[str]:
    """Patch containers of the subjects in one split."""
    return expand(
        f"{FIELD_DIR}/patches/{{field_subject}}.npz", field_subject=FIELD_SPLIT[split]
    )


def field_method_entry(wildcards) -> dict:
    """The config entry of a method, with the experiment-wide U-net output scale."""
    return field_method_config(FIELD["methods"][wildcards.field_method], FIELD)


def field_compute(wildcards) -> dict:
    """Precision and memory layout of a method's training and inference: the experiment's `compute`, overridden
    by the method's own."""
    return compute_params("field7to9", FIELD["methods"][wildcards.field_method])


def field_family(wildcards) -> dict:
    """The budget block (cnn or gan) of a method's trainer."""
    return family(FIELD, FIELD["methods"][wildcards.field_method])


def field_max_updates(wildcards) -> int:
    """Optimiser updates of a method: its own max_updates, else its family's."""
    method = FIELD["methods"][wildcards.field_method]
    return int(method.get("max_updates", field_family(wildcards)["max_updates"]))


def field_batch_size(wildcards) -> int:
    """Batch size of a method: its own value, else its family's default."""
    return batch_and_patch(FIELD, FIELD["methods"][wildcards.field_method])[0]


def field_stopping(wildcards) -> dict:
    """The plateau rule of a method's family (mrsr.train.loop.Stopping keys)."""
    return dict(field_family(wildcards)["stopping"])


def field_table_metrics(wildcards) -> list[str]:
    """Metric files of the methods in one table, for every training seed (grouped by seed in the script)."""
    methods = [
        m
        for m in FIELD_METHODS
        if FIELD["methods"][m]["table"] == wildcards.field_table
    ]
    return expand(
        f"{FIELD_DIR}/eval/{{field_method}}/seed-{{seed}}/metrics.tsv",
        field_method=methods,
        seed=SEEDS,
    )


def field_table_records(wildcards) -> list[str]:
    """Training records (loss.json) of the methods in one table, for every training seed."""
    return [
        f.replace(f"{FIELD_DIR}/eval", f"{FIELD_DIR}/models").replace(
            "metrics.tsv", "loss.json"
        )
        for f in field_table_metrics(wildcards)
    ]


# Figures show the first training seed's models (RFSR, in Fig. 4 only, is trained for that seed alone).
FIELD_FIGURE_SEED = SEEDS[0]


def field_figure_inputs(wildcards) -> list[str]:
    """Example slices, or loss logs, of the methods a figure shows (first training seed)."""
    spec = FIELD_FIGURES[wildcards.field_figure]
    if spec["kind"] == "rfsr":
        return [f"{FIELD_DIR}/eval/rfsr/seed-{FIELD_FIGURE_SEED}/examples.npz"]
    methods = field_figure_methods(wildcards.field_figure)
    if spec["kind"] == "learning":  # per method: its log, then its training record
        return [
            f"{FIELD_DIR}/models/{m}/seed-{FIELD_FIGURE_SEED}/{name}"
            for m in methods
            for name in ("loss.csv", "loss.json")
        ]
    name = "loss.csv" if spec["kind"] == "curves" else "examples.npz"
    folder = "models" if spec["kind"] == "curves" else "eval"
    return expand(
        f"{FIELD_DIR}/{folder}/{{field_method}}/seed-{FIELD_FIGURE_SEED}/{name}",
        field_method=methods,
    )


def field_figure_spec(wildcards) -> dict:
    """Kind and methods of a figure."""
    return {
        **FIELD_FIGURES[wildcards.field_figure],
        "methods": field_figure_methods(wildcards.field_figure),
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


def field_trained_on() -> dict:
    """The training data, as `mrsr apply` reports it: experiment, data source, contrast."""
    if FIELD_SHEET:
        data, contrast = (
            f"subject sheet {FIELD['subject_sheet']}",
            "the sheet's lr column",
        )
    else:
        data, contrast = (
            "phantom (simulated from the MNI152 2009 templates)",
            "T1-weighted 7T-like",
        )
    return {"experiment": "field7to9", "data": data, "contrast": contrast}
