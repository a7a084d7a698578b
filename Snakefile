# mrsr: regenerate the tables and figures of five MRI super-resolution / ASL papers.
from snakemake.utils import min_version

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
