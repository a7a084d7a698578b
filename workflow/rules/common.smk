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
    targets = []
    if "field7to9" in config["experiments"]:
        targets += field_final_outputs()
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
