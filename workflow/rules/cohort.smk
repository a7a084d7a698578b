# Phantom cohort: per-subject anatomy and quantitative maps from the MNI152 2009 templates.

COHORT_MAPS = [
    "t1w",
    "t2w",
    "pd",
    "gm",
    "wm",
    "csf",
    "t1map",
    "t2map",
    "cbf",
    "att",
    "mask",
]


rule cohort_subject:
    output:
        expand("results/cohort/{{subject}}/{map}.nii.gz", map=COHORT_MAPS),
    log:
        "logs/cohort/{subject}.log",
    benchmark:
        "benchmarks/results/cohort/{subject}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=3000,
    params:
        cohort=config["cohort"],
        seed=SEED,
        index=subject_index,
    script:
        "../scripts/cohort/subject.py"


rule cohort_sheet:
    input:
        expand("results/cohort/{subject}/t1w.nii.gz", subject=phantom_subjects()),
    output:
        "results/cohort/subjects.tsv",
    log:
        "logs/cohort/sheet.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        subjects=phantom_subjects(),
        maps=COHORT_MAPS,
    script:
        "../scripts/cohort/sheet.py"
