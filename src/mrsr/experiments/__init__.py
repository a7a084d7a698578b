"""One package per paper: its data, evaluation, figures, paper values and claims."""

from __future__ import annotations

import pkgutil


def experiment_keys() -> list[str]:
    """The experiments, one per subpackage of mrsr.experiments (the key is the package's name), sorted."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg)
