# The claims scorecard: every configured experiment's results/<key>/claims.csv in one table,
# the first section of the HTML report.


rule scorecard:
    input:
        scorecard_inputs(),
    output:
        csv=report(
            "results/scorecard.csv",
            caption="../report/scorecard.rst",
            category="0. Claims scorecard",
            labels={"table": "scorecard", "type": "table"},
        ),
        md="results/scorecard.md",
    log:
        "logs/scorecard.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    script:
        "../scripts/scorecard.py"


# What produced this run: effective config, package versions, commit, platform (reruns when the config or
# the commit changes: both are params).
rule provenance:
    output:
        "results/provenance.json",
    log:
        "logs/provenance.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        config=lambda wildcards: dict(config),
        source=workflow.basedir,
        commit=git_commit(workflow.basedir)["commit"],
    script:
        "../scripts/provenance.py"
