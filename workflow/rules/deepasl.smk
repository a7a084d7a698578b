# Ulas et al. 2018, DeepASL: pCASL simulation (synthetic and real-like sets), leave-one-subject-out
# training of Dilated Conv and DeepASL (PR-lambda), evaluation, Table 1 and Figures 2-4.
# Wildcards: deepasl_subject, deepasl_dataset, deepasl_method, deepasl_fold, deepasl_figure (and the shared seed).


include: "deepasl_common.smk"


rule deepasl_data:
    input:
        unpack(deepasl_maps),
        sheet=deepasl_sheet_files,
    output:
        f"{ASL_DIR}/data/{{deepasl_dataset}}/{{deepasl_subject}}.npz",
    log:
        f"logs/deepasl/data/{{deepasl_dataset}}_{{deepasl_subject}}.log",
    benchmark:
        f"benchmarks/results/deepasl/data/{{deepasl_dataset}}_{{deepasl_subject}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=3000,
    params:
        cfg=DEEPASL,
        seed=SEED,
        index=deepasl_subject_index,
        sheet_row=deepasl_sheet_row,
        maps=ASL_COHORT_MAPS,
    script:
        "../scripts/deepasl/data.py"


rule deepasl_train:
    input:
        train=deepasl_train_data,
    output:
        model=ensure(
            f"{ASL_DIR}/models/{{deepasl_dataset}}/{{deepasl_method}}/fold-{{deepasl_fold}}/seed-{{seed}}/model.pt",
            non_empty=True,
        ),
        log_csv=f"{ASL_DIR}/models/{{deepasl_dataset}}/{{deepasl_method}}/fold-{{deepasl_fold}}/seed-{{seed}}/loss.csv",
        record=f"{ASL_DIR}/models/{{deepasl_dataset}}/{{deepasl_method}}/fold-{{deepasl_fold}}/seed-{{seed}}/loss.json",
    log:
        f"logs/deepasl/train/{{deepasl_dataset}}_{{deepasl_method}}_fold-{{deepasl_fold}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/deepasl/train/{{deepasl_dataset}}_{{deepasl_method}}_fold-{{deepasl_fold}}_seed-{{seed}}.tsv"
    retries: 1
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        method=deepasl_method_entry,
        cfg=DEEPASL,
        ckpt_dir=f"{ASL_DIR}/checkpoints/{{deepasl_dataset}}/{{deepasl_method}}/fold-{{deepasl_fold}}/seed-{{seed}}",
        compute=compute_params("deepasl"),
        inference=deepasl_inference_settings,
        trained_on=deepasl_trained_on,
    script:
        "../scripts/deepasl/train.py"


rule deepasl_infer:
    input:
        models=deepasl_fold_models,
        data=deepasl_heldout_data,
    output:
        metrics=f"{ASL_DIR}/eval/{{deepasl_dataset}}/{{deepasl_method}}/seed-{{seed}}/metrics.tsv",
        examples=f"{ASL_DIR}/eval/{{deepasl_dataset}}/{{deepasl_method}}/seed-{{seed}}/examples.npz",
        predictions=directory(
            f"{ASL_DIR}/predictions/{{deepasl_dataset}}/{{deepasl_method}}/seed-{{seed}}"
        ),
    log:
        f"logs/deepasl/infer/{{deepasl_dataset}}_{{deepasl_method}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/deepasl/infer/{{deepasl_dataset}}_{{deepasl_method}}_seed-{{seed}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=deepasl_gpu,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        subjects=ASL_HELDOUT,
        batch=DEEPASL["infer_batch"],
        compute=compute_params("deepasl"),
        patch_size=(DEEPASL["patch_size"] if DEEPASL["inference"] == "patch" else None),
        brain_slices=DEEPASL["brain_slices"],
    script:
        "../scripts/deepasl/infer.py"


rule deepasl_table:
    input:
        metrics=deepasl_metric_files,
        records=deepasl_record_files,
    output:
        csv=report(
            f"{ASL_DIR}/tables/table1.csv",
            caption="../report/deepasl/table.rst",
            category="DeepASL (Ulas et al.)",
            labels={"table": "table1", "type": "table"},
        ),
        md=f"{ASL_DIR}/tables/table1.md",
        tex=f"{ASL_DIR}/tables/table1.tex",
        tests=report(
            f"{ASL_DIR}/tables/table1_tests.tsv",
            caption="../report/deepasl/tests.rst",
            category="DeepASL (Ulas et al.)",
            labels={"table": "paired tests", "type": "table"},
        ),
        claims=f"{ASL_DIR}/claims.csv",
    log:
        "logs/deepasl/table1.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        cfg=DEEPASL,
        datasets=ASL_DATASETS,
        heldout=ASL_HELDOUT,
        seeds=SEEDS,
        footer=footer_params("deepasl", ASL_DATA, ASL_SHEET is None),
    script:
        "../scripts/deepasl/table.py"


rule deepasl_figure:
    input:
        deepasl_figure_inputs,
    output:
        png=report(
            f"{ASL_DIR}/figures/{{deepasl_figure}}.png",
            caption="../report/deepasl/figure.rst",
            category="DeepASL (Ulas et al.)",
            labels={"figure": "{deepasl_figure}", "type": "figure"},
        ),
        pdf=f"{ASL_DIR}/figures/{{deepasl_figure}}.pdf",
    log:
        f"logs/deepasl/figure_{{deepasl_figure}}.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        spec=deepasl_figure_spec,
        labels=ASL_LABELS,
        preset=config["preset"],
        seeds=SEEDS,
    script:
        "../scripts/deepasl/figure.py"


rule deepasl_learning_curves:
    input:
        logs=deepasl_curve_logs,
        records=deepasl_curve_records,
    output:
        png=report(
            f"{ASL_DIR}/figures/learning_curves_{{deepasl_dataset}}.png",
            caption="../report/deepasl/learning_curves.rst",
            category="DeepASL (Ulas et al.)",
            labels={"figure": "learning curves {deepasl_dataset}", "type": "figure"},
        ),
        pdf=f"{ASL_DIR}/figures/learning_curves_{{deepasl_dataset}}.pdf",
    log:
        f"logs/deepasl/learning_curves_{{deepasl_dataset}}.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        methods=deepasl_curve_methods,
        labels=ASL_LABELS,
        fold=ASL_HELDOUT[0],
        seed=SEEDS[0],
        preset=config["preset"],
    script:
        "../scripts/deepasl/curves.py"
