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

min_version("9.0")


configfile: f"{workflow.basedir}/config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/cohort.smk"
# One file per experiment (adding a paper adds one line here).
include: "workflow/rules/field7to9.smk"
include: "workflow/rules/deepasl.smk"
include: "workflow/rules/ixi_sr.smk"
include: "workflow/rules/dsgan.smk"
include: "workflow/rules/asl_sr.smk"
include: "workflow/rules/scorecard.smk"


rule all:
    default_target: True
    input:
        all_targets(),
