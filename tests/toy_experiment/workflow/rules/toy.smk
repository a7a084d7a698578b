# Toy et al.: moving-average denoising of noisy 1-D step signals (tests/test_new_experiment.py).
# Wildcards: toy_method.


include: "toy_common.smk"


rule toy_data:
    output:
        f"{TOY_DIR}/data/signals.npz",
    log:
        "logs/toy/data.log",
    benchmark:
        "benchmarks/results/toy/data.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    params:
        cfg=TOY,
        seed=SEED,
    script:
        "../scripts/toy/data.py"


rule toy_eval:
    input:
        f"{TOY_DIR}/data/signals.npz",
    output:
        metrics=f"{TOY_DIR}/eval/{{toy_method}}/metrics.tsv",
        estimate=f"{TOY_DIR}/eval/{{toy_method}}/estimate.npz",
    log:
        "logs/toy/eval_{toy_method}.log",
    benchmark:
        "benchmarks/results/toy/eval_{toy_method}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    params:
        width=lambda wildcards: TOY["methods"][wildcards.toy_method]["width"],
    script:
        "../scripts/toy/evaluate.py"


rule toy_table:
    input:
        metrics=toy_metric_files,
    output:
        csv=report(
            f"{TOY_DIR}/tables/table1.csv",
            caption="../report/toy/table.rst",
            category="Toy (Toy et al.)",
            labels={"table": "table1", "type": "table"},
        ),
        md=f"{TOY_DIR}/tables/table1.md",
        tex=f"{TOY_DIR}/tables/table1.tex",
        claims=f"{TOY_DIR}/claims.csv",
    log:
        "logs/toy/table1.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        cfg=TOY,
        methods=TOY_METHODS,
        footer=footer_params("toy", TOY_DATA, False),
    script:
        "../scripts/toy/table.py"


rule toy_figure:
    input:
        data=f"{TOY_DIR}/data/signals.npz",
        estimates=toy_estimate_files,
    output:
        png=report(
            f"{TOY_DIR}/figures/example.png",
            caption="../report/toy/figure.rst",
            category="Toy (Toy et al.)",
            labels={"figure": "example", "type": "figure"},
        ),
        pdf=f"{TOY_DIR}/figures/example.pdf",
    log:
        "logs/toy/figure.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        labels=[TOY["methods"][m]["label"] for m in TOY_METHODS],
        preset=config["preset"],
    script:
        "../scripts/toy/figure.py"
