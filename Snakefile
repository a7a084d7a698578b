# mrsr: regenerate the tables and figures of five MRI super-resolution / ASL papers.
import os
import sys

from snakemake.utils import min_version

# The workflow's own source tree comes first for this process and every job (local, conda or cluster), so the
# code that runs is the code beside this Snakefile, installed or not.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
)

from mrsr.experiments import experiment_keys

min_version("9.0")


configfile: f"{workflow.basedir}/config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/cohort.smk"


# One rules file per experiment package, src/mrsr/experiments/<key>/ -> workflow/rules/<key>.smk, all of them found
# here: adding a paper adds no line to this file. (Not `rules` as the loop variable: that name is Snakemake's.)
EXPERIMENT_RULES = {key: f"workflow/rules/{key}.smk" for key in experiment_keys()}
for experiment_key, experiment_rules in EXPERIMENT_RULES.items():
    if not os.path.isfile(os.path.join(workflow.basedir, experiment_rules)):
        raise ValueError(
            f"experiment package src/mrsr/experiments/{experiment_key}/ has no rules file "
            f"{experiment_rules} (each package needs one; see docs/contributing.md)"
        )

    include: experiment_rules


include: "workflow/rules/scorecard.smk"


rule all:
    default_target: True
    input:
        all_targets(),
