# Globals, wildcard constraints and input functions of workflow/rules/toy.smk.


def toy_final_outputs() -> list[str]:
    """The table (csv/md/tex), the claims scored and the figure (png/pdf)."""
    outs = expand(f"{TOY_DIR}/tables/table1.{{ext}}", ext=["csv", "md", "tex"])
    outs.append(f"{TOY_DIR}/claims.csv")
    outs += expand(f"{TOY_DIR}/figures/example.{{ext}}", ext=["png", "pdf"])
    return outs


TOY = register_experiment("toy", toy_final_outputs, uses_cohort=lambda: False)
TOY_DIR = "results/toy"
TOY_METHODS = list(TOY["methods"])
TOY_DATA = (
    f"{TOY['n_signals']} synthetic piecewise-constant 1-D signals with Gaussian noise"
)


wildcard_constraints:
    toy_method="|".join(TOY_METHODS),


def toy_metric_files(wildcards) -> list[str]:
    """Per-signal scores of every method, in the config's order."""
    return expand(f"{TOY_DIR}/eval/{{m}}/metrics.tsv", m=TOY_METHODS)


def toy_estimate_files(wildcards) -> list[str]:
    """Every method's estimates, in the config's order."""
    return expand(f"{TOY_DIR}/eval/{{m}}/estimate.npz", m=TOY_METHODS)
