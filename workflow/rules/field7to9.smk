# Ravikumar et al.: 7T -> 9.4T synthesis. Simulation, N4, registration, patches,
# training and inference of every method, tables 2 and 3 and figures 4-12.
# Wildcards: field_subject, field_role, field_method, field_table, field_figure (and the shared seed).


include: "field7to9_common.smk"


rule field_simulate:
    input:
        expand(
            "results/cohort/{{field_subject}}/{map}.nii.gz",
            map=["gm", "wm", "csf", "pd", "t1map", "t2map", "mask"],
        ),
    output:
        hr=f"{FIELD_DIR}/raw/{{field_subject}}/hr.nii.gz",
        lr=f"{FIELD_DIR}/raw/{{field_subject}}/lr.nii.gz",
        mask=f"{FIELD_DIR}/raw/{{field_subject}}/mask.nii.gz",
    log:
        f"logs/field7to9/simulate/{{field_subject}}.log",
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        sim=FIELD["simulation"],
        seed=SEED,
        index=field_subject_index,
    script:
        "../scripts/field7to9/simulate.py"


rule field_n4:
    input:
        image=field_raw,
        mask=field_mask,
    output:
        f"{FIELD_DIR}/n4/{{field_subject}}/{{field_role}}.nii.gz",
    log:
        f"logs/field7to9/n4/{{field_subject}}_{{field_role}}.log",
    benchmark:
        f"benchmarks/results/field7to9/n4/{{field_subject}}_{{field_role}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        shrink=FIELD["preprocess"]["n4_shrink"],
    script:
        "../scripts/field7to9/n4.py"


rule field_register:
    input:
        lr=f"{FIELD_DIR}/n4/{{field_subject}}/lr.nii.gz",
        hr=f"{FIELD_DIR}/n4/{{field_subject}}/hr.nii.gz",
    output:
        f"{FIELD_DIR}/registered/{{field_subject}}/lr.nii.gz",
    log:
        f"logs/field7to9/register/{{field_subject}}.log",
    benchmark:
        f"benchmarks/results/field7to9/register/{{field_subject}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=3000,
    params:
        factor=FIELD["simulation"]["factor"],
        transform=FIELD["preprocess"]["registration"],
        iterations=FIELD["preprocess"]["reg_iterations"],
        seed=SEED,
    script:
        "../scripts/field7to9/register.py"


rule field_patches:
    input:
        lr=f"{FIELD_DIR}/registered/{{field_subject}}/lr.nii.gz",
        hr=f"{FIELD_DIR}/n4/{{field_subject}}/hr.nii.gz",
        mask=field_mask,
    output:
        f"{FIELD_DIR}/patches/{{field_subject}}.npz",
    log:
        f"logs/field7to9/patches/{{field_subject}}.log",
    benchmark:
        f"benchmarks/results/field7to9/patches/{{field_subject}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        cfg=FIELD,
        seed=SEED,
        # only test subjects' whole volumes are read again (inference); the others keep patches and metadata
        keep_volumes=lambda wildcards: wildcards.field_subject in FIELD_SPLIT["test"],
    script:
        "../scripts/field7to9/patches.py"


rule field_train:
    input:
        train=field_patch_files("train"),
        val=field_patch_files("val"),
    output:
        model=ensure(
            f"{FIELD_DIR}/models/{{field_method}}/seed-{{seed}}/model.pt",
            non_empty=True,
        ),
        log_csv=f"{FIELD_DIR}/models/{{field_method}}/seed-{{seed}}/loss.csv",
        record=f"{FIELD_DIR}/models/{{field_method}}/seed-{{seed}}/loss.json",
    log:
        f"logs/field7to9/train/{{field_method}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/field7to9/train/{{field_method}}_seed-{{seed}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        method=field_method_entry,
        max_updates=field_max_updates,
        batch_size=field_batch_size,
        stopping=field_stopping,
        val_patches=FIELD.get("val_patches"),
        vgg_weights=FIELD["vgg16_weights"],
        inference=field_inference_settings(),
        trained_on=field_trained_on(),
        ckpt_dir=f"{FIELD_DIR}/checkpoints/{{field_method}}/seed-{{seed}}",
        compute=field_compute,
    script:
        "../scripts/field7to9/train.py"


rule field_infer:
    input:
        model=f"{FIELD_DIR}/models/{{field_method}}/seed-{{seed}}/model.pt",
        test=field_patch_files("test"),
    output:
        metrics=f"{FIELD_DIR}/eval/{{field_method}}/seed-{{seed}}/metrics.tsv",
        examples=f"{FIELD_DIR}/eval/{{field_method}}/seed-{{seed}}/examples.npz",
        predictions=directory(f"{FIELD_DIR}/predictions/{{field_method}}/seed-{{seed}}"),
    log:
        f"logs/field7to9/infer/{{field_method}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/field7to9/infer/{{field_method}}_seed-{{seed}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        cfg=FIELD,
        compute=field_compute,
    script:
        "../scripts/field7to9/infer.py"


rule field_input_eval:
    input:
        test=field_patch_files("test"),
    output:
        metrics=f"{FIELD_DIR}/eval/input/seed-{{seed}}/metrics.tsv",
        examples=f"{FIELD_DIR}/eval/input/seed-{{seed}}/examples.npz",
    log:
        f"logs/field7to9/input_eval/seed-{{seed}}.log",
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        cfg=FIELD,
    script:
        "../scripts/field7to9/input_eval.py"


rule field_rfsr_train:
    input:
        train=field_patch_files("train"),
    output:
        ensure(f"{FIELD_DIR}/models/rfsr/seed-{{seed}}/model.joblib", non_empty=True),
    log:
        f"logs/field7to9/rfsr_train/seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/field7to9/rfsr_train/seed-{{seed}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        rfsr=FIELD["rfsr"],
    script:
        "../scripts/field7to9/rfsr_train.py"


rule field_rfsr_apply:
    input:
        model=f"{FIELD_DIR}/models/rfsr/seed-{{seed}}/model.joblib",
        test=field_patch_files("test"),
    output:
        metrics=f"{FIELD_DIR}/eval/rfsr/seed-{{seed}}/metrics.tsv",
        examples=f"{FIELD_DIR}/eval/rfsr/seed-{{seed}}/examples.npz",
    log:
        f"logs/field7to9/rfsr_apply/seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/field7to9/rfsr_apply/seed-{{seed}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        cfg=FIELD,
    script:
        "../scripts/field7to9/rfsr_apply.py"


rule field_table:
    input:
        methods=field_table_metrics,
        records=field_table_records,
        reference=f"{FIELD_DIR}/eval/input/seed-{SEED}/metrics.tsv",
    output:
        csv=report(
            f"{FIELD_DIR}/tables/{{field_table}}.csv",
            caption="../report/field7to9/table.rst",
            category="7T to 9.4T (Ravikumar et al.)",
            labels={"table": "{field_table}", "type": "table"},
        ),
        md=f"{FIELD_DIR}/tables/{{field_table}}.md",
        tex=f"{FIELD_DIR}/tables/{{field_table}}.tex",
        slices=f"{FIELD_DIR}/tables/{{field_table}}_items.tsv",
        status=f"{FIELD_DIR}/tables/{{field_table}}_status.json",
        overview=report(
            f"{FIELD_DIR}/tables/{{field_table}}_overview.png",
            caption="../report/field7to9/overview.rst",
            category="7T to 9.4T (Ravikumar et al.)",
            labels={"table": "{field_table}", "type": "overview figure"},
        ),
    log:
        f"logs/field7to9/table_{{field_table}}.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        cfg=FIELD,
        footer=footer_params("field7to9", FIELD_DATA, FIELD_SHEET is None),
    script:
        "../scripts/field7to9/table.py"


rule field_claims:
    input:
        tables=expand(
            f"{FIELD_DIR}/tables/{{field_table}}.csv", field_table=FIELD_TABLES
        ),
        slices=expand(
            f"{FIELD_DIR}/tables/{{field_table}}_items.tsv", field_table=FIELD_TABLES
        ),
        status=expand(
            f"{FIELD_DIR}/tables/{{field_table}}_status.json", field_table=FIELD_TABLES
        ),
    output:
        f"{FIELD_DIR}/claims.csv",
    log:
        "logs/field7to9/claims.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        footer=footer_params("field7to9", FIELD_DATA, FIELD_SHEET is None),
    script:
        "../scripts/field7to9/claims.py"


rule field_figure:
    input:
        field_figure_inputs,
    output:
        png=report(
            f"{FIELD_DIR}/figures/{{field_figure}}.png",
            caption="../report/field7to9/figure.rst",
            category="7T to 9.4T (Ravikumar et al.)",
            labels={"figure": "{field_figure}", "type": "figure"},
        ),
        pdf=f"{FIELD_DIR}/figures/{{field_figure}}.pdf",
    log:
        f"logs/field7to9/figure_{{field_figure}}.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        spec=field_figure_spec,
        cfg=FIELD,
        data=FIELD_DATA_SHORT,
        preset=config["preset"],
        seed=FIELD_FIGURE_SEED,
    script:
        "../scripts/field7to9/figure.py"
