"""Provenance: which code, packages and platform produced a result (results/provenance.json, every model.pt)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import torch

from mrsr.provenance import git_commit, package_versions, provenance
from mrsr.train import load_model, save_model
from mrsr.train.meta import ModelMeta
from mrsr.nets import build

REPO = Path(__file__).resolve().parents[1]


def test_commit_is_the_work_tree_head() -> None:
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:  # not a git checkout (e.g. an sdist): nothing to compare
        assert git_commit(REPO) == {"commit": None, "dirty": None}
        return
    assert git_commit(REPO)["commit"] == head.stdout.strip()
    assert git_commit("/") == {"commit": None, "dirty": None}  # outside any work tree


def test_record_names_packages_platform_and_config() -> None:
    versions = package_versions()
    assert versions["torch"] == torch.__version__.split("+")[0] or versions["torch"] == torch.__version__
    assert versions["mrsr"] == "0.1.0" and package_versions(("no-such-dist",)) == {"no-such-dist": None}
    record = provenance({"seed": 7, "field7to9": {"compute": {"precision": "bf16"}}}, source=REPO)
    assert record["config"]["field7to9"]["compute"]["precision"] == "bf16"
    assert {"created", "code", "python", "platform", "processor", "packages"} <= set(record)
    json.dumps(record)  # plain JSON


def test_saved_models_carry_provenance(tmp_path) -> None:
    method = {"trainer": "supervised", "generator": "fcn1", "generator_kwargs": {}}
    save_model(tmp_path / "model.pt", build("fcn1"), method, ModelMeta("field7to9", "fcn1"))
    _, _, meta = load_model(tmp_path / "model.pt")
    assert meta.provenance["packages"]["torch"] and "commit" in meta.provenance["code"]
