# Lyu et al. 2019, GAN-CPCE and GAN-CIRCLE: 2x k-space SR of T2 slices.
# Globals, wildcard constraints and input functions of workflow/rules/ixi_sr.smk.
# Wildcards: ixi_sr_subject, ixi_sr_method (and the shared seed).
from mrsr.sheets import read_sheet


def ixi_sr_final_outputs() -> list[str]:
    """Table 1 (csv/md/tex), claims, Figures 4 and 5, loss and learning curves."""
    outs = expand(f"{IXI_DIR}/tables/table1.{{ext}}", ext=["csv", "md", "tex"])
    outs.append(f"{IXI_DIR}/claims.csv")
    outs += expand(
        f"{IXI_DIR}/figures/{{name}}.{{ext}}",
        name=["fig4_slices", "fig5_zoom", "loss_curves", "learning_curves"],
        ext=["png", "pdf"],
    )
    return outs


def ixi_sr_inference_settings() -> dict:
    """What `mrsr apply` needs: the slice axis and the in-plane upsampling of an LR scan (1 / the kept fraction of
    k-space per axis)."""
    from mrsr.experiments.ixi_sr.data import KSPACE_FRACTION

    return {
        "slice_axis": int(IXI_SR["slice_axis"]),
        "upsample_factor": round(1 / KSPACE_FRACTION),
        "normalise": "min-max per volume",
    }


def ixi_sr_uses_cohort() -> bool:
    """The phantom cohort is read unless a subject sheet is given."""
    return not IXI_SR["subject_sheet"]


IXI_SR = register_experiment("ixi_sr", ixi_sr_final_outputs, ixi_sr_uses_cohort)
IXI_DIR = "results/ixi_sr"
IXI_SHEET = (
    read_sheet(
        IXI_SR["subject_sheet"],
        schema=SCHEMAS / "ixi_sr_sheet.schema.yaml",
        file_columns=("t2w",),
    )
    if IXI_SR["subject_sheet"]
    else None
)
IXI_SUBJECTS = (
    list(IXI_SHEET) if IXI_SHEET else phantom_subjects()[: int(IXI_SR["n_subjects"])]
)
if len(IXI_SUBJECTS) <= int(IXI_SR["test_subjects"]):
    raise ValueError(
        f"config ixi_sr.test_subjects: {IXI_SR['test_subjects']} leaves no training subject of {len(IXI_SUBJECTS)}"
    )
IXI_TEST = IXI_SUBJECTS[-int(IXI_SR["test_subjects"]) :]
IXI_TRAIN = [s for s in IXI_SUBJECTS if s not in IXI_TEST]
IXI_METHODS = list(IXI_SR["methods"])
IXI_NETWORKS = [k for k, m in IXI_SR["methods"].items() if m.get("generator")]
IXI_LABELS = {k: m["label"] for k, m in IXI_SR["methods"].items()}
IXI_DATA = (
    f"phantom cohort (T2w slices, {float(IXI_SR['phantom_voxel_mm']):g} mm grid)"
    if IXI_SHEET is None
    else f"subject sheet {IXI_SR['subject_sheet']}"
)


wildcard_constraints:
    ixi_sr_subject="|".join(IXI_SUBJECTS),
    ixi_sr_method="|".join(IXI_METHODS),


def ixi_sr_volume(wildcards) -> str:
    """The subject's T2w volume: the sheet's file or the phantom subject's t2w map on ixi_sr's phantom grid."""
    if IXI_SHEET:
        return IXI_SHEET[wildcards.ixi_sr_subject]["t2w"]
    return cohort_map_on_grid(
        wildcards.ixi_sr_subject, "t2w", IXI_SR["phantom_voxel_mm"]
    )


def ixi_sr_train_data(wildcards) -> list[str]:
    """Slices of the training subjects."""
    return expand(f"{IXI_DIR}/data/{{s}}.npz", s=IXI_TRAIN)


def ixi_sr_method_entry(wildcards) -> dict:
    """The config entry of a method."""
    return IXI_SR["methods"][wildcards.ixi_sr_method]


def ixi_sr_model(wildcards) -> list[str]:
    """The trained model of a network method; none for the reference rows."""
    if wildcards.ixi_sr_method not in IXI_NETWORKS:
        return []
    return [
        f"{IXI_DIR}/models/{wildcards.ixi_sr_method}/seed-{wildcards.seed}/model.pt"
    ]


def ixi_sr_gpu(wildcards) -> int:
    """1 for network methods, 0 for the reference rows."""
    return 1 if wildcards.ixi_sr_method in IXI_NETWORKS else 0


IXI_REFERENCES = [m for m in IXI_METHODS if m not in IXI_NETWORKS]
# Figures show the first training seed's networks.
IXI_FIGURE_SEED = SEEDS[0]


def ixi_sr_eval_file(method: str, seed: int, name: str) -> str:
    """An eval output of a method: networks under the training seed, no-model reference rows under SEED only."""
    return f"{IXI_DIR}/eval/{method}/seed-{seed if method in IXI_NETWORKS else SEED}/{name}"


def ixi_sr_reference_metrics(wildcards) -> list[str]:
    """Per-slice metrics of the no-model reference rows (LR, bicubic): computed once, shared by every seed."""
    return [ixi_sr_eval_file(m, SEED, "metrics.tsv") for m in IXI_REFERENCES]


def ixi_sr_network_metrics(wildcards) -> list[str]:
    """Per-slice metrics of every network for every training seed."""
    return expand(
        f"{IXI_DIR}/eval/{{m}}/seed-{{seed}}/metrics.tsv", m=IXI_NETWORKS, seed=SEEDS
    )


def ixi_sr_example_files(wildcards) -> list[str]:
    """Example slices of every method (networks: first training seed)."""
    return [ixi_sr_eval_file(m, IXI_FIGURE_SEED, "examples.npz") for m in IXI_METHODS]


def ixi_sr_loss_logs(wildcards) -> list[str]:
    """Training logs of the network methods (first training seed)."""
    return expand(
        f"{IXI_DIR}/models/{{m}}/seed-{IXI_FIGURE_SEED}/loss.csv", m=IXI_NETWORKS
    )


def ixi_sr_training_records(wildcards) -> list[str]:
    """Training records (loss.json) of every network for every training seed."""
    return expand(
        f"{IXI_DIR}/models/{{m}}/seed-{{seed}}/loss.json", m=IXI_NETWORKS, seed=SEEDS
    )


def ixi_sr_figure_records(wildcards) -> list[str]:
    """Training records of the network methods (first training seed), in the order of ixi_sr_loss_logs."""
    return expand(
        f"{IXI_DIR}/models/{{m}}/seed-{IXI_FIGURE_SEED}/loss.json", m=IXI_NETWORKS
    )


def ixi_sr_footer() -> dict:
    """footer_params of Table 1. The phantom's grid is ixi_sr.phantom_voxel_mm, so cohort.voxel_mm is left out; a
    sheet run leaves out phantom_voxel_mm too."""
    foot = footer_params("ixi_sr", IXI_DATA, IXI_SHEET is None)
    unused = ("cohort.voxel_mm",) if IXI_SHEET is None else ("phantom_voxel_mm",)
    foot["differences"] = [d for d in foot["differences"] if d[0] not in unused]
    return foot
