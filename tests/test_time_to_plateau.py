"""benchmarks/time_to_plateau.py reads the training records and logs that mrsr.train.loop.fit writes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from mrsr.train import TrainData, fit

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("time_to_plateau", ROOT / "benchmarks" / "time_to_plateau.py")
ttp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ttp)


def write_model(folder: Path, record: dict, seconds: list[float], every: int) -> None:
    folder.mkdir(parents=True)
    (folder / "loss.json").write_text(json.dumps(record))
    rows = [f"{every * (i + 1)},{s}" for i, s in enumerate(seconds)]
    (folder / "loss.csv").write_text("update,seconds\n" + "\n".join(rows) + "\n")


def test_seconds_to_plateau_sum_the_checks_up_to_the_plateau_update(tmp_path: Path) -> None:
    base = {"max_updates": 100, "batch_size": 4}
    write_model(tmp_path / "exp/models/a/seed-0", {**base, "updates": 60, "plateau_reached": True,
                                                    "plateau_update": 40}, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0], 10)
    write_model(tmp_path / "exp/models/a/seed-1", {**base, "updates": 100, "plateau_reached": False,
                                                    "plateau_update": None}, [1.0] * 10, 10)
    frame = ttp.collect(tmp_path)
    first = frame.set_index("model").loc["models/a/seed-0"]
    assert first["seconds_to_plateau"] == 15.0 and first["seconds"] == 63.0
    summary = ttp.summarise(frame).set_index("method").loc["a"]
    assert summary["plateau reached"] == "1/2" and summary["updates"] == "60-100" and summary["budget"] == "100"
    assert summary["plateau at update"] == "40" and summary["s to plateau"] == 15.0 and summary["s in all"] == 73.0


def test_reads_what_fit_writes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lr = rng.normal(size=(16, 1, 8, 8)).astype(np.float32)
    data = TrainData(lr=lr, hr=0.5 * lr)
    model = tmp_path / "toy/models/fcn/seed-0"
    method = {"trainer": "supervised", "generator": "dilated_conv", "losses": {"l2": 1.0}, "lr_g": 1e-3}
    fitted = fit(method, data, data, batch_size=4, seed=0, device="cpu", ckpt_dir=model / "ckpt",
                 log_csv=model / "loss.csv", max_updates=6, stopping={"check_every": 2}, progress=False)
    row = ttp.collect(tmp_path).iloc[0]
    assert row["updates"] == fitted.record["updates"] == 6 and row["method"] == "fcn"
    assert row["seconds"] > 0 and row["plateau_reached"] == bool(fitted.record["plateau_reached"])


def test_an_empty_tree_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=str(tmp_path)):
        ttp.collect(tmp_path)
