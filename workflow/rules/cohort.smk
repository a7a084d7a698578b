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


# The same subject (seed, settings, tissue values) on another grid, e.g. ixi_sr's 1 mm slices; its deformation,
# bias field and noise are drawn on that grid. Only the requested maps are written, as temporary files: deleted once
# every job that reads them is done (ixi_sr keeps its slices; `snakemake --notemp` keeps the volumes too).
rule cohort_subject_on_grid:
    output:
        temp("results/cohort/grid-{grid_mm}mm/{subject}/{map}.nii.gz"),
    log:
        "logs/cohort/grid-{grid_mm}mm/{subject}_{map}.log",
    benchmark:
        "benchmarks/results/cohort/grid-{grid_mm}mm/{subject}_{map}.tsv"
    wildcard_constraints:
        grid_mm=r"\d+(\.\d+)?",
        map="|".join(COHORT_MAPS),
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=3000,
    params:
        cohort=config["cohort"],
        seed=SEED,
        index=subject_index,
        voxel_mm=lambda wildcards: float(wildcards.grid_mm),
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
