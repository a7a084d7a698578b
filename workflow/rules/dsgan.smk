# Huang et al. 2021: phantom real LR, per-slice DSGAN (one job per subject), DSN proxy per fold, EDSR per
# training-set construction and fold, evaluation against the registered HR, Tables 2-3, Figures 3-7.
# Wildcards: dsgan_subject, dsgan_fold, dsgan_construction, dsgan_method, dsgan_figure (and the shared seed).
# Training seed (seed-<n>/, one run per seed in SEEDS): DSGAN, the DSN proxy, EDSR and its evaluation. Data seed
# (SEED): the data and the Bicubic row (no training), shared by every training seed.


include: "dsgan_common.smk"


rule dsgan_data:
    input:
        unpack(dsgan_cohort),
    output:
        f"{DSGAN_DIR}/data/{{dsgan_subject}}.npz",
    log:
        f"logs/dsgan/data/{{dsgan_subject}}.log",
    benchmark:
        f"benchmarks/results/dsgan/data/{{dsgan_subject}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        cfg=DSGAN,
        seed=SEED,
        index=dsgan_subject_index,
    script:
        "../scripts/dsgan/data.py"


rule dsgan_kernelgan:
    input:
        f"{DSGAN_DIR}/data/{{dsgan_subject}}.npz",
    output:
        f"{DSGAN_DIR}/kernelgan/seed-{{seed}}/{{dsgan_subject}}.npz",
    log:
        f"logs/dsgan/kernelgan/{{dsgan_subject}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/dsgan/kernelgan/{{dsgan_subject}}_seed-{{seed}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    # CPU by default (batch-1 13x13 networks; keeps the CPU run parallel); the SLURM profile gives it a GPU
    resources:
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        cfg=DSGAN,
        index=dsgan_subject_index,
        ckpt_dir=f"{DSGAN_DIR}/checkpoints/kernelgan/{{dsgan_subject}}/seed-{{seed}}",
        compute=compute_params("dsgan"),
    script:
        "../scripts/dsgan/kernelgan.py"


rule dsgan_dsn:
    input:
        data=dsgan_dsn_inputs,
        apply=dsgan_subject_files("data", DSGAN_SUBJECTS),
    output:
        model=f"{DSGAN_DIR}/dsn/fold-{{dsgan_fold}}/seed-{{seed}}/model.pt",
        lr=f"{DSGAN_DIR}/dsn/fold-{{dsgan_fold}}/seed-{{seed}}/lr.npz",
        log_csv=f"{DSGAN_DIR}/dsn/fold-{{dsgan_fold}}/seed-{{seed}}/loss.csv",
        record=f"{DSGAN_DIR}/dsn/fold-{{dsgan_fold}}/seed-{{seed}}/loss.json",
    log:
        f"logs/dsgan/dsn/fold-{{dsgan_fold}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/dsgan/dsn/fold-{{dsgan_fold}}_seed-{{seed}}.tsv"
    retries: 1
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        cfg=DSGAN,
        subjects=DSGAN_SUBJECTS,
        ckpt_dir=f"{DSGAN_DIR}/checkpoints/dsn/fold-{{dsgan_fold}}/seed-{{seed}}",
        compute=compute_params("dsgan"),
    script:
        "../scripts/dsgan/dsn.py"


rule dsgan_train:
    input:
        unpack(dsgan_train_inputs),
    output:
        model=ensure(
            f"{DSGAN_DIR}/models/{{dsgan_construction}}/fold-{{dsgan_fold}}/seed-{{seed}}/model.pt",
            non_empty=True,
        ),
        log_csv=f"{DSGAN_DIR}/models/{{dsgan_construction}}/fold-{{dsgan_fold}}/seed-{{seed}}/loss.csv",
        record=f"{DSGAN_DIR}/models/{{dsgan_construction}}/fold-{{dsgan_fold}}/seed-{{seed}}/loss.json",
    log:
        f"logs/dsgan/train/{{dsgan_construction}}_fold-{{dsgan_fold}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/dsgan/train/{{dsgan_construction}}_fold-{{dsgan_fold}}_seed-{{seed}}.tsv"
    retries: 1
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        cfg=DSGAN,
        ckpt_dir=f"{DSGAN_DIR}/checkpoints/edsr/{{dsgan_construction}}/fold-{{dsgan_fold}}/seed-{{seed}}",
        compute=compute_params("dsgan"),
        inference=dsgan_inference_settings(),
        trained_on=dsgan_trained_on(),
    script:
        "../scripts/dsgan/train.py"


rule dsgan_infer:
    input:
        unpack(dsgan_infer_inputs),
    output:
        metrics=f"{DSGAN_DIR}/eval/{{dsgan_method}}/seed-{{seed}}/metrics.tsv",
        examples=f"{DSGAN_DIR}/eval/{{dsgan_method}}/seed-{{seed}}/examples.npz",
        predictions=directory(f"{DSGAN_DIR}/predictions/{{dsgan_method}}/seed-{{seed}}"),
    log:
        f"logs/dsgan/infer/{{dsgan_method}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/dsgan/infer/{{dsgan_method}}_seed-{{seed}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=dsgan_infer_gpu,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        cfg=DSGAN,
        subjects=DSGAN_SUBJECTS,
        folds={s: dsgan_fold_of(s) for s in DSGAN_SUBJECTS},
        compute=compute_params("dsgan"),
    script:
        "../scripts/dsgan/infer.py"


rule dsgan_table:
    input:
        unpack(dsgan_metric_files),
        kernelgan=[f for s in SEEDS for f in dsgan_kernelgan_files(s, DSGAN_SUBJECTS)],
        data=dsgan_subject_files("data", DSGAN_SUBJECTS),
        records=dsgan_record_files,
    output:
        csv=report(
            f"{DSGAN_DIR}/tables/table2.csv",
            caption="../report/dsgan/table.rst",
            category="DSGAN + EDSR (Huang et al.)",
            labels={"table": "table2", "type": "table"},
        ),
        md=f"{DSGAN_DIR}/tables/table2.md",
        tex=f"{DSGAN_DIR}/tables/table2.tex",
        csv3=report(
            f"{DSGAN_DIR}/tables/table3.csv",
            caption="../report/dsgan/table.rst",
            category="DSGAN + EDSR (Huang et al.)",
            labels={"table": "table3", "type": "table"},
        ),
        md3=f"{DSGAN_DIR}/tables/table3.md",
        tex3=f"{DSGAN_DIR}/tables/table3.tex",
        ttest=report(
            f"{DSGAN_DIR}/tables/ttest_gb_vs_dsgan.tsv",
            caption="../report/dsgan/ttest.rst",
            category="DSGAN + EDSR (Huang et al.)",
            labels={"table": "t-test GB vs DSGAN", "type": "table"},
        ),
        kernels=report(
            f"{DSGAN_DIR}/tables/kernels.tsv",
            caption="../report/dsgan/kernels.rst",
            category="DSGAN + EDSR (Huang et al.)",
            labels={"table": "learned vs hidden kernel", "type": "table"},
        ),
        claims=f"{DSGAN_DIR}/claims.csv",
    log:
        "logs/dsgan/tables.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        cfg=DSGAN,
        footer=footer_params("dsgan", DSGAN_DATA_LABEL, phantom=True),
    script:
        "../scripts/dsgan/table.py"


rule dsgan_figure:
    input:
        unpack(dsgan_figure_inputs),
    output:
        png=report(
            f"{DSGAN_DIR}/figures/{{dsgan_figure}}.png",
            caption="../report/dsgan/figure.rst",
            category="DSGAN + EDSR (Huang et al.)",
            labels={"figure": "{dsgan_figure}", "type": "figure"},
        ),
        pdf=f"{DSGAN_DIR}/figures/{{dsgan_figure}}.pdf",
    log:
        f"logs/dsgan/figure_{{dsgan_figure}}.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        cfg=DSGAN,
        preset=config["preset"],
        seeds=SEEDS,
        subjects=DSGAN_SUBJECTS,
    script:
        "../scripts/dsgan/figure.py"
