"""DeepASL library: Buxton model, simulation, noise levels, patches, networks, kinetic loss, metrics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mrsr.asl import (
    Kinetics, control_label, drop_end_slices, grid_patches, noise_level_means, noise_sigma, pcasl_general_signal,
    perfusion_signal, quantify_cbf, rigid_variants, training_patches,
)
from mrsr.bids import ASL_TYPES, AslSidecar, bids_pairs, check_sidecar, read_asl_sidecar, sidecar_path
from mrsr.experiments.deepasl.evaluate import bland_altman, denoise, paired_tests
from mrsr.metrics import asl_metrics, lins_ccc
from mrsr.nets import build, count_params
from mrsr.train import TrainData, fit
from mrsr.train.kinetic import kinetic_loss


def test_buxton_factor_matches_hand_computation() -> None:
    # tau 1.8 s, PLD 1.6 s: 6000 * 0.9 * e^(1.6/1.65) = 5400 * 2.637143 = 14240.57;
    # 2 * 0.85 * 1.65 * (1 - e^(-1.8/1.65)) = 2.805 * 0.664076 = 1.862733; ratio 7644.9
    assert Kinetics(tau=1.8, pld=1.6).factor == pytest.approx(7644.9, rel=2e-5)
    # so CBF 60 in a voxel with M0 100 gives dM = 60 * 100 / 7644.9 = 0.78484
    assert float(perfusion_signal(np.array([60.0]), np.array([100.0]), Kinetics(1.8, 1.6))[0]) == pytest.approx(
        0.78484, rel=1e-4)


@pytest.mark.parametrize("tau, pld", [(1.8, 1.6), (1.6, 2.2)])
def test_buxton_round_trip_returns_the_cbf_map(tau: float, pld: float) -> None:
    rng = np.random.default_rng(1)
    cbf = rng.uniform(0, 90, (4, 6, 7)).astype(np.float32)
    m0 = rng.uniform(50, 150, (4, 6, 7)).astype(np.float32)
    kin = Kinetics(tau, pld)
    np.testing.assert_allclose(quantify_cbf(perfusion_signal(cbf, m0, kin), m0, kin), cbf, rtol=1e-5, atol=1e-4)


GKM = {"alpha": 0.85, "t1_blood": 1.65, "partition": 0.9}


@pytest.mark.parametrize("att, expected", [
    # Buxton et al. 1998, CASL, read at t = tau + PLD = 1.8 + 1.6 = 3.4 s; CBF 60 -> f = 0.01 ml/g/s, T1 1.33 s, M0 100:
    # 1/T1' = 1/1.33 + 0.01/0.9 = 0.751880 + 0.011111 = 0.762991 -> T1' = 1.310632 s; M0b = 100/0.9 = 111.111;
    # bolus fully delivered (att 0.8 <= PLD): 2 * 111.111 * 0.01 * 1.310632 * 0.85 * e^(-0.8/1.65) [0.615790]
    #   = 1.524474; * e^(-(3.4 - 1.8 - 0.8)/T1') [0.543138] * (1 - e^(-1.8/T1')) [0.746751] = 0.618310
    (0.8, 0.618310),
    # bolus arriving (PLD < att 2.5 <= tau + PLD): 2 * 111.111 * 0.01 * 1.310632 * 0.85 * e^(-2.5/1.65) [0.219775]
    #   = 0.544083; * (1 - e^(-(3.4 - 2.5)/T1')) [0.496762] = 0.270280
    (2.5, 0.270280),
    # no label yet (att 3.6 > tau + PLD)
    (3.6, 0.0),
])
def test_general_kinetic_model_matches_hand_computation(att: float, expected: float) -> None:
    dm = pcasl_general_signal(np.array([60.0]), np.array([att]), np.array([1.33]), 1.8, 1.6, m0=np.array([100.0]),
                              **GKM)
    assert float(dm[0]) == pytest.approx(expected, rel=2e-5, abs=1e-9)


def test_general_kinetic_model_reduces_to_eq1_when_tissue_relaxes_like_blood() -> None:
    # T1' = T1b when 1/T1 = 1/T1b - f/lambda; with att <= PLD the general model is then eq. (1)'s inverse
    cbf = np.array([20.0, 60.0, 90.0])
    t1 = 1.0 / (1.0 / 1.65 - cbf / 6000.0 / 0.9)
    m0 = np.array([80.0, 100.0, 120.0])
    dm = pcasl_general_signal(cbf, np.array([0.3, 0.9, 1.6]), t1, 1.8, 1.6, m0=m0, **GKM)
    np.testing.assert_allclose(dm, perfusion_signal(cbf, m0, Kinetics(1.8, 1.6)), rtol=1e-5)
    # tissue T1 below blood T1 shortens the label's life: eq. (1) then underestimates CBF
    short = pcasl_general_signal(cbf, np.full(3, 0.8), np.full(3, 1.33), 1.8, 1.6, m0=m0, **GKM)
    assert (quantify_cbf(short, m0, Kinetics(1.8, 1.6)) < 0.9 * cbf).all()


def test_general_kinetic_model_is_zero_without_flow_and_rejects_bad_t1() -> None:
    dm = pcasl_general_signal(np.array([0.0, 50.0]), np.array([0.0, 1.0]), np.array([0.0, 1.2]), 1.8, 1.6,
                              m0=np.array([100.0, 100.0]), **GKM)
    assert dm[0] == 0.0 and dm[1] > 0
    with pytest.raises(ValueError, match="t1_tissue"):
        pcasl_general_signal(np.array([50.0]), np.array([1.0]), np.array([0.0]), 1.8, 1.6, m0=np.array([1.0]), **GKM)


def test_quantify_is_zero_outside_mask_and_where_m0_vanishes() -> None:
    kin = Kinetics(1.8, 1.6)
    dm, m0 = np.ones(3, np.float32), np.array([100.0, 0.0, 100.0], np.float32)
    out = quantify_cbf(dm, m0, kin, mask=np.array([True, True, False]))
    assert out[0] == pytest.approx(kin.factor / 100.0, rel=1e-6) and out[1] == 0 and out[2] == 0


def test_lins_ccc_against_hand_computation() -> None:
    # x = 1,2,3,4 (mean 2.5, var 1.25), y = 2,2,3,5 (mean 3, var 1.5), cov 1.25 (1/n moments):
    # CCC = 2 * 1.25 / (1.25 + 1.5 + 0.5^2) = 2.5 / 3.0
    assert lins_ccc(np.array([1, 2, 3, 4]), np.array([2, 2, 3, 5])) == pytest.approx(2.5 / 3.0)
    assert lins_ccc(np.arange(5.0), np.arange(5.0)) == pytest.approx(1.0)
    assert lins_ccc(np.arange(5.0), np.arange(5.0) + 1) < 1.0  # Pearson 1, but a bias lowers concordance


def test_asl_metrics_inside_mask() -> None:
    ref = np.array([[2.0, 1.0], [0.0, 9.0]])
    pred = ref + np.array([[0.1, -0.1], [0.0, 5.0]])
    mask = np.array([[True, True], [True, False]])
    m = asl_metrics(pred, ref, pred * 10, ref * 10, mask)
    # peak = max in mask = 2; MSE in mask = (0.01 + 0.01 + 0) / 3
    assert m["psnr"] == pytest.approx(10 * math.log10(4 / (0.02 / 3)))
    assert m["rmse"] == pytest.approx(math.sqrt((1 + 1) / 3))


def test_network_parameter_counts() -> None:
    # DeepASL, input 1 channel (the noisy dM, as the paper's Fig. 1):
    #   layer 1: 1*9*48 + 48 bias + 48 PReLU = 528; layers 2-8: 7 * (48*9*48 + 48 + 48) = 7 * 20832 = 145824;
    #   output: 48*9*1 + 1 = 433; total 146785 (the paper's count).
    assert count_params(build("deepasl")) == 528 + 145824 + 433 == 146785
    # Dilated Conv: 640 + 8 * 36928 + (128*9*128 + 128) + (128*9 + 1) = 444801
    assert count_params(build("dilated_conv")) == 640 + 8 * 36928 + 147584 + 1153 == 444801
    x = torch.zeros(2, 1, 40, 40)
    assert build("deepasl")(x).shape == build("dilated_conv")(x).shape == (2, 1, 40, 40)


def test_noise_sigma_gives_the_requested_single_pair_snr() -> None:
    rng = np.random.default_rng(0)
    m0 = np.full((2000,), 100.0, np.float32)
    dm = np.full_like(m0, 0.8)
    pairs = control_label(m0, dm, 50, noise_sigma(0.8, 1.5), rng)
    assert pairs.mean() == pytest.approx(0.8, abs=0.01)
    assert 0.8 / pairs.std() == pytest.approx(1.5, rel=0.02)


def test_noise_levels_average_a_seeded_random_subset() -> None:
    pairs = np.arange(10, dtype=np.float32)[:, None, None, None] * np.ones((10, 1, 2, 2), np.float32)
    a = noise_level_means(pairs, [0.2, 0.5, 1.0], np.random.default_rng(3))
    b = noise_level_means(pairs, [0.2, 0.5, 1.0], np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a[2, 0, 0, 0] == pytest.approx(4.5)  # all pairs
    # 2 of 10 distinct pairs: the mean is a half-integer or integer between 0.5 and 8.5, not the overall mean
    assert (2 * a[0, 0, 0, 0]) % 1 == 0 and 0.5 <= a[0, 0, 0, 0] <= 8.5


def test_drop_end_slices() -> None:
    vol = np.arange(17)[:, None] * np.ones((17, 3))
    out = drop_end_slices(vol, 1, axis=0)
    assert out.shape == (15, 3) and out[0, 0] == 1 and out[-1, 0] == 15


def test_patches_of_a_128_matrix_and_training_samples() -> None:
    assert grid_patches(np.zeros((128, 128)), 40).shape == (16, 40, 40)  # padded to 160: 4 x 4
    assert len(rigid_variants(8)) == len(set(rigid_variants(8))) == 8
    rng = np.random.default_rng(0)
    noisy = rng.normal(size=(2, 3, 50, 50)).astype(np.float32)
    clean = rng.normal(size=(3, 50, 50)).astype(np.float32)
    mask = np.zeros((3, 50, 50), np.float32)
    mask[:, :40, :40] = 1  # only the top-left patch of the 2 x 2 grid has brain
    x, y, aux = training_patches(noisy, clean, clean * 3, np.full_like(clean, 2.0), mask, size=40,
                                 augmentations=1, min_brain=0.5)
    assert x.shape == y.shape == (2 * 3, 1, 40, 40) and aux.shape == (6, 3, 40, 40)
    np.testing.assert_allclose(x[:3, 0], noisy[0, :, :40, :40])
    np.testing.assert_allclose(y[:3, 0], noisy[0, :, :40, :40] - clean[:, :40, :40], atol=1e-6)
    np.testing.assert_allclose(aux[:3, 0], 3 * clean[:, :40, :40], rtol=1e-6)
    assert (aux[:, 1] == 2.0).all() and (aux[:, 2] == 1.0).all()


def test_kinetic_loss_terms() -> None:
    rng = np.random.default_rng(0)
    clean = torch.from_numpy(rng.uniform(0.2, 1.0, (2, 1, 8, 8)).astype(np.float32))
    noise = torch.from_numpy(rng.normal(0, 0.3, (2, 1, 8, 8)).astype(np.float32))
    noisy, scale = clean + noise, torch.full_like(clean, 80.0)
    mask = torch.ones_like(clean)
    mask[:, :, :4] = 0
    aux = torch.cat([scale * clean, scale, mask], dim=1)
    perfect = kinetic_loss(noise, noise, noisy, aux, lam=0.2, cbf_unit=100.0)
    assert float(perfect["total"]) == pytest.approx(0.0, abs=1e-10)
    zero = kinetic_loss(torch.zeros_like(noise), noise, noisy, aux, lam=0.2, cbf_unit=100.0)
    image = float((mask * noise**2).mean())
    cbf = float((mask * (80.0 * noise / 100.0) ** 2).mean())
    assert float(zero["image"]) == pytest.approx(image, rel=1e-5)
    assert float(zero["cbf"]) == pytest.approx(cbf, rel=1e-5)
    assert float(zero["total"]) == pytest.approx(0.2 * image + 0.8 * cbf, rel=1e-5)


def _kinetic_data(n: int = 12) -> TrainData:
    rng = np.random.default_rng(5)
    clean = rng.uniform(0.2, 1.0, (n, 1, 16, 16)).astype(np.float32)
    noise = rng.normal(0, 0.3, (n, 1, 16, 16)).astype(np.float32)
    aux = np.concatenate([clean * 80, np.full_like(clean, 80.0), np.ones_like(clean)], axis=1)
    return TrainData(clean + noise, noise, aux)


def test_kinetic_training_resumes_to_the_same_weights(tmp_path) -> None:
    method = {"trainer": "kinetic", "generator": "deepasl", "generator_kwargs": {"width": 8, "depth": 2},
              "lambda": 0.5, "lr_g": 1e-3}
    data = _kinetic_data()
    straight = fit(method, data, data, epochs=2, batch_size=5, seed=3, device="cpu", ckpt_dir=tmp_path / "a",
                   log_csv=tmp_path / "a.csv", progress=False).generator
    fit(method, data, None, epochs=2, batch_size=5, seed=3, device="cpu", ckpt_dir=tmp_path / "b",
        log_csv=tmp_path / "b.csv", stop_after_checks=1, progress=False)
    resumed = fit(method, data, None, epochs=2, batch_size=5, seed=3, device="cpu", ckpt_dir=tmp_path / "b",
                  log_csv=tmp_path / "b.csv", progress=False).generator
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)
    log = pd.read_csv(tmp_path / "a.csv")
    assert {"train_total", "train_image", "train_cbf", "val_cbf"} <= set(log.columns)
    assert log["train_total"].iloc[-1] < log["train_total"].iloc[0]


def test_kinetic_trainer_needs_aux_and_a_lambda(tmp_path) -> None:
    data = _kinetic_data()
    with pytest.raises(ValueError, match="aux"):
        fit({"trainer": "kinetic", "generator": "deepasl", "lambda": 0.5, "lr_g": 1e-3},
            TrainData(data.lr, data.hr), None, epochs=1, batch_size=4, seed=0, device="cpu",
            ckpt_dir=tmp_path / "c", log_csv=tmp_path / "c.csv", progress=False)
    with pytest.raises(ValueError, match="lambda"):
        fit({"trainer": "kinetic", "generator": "deepasl", "lambda": 1.5, "lr_g": 1e-3}, data, None, epochs=1,
            batch_size=4, seed=0, device="cpu", ckpt_dir=tmp_path / "d", log_csv=tmp_path / "d.csv", progress=False)
    with pytest.raises(ValueError, match="aux has 3"):
        TrainData(data.lr, data.hr, data.aux[:3])


def test_denoise_subtracts_the_predicted_residual() -> None:
    noisy = np.ones((2, 3, 4, 4), np.float32)
    np.testing.assert_array_equal(denoise(noisy, None), noisy)
    np.testing.assert_allclose(denoise(noisy, lambda x: 0.25 * x), 0.75 * noisy)


def patch_mean(x: np.ndarray) -> np.ndarray:
    """A context-dependent 'network': every pixel's residual is its input patch's mean."""
    return np.broadcast_to(x.mean(axis=(-2, -1), keepdims=True), x.shape).copy()


def test_patchwise_inference_sees_only_its_patch() -> None:
    # 80 x 100 slice, 40 px patches every 40 px: rows start 0, 40; columns 0, 40 and 60 (flush with the border)
    img = np.arange(80 * 100, dtype=np.float32).reshape(1, 1, 80, 100)
    out = denoise(img, patch_mean, patch_size=40)
    # the top-left pixel only lies in the patch [0:40, 0:40]: residual = mean of rows 0..39, cols 0..39
    # = 100 * 19.5 + 19.5 = 1969.5
    assert out[0, 0, 0, 0] == pytest.approx(0.0 - 1969.5)
    # column 70 lies in the patches starting at 40 and 60 (overlap averaged): means 100 * 19.5 + 59.5 and + 79.5
    assert out[0, 0, 0, 70] == pytest.approx(70.0 - (1950.0 + 69.5))
    # whole-slice inference sees the whole slice instead
    assert denoise(img, patch_mean)[0, 0, 0, 0] == pytest.approx(-float(img.mean()))
    # a pixel-wise network gives the same result either way, also on slices smaller than a patch (reflect padding)
    small = np.random.default_rng(0).normal(size=(2, 3, 30, 50)).astype(np.float32)
    np.testing.assert_allclose(denoise(small, lambda x: 0.25 * x, patch_size=40), 0.75 * small, rtol=1e-6)


def test_patchwise_inference_skips_patches_without_brain() -> None:
    img = np.ones((2, 1, 80, 80), np.float32)
    mask = np.zeros((1, 80, 80), bool)
    mask[0, 5, 5] = True  # brain only in the top-left patch
    seen = []

    def predict(x: np.ndarray) -> np.ndarray:
        seen.append(len(x))
        return 0.5 * x

    out = denoise(img, predict, patch_size=40, mask=mask)
    assert seen == [2]  # one patch per noise level
    assert (out[:, 0, :40, :40] == 0.5).all() and (out[:, 0, 40:, :] == 1.0).all() and (out[:, 0, :, 40:] == 1.0).all()


def test_bland_altman_statistics() -> None:
    ref = np.array([10.0, 20.0, 30.0, 40.0])
    s = bland_altman(ref + np.array([1.0, 3.0, 1.0, 3.0]), ref)
    sd = np.std([1, 3, 1, 3], ddof=1)
    assert s["bias"] == pytest.approx(2.0)
    assert s["loa_high"] == pytest.approx(2.0 + 1.96 * sd) and s["loa_low"] == pytest.approx(2.0 - 1.96 * sd)
    assert 0.9 < s["ccc"] < 1.0


def test_paired_tests_match_rows_by_subject_and_level() -> None:
    rows = [{"method": m, "subject": s, "level": lev, "psnr": base + d, "rmse": 1.0, "ccc": 0.9}
            for m, d in (("a", 1.0), ("b", 0.0)) for s in ("s1", "s2") for lev, base in ((0.2, 20.0), (0.4, 25.0))]
    rows[0]["psnr"] += 0.5  # differences 1.5, 1, 1, 1
    out = {r["metric"]: r for r in paired_tests(pd.DataFrame(rows), "a", "b")}
    assert out["psnr"]["n_pairs"] == 4 and out["psnr"]["mean_diff"] == pytest.approx(1.125)
    assert out["psnr"]["p_ttest"] < 0.01
    assert math.isnan(out["rmse"]["p_ttest"])  # identical values: no test


def test_bids_pairs_subtract_label_from_control() -> None:
    asl = np.zeros((2, 2, 1, 4), np.float32)
    asl[..., 0], asl[..., 1], asl[..., 2], asl[..., 3] = 100, 99, 101, 99.5
    pairs = bids_pairs(asl, ["control", "label", "control", "label"], "x")
    np.testing.assert_allclose(pairs[:, 0, 0, 0], [1.0, 1.5])
    with pytest.raises(ValueError, match="equal numbers"):
        bids_pairs(asl, ["control", "label", "control", "control"], "x")


def test_bids_subject_builds_real_and_synthetic_sets(tmp_path) -> None:
    import nibabel as nib
    import yaml

    from mrsr.experiments.deepasl.data import load_bids_subject

    rng = np.random.default_rng(2)
    shape, affine = (24, 24, 5), np.diag([3.0, 3.0, 5.0, 1.0])
    brain = np.zeros(shape, bool)
    brain[4:20, 4:20] = True
    gm = np.where(brain, 0.6, 0.0).astype(np.float32)
    wm = np.where(brain, 0.4, 0.0).astype(np.float32)
    m0 = np.where(brain, 500.0, 0.0).astype(np.float32)
    dm = np.where(brain, 5.0, 0.0)
    vols = [v for _ in range(4) for v in (m0 + rng.normal(0, 2, shape), m0 - dm + rng.normal(0, 2, shape))]
    paths = {}
    for name, arr in (("asl", np.stack(vols, -1)), ("m0", m0), ("gm", gm), ("wm", wm)):
        paths[name] = str(tmp_path / f"{name}.nii.gz")
        nib.save(nib.Nifti1Image(np.asarray(arr, np.float32), affine), paths[name])
    paths["aslcontext"] = str(tmp_path / "ctx.tsv")
    (tmp_path / "ctx.tsv").write_text("volume_type\n" + "control\nlabel\n" * 4)
    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())["deepasl"]
    real = load_bids_subject(paths, cfg, "real", np.random.default_rng(0))
    assert real["noisy"].shape == (4, 3, 24, 24) and int(real["n_pairs"]) == 4
    # dM 5 on M0 500 -> normalised to M0 100: dM 1, CBF = factor(1.8 s, 1.6 s) / 100, before smoothing blurs edges
    inner = real["mask"][1] > 0
    assert np.median(real["ref_cbf"][1][inner]) == pytest.approx(Kinetics(1.8, 1.6).factor / 100, rel=0.05)
    assert "truth_cbf" not in real  # acquired data: no ground truth
    syn = load_bids_subject(paths, cfg, "synthetic", np.random.default_rng(0))
    assert int(syn["n_pairs"]) == 100
    np.testing.assert_allclose(syn["truth_cbf"][syn["mask"] > 0], 65 * 0.6 + 20 * 0.4, rtol=1e-5)
    # the paper's reference: eq. 1 on the mean of all 100 noisy pairs, close to the truth but not equal
    ref = syn["ref_cbf"][syn["mask"] > 0]
    assert abs(np.median(ref) - 47.0) < 2.0 and not np.allclose(ref, 47.0, rtol=1e-3)
    general = {**cfg, "synthetic": {**cfg["synthetic"], "model": "general"}}
    with pytest.raises(ValueError, match="deepasl.synthetic.model"):
        load_bids_subject(paths, general, "synthetic", np.random.default_rng(0))

    # a BIDS sidecar beside the series: its own timing quantifies the real set, over the config's 1.8 s / 1.6 s
    sidecar = tmp_path / "asl.json"
    sidecar.write_text(json.dumps({"ArterialSpinLabelingType": "PCASL", "M0Type": "Separate",
                                   "PostLabelingDelay": 2.0, "LabelingDuration": 1.5}))
    timed = load_bids_subject(paths, cfg, "real", np.random.default_rng(0))
    np.testing.assert_allclose(timed["kinetics"][:2], [1.5, 2.0])
    ratio = Kinetics(1.5, 2.0).factor / Kinetics(1.8, 1.6).factor
    np.testing.assert_allclose(timed["ref_cbf"], real["ref_cbf"] * ratio, rtol=1e-4, atol=1e-6)
    # the synthetic set is simulated, so it keeps the config's timing
    np.testing.assert_allclose(load_bids_subject(paths, cfg, "synthetic", np.random.default_rng(0))["kinetics"][:2],
                               [cfg["synthetic"]["kinetics"]["tau"], cfg["synthetic"]["kinetics"]["pld"]])
    # a sidecar that contradicts the model stops the run, naming the file and the field
    for fields, match in (({"ArterialSpinLabelingType": "PASL"}, "asl.json: field ArterialSpinLabelingType is 'PASL'"),
                          ({"M0Type": "Absent"}, "asl.json: field M0Type is 'Absent'"),
                          ({"PostLabelingDelay": [1.5, 2.0]}, "asl.json: field PostLabelingDelay varies"),
                          ({"LabelingDuration": "long"}, "asl.json: field LabelingDuration must be")):
        sidecar.write_text(json.dumps(fields))
        with pytest.raises(ValueError, match=match):
            load_bids_subject(paths, cfg, "real", np.random.default_rng(0))
    sidecar.write_text(json.dumps({"PostLabelingDelay": [1.7] * 8}))  # one value per volume, all equal: accepted
    np.testing.assert_allclose(load_bids_subject(paths, cfg, "real", np.random.default_rng(0))["kinetics"][:2],
                               [1.8, 1.7])


def test_sidecar_path_and_reader(tmp_path) -> None:
    assert sidecar_path("/d/sub-01_asl.nii.gz") == Path("/d/sub-01_asl.json")
    assert sidecar_path("/d/sub-01_asl.nii") == Path("/d/sub-01_asl.json")
    assert read_asl_sidecar(tmp_path / "none_asl.nii.gz") is None  # no sidecar: the config decides
    (tmp_path / "a_asl.json").write_text(json.dumps({"ArterialSpinLabelingType": "pcasl", "PostLabelingDelay": 1.8}))
    found = read_asl_sidecar(tmp_path / "a_asl.nii.gz")
    assert (found.asl_type, found.pld, found.labeling_duration, found.m0_type) == ("PCASL", 1.8, None, None)
    (tmp_path / "b_asl.json").write_text("{not json")
    with pytest.raises(ValueError, match="b_asl.json: not valid JSON"):
        read_asl_sidecar(tmp_path / "b_asl.nii.gz")
    (tmp_path / "c_asl.json").write_text(json.dumps({"ArterialSpinLabelingType": "FAIR"}))
    with pytest.raises(ValueError, match="c_asl.json: field ArterialSpinLabelingType must be one of"):
        read_asl_sidecar(tmp_path / "c_asl.nii.gz")
    # asl_sr models no labelling: any type passes, but an M0 image is still needed
    check_sidecar(AslSidecar("x.json", asl_type="PASL"), asl_types=ASL_TYPES, experiment="asl_sr")
    with pytest.raises(ValueError, match="x.json: field M0Type is 'Estimate', but asl_sr needs an M0 image"):
        check_sidecar(AslSidecar("x.json", m0_type="Estimate"), asl_types=ASL_TYPES, experiment="asl_sr")


def phantom_maps() -> dict[str, np.ndarray]:
    """Cohort-like maps (X, Y, Z; 2 mm): a box brain of pure GM in its centre and pure WM around it."""
    shape = (48, 48, 30)
    mask = np.zeros(shape, np.float32)
    mask[4:44, 4:44, 3:27] = 1
    gm = np.zeros(shape, np.float32)
    gm[12:36, 12:36, 6:24] = 1
    wm = mask - gm
    return {"pd": 0.8 * gm + 0.7 * wm, "gm": gm, "wm": wm, "cbf": 60.0 * gm + 20.0 * wm, "mask": mask,
            "att": 0.8 * gm + 1.2 * wm, "t1map": 1.33 * gm + 0.83 * wm}


def phantom_cfg(**real) -> dict:
    """The default deepasl section on a small grid, noise-free, unsmoothed, without motion."""
    import yaml

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())["deepasl"]
    cfg["grid"] = {"inplane_mm": 2.7, "slice_mm": 5.0, "matrix": 32, "slices": 9}
    for name in ("real", "synthetic"):
        cfg[name] = {**cfg[name], "n_pairs": 4, "noise_scale": 0.0, "motion_mm": 0.0, "smooth_fwhm_mm": 0.0}
    cfg["real"].update(real)
    return cfg


def test_real_like_set_is_acquired_with_the_general_model_and_quantified_with_eq1() -> None:
    from mrsr.experiments.deepasl.data import simulate_phantom

    maps = phantom_maps()
    single = simulate_phantom(maps, 2.0, phantom_cfg(model="single_compartment"), "real", np.random.default_rng(0))
    general = simulate_phantom(maps, 2.0, phantom_cfg(), "real", np.random.default_rng(0))
    brain = single["mask"] > 0
    # single compartment: eq. 1 inverts the forward model exactly, the round trip returns the truth
    np.testing.assert_allclose(single["ref_cbf"][brain], single["truth_cbf"][brain], rtol=1e-4, atol=1e-3)
    # general model: in pure GM (CBF 60, ATT 0.8 s, T1 1.33 s) the noise-free dM is 0.618310 per M0 100 (hand value
    # above) where eq. 1 expects 60 * 100 / 7644.9 = 0.784837, so the scanner's CBF is 60 * 0.78782 = 47.27
    core = general["gm"] >= 0.999
    assert core.sum() > 100
    np.testing.assert_allclose(general["ref_cbf"][core], 47.27, rtol=2e-3)
    np.testing.assert_allclose(general["truth_cbf"][core], 60.0, rtol=1e-3)


def test_synthetic_set_follows_the_paper_and_shares_the_real_sets_noise() -> None:
    from mrsr.experiments.deepasl.data import loss_reference, simulate_phantom

    cfg = phantom_cfg()
    cfg["synthetic"]["noise_scale"] = 1.0
    syn = simulate_phantom(phantom_maps(), 2.0, cfg, "synthetic", np.random.default_rng(0))
    core = syn["gm"] >= 0.999
    np.testing.assert_allclose(syn["truth_cbf"][core], 65.0, rtol=1e-3)
    # reference = eq. 1 on the mean of the 4 noisy pairs: unbiased, but noisy
    ref = syn["ref_cbf"][core]
    assert abs(ref.mean() - 65.0) < 3.0 and ref.std() > 5.0
    # the CBF loss term uses that reference by default; the ground truth is an option
    assert loss_reference(syn, cfg, "synthetic") is syn["ref_cbf"]
    truth_cfg = {**cfg, "synthetic": {**cfg["synthetic"], "cbf_reference": "ground_truth"}}
    assert loss_reference(syn, truth_cfg, "synthetic") is syn["truth_cbf"]
    acquired = {k: v for k, v in syn.items() if k != "truth_cbf"}
    with pytest.raises(ValueError, match="deepasl.synthetic.cbf_reference"):
        loss_reference(acquired, truth_cfg, "synthetic")


def write_bids_asl(folder: Path, prefix: str = "sub-01", pairs: int = 3, sidecar: dict | None = None) -> dict:
    """A small BIDS ASL series (<prefix>_asl.nii.gz, _aslcontext.tsv, _m0scan.nii.gz[, _asl.json]); its arrays."""
    import nibabel as nib

    rng = np.random.default_rng(5)
    shape, affine = (48, 44, 4), np.diag([3.0, 3.0, 5.0, 1.0])
    brain = np.zeros(shape, bool)
    brain[8:40, 6:38] = True
    m0 = np.where(brain, 800.0, 2.0).astype(np.float32)
    vols = [v for _ in range(pairs) for v in (m0 + rng.normal(0, 4, shape), m0 - np.where(brain, 6.0, 0.0)
                                              + rng.normal(0, 4, shape))]
    folder.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.stack(vols, -1).astype(np.float32), affine), folder / f"{prefix}_asl.nii.gz")
    (folder / f"{prefix}_aslcontext.tsv").write_text("volume_type\n" + "control\nlabel\n" * pairs)
    nib.save(nib.Nifti1Image(m0, affine), folder / f"{prefix}_m0scan.nii.gz")
    if sidecar is not None:
        (folder / f"{prefix}_asl.json").write_text(json.dumps(sidecar))
    dm = np.mean([vols[2 * i] - vols[2 * i + 1] for i in range(pairs)], axis=0)
    return {"dm": dm, "m0": m0, "brain": brain, "affine": affine}


def test_deepasl_apply_known_answers(tmp_path) -> None:
    """A network whose noise estimate is 0 returns the series' mean dM (no smoothing) on the input's scale; one
    that calls everything noise returns 0 wherever it predicts; BIDS siblings are found or named when missing."""
    from torch import nn

    from mrsr.apply import ApplyOptions
    from mrsr.bids import bids_files
    from mrsr.experiments.deepasl.apply import apply_volume
    from mrsr.io import read_nifti
    from mrsr.train.meta import ModelMeta

    arrays = write_bids_asl(tmp_path / "perf")
    volume = read_nifti(tmp_path / "perf/sub-01_asl.nii.gz", ndim=4)

    class Zero(nn.Module):
        def forward(self, x):
            return x * 0

    for patch in (40, None):  # patch-wise (the paper) and whole slices
        meta = ModelMeta("deepasl", "pr_02", 0, inference={"patch_size": patch, "smooth_fwhm_mm": 0.0})
        out, affine, notes = apply_volume(Zero(), meta, volume, ApplyOptions())
        assert out.shape == arrays["dm"].shape and notes == []
        np.testing.assert_allclose(out, arrays["dm"], rtol=1e-4, atol=1e-3)  # nothing removed: the mean dM
        np.testing.assert_allclose(affine, arrays["affine"])
        # on the model's scale: dM x 100 / brain-mean M0
        model_scale = apply_volume(Zero(), meta, volume, ApplyOptions(scale="model"))[0]
        np.testing.assert_allclose(model_scale, arrays["dm"] * 100 / 800.0, rtol=1e-4, atol=1e-5)
        everything = apply_volume(nn.Identity(), meta, volume, ApplyOptions())[0]
        assert np.abs(everything[arrays["brain"]]).max() < 1e-4  # residual = input: nothing left in the brain
    smoothed = apply_volume(Zero(), ModelMeta("deepasl", "pr_02", 0, inference={"patch_size": 40,
                                                                             "smooth_fwhm_mm": 4.0}),
                            volume, ApplyOptions())[0]
    assert smoothed.std() < out.std()  # the real set's in-plane smoothing, as in training
    assert bids_files(tmp_path / "perf/sub-01_asl.nii.gz")["m0"].endswith("sub-01_m0scan.nii.gz")
    with pytest.raises(ValueError, match="named <prefix>_asl.nii"):
        bids_files(tmp_path / "perf/sub-01_m0scan.nii.gz")
    (tmp_path / "perf/sub-01_m0scan.nii.gz").unlink()
    with pytest.raises(ValueError, match="sub-01_asl.nii.gz: its M0 image .*sub-01_m0scan.nii.gz is missing"):
        apply_volume(Zero(), meta, volume, ApplyOptions())
    write_bids_asl(tmp_path / "pasl", sidecar={"ArterialSpinLabelingType": "PASL"})
    pasl = read_nifti(tmp_path / "pasl/sub-01_asl.nii.gz", ndim=4)
    with pytest.raises(ValueError, match="sub-01_asl.json: field ArterialSpinLabelingType is 'PASL'"):
        apply_volume(Zero(), meta, pasl, ApplyOptions())
