"""What produced a result: the code (version, git commit), the packages, the platform and the effective config.

Written by the workflow as results/provenance.json and carried inside every saved model."""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("mrsr", "torch", "numpy", "scipy", "scikit-image", "scikit-learn", "pandas", "nibabel", "nilearn",
            "antspyx", "snakemake", "matplotlib", "brisque")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None when absent)."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def git_commit(path: str | Path | None = None) -> dict[str, Any]:
    """{'commit', 'dirty'} of the git work tree holding `path` (default: this package's source); both None
    outside a work tree or without git."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(status.strip())}


def provenance(config: Mapping[str, Any] | None = None, *, source: str | Path | None = None) -> dict[str, Any]:
    """The provenance record: created (UTC), code (git commit of `source`), python, platform, CPU, packages, and
    the effective config when given (its `compute` sections state each experiment's precision)."""
    record: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code": {**git_commit(source), "module": str(Path(__file__).resolve().parent)},  # the mrsr that ran
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "packages": package_versions(),
    }
    if config is not None:
        record["config"] = _plain(config)
    return record


def _cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _plain(value: Any) -> Any:
    """Snakemake's config objects as plain JSON-able Python."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
