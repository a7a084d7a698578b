# Cui et al. 2020: unsupervised multi-scale 3-D GAN super-resolution of ASL with a T1 prior: HR/NR/LR perfusion
# from the phantom cohort (or NR/LR from a subject sheet's BIDS ASL, with its T1w registered by ANTs), one
# pyramid per subject, experiment, variant and training seed (GPU-tagged), interpolation baselines (once),
# Table 1, the Experiment 2 table (mean and spread over seeds), claims, Figures 2-4 and the per-scale loss curves
# (first training seed).


include: "asl_sr_common.smk"


rule asl_sr_data:
    input:
        unpack(asl_sr_maps),
    output:
        f"{ASR_DIR}/data/{{asl_sr_subject}}.npz",
    log:
        f"logs/asl_sr/data/{{asl_sr_subject}}.log",
    benchmark:
        f"benchmarks/results/asl_sr/data/{{asl_sr_subject}}.tsv"
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=3000,
    params:
        cfg=ASL_SR,
        seed=SEED,
        index=asl_sr_subject_index,
        sheet=ASR_SHEET is not None,
    script:
        "../scripts/asl_sr/data.py"


rule asl_sr_train:
    input:
        f"{ASR_DIR}/data/{{asl_sr_subject}}.npz",
    output:
        model=ensure(
            f"{ASR_DIR}/models/{{asl_sr_exp}}/{{asl_sr_variant}}/{{asl_sr_subject}}/seed-{{seed}}/model.pt",
            non_empty=True,
        ),
        log_csv=f"{ASR_DIR}/models/{{asl_sr_exp}}/{{asl_sr_variant}}/{{asl_sr_subject}}/seed-{{seed}}/loss.csv",
        sr=f"{ASR_DIR}/models/{{asl_sr_exp}}/{{asl_sr_variant}}/{{asl_sr_subject}}/seed-{{seed}}/sr.npz",
        training=f"{ASR_DIR}/models/{{asl_sr_exp}}/{{asl_sr_variant}}/{{asl_sr_subject}}/seed-{{seed}}/training.json",
        predictions=directory(
            f"{ASR_DIR}/predictions/{{asl_sr_exp}}/{{asl_sr_variant}}/{{asl_sr_subject}}/seed-{{seed}}"
        ),
    log:
        f"logs/asl_sr/train/{{asl_sr_exp}}_{{asl_sr_variant}}_{{asl_sr_subject}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/asl_sr/train/{{asl_sr_exp}}_{{asl_sr_variant}}_{{asl_sr_subject}}_seed-{{seed}}.tsv"
    retries: 1
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    params:
        method=asl_sr_method,
        max_updates=ASL_SR["max_updates"],
        stopping=ASL_SR["stopping"],
        compute=compute_params("asl_sr"),
        ckpt_dir=f"{ASR_DIR}/checkpoints/{{asl_sr_exp}}/{{asl_sr_variant}}/{{asl_sr_subject}}/seed-{{seed}}",
        grid=ASL_SR["grid"],
        registration=ASL_SR["registration"],
        data=ASR_DATA,
    script:
        "../scripts/asl_sr/train.py"


rule asl_sr_baselines:
    input:
        data=f"{ASR_DIR}/data/{{asl_sr_subject}}.npz",
    output:
        metrics=f"{ASR_DIR}/eval/{{asl_sr_subject}}/seed-{SEED}/baselines.tsv",
        examples=f"{ASR_DIR}/eval/{{asl_sr_subject}}/seed-{SEED}/baselines.npz",
        slices=f"{ASR_DIR}/eval/{{asl_sr_subject}}/seed-{SEED}/baselines_slices.tsv",
    log:
        f"logs/asl_sr/baselines/{{asl_sr_subject}}.log",
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=3000,
    params:
        scoring=ASL_SR["scoring"],
    script:
        "../scripts/asl_sr/baselines.py"


rule asl_sr_eval:
    input:
        data=f"{ASR_DIR}/data/{{asl_sr_subject}}.npz",
        sr=asl_sr_sr_files,
    output:
        metrics=f"{ASR_DIR}/eval/{{asl_sr_subject}}/seed-{{seed}}/metrics.tsv",
        examples=f"{ASR_DIR}/eval/{{asl_sr_subject}}/seed-{{seed}}/examples.npz",
        slices=f"{ASR_DIR}/eval/{{asl_sr_subject}}/seed-{{seed}}/slices.tsv",
    log:
        f"logs/asl_sr/eval/{{asl_sr_subject}}_seed-{{seed}}.log",
    conda:
        "../../envs/mrsr.yaml"
    threads: 1
    resources:
        mem_mb=3000,
    params:
        runs=[f"{e}/{v}" for e, v in ASR_RUNS],
        scoring=ASL_SR["scoring"],
    script:
        "../scripts/asl_sr/eval.py"


rule asl_sr_table:
    input:
        metrics=expand(
            f"{ASR_DIR}/eval/{{s}}/seed-{{seed}}/metrics.tsv",
            s=ASR_SUBJECTS,
            seed=SEEDS,
        ),
        baselines=expand(
            f"{ASR_DIR}/eval/{{s}}/seed-{SEED}/baselines.tsv", s=ASR_SUBJECTS
        ),
        slices=expand(
            f"{ASR_DIR}/eval/{{s}}/seed-{{seed}}/slices.tsv",
            s=ASR_SUBJECTS,
            seed=SEEDS,
        ),
        baseline_slices=expand(
            f"{ASR_DIR}/eval/{{s}}/seed-{SEED}/baselines_slices.tsv", s=ASR_SUBJECTS
        ),
        training=asl_sr_training_files(),
    output:
        csv=report(
            f"{ASR_DIR}/tables/table1.csv",
            caption="../report/asl_sr/table.rst",
            category="ASL-SR (Cui et al.)",
            labels={"table": "table1", "type": "table"},
        ),
        md=f"{ASR_DIR}/tables/table1.md",
        tex=f"{ASR_DIR}/tables/table1.tex",
        exp2_csv=report(
            f"{ASR_DIR}/tables/exp2.csv",
            caption="../report/asl_sr/exp2.rst",
            category="ASL-SR (Cui et al.)",
            labels={"table": "experiment 2", "type": "table"},
        ),
        exp2_md=f"{ASR_DIR}/tables/exp2.md",
        exp2_tex=f"{ASR_DIR}/tables/exp2.tex",
        claims=f"{ASR_DIR}/claims.csv",
    log:
        "logs/asl_sr/table1.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        cfg=ASL_SR,
        footer=asl_sr_footer(),
        variants=ASR_VARIANTS,
    script:
        "../scripts/asl_sr/table.py"


rule asl_sr_figure:
    input:
        unpack(asl_sr_figure_inputs),
    output:
        png=report(
            f"{ASR_DIR}/figures/{{asl_sr_figure}}.png",
            caption="../report/asl_sr/figure.rst",
            category="ASL-SR (Cui et al.)",
            labels={"figure": "{asl_sr_figure}", "type": "figure"},
        ),
        pdf=f"{ASR_DIR}/figures/{{asl_sr_figure}}.pdf",
    log:
        f"logs/asl_sr/figure_{{asl_sr_figure}}.log",
    localrule: True
    conda:
        "../../envs/mrsr.yaml"
    params:
        runs=[f"{e}/{v}" for e, v in ASR_RUNS],
        preset=config["preset"],
        seed=SEEDS[0],
    script:
        "../scripts/asl_sr/figure.py"
