"""The training loop: checkpoint/resume (incl. SIGKILL), seeding, learning, CSV log, model save/load."""

from __future__ import annotations

import csv
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import mrsr
from mrsr.device import seed_everything
from mrsr.nets import build, count_params
from mrsr.train import TrainData, build_trainer, fit, load_model, predict_fn, save_model
from mrsr.train.loop import Plateau, Stopping, validation_mse
from mrsr.train.meta import ModelMeta

SRC = str(Path(mrsr.__file__).resolve().parents[1])

SUPERVISED = {"trainer": "supervised", "generator": "dcsrn", "generator_kwargs": {}, "losses": {"l1": 1.0},
              "lr_g": 1e-3, "betas": [0.9, 0.999]}
# unet_g has dropout: resuming must restore the torch RNG state, not only the weights.
GAN = {"trainer": "gan", "generator": "unet_g", "generator_kwargs": {}, "discriminator": "disc_d",
       "discriminator_kwargs": {}, "conditional": False, "losses": {"bce": 1, "l1": 1.5, "gdl": 1.5},
       "lr_g": 2e-4, "lr_d": 2e-5, "betas": [0.5, 0.999], "init": "normal"}


def make_data(n: int, size: int = 16, seed: int = 0) -> TrainData:
    """Easy task: hr = 0.5 * lr on smooth-ish random images."""
    rng = np.random.default_rng(seed)
    lr = rng.normal(size=(n, 1, size, size)).astype(np.float32)
    lr = (lr + np.roll(lr, 1, axis=-1) + np.roll(lr, 1, axis=-2)) / 3
    return TrainData(lr=lr, hr=0.5 * lr)


TRAIN, VAL = make_data(6), make_data(4, seed=1)
GAN_TRAIN, GAN_VAL = make_data(6, size=64), make_data(2, size=64, seed=1)  # U-net needs multiples of 64


def run(method: dict, tmp: Path, epochs: int = 3, seed: int = 0, **kw) -> torch.nn.Module:
    train, val = (GAN_TRAIN, GAN_VAL) if method["trainer"] == "gan" else (TRAIN, VAL)
    return fit(method, train, val, epochs=epochs, batch_size=4, seed=seed, device="cpu",
               ckpt_dir=tmp / "ckpt", log_csv=tmp / "log.csv", progress=False, **kw).generator


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, tuple[torch.nn.Module, list[dict[str, str]]]]:
    """Uninterrupted 3-epoch runs of each method."""
    out = {}
    for name, method in (("supervised", SUPERVISED), ("gan", GAN)):
        tmp = tmp_path_factory.mktemp(name)
        out[name] = run(method, tmp), read_csv(tmp / "log.csv")
    return out


def without_seconds(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.mark.parametrize("name,method", [("supervised", SUPERVISED), ("gan", GAN)])
def test_resume_after_stop_matches_uninterrupted(tmp_path, reference, name, method):
    ref_model, ref_rows = reference[name]
    run(method, tmp_path, stop_after_checks=1)  # the "kill"
    assert sorted(p.name for p in (tmp_path / "ckpt").glob("*.pt")) == ["check-0001.pt"]
    assert len(read_csv(tmp_path / "log.csv")) == 1
    resumed = run(method, tmp_path)
    assert same_weights(resumed, ref_model)
    rows = read_csv(tmp_path / "log.csv")
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert without_seconds(rows) == without_seconds(ref_rows)
    assert sorted(p.name for p in (tmp_path / "ckpt").glob("*.pt")) == ["check-0002.pt", "check-0003.pt"]
    assert not resumed.training and next(resumed.parameters()).device.type == "cpu"


def test_csv_columns(reference):
    assert list(reference["supervised"][1][0]) == ["update", "epoch", "train_total", "train_l1", "val_total",
                                                   "val_l1", "val_mse", "val_mse_smooth", "seconds"]
    assert list(reference["gan"][1][0]) == ["update", "epoch", "train_total", "train_bce", "train_l1", "train_gdl",
                                            "train_d", "val_total", "val_l1", "val_gdl", "val_mse", "val_mse_smooth",
                                            "seconds"]


def test_corrupt_newest_checkpoint_falls_back(tmp_path, reference):
    run(SUPERVISED, tmp_path, stop_after_checks=2)
    (tmp_path / "ckpt" / "check-0002.pt").write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="check-0002.pt"):
        resumed = run(SUPERVISED, tmp_path)
    assert same_weights(resumed, reference["supervised"][0])
    assert len(read_csv(tmp_path / "log.csv")) == 3


def test_checkpoint_of_another_method_is_ignored(tmp_path, reference):
    run({**SUPERVISED, "lr_g": 5e-3}, tmp_path, stop_after_checks=1)
    with pytest.warns(UserWarning, match="another method"):
        fresh = run(SUPERVISED, tmp_path)
    assert same_weights(fresh, reference["supervised"][0])


KILL_SCRIPT = """
import sys
sys.path.insert(0, {src!r}); sys.path.insert(0, {tests!r})
import torch
torch.set_num_threads(1)
from test_train import SUPERVISED, make_data
from mrsr.train import fit
fit(SUPERVISED, make_data(24), None, epochs=5, batch_size=4, seed=0, device="cpu",
    ckpt_dir={ckpt!r}, log_csv={log!r}, progress=False)
"""


def test_sigkill_mid_training_resumes_to_the_same_weights(tmp_path):
    ckpt, log = tmp_path / "ckpt", tmp_path / "log.csv"
    script = KILL_SCRIPT.format(src=SRC, tests=str(Path(__file__).parent), ckpt=str(ckpt), log=str(log))
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while not (ckpt / "check-0001.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.03)  # land inside epoch 2
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL  # killed, not finished
    assert not (ckpt / "check-0005.pt").exists()
    data = make_data(24)
    resumed = fit(SUPERVISED, data, None, epochs=5, batch_size=4, seed=0, device="cpu", ckpt_dir=ckpt,
                  log_csv=log, progress=False).generator
    ref = fit(SUPERVISED, data, None, epochs=5, batch_size=4, seed=0, device="cpu", ckpt_dir=tmp_path / "ref",
              log_csv=tmp_path / "ref.csv", progress=False).generator
    assert same_weights(resumed, ref)
    assert [r["epoch"] for r in read_csv(log)] == ["1", "2", "3", "4", "5"]


def test_seeds(tmp_path, reference):
    same = run(SUPERVISED, tmp_path / "a", epochs=3, seed=0)
    other = run(SUPERVISED, tmp_path / "b", epochs=3, seed=1)
    assert same_weights(same, reference["supervised"][0])
    assert not same_weights(other, reference["supervised"][0])


def test_training_reduces_validation_loss(tmp_path):
    seed_everything(0)
    untrained = build("dcsrn").eval()
    with torch.no_grad():
        initial = torch.nn.functional.l1_loss(untrained(torch.from_numpy(VAL.lr)), torch.from_numpy(VAL.hr))
    run(SUPERVISED, tmp_path, epochs=8)
    final = float(read_csv(tmp_path / "log.csv")[-1]["val_l1"])
    assert final < 0.5 * float(initial)


def test_unknown_trainer_names_the_key(tmp_path):
    with pytest.raises(ValueError, match="'trainer'"):
        run({**SUPERVISED, "trainer": "cycle-ish"}, tmp_path)


def test_conditional_gan_feeds_lr_and_x_to_patchgan():
    method = {**GAN, "generator": "dcgan1_g", "discriminator": "patchgan", "conditional": True,
              "losses": {"bce": 1, "l1": 1.5}}
    trainer = build_trainer(method, torch.device("cpu"), patch_size=32)
    assert trainer.discriminator.model[0].in_channels == 2
    data = make_data(4, size=32)
    values = trainer.train_step(torch.from_numpy(data.lr), torch.from_numpy(data.hr))
    assert set(values) == {"total", "bce", "l1", "d"}
    assert values["total"] == pytest.approx(values["bce"] + 1.5 * values["l1"], rel=1e-5)


def test_save_load_round_trip_and_predict(tmp_path, reference):
    model = reference["supervised"][0]
    path = tmp_path / "model.pt"
    save_model(path, model, SUPERVISED, ModelMeta("field7to9", "fcn", np.int64(0), extra={"epochs": np.int64(3)}))
    loaded, method, meta = load_model(path)
    assert method == SUPERVISED and meta.provenance["packages"]["torch"]  # provenance added by save_model
    assert (meta.experiment, meta.method_key, meta.seed, meta.extra) == ("field7to9", "fcn", 0, {"epochs": 3})
    assert meta.params == count_params(model)  # counted from the network itself, not given by the caller
    x = make_data(5, seed=3).lr
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(x)).numpy()
        assert torch.equal(loaded(torch.from_numpy(x)), torch.from_numpy(expected))
    out = predict_fn(loaded, "cpu", batch_size=2)(x)  # batches of 2, 2, 1
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)  # batch size changes float summation order


def test_load_model_errors_name_the_path(tmp_path, reference):
    with pytest.raises(ValueError, match="nope.pt"):
        load_model(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.pt"):
        load_model(bad)
    with pytest.raises(TypeError, match="ModelMeta"):
        save_model(tmp_path / "m.pt", reference["supervised"][0], SUPERVISED, {"experiment": "field7to9"})
    nameless = tmp_path / "nameless.pt"  # metadata without experiment / method: refused with the file's name
    torch.save({"state_dict": reference["supervised"][0].state_dict(), "method": SUPERVISED, "meta": {"seed": 0}},
               nameless)
    with pytest.raises(ValueError, match=r"nameless.pt.*lacks \['experiment', 'method_key'\]"):
        load_model(nameless)


def test_older_model_metadata_keys_land_in_extra():
    meta = ModelMeta.from_dict({"experiment": "deepasl", "method_key": "deepasl", "heldout": "sub-03",
                                "training": {"updates": 5}}, "old.pt")
    assert meta.extra == {"heldout": "sub-03"} and meta.training == {"updates": 5} and meta.inference is None
    with pytest.raises(ValueError, match="old.pt.*no 'inference'"):
        meta.require_inference("old.pt")


@pytest.fixture(autouse=True)
def _restore_determinism():
    yield
    torch.use_deterministic_algorithms(False)


def test_epoch_order_depends_on_seed_and_epoch_only():
    from mrsr.train.loop import epoch_permutation

    torch.manual_seed(123)  # the global RNG must not matter
    a = epoch_permutation(50, seed=0, epoch=1)
    torch.manual_seed(456)
    assert torch.equal(a, epoch_permutation(50, seed=0, epoch=1))
    assert sorted(a.tolist()) == list(range(50))
    assert not torch.equal(a, epoch_permutation(50, seed=0, epoch=2))
    assert not torch.equal(a, epoch_permutation(50, seed=1, epoch=1))


# ---------------------------------------------------------------- budgets in updates, the plateau rule


def test_plateau_rule_on_a_known_sequence():
    """Unsmoothed, 1 % margin, patience 2: the best is 0.4 at update 30; 0.399 and 0.398 are within 1 % of it,
    so the plateau is declared at the second of them and dated to update 30."""
    plateau = Plateau(Stopping(patience=2, min_improvement=0.01, smoothing=0.0))
    for update, value in zip((10, 20, 30, 40), (1.0, 0.5, 0.4, 0.399)):
        plateau.observe(value, update)
        assert not plateau.reached
    plateau.observe(0.398, 50)
    assert plateau.reached and plateau.reached_at == 30 and plateau.best == 0.4


def test_the_kept_check_is_the_lowest_even_within_the_margin():
    """Gains below the 1 % margin do not move the plateau's best (update 20) but they do move the check early
    stopping keeps: the lowest smoothed value (update 40)."""
    plateau = Plateau(Stopping(patience=3, min_improvement=0.01, smoothing=0.0))
    for update, value in zip((10, 20, 30, 40, 50), (1.0, 0.5, 0.499, 0.498, 0.6)):
        plateau.observe(value, update)
    assert plateau.reached and plateau.reached_at == 20 and plateau.best_update == 20
    assert plateau.lowest_update == 40 and plateau.lowest == 0.498
    restored = Plateau(plateau.rule)
    restored.load(plateau.state())
    assert (restored.lowest, restored.lowest_update) == (0.498, 40)


def test_plateau_smoothing_is_an_exponential_average():
    plateau = Plateau(Stopping(smoothing=0.5))
    assert plateau.observe(1.0, 1) == 1.0
    assert plateau.observe(0.0, 2) == 0.5
    assert plateau.observe(0.0, 3) == 0.25
    assert plateau.observe(math.nan, 4) == 0.25 and plateau.since == 1  # a non-finite check never improves


def test_stopping_config_names_a_bad_key():
    with pytest.raises(KeyError, match="patiense"):
        Stopping.from_config({"patiense": 3})
    with pytest.raises(ValueError, match="check_every"):
        Stopping(check_every=0)


def test_update_budget_checks_mid_pass_and_resumes_exactly(tmp_path):
    """6 samples at batch 4 = 2 updates per pass; 7 updates checked every 3: rows at updates 3, 6, 7 (passes 1.5,
    3, 3.5); a run stopped after its first check resumes to the uninterrupted weights and log."""
    kw = dict(max_updates=7, batch_size=4, seed=0, device="cpu", progress=False, stopping={"check_every": 3})
    full = fit(SUPERVISED, TRAIN, VAL, ckpt_dir=tmp_path / "a", log_csv=tmp_path / "a.csv", **kw)
    rows = read_csv(tmp_path / "a.csv")
    assert [(r["update"], r["epoch"]) for r in rows] == [("3", "1.5"), ("6", "3"), ("7", "3.5")]
    assert full.record["updates"] == 7 and full.record["max_updates"] == 7
    assert full.record["epochs_of_data"] == pytest.approx(7 * 4 / 6, abs=1e-3)
    fit(SUPERVISED, TRAIN, VAL, ckpt_dir=tmp_path / "b", log_csv=tmp_path / "b.csv", stop_after_checks=1, **kw)
    resumed = fit(SUPERVISED, TRAIN, VAL, ckpt_dir=tmp_path / "b", log_csv=tmp_path / "b.csv", **kw)
    assert same_weights(resumed.generator, full.generator)
    assert without_seconds(read_csv(tmp_path / "b.csv")) == without_seconds(rows)


def test_training_stops_at_its_plateau_and_records_it(tmp_path):
    """hr = 0.5 lr is learnt quickly: the run stops well before its 2000-update budget, beats the identity
    reference on validation, and a rerun resumes the stopped run without training further."""
    kw = dict(max_updates=2000, batch_size=2, seed=0, device="cpu", progress=False,
              stopping={"check_every": 10, "patience": 3, "min_improvement": 0.02})
    fitted = fit(SUPERVISED, TRAIN, VAL, ckpt_dir=tmp_path / "c", log_csv=tmp_path / "log.csv", **kw)
    rec = fitted.record
    assert rec["plateau_reached"] and rec["updates"] < 2000
    assert rec["updates"] == rec["plateau_update"] + 3 * 10  # stopped `patience` checks after the best
    ref = float(np.mean((VAL.lr.astype(np.float64) - VAL.hr) ** 2))
    assert rec["reference_val_mse"] == pytest.approx(ref)
    assert rec["beats_reference_val"] and rec["val_mse"] < 0.5 * ref
    assert json.loads((tmp_path / "log.json").read_text()) == rec
    again = fit(SUPERVISED, TRAIN, VAL, ckpt_dir=tmp_path / "c", log_csv=tmp_path / "log.csv", **kw)
    assert again.record == rec and same_weights(again.generator, fitted.generator)


def test_without_validation_no_plateau_is_claimed(tmp_path):
    fitted = fit(SUPERVISED, TRAIN, None, max_updates=3, batch_size=4, seed=0, device="cpu", progress=False,
                 ckpt_dir=tmp_path / "c", log_csv=tmp_path / "log.csv")
    assert fitted.record["plateau_reached"] is None and fitted.record["beats_reference_val"] is None
    with pytest.raises(ValueError, match="exactly one budget"):
        fit(SUPERVISED, TRAIN, None, max_updates=3, epochs=1, batch_size=4, seed=0, device="cpu",
            ckpt_dir=tmp_path / "d", log_csv=tmp_path / "d.csv")


def test_finished_training_can_drop_its_checkpoints(tmp_path):
    kw = dict(batch_size=4, seed=0, device="cpu", progress=False, ckpt_dir=tmp_path / "c", log_csv=tmp_path / "l.csv")
    fit(SUPERVISED, TRAIN, None, max_updates=4, stop_after_checks=1, keep_checkpoints=False, **kw)
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["check-0001.pt"]  # unfinished: kept for resuming
    done = fit(SUPERVISED, TRAIN, None, max_updates=4, keep_checkpoints=False, **kw)
    assert done.record["updates"] == 4 and not (tmp_path / "c").exists()
    assert (tmp_path / "l.json").is_file()



def test_early_stopping_keeps_the_generator_of_the_best_check(tmp_path):
    """Validation targets 0.3 x lr while training learns 0.5 x lr: the validation MSE falls, then rises as the
    network passes 0.3 on its way to 0.5. With `stop` the generator of the best check is returned (its validation
    MSE is the one logged at that check), also after a resume; without `stop` the last one is."""
    v = make_data(8, seed=1)
    val = TrainData(lr=v.lr, hr=0.6 * v.hr)  # = 0.3 x lr
    rule = {"check_every": 10, "patience": 4, "min_improvement": 0.0, "smoothing": 0.0}
    kw = dict(max_updates=300, batch_size=4, seed=0, device="cpu", progress=False)
    fitted = fit(SUPERVISED, make_data(24), val, ckpt_dir=tmp_path / "a", log_csv=tmp_path / "a.csv",
                 stopping=rule, **kw)
    rec, rows = fitted.record, read_csv(tmp_path / "a.csv")
    logged = {int(r["update"]): float(r["val_mse"]) for r in rows}
    assert rec["plateau_reached"] and rec["kept_update"] == rec["plateau_update"] < rec["updates"]  # no margin
    best = min(logged, key=logged.get)
    assert rec["kept_update"] == best and logged[rec["updates"]] > 1.2 * logged[best]
    tensors = tuple(torch.from_numpy(a) for a in (val.lr, val.hr))
    trainer = build_trainer(SUPERVISED, torch.device("cpu"), patch_size=16)
    trainer.generator.load_state_dict(fitted.generator.state_dict())
    assert validation_mse(trainer, *tensors, 4) == pytest.approx(logged[best], rel=1e-5)
    assert rec["val_mse"] == pytest.approx(logged[best], rel=1e-9)  # smoothing 0: the kept check's value
    fit(SUPERVISED, make_data(24), val, ckpt_dir=tmp_path / "b", log_csv=tmp_path / "b.csv", stopping=rule,
        stop_after_checks=3, **kw)  # interrupted after the best check: the resumed run keeps the same one
    resumed = fit(SUPERVISED, make_data(24), val, ckpt_dir=tmp_path / "b", log_csv=tmp_path / "b.csv",
                  stopping=rule, **kw)
    assert resumed.record["kept_update"] == best and same_weights(resumed.generator, fitted.generator)
    last = fit(SUPERVISED, make_data(24), val, ckpt_dir=tmp_path / "c", log_csv=tmp_path / "c.csv",
               stopping={**rule, "stop": False}, **{**kw, "max_updates": rec["updates"]})
    assert last.record["kept_update"] == rec["updates"] and not same_weights(last.generator, fitted.generator)
