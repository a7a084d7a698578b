# Shared by every experiment: config validation, the phantom cohort's subjects, the experiment
# registry behind `rule all`, resource defaults. Experiment-specific globals, input functions and
# wildcard constraints live in workflow/rules/<key>.smk (wildcards prefixed with the key).
from pathlib import Path

from snakemake.utils import validate

SCHEMAS = Path(workflow.current_basedir).parent / "schemas"
validate(config, schema=str(SCHEMAS / "config.schema.yaml"))

SEED = int(config["seed"])
COMMON_KEYS = ("preset", "seed", "experiments", "cohort")
# key -> function returning the experiment's final outputs; filled by register_experiment().
EXPERIMENTS: dict = {}


def register_experiment(key: str, final_outputs) -> dict:
    """Validate config[key] against workflow/schemas/<key>.schema.yaml, register its outputs, return it."""
    if key not in config:
        raise ValueError(f"config: missing section {key!r} (see config/config.yaml)")
    validate(config[key], schema=str(SCHEMAS / f"{key}.schema.yaml"))
    EXPERIMENTS[key] = final_outputs
    return config[key]


def check_experiments() -> None:
    """Every configured experiment and every top-level config key must be known (after the includes)."""
    unknown = [e for e in config["experiments"] if e not in EXPERIMENTS]
    if unknown:
        raise ValueError(
            f"config key 'experiments': unknown {unknown}; expected some of {sorted(EXPERIMENTS)}"
        )
    stray = [k for k in config if k not in COMMON_KEYS and k not in EXPERIMENTS]
    if stray:
        raise ValueError(
            f"config: unknown top-level key(s) {stray}; expected {list(COMMON_KEYS)} or an experiment {sorted(EXPERIMENTS)}"
        )


def phantom_subjects() -> list[str]:
    """Subject ids of the phantom cohort."""
    return [f"sub-{i:02d}" for i in range(1, int(config["cohort"]["n_subjects"]) + 1)]


wildcard_constraints:
    subject="|".join(phantom_subjects()),
    seed=r"\d+",


def all_targets() -> list[str]:
    """Final outputs of every configured experiment."""
    check_experiments()
    targets = ["results/cohort/subjects.tsv"]
    for key in config["experiments"]:
        targets += EXPERIMENTS[key]()
    return targets


def subject_index(wildcards) -> int:
    """Position of a phantom subject in the cohort (seeds its random stream)."""
    return phantom_subjects().index(wildcards.subject)


def cohort_maps(subject: str, maps: list[str]) -> list[str]:
    """Paths of a phantom subject's cohort maps."""
    return [f"results/cohort/{subject}/{m}.nii.gz" for m in maps]


def gpu_runtime(wildcards, attempt) -> int:
    """Runtime in minutes, scaled by the retry attempt."""
    return 60 * attempt


def mem_for_attempt(wildcards, attempt) -> int:
    """Memory in MB, scaled by the retry attempt."""
    return 4000 * attempt
