# Ravikumar et al.: 7T -> 9.4T synthesis. Simulation, N4, registration, patches,
# training and inference of every method, tables 2 and 3 and figures 4-12.

FIELD_DIR = "results/field7to9"

# Paper figures: which methods each shows (methods missing from the config are skipped).
FIELD_FIGURES = {
    "fig4_rfsr": {"kind": "rfsr"},
    "fig5_dcsrn_curves": {"kind": "curves", "methods": ["dcsrn_l1", "dcsrn_p", "dcsrn_l2"]},
    "fig6_fcn_curves": {"kind": "curves", "methods": ["fcn1", "fcn2"]},
    "fig7_cnn_examples": {"kind": "grid", "methods": ["dcsrn_l1", "dcsrn_l2", "dcsrn_p", "fcn1", "fcn2"]},
    "fig8_gan_examples": {"kind": "grid", "methods": ["dcgan2", "unet7", "pix2pix9"]},
    "fig9_dcgan_diff": {"kind": "grid", "methods": ["dcgan2", "dcgan3", "dcgan1", "dcgan4"]},
    "fig10_unet_diff": {"kind": "grid", "methods": ["unet7", "unet5", "unet6", "unet8"]},
    "fig11_pix2pix_diff": {"kind": "grid", "methods": ["pix2pix9", "pix2pix10", "pix2pix11"]},
    "fig12_gan_curves": {"kind": "curves", "methods": ["dcgan1", "dcgan2", "unet7", "pix2pix9"]},
}


def field_figure_methods(figure: str) -> list[str]:
    """Configured methods shown in a figure."""
    return [m for m in FIELD_FIGURES[figure].get("methods", []) if m in FIELD_METHODS]


def field_final_outputs() -> list[str]:
    """Tables (csv/md/tex) and figures (png/pdf) of the experiment."""
    outs = expand(
        f"{FIELD_DIR}/tables/{{table}}.{{ext}}", table=FIELD_TABLES, ext=["csv", "md", "tex"]
    )
    outs += expand(f"{FIELD_DIR}/tables/{{table}}_overview.png", table=FIELD_TABLES)
    figures = [f for f in FIELD_FIGURES if f == "fig4_rfsr" or field_figure_methods(f)]
    outs += expand(f"{FIELD_DIR}/figures/{{figure}}.{{ext}}", figure=figures, ext=["png", "pdf"])
    return outs


def field_raw(wildcards) -> str:
    """The LR or HR volume before preprocessing: the subject sheet's file or the simulation."""
    if FIELD_SHEET:
        return FIELD_SHEET[wildcards.subject][wildcards.role]
    return f"{FIELD_DIR}/raw/{wildcards.subject}/{wildcards.role}.nii.gz"


def field_mask(wildcards) -> list[str]:
    """Optional brain mask on the HR grid (empty list when the sheet gives none)."""
    if FIELD_SHEET:
        mask = FIELD_SHEET[wildcards.subject].get("mask")
        return [mask] if mask else []
    return [f"{FIELD_DIR}/raw/{wildcards.subject}/mask.nii.gz"]


def field_patch_files(split: str) -> list[str]:
    """Patch containers of the subjects in one split."""
    return expand(f"{FIELD_DIR}/patches/{{subject}}.npz", subject=FIELD_SPLIT[split])


def field_method(wildcards) -> dict:
    """The config entry of a method."""
    return FIELD["methods"][wildcards.method]


def field_epochs(wildcards) -> int:
    """Epochs of a method: its own value, else its family's default."""
    method = FIELD["methods"][wildcards.method]
    family = "cnn" if method["trainer"] == "supervised" else "gan"
    return int(method.get("epochs", FIELD[family]["epochs"]))


def field_batch_size(wildcards) -> int:
    """Batch size of a method: its own value, else its family's default."""
    method = FIELD["methods"][wildcards.method]
    family = "cnn" if method["trainer"] == "supervised" else "gan"
    return int(method.get("batch_size", FIELD[family]["batch_size"]))


def field_table_metrics(wildcards) -> list[str]:
    """Metric files of the methods in one table."""
    methods = [m for m in FIELD_METHODS if FIELD["methods"][m]["table"] == wildcards.table]
    return expand(
        f"{FIELD_DIR}/eval/{{method}}/seed-{SEED}/metrics.tsv", method=methods
    )


def field_figure_inputs(wildcards) -> list[str]:
    """Example slices, or loss logs, of the methods a figure shows."""
    spec = FIELD_FIGURES[wildcards.figure]
    if spec["kind"] == "rfsr":
        return [f"{FIELD_DIR}/eval/rfsr/seed-{SEED}/examples.npz"]
    name = "loss.csv" if spec["kind"] == "curves" else "examples.npz"
    folder = "models" if spec["kind"] == "curves" else "eval"
    return expand(
        f"{FIELD_DIR}/{folder}/{{method}}/seed-{SEED}/{name}",
        method=field_figure_methods(wildcards.figure),
    )


def field_figure_spec(wildcards) -> dict:
    """Kind and methods of a figure."""
    return {**FIELD_FIGURES[wildcards.figure], "methods": field_figure_methods(wildcards.figure)}


def field_inference_settings() -> dict:
    """What `mrsr apply` needs to treat a new volume as the training data were treated."""
    pre = FIELD["preprocess"]
    return {
        "patch_size": FIELD["patch_size"],
        "stride": FIELD["stride"],
        "crop": FIELD["crop"],
        "axes": FIELD["slice_axes"],
        "clip_percentiles": pre["clip_percentiles"],
        "scale_max": pre["scale_max"],
        "upsample_factor": FIELD["simulation"]["factor"],
    }


rule field_simulate:
    input:
        expand(
            "results/cohort/{{subject}}/{map}.nii.gz",
            map=["gm", "wm", "csf", "pd", "t1map", "t2map", "mask"],
        ),
    output:
        hr=f"{FIELD_DIR}/raw/{{subject}}/hr.nii.gz",
        lr=f"{FIELD_DIR}/raw/{{subject}}/lr.nii.gz",
        mask=f"{FIELD_DIR}/raw/{{subject}}/mask.nii.gz",
    params:
        sim=FIELD["simulation"],
        seed=SEED,
        index=subject_index,
    log:
        f"logs/field7to9/simulate/{{subject}}.log",
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/field_simulate.py"


rule field_n4:
    input:
        image=field_raw,
        mask=field_mask,
    output:
        f"{FIELD_DIR}/n4/{{subject}}/{{role}}.nii.gz",
    params:
        shrink=FIELD["preprocess"]["n4_shrink"],
    log:
        f"logs/field7to9/n4/{{subject}}_{{role}}.log",
    benchmark:
        f"benchmarks/results/field7to9/n4/{{subject}}_{{role}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/field_n4.py"


rule field_register:
    input:
        lr=f"{FIELD_DIR}/n4/{{subject}}/lr.nii.gz",
        hr=f"{FIELD_DIR}/n4/{{subject}}/hr.nii.gz",
    output:
        f"{FIELD_DIR}/registered/{{subject}}/lr.nii.gz",
    params:
        factor=FIELD["simulation"]["factor"],
        transform=FIELD["preprocess"]["registration"],
        iterations=FIELD["preprocess"]["reg_iterations"],
        seed=SEED,
    log:
        f"logs/field7to9/register/{{subject}}.log",
    benchmark:
        f"benchmarks/results/field7to9/register/{{subject}}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
    script:
        "../scripts/field_register.py"


rule field_patches:
    input:
        lr=f"{FIELD_DIR}/registered/{{subject}}/lr.nii.gz",
        hr=f"{FIELD_DIR}/n4/{{subject}}/hr.nii.gz",
        mask=field_mask,
    output:
        f"{FIELD_DIR}/patches/{{subject}}.npz",
    params:
        cfg=FIELD,
        seed=SEED,
    log:
        f"logs/field7to9/patches/{{subject}}.log",
    benchmark:
        f"benchmarks/results/field7to9/patches/{{subject}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/field_patches.py"


rule field_train:
    input:
        train=field_patch_files("train"),
        val=field_patch_files("val"),
    output:
        model=ensure(f"{FIELD_DIR}/models/{{method}}/seed-{{seed}}/model.pt", non_empty=True),
        log_csv=f"{FIELD_DIR}/models/{{method}}/seed-{{seed}}/loss.csv",
    params:
        method=field_method,
        epochs=field_epochs,
        batch_size=field_batch_size,
        vgg_weights=FIELD["vgg16_weights"],
        inference=field_inference_settings(),
        ckpt_dir=f"{FIELD_DIR}/checkpoints/{{method}}/seed-{{seed}}",
    log:
        f"logs/field7to9/train/{{method}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/field7to9/train/{{method}}_seed-{{seed}}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    script:
        "../scripts/field_train.py"


rule field_infer:
    input:
        model=f"{FIELD_DIR}/models/{{method}}/seed-{{seed}}/model.pt",
        test=field_patch_files("test"),
    output:
        metrics=f"{FIELD_DIR}/eval/{{method}}/seed-{{seed}}/metrics.tsv",
        examples=f"{FIELD_DIR}/eval/{{method}}/seed-{{seed}}/examples.npz",
    params:
        cfg=FIELD,
    log:
        f"logs/field7to9/infer/{{method}}_seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/field7to9/infer/{{method}}_seed-{{seed}}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_for_attempt,
        runtime=gpu_runtime,
    script:
        "../scripts/field_infer.py"


rule field_rfsr_train:
    input:
        train=field_patch_files("train"),
    output:
        ensure(f"{FIELD_DIR}/models/rfsr/seed-{{seed}}/model.joblib", non_empty=True),
    params:
        rfsr=FIELD["rfsr"],
    log:
        f"logs/field7to9/rfsr_train/seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/field7to9/rfsr_train/seed-{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/field_rfsr_train.py"


rule field_rfsr_apply:
    input:
        model=f"{FIELD_DIR}/models/rfsr/seed-{{seed}}/model.joblib",
        test=field_patch_files("test"),
    output:
        metrics=f"{FIELD_DIR}/eval/rfsr/seed-{{seed}}/metrics.tsv",
        examples=f"{FIELD_DIR}/eval/rfsr/seed-{{seed}}/examples.npz",
    params:
        cfg=FIELD,
    log:
        f"logs/field7to9/rfsr_apply/seed-{{seed}}.log",
    benchmark:
        f"benchmarks/results/field7to9/rfsr_apply/seed-{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/field_rfsr_apply.py"


rule field_table:
    input:
        field_table_metrics,
    output:
        csv=report(
            f"{FIELD_DIR}/tables/{{table}}.csv",
            caption="../report/field7to9_table.rst",
            category="7T to 9.4T (Ravikumar et al.)",
            labels={"table": "{table}", "type": "table"},
        ),
        md=f"{FIELD_DIR}/tables/{{table}}.md",
        tex=f"{FIELD_DIR}/tables/{{table}}.tex",
        overview=report(
            f"{FIELD_DIR}/tables/{{table}}_overview.png",
            caption="../report/field7to9_overview.rst",
            category="7T to 9.4T (Ravikumar et al.)",
            labels={"table": "{table}", "type": "overview figure"},
        ),
    params:
        cfg=FIELD,
        preset=config["preset"],
        seed=SEED,
        data="phantom" if FIELD_SHEET is None else f"subject sheet {FIELD['subject_sheet']}",
    log:
        f"logs/field7to9/table_{{table}}.log",
    localrule: True
    script:
        "../scripts/field_table.py"


rule field_figure:
    input:
        field_figure_inputs,
    output:
        png=report(
            f"{FIELD_DIR}/figures/{{figure}}.png",
            caption="../report/field7to9_figure.rst",
            category="7T to 9.4T (Ravikumar et al.)",
            labels={"figure": "{figure}", "type": "figure"},
        ),
        pdf=f"{FIELD_DIR}/figures/{{figure}}.pdf",
    params:
        spec=field_figure_spec,
        psnr_peak=FIELD["psnr_peak"],
        ssim_range=FIELD["ssim_data_range"],
        preset=config["preset"],
        seed=SEED,
    log:
        f"logs/field7to9/figure_{{figure}}.log",
    localrule: True
    script:
        "../scripts/field_figure.py"
