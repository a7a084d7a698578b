"""One package per paper: its data, evaluation, figures, paper values and claims."""

from __future__ import annotations

import importlib.util
import pkgutil
from types import ModuleType


def experiment_keys() -> list[str]:
    """The experiments, one per subpackage of mrsr.experiments (the key is the package's name), sorted."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg)


def experiment_module(key: str, name: str) -> ModuleType | None:
    """The experiment package's module `name` (e.g. 'methods'), or None when the package has none: how shared code
    (the benchmarks) finds what an experiment registers for itself."""
    if importlib.util.find_spec(f"mrsr.experiments.{key}.{name}") is None:
        return None
    return importlib.import_module(f"mrsr.experiments.{key}.{name}")
