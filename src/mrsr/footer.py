"""Table footers generated from the effective configuration: never a hand-kept list.

A footer states the data (phantom or the user's sheet), the preset, the seed(s), every value of the
experiment's config section that differs from the paper preset (config/config.yaml + config/paper.yaml),
the assumptions that apply to this run (each experiment's `assumptions.yaml`), and which trained
methods failed to beat the table's no-model reference row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import yaml

ASSUMPTIONS = "assumptions.yaml"  # in each experiment package: mrsr/experiments/<key>/
MISSING = "(absent)"
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> {'a.b.c': leaf}; lists are leaves."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Snakemake's --configfile semantics: nested mappings merge, everything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_differences(ours: Mapping[str, Any], paper: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(dotted key, our value, the paper preset's value) for every leaf that differs, sorted by key."""
    a, b = flatten(ours), flatten(paper)
    return [(k, a.get(k, MISSING), b.get(k, MISSING)) for k in sorted(set(a) | set(b)) if a.get(k, MISSING) != b.get(k, MISSING)]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "null"
    return str(value)


def format_differences(diffs: Sequence[Sequence[Any]], section: str) -> list[str]:
    """One footer line listing the differences ('none' when the run is at paper scale)."""
    if not diffs:
        return [f"Config: every {section} value equals the paper preset (config/paper.yaml)."]
    items = "; ".join(f"{key} = {_fmt(ours)} (paper preset: {_fmt(paper)})" for key, ours, paper in diffs)
    return [f"Differs from the paper preset (config/paper.yaml): {items}."]


def load_assumptions(experiment: str) -> list[dict[str, Any]]:
    """The experiment package's assumptions.yaml: a list of {text, when}; [] if it has none. when: dotted config key
    -> value, list of values, or {not: value or list}."""
    path = resources.files(f"mrsr.experiments.{experiment}").joinpath(ASSUMPTIONS)
    if not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or "text" not in entry or set(entry) - {"text", "when"}:
            raise ValueError(f"mrsr/experiments/{experiment}/{ASSUMPTIONS}: entry {i} must be {{text, when}}, got {entry!r}")
    return entries


def _holds(when: Mapping[str, Any] | None, flat: Mapping[str, Any], source: str) -> bool:
    """True if every dotted key has the given value (or one of a list of values), or, written {not: value},
    does not have it."""
    for key, wanted in (when or {}).items():
        if key not in flat:
            raise KeyError(f"{source}: 'when' names {key!r}, which is not a config key")
        negate = isinstance(wanted, Mapping) and set(wanted) == {"not"}
        if negate:
            wanted = wanted["not"]
        options = wanted if isinstance(wanted, list) and not isinstance(flat[key], list) else [wanted]
        if (flat[key] in options) == negate:
            return False
    return True


def fill(text: str, flat: Mapping[str, Any], source: str) -> str:
    """Replace {dotted.key} with the config value."""
    def value(match: re.Match) -> str:
        key = match.group(1)
        if key not in flat:
            raise KeyError(f"{source}: text names {{{key}}}, which is not a config key")
        return _fmt(flat[key])
    return PLACEHOLDER.sub(value, text)


def applicable_assumptions(experiment: str, cfg: Mapping[str, Any]) -> list[str]:
    """The assumption texts that hold for this experiment config, with config values filled in."""
    flat = flatten(cfg)
    source = f"mrsr/experiments/{experiment}/{ASSUMPTIONS}"
    return [fill(e["text"], flat, source) for e in load_assumptions(experiment) if _holds(e.get("when"), flat, source)]


def failed_to_beat(values: Mapping[str, float], reference: str, higher_is_better: bool,
                   labels: Mapping[str, str] | None = None) -> list[str]:
    """Methods (labels) whose value is not better than the reference row's (NaN counts as not better)."""
    ref = values[reference]
    labels = labels or {}
    out = []
    for method, v in values.items():
        if method == reference:
            continue
        better = v > ref if higher_is_better else v < ref
        if not better:
            out.append(labels.get(method, method))
    return out


def reference_line(metric: str, reference_label: str, failed: Sequence[str]) -> str:
    """Footer line naming the trained methods that did not beat the no-model reference on a metric."""
    if not failed:
        return f"Every trained method beats the reference row '{reference_label}' on {metric}."
    return f"Did not beat the reference row '{reference_label}' on {metric}: {', '.join(failed)}."


def reference_lines(values: Mapping[str, Mapping[str, float]], reference: str, reference_label: str,
                    metrics: Sequence[tuple[str, bool]], *, labels: Mapping[str, str] | None = None,
                    names: Mapping[str, str] | None = None) -> list[str]:
    """One reference_line per metric: the rows of `values` ({row: {metric: value}}, the reference row among them)
    that did not beat the no-model reference row. `names`: the metrics' display names (default: upper case)."""
    names = names or {}
    return [reference_line(names.get(metric, metric.upper()), reference_label,
                           failed_to_beat({k: v[metric] for k, v in values.items()}, reference, higher, labels))
            for metric, higher in metrics]


PAPER_BUDGETS = "paper_budget.yaml"  # in each experiment package: the paper's optimiser updates per method


def paper_budgets(experiment: str) -> dict[str, dict[str, Any]]:
    """{method: {updates, how}} from the experiment package's paper_budget.yaml ({} without one): the paper's
    optimiser updates per method and how they were estimated (data size, batch, epochs)."""
    path = resources.files(f"mrsr.experiments.{experiment}").joinpath(PAPER_BUDGETS)
    if not path.is_file():
        return {}
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for method, entry in spec.items():
        if not isinstance(entry, Mapping) or "updates" not in entry or "how" not in entry:
            raise KeyError(f"mrsr/experiments/{experiment}/{PAPER_BUDGETS}: {method!r} needs 'updates' and 'how'")
    return {str(k): dict(v) for k, v in spec.items()}


def _plateau_text(records: Sequence[Mapping[str, Any]]) -> str:
    reached = [r.get("plateau_reached") for r in records]
    if all(v is None for v in reached):
        return "plateau not checked (no validation)"
    at = [str(r["plateau_update"]) for r in records if r.get("plateau_reached")]
    if len(at) == len(records):
        return f"plateau reached (update {', '.join(at)})"
    # records: one per training (a seed; in deepasl and dsgan a fold of a seed)
    return "plateau not reached" if not at else f"plateau reached in {len(at)} of {len(records)} trainings"


def training_line(label: str, records: Sequence[Mapping[str, Any]], paper: Mapping[str, Any] | None,
                  beats: bool | None, reference_label: str) -> str:
    """One footer line per trained row: updates (per training: seed, or fold of a seed) beside the paper's, plateau, beats its reference."""
    updates = ", ".join(str(r["updates"]) for r in records)
    batch = records[0].get("batch_size") if records else None
    paper_text = f"paper ~{paper['updates']:,} ({paper['how']})" if paper else "paper: not stated"
    verdict = {True: f"beats '{reference_label}'", False: f"does NOT beat '{reference_label}'",
               None: f"not compared with '{reference_label}'"}[beats]
    kept = [r.get("kept_update", r["updates"]) for r in records]
    restored = "" if kept == [r["updates"] for r in records] else (
        f"; the generator of update {', '.join(str(k) for k in kept)} kept (early stopping: the best check)")
    return (f"Training, {label}: {updates} updates at batch {batch} vs {paper_text}; {_plateau_text(records)}"
            f"{restored}; {verdict}.")


def run_footer(experiment: str, cfg: Mapping[str, Any], footer: Mapping[str, Any], *,
               extra: Sequence[str] = ()) -> list[str]:
    """Footer lines: data, preset and seeds, differences from the paper preset, assumptions, then extra lines.

    `footer` is what workflow/rules/common.smk's footer_params(key) passes to a table rule:
    {data, preset, seeds, differences: [[key, ours, paper], ...]}.
    """
    seeds = ", ".join(str(s) for s in footer["seeds"])
    lines = [f"Data: {footer['data']}.", f"Preset: {footer['preset']}; seed(s): {seeds}."]
    lines += format_differences(footer["differences"], experiment)
    lines += list(extra)
    lines += [f"Assumption: {text}" for text in applicable_assumptions(experiment, cfg)]
    return lines
