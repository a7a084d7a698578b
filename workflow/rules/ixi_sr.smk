# Lyu et al. 2019, GAN-CPCE and GAN-CIRCLE: T2w slices and their k-space truncated LR, per-method
# GPU-tagged training, full-slice inference, Table 1, Figures 4-5 and loss curves.
# Wildcards: ixi_sr_subject, ixi_sr_method (and the shared seed).


include: "ixi_sr_common.smk"


rule ixi_sr_data:
    input:
        ixi_sr_volume,
    output:
        f"{IXI_DIR}/data/{{ixi_sr_subject}}.npz",
    log:
        f"logs/ixi_sr/data/{{ixi_sr_subject}}.log",
    benchmark:
        f"benchmarks/results/ixi_sr/data/{{ixi_sr_subject}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        cfg=IXI_SR,
        train_subjects=IXI_TRAIN,
    script:
        "../scripts/ixi_sr/data.py"


rule ixi_sr_train:
    input:
        train=ixi_sr_train_data,
    output:
        model=ensure(
            f"{IXI_DIR}/models/{{ixi_sr_method}}/seed-{{seed}}/model.pt",
            non_empty=True,
        ),
        log_csv=f"{IXI_DIR}/models/{{ixi_sr_method}}/seed-{{seed}}/loss.csv",
        record=f"{IXI_DIR}/models/{{ixi_sr_method}}/seed-{{seed}}/loss.json",
    log:
        f"logs/ixi_sr/train/{{ixi_sr_method}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/ixi_sr/train/{{ixi_sr_method}}_seed-{{seed}}.tsv"
    retries: 1
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        method=ixi_sr_method_entry,
        cfg=IXI_SR,
        data=IXI_DATA,
        inference=ixi_sr_inference_settings(),
        ckpt_dir=f"{IXI_DIR}/checkpoints/{{ixi_sr_method}}/seed-{{seed}}",
        compute=compute_params("ixi_sr"),
    script:
        "../scripts/ixi_sr/train.py"


rule ixi_sr_infer:
    input:
        model=ixi_sr_model,
        data=expand(f"{IXI_DIR}/data/{{s}}.npz", s=IXI_TEST),
    output:
        metrics=f"{IXI_DIR}/eval/{{ixi_sr_method}}/seed-{{seed}}/metrics.tsv",
        examples=f"{IXI_DIR}/eval/{{ixi_sr_method}}/seed-{{seed}}/examples.npz",
        predictions=directory(f"{IXI_DIR}/predictions/{{ixi_sr_method}}/seed-{{seed}}"),
    log:
        f"logs/ixi_sr/infer/{{ixi_sr_method}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/ixi_sr/infer/{{ixi_sr_method}}_seed-{{seed}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=ixi_sr_gpu,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        subjects=IXI_TEST,
        batch=IXI_SR["infer_batch"],
        compute=compute_params("ixi_sr"),
    script:
        "../scripts/ixi_sr/infer.py"


rule ixi_sr_table:
    input:
        references=ixi_sr_reference_metrics,
        networks=ixi_sr_network_metrics,
        records=ixi_sr_training_records,
    output:
        csv=report(
            f"{IXI_DIR}/tables/table1.csv",
            caption="../report/ixi_sr/table.rst",
            category="GAN-CPCE / GAN-CIRCLE (Lyu et al.)",
            labels={"table": "table1", "type": "table"},
        ),
        md=f"{IXI_DIR}/tables/table1.md",
        tex=f"{IXI_DIR}/tables/table1.tex",
        claims=f"{IXI_DIR}/claims.csv",
    log:
        "logs/ixi_sr/table1.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        cfg=IXI_SR,
        test=IXI_TEST,
        footer=ixi_sr_footer(),
    script:
        "../scripts/ixi_sr/table.py"


rule ixi_sr_figure:
    input:
        examples=ixi_sr_example_files,
        logs=ixi_sr_loss_logs,
        records=ixi_sr_figure_records,
    output:
        fig4=report(
            f"{IXI_DIR}/figures/fig4_slices.png",
            caption="../report/ixi_sr/figure.rst",
            category="GAN-CPCE / GAN-CIRCLE (Lyu et al.)",
            labels={"figure": "fig4_slices", "type": "figure"},
        ),
        fig4_pdf=f"{IXI_DIR}/figures/fig4_slices.pdf",
        fig5=report(
            f"{IXI_DIR}/figures/fig5_zoom.png",
            caption="../report/ixi_sr/figure.rst",
            category="GAN-CPCE / GAN-CIRCLE (Lyu et al.)",
            labels={"figure": "fig5_zoom", "type": "figure"},
        ),
        fig5_pdf=f"{IXI_DIR}/figures/fig5_zoom.pdf",
        curves=report(
            f"{IXI_DIR}/figures/loss_curves.png",
            caption="../report/ixi_sr/curves.rst",
            category="GAN-CPCE / GAN-CIRCLE (Lyu et al.)",
            labels={"figure": "loss_curves", "type": "figure"},
        ),
        curves_pdf=f"{IXI_DIR}/figures/loss_curves.pdf",
        learning=report(
            f"{IXI_DIR}/figures/learning_curves.png",
            caption="../report/ixi_sr/learning.rst",
            category="GAN-CPCE / GAN-CIRCLE (Lyu et al.)",
            labels={"figure": "learning_curves", "type": "figure"},
        ),
        learning_pdf=f"{IXI_DIR}/figures/learning_curves.pdf",
    log:
        "logs/ixi_sr/figures.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        methods=IXI_METHODS,
        networks=IXI_NETWORKS,
        labels=IXI_LABELS,
        cfg=IXI_SR,
        preset=config["preset"],
        seed=IXI_FIGURE_SEED,
    script:
        "../scripts/ixi_sr/figure.py"
