# Shared by every experiment: config validation, the phantom cohort's subjects, the experiment
# registry behind `rule all`, resource defaults. Experiment-specific globals, input functions and
# wildcard constraints live in workflow/rules/<key>.smk (wildcards prefixed with the key).
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mrsr.footer import config_differences, deep_merge
from mrsr.provenance import git_commit
from mrsr.scorecard import has_claims

SCHEMAS = Path(workflow.current_basedir).parent / "schemas"
validate(config, schema=str(SCHEMAS / "config.schema.yaml"))

SEED = int(config["seed"])  # data: simulation, splits, patch sampling
# Training seeds: every trained method runs once per seed (outputs under seed-<n>/); tables combine them.
SEEDS = sorted({int(s) for s in config.get("seeds") or [SEED]})
COMMON_KEYS = ("preset", "seed", "seeds", "experiments", "keep_checkpoints", "cohort")
# key -> function returning the experiment's final outputs; filled by register_experiment().
EXPERIMENTS: dict = {}
# key -> function telling whether the experiment reads the phantom cohort in this run.
USES_COHORT: dict = {}


def register_experiment(key: str, final_outputs, uses_cohort=None) -> dict:
    """Validate config[key] against workflow/schemas/<key>.schema.yaml, its defaults filled in (a section absent
    from the config is the schema's defaults), register its outputs (and, as a function called after all
    includes, whether it uses the phantom cohort; default yes); return it.
    """
    absent = key not in config
    section = config.setdefault(key, {})
    try:
        validate(section, schema=str(SCHEMAS / f"{key}.schema.yaml"))
    except WorkflowError as error:
        if not absent:
            raise
        raise ValueError(
            f"config: no section {key!r}, and the defaults of workflow/schemas/{key}.schema.yaml do not make "
            "a valid one (give every key a default and list none under `required`, or add the section to the "
            f"config): {error}"
        ) from error
    EXPERIMENTS[key] = final_outputs
    USES_COHORT[key] = uses_cohort or (lambda: True)
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


def paper_preset(section: str) -> dict:
    """One section of config/config.yaml merged with config/paper.yaml, schema defaults applied (a section in
    neither file is its schema's defaults, as in register_experiment)."""
    root = Path(workflow.basedir) / "config"
    with open(root / "config.yaml") as default, open(root / "paper.yaml") as paper:
        merged = deep_merge(yaml.safe_load(default), yaml.safe_load(paper))
    schema = "config" if section == "cohort" else section
    target = merged if section == "cohort" else merged.get(section, {})
    validate(target, schema=str(SCHEMAS / f"{schema}.schema.yaml"))
    return target[section] if section == "cohort" else target


def footer_params(key: str, data: str, phantom: bool) -> dict:
    """What mrsr.footer.run_footer needs: data, preset, seeds, differences from the paper preset
    (the experiment's section, plus the cohort's when the data are the phantom)."""
    diffs = config_differences(config[key], paper_preset(key))
    if phantom:
        diffs += config_differences(
            {"cohort": config["cohort"]}, {"cohort": paper_preset("cohort")}
        )
    return {
        "data": data,
        "preset": config["preset"],
        "seeds": SEEDS,
        "differences": [list(d) for d in diffs],
    }


def compute_params(key: str, method: dict | None = None) -> dict:
    """config[key]['compute'] with its defaults filled (precision, channels_last), each key overridden by the
    method entry's own `compute` where given: for the params of rules that train or run networks (scripts
    build mrsr.device.Compute(**params.compute))."""
    from mrsr.device import Compute

    found = Compute.from_config(config[key], method)
    return {"precision": found.precision, "channels_last": found.channels_last}


def phantom_subjects() -> list[str]:
    """Subject ids of the phantom cohort."""
    return [f"sub-{i:02d}" for i in range(1, int(config["cohort"]["n_subjects"]) + 1)]


wildcard_constraints:
    subject="|".join(phantom_subjects()),
    seed=r"\d+",


def all_targets() -> list[str]:
    """Final outputs of every configured experiment, and the claims scorecard."""
    check_experiments()
    cohort = any(USES_COHORT[key]() for key in config["experiments"])
    targets = ["results/provenance.json"] + (
        ["results/cohort/subjects.tsv"] if cohort else []
    )
    for key in config["experiments"]:
        targets += EXPERIMENTS[key]()
    if scorecard_inputs():
        targets += ["results/scorecard.csv", "results/scorecard.md"]
    return targets


def scorecard_inputs() -> list[str]:
    """claims.csv of every configured experiment that declares claims (claims.yaml in its package); an unknown
    experiment key stops here with the list of known ones (the scorecard rule is parsed before `rule all`).
    """
    check_experiments()
    return [
        f"results/{key}/claims.csv" for key in config["experiments"] if has_claims(key)
    ]


def subject_index(wildcards) -> int:
    """Position of a phantom subject in the cohort (seeds its random stream)."""
    return phantom_subjects().index(wildcards.subject)


def cohort_maps(subject: str, maps: list[str]) -> list[str]:
    """Paths of a phantom subject's cohort maps."""
    return [f"results/cohort/{subject}/{m}.nii.gz" for m in maps]


def cohort_map_on_grid(subject: str, name: str, voxel_mm: float) -> str:
    """Path of one map of a phantom subject built on a voxel_mm grid: the cohort's own file when that is the
    cohort's grid, else the subject rebuilt on that grid (rule cohort_subject_on_grid).
    """
    if float(voxel_mm) == float(config["cohort"]["voxel_mm"]):
        return cohort_maps(subject, [name])[0]
    return f"results/cohort/grid-{float(voxel_mm):g}mm/{subject}/{name}.nii.gz"


def gpu_runtime(wildcards, attempt) -> int:
    """Runtime in minutes, scaled by the retry attempt."""
    return 60 * attempt


def mem_for_attempt(wildcards, attempt) -> int:
    """Memory in MB, scaled by the retry attempt."""
    return 4000 * attempt
