"""``adb_plugins.dagmm.detector``: the DAGMM detector as users and the runner see it."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import adb_plugins.dagmm.train as training
from adb_plugins.dagmm import DAGMMDetector, adb_register_detectors, gmm
from adbench_dagmm.errors import DataError, TrainingError

from .conftest import FAST

ROOT = Path(__file__).resolve().parents[2]


def test_registers_through_the_hook() -> None:
    registered: list[type] = []
    adb_register_detectors(registered.append)
    assert registered == [DAGMMDetector] and DAGMMDetector.name == "dagmm"


def test_init_stores_parameters_unchanged() -> None:
    det = DAGMMDetector(preset="thyroid", hidden=(5, 3), lr="x")
    assert det.get_params()["hidden"] == (5, 3) and det.lr == "x"
    assert det.n_gmm is None and det.preset == "thyroid"
    assert set(DAGMMDetector.param_defaults()) >= {
        "preset", "hidden", "latent_dim", "n_gmm", "lambda_energy", "lambda_cov_diag", "lr",
        "batch_size", "min_batches", "epochs", "steps", "patience", "val_fraction",
        "layer_norm", "abs_distance", "init", "dropout", "cov_jitter", "device", "random_state",
        "contamination",
    }


# -- the detector contract (also run for every plugin by the shared contract suite) ------------
def test_nan_input_raises(synthetic) -> None:
    X = synthetic[0][:200].copy()
    X[3, 2] = np.nan
    with pytest.raises((DataError, ValueError), match="(?i)nan|finite"):
        DAGMMDetector(**FAST).fit(X)
    det = DAGMMDetector(random_state=0, **FAST).fit(synthetic[0][:200])
    with pytest.raises((DataError, ValueError), match="(?i)nan|finite"):
        det.decision_function(X)


def test_wrong_feature_count_raises(synthetic) -> None:
    det = DAGMMDetector(random_state=0, **FAST).fit(synthetic[0][:200])
    with pytest.raises(DataError, match="features"):
        det.decision_function(synthetic[1][:, :5])


def test_clone_and_get_params_round_trip(synthetic) -> None:
    det = DAGMMDetector(random_state=2, lr=3e-4, hidden=[8, 4], steps=50)
    again = clone(det)
    assert again.get_params() == det.get_params() and again is not det
    assert DAGMMDetector(**det.get_params()).get_params() == det.get_params()


def test_same_seed_gives_identical_scores_and_another_seed_does_not(synthetic) -> None:
    X_train, X_test, _ = synthetic
    a = DAGMMDetector(random_state=3, **FAST).fit(X_train).decision_function(X_test)
    b = DAGMMDetector(random_state=3, **FAST).fit(X_train).decision_function(X_test)
    c = DAGMMDetector(random_state=4, **FAST).fit(X_train).decision_function(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_the_global_torch_state_alone(synthetic) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    DAGMMDetector(random_state=0, n_threads=1, **FAST).fit(synthetic[0])
    torch.testing.assert_close(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_dropout_is_off_when_scoring(synthetic) -> None:
    X_train, X_test, _ = synthetic
    det = DAGMMDetector(random_state=0, dropout=0.5, **FAST).fit(X_train)
    assert not det.model_.training
    np.testing.assert_array_equal(det.decision_function(X_test), det.decision_function(X_test))


def test_pyod_compatible_outputs(synthetic) -> None:
    X_train, X_test, _ = synthetic
    det = DAGMMDetector(random_state=0, contamination=0.05, **FAST)
    assert det.fit(X_train) is det
    assert det.decision_scores_.shape == (len(X_train),) and det.decision_scores_.dtype == np.float64
    assert np.mean(det.decision_scores_ > det.threshold_) == pytest.approx(0.05, abs=0.01)
    labels = det.predict(X_test)
    assert set(np.unique(labels)) <= {0, 1} and labels.shape == (len(X_test),)
    scores = det.decision_function(X_test.astype(np.float64))  # float64 input works as well
    np.testing.assert_allclose(scores, det.decision_function(X_test), rtol=1e-6)


def test_gmm_is_fitted_on_all_training_rows(synthetic) -> None:
    X_train = synthetic[0]
    det = DAGMMDetector(random_state=0, **FAST).fit(X_train)
    x = torch.from_numpy(X_train)
    z, log_gamma = (torch.cat(t) for t in zip(*det._latent(x)))
    expected = gmm.gmm_params(z, log_gamma, jitter=det.cov_jitter_)
    torch.testing.assert_close(det.gmm_["mu"], expected.mu)
    np.testing.assert_allclose(det.decision_scores_, det.decision_function(X_train), rtol=1e-9)


def test_latent_representation(synthetic) -> None:
    X_train, X_test, _ = synthetic
    det = DAGMMDetector(random_state=0, **FAST).fit(X_train)
    z = det.latent(X_test)
    assert z.shape == (len(X_test), FAST["latent_dim"] + 2) and z.dtype == np.float64
    assert np.isfinite(z).all() and (z[:, -2] >= 0).all() and (np.abs(z[:, -1]) <= 1 + 1e-6).all()


def test_history_is_json_and_complete(synthetic) -> None:
    det = DAGMMDetector(random_state=0, **FAST).fit(synthetic[0])
    history = json.loads(json.dumps(det.history_))
    n = history["epochs_run"]
    for key in ("loss", "recon", "energy", "cov_diag", "val_loss", "val_energy", "seconds"):
        assert len(history[key]) == n and all(math.isfinite(v) for v in history[key]), key
    assert history["stop_reason"] in ("max_epochs", "early_stopping")
    assert 1 <= history["best_epoch"] <= n and history["seed"] == 0
    assert history["fit_seconds"] > 0 and history["recoveries"] == []
    assert history["schedule"]["batch_size"] == FAST["batch_size"]


def test_run_artifacts_hold_history_latent_sample_and_notes(synthetic) -> None:
    X_train, X_test, _ = synthetic
    det = DAGMMDetector(random_state=0, **FAST).fit(X_train)
    artifacts = det.run_artifacts(X_test)
    assert set(artifacts) == {"history", "latent", "notes"}
    json.dumps(artifacts)
    latent = artifacts["latent"]
    rows = np.asarray(latent["rows"])
    assert len(rows) == min(2000, len(X_test)) and np.all(np.diff(rows) > 0)
    np.testing.assert_allclose(latent["z"], det.latent(X_test[rows]), atol=1e-6)
    assert artifacts["notes"] == [] and artifacts["history"] is det.history_
    few = det.latent_sample(X_test, n=10)
    assert len(few["rows"]) == 10 and few == det.latent_sample(X_test, n=10)


def test_training_that_keeps_its_initial_epoch_is_noted(synthetic) -> None:
    """A run that keeps epoch 1 (or never trains) says so in its notes."""
    untrained = DAGMMDetector(random_state=0, steps=0, **FAST).fit(synthetic[0])
    assert untrained.history_["epochs_run"] == 0
    assert untrained.notes_ == [
        "dagmm: not trained (a budget of 0 steps); the GMM is fitted on the initial network."]
    fake = DAGMMDetector()
    assert fake._training_notes({"epochs_run": 8, "best_epoch": 1, "stop_reason": "x"})[0].startswith(
        "dagmm: training ended on its initial epoch (kept epoch 1 of 8")
    assert fake._training_notes({"epochs_run": 8, "best_epoch": 3, "stop_reason": "x"}) == []


def test_a_step_budget_trains_small_data_for_that_many_steps(synthetic) -> None:
    det = DAGMMDetector(random_state=0, **{**FAST, "batch_size": 1024}, steps=40, min_batches=8,
                        patience=0, val_fraction=0.0).fit(synthetic[0][:300])
    schedule = det.history_["schedule"]
    assert (schedule["batch_size"], schedule["batches_per_epoch"], schedule["epochs"]) == (38, 8, 5)
    assert det.history_["epochs_run"] == 5


def test_early_stopping_restores_the_best_validation_epoch(synthetic) -> None:
    states: dict[int, dict[str, torch.Tensor]] = {}

    def keep(epoch: int, det: DAGMMDetector) -> None:
        states[epoch] = {k: v.clone() for k, v in det.model_.state_dict().items()}

    det = DAGMMDetector(random_state=0, **{**FAST, "epochs": 300, "lr": 3e-3}, patience=2)
    history = det.fit(synthetic[0], callbacks=[keep]).history_
    assert history["stop_reason"] == "early_stopping" and history["epochs_run"] < 300
    best = history["best_epoch"]
    warmup = det.config_["warmup"]
    assert best == warmup + int(np.argmin(history["val_loss"][warmup:])) + 1
    assert history["epochs_run"] == best + 2 and len(states) == best + 2
    final = det.model_.state_dict()
    for key, value in states[best].items():
        torch.testing.assert_close(final[key], value, rtol=0, atol=0)
    assert any(not torch.equal(final[k], v) for k, v in states[best + 2].items())


def test_save_and_load_round_trip(synthetic, tmp_path) -> None:
    X_train, X_test, _ = synthetic
    det = DAGMMDetector(random_state=0, **FAST).fit(X_train)
    path = tmp_path / "dagmm.pt"
    det.save(path)
    torch.load(path, weights_only=True)  # plain tensors and Python values only
    again = DAGMMDetector.load(path)
    np.testing.assert_array_equal(again.decision_function(X_test), det.decision_function(X_test))
    assert again.threshold_ == det.threshold_ and again.config_ == det.config_
    assert again.get_params() == det.get_params() and again.history_ == det.history_
    assert again.effective_params() == det.effective_params()


def test_a_file_saved_before_clip_inputs_loads_unclipped_and_says_so(synthetic, tmp_path) -> None:
    X_train, X_test, _ = synthetic
    recipe = {**FAST, "preset": "default", "steps": 50}  # a preset that clips today
    det = DAGMMDetector(random_state=0, clip_inputs=False, abs_distance=False, **recipe)
    det.fit(X_train)
    blob = {k: v for k, v in _saved(det, tmp_path).items() if k != "input_bounds"}
    del blob["config"]["clip_inputs"], blob["config"]["abs_distance"]
    blob["params"].update(clip_inputs=None, abs_distance=None)  # did not exist: left to the preset
    torch.save(blob, tmp_path / "old.pt")
    old = DAGMMDetector.load(tmp_path / "old.pt")
    assert old.input_bounds_ is None
    assert old.effective_params()["clip_inputs"] is False  # what its fit did, not the preset
    assert old.effective_params()["abs_distance"] is False
    np.testing.assert_array_equal(old.decision_function(X_test), det.decision_function(X_test))


def _saved(det: DAGMMDetector, tmp_path: Path) -> dict:
    det.save(tmp_path / "new.pt")
    return torch.load(tmp_path / "new.pt", weights_only=True)


def test_clip_inputs_scores_a_row_as_its_nearest_point_of_the_widened_training_range(
    synthetic, tmp_path
) -> None:
    X_train = synthetic[0][:400].copy()
    X_train[:, 3] = 0.25  # a column constant in training: its span counts as 1
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    inside = X_train[:5] + 0.1 * span  # within the widened range
    far = inside.copy()
    far[:, 0] = high[0] + 40 * span[0]
    far[:, 3] = low[3] - 40
    edge = inside.copy()
    edge[:, 0] = high[0] + 0.5 * span[0]
    edge[:, 3] = low[3] - 0.5
    clipped = DAGMMDetector(random_state=0, clip_inputs=True, **FAST).fit(X_train)
    bounds = [b.cpu().numpy() for b in clipped.input_bounds_]
    np.testing.assert_allclose(bounds[0], low - 0.5 * span, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(bounds[1], high + 0.5 * span, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(clipped.decision_function(far), clipped.decision_function(edge),
                               rtol=1e-6)
    within = edge.copy()  # just inside the widened range: not clipped, so scored differently
    within[:, 0] = high[0] + 0.4 * span[0]
    within[:, 3] = low[3] - 0.4
    assert np.all(clipped.decision_function(within) != clipped.decision_function(edge))
    np.testing.assert_allclose(clipped.latent(far), clipped.latent(edge), rtol=1e-6)
    # training rows are inside the range: the scores of the training rows are those of fit
    np.testing.assert_allclose(clipped.decision_function(X_train), clipped.decision_scores_,
                               rtol=1e-6)
    clipped.save(tmp_path / "clipped.pt")
    again = DAGMMDetector.load(tmp_path / "clipped.pt")
    np.testing.assert_array_equal(again.decision_function(far), clipped.decision_function(far))
    plain = DAGMMDetector(random_state=0, clip_inputs=False, **FAST).fit(X_train)
    assert plain.input_bounds_ is None
    assert np.all(plain.decision_function(far) > plain.decision_function(edge))
    # the preset decides when the parameter is left alone: default clips, kddcup does not
    assert DAGMMDetector().effective_params()["clip_inputs"] is True
    assert DAGMMDetector(preset="kddcup").effective_params()["clip_inputs"] is False


# -- numerical failures ------------------------------------------------------------------------
def _patch_batch_gmm(monkeypatch, fail) -> None:
    """Make ``fail(jitter)`` run before every batch GMM of the training objective."""
    real = training.batch_energy_and_penalty

    def patched(z, logits, *, jitter):
        fail(jitter)
        return real(z, logits, jitter=jitter)

    monkeypatch.setattr(training, "batch_energy_and_penalty", patched)


def test_a_failed_cholesky_is_recovered_by_raising_the_jitter(synthetic, monkeypatch) -> None:
    calls = {"n": 0}

    def fails_once(jitter):
        calls["n"] += 1
        if calls["n"] == 3:
            raise gmm.CholeskyError(1, jitter)

    _patch_batch_gmm(monkeypatch, fails_once)
    det = DAGMMDetector(random_state=0, cov_jitter=1e-6, **FAST).fit(synthetic[0])
    assert det.history_["recoveries"] == [
        {"epoch": 1, "batch": 3, "component": 1,
         "what": "covariance of GMM component 1 is not positive definite (diagonal jitter 1e-06)"}
    ]
    assert det.cov_jitter_ == pytest.approx(1e-5) and det.history_["epochs_run"] == FAST["epochs"]
    assert np.isfinite(det.decision_function(synthetic[1])).all()


def test_an_unrecoverable_failure_names_epoch_batch_and_component(synthetic, monkeypatch) -> None:
    def always_fails(jitter):
        raise gmm.CholeskyError(2, jitter)

    _patch_batch_gmm(monkeypatch, always_fails)
    with pytest.raises(TrainingError, match=r"epoch 1, batch 1, GMM component 2.*cov_jitter"):
        DAGMMDetector(random_state=0, **FAST).fit(synthetic[0])


def test_degenerate_data_gives_finite_scores() -> None:
    """Constant columns, duplicated rows and an all-zero row: singular latent covariances."""
    rng = np.random.default_rng(0)
    base = rng.uniform(size=(5, 6)).astype(np.float32)
    X = np.repeat(base, 60, axis=0)  # 5 distinct rows, 60 copies each
    X[:, 4] = 1.0  # a constant column
    X[0] = 0.0  # ||x|| = 0
    det = DAGMMDetector(random_state=0, **FAST).fit(X)
    scores = det.decision_function(np.vstack([X, rng.uniform(size=(20, 6)).astype(np.float32)]))
    assert np.isfinite(scores).all() and np.isfinite(det.decision_scores_).all()


# -- it learns ---------------------------------------------------------------------------------
def test_training_changes_parameters_and_lowers_the_loss(line_task) -> None:
    recipe = {**FAST, "epochs": 10, "lr": 3e-3, "patience": 0, "random_state": 0}
    untrained = DAGMMDetector(**recipe, steps=0).fit(line_task[0])
    trained = DAGMMDetector(**recipe).fit(line_task[0])
    before, after = untrained.model_.state_dict(), trained.model_.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)
    history = trained.history_
    assert history["loss"][-1] < history["loss"][0] - 5.0
    assert history["recon"][-1] < 0.5 * history["recon"][0]


def test_trained_model_beats_its_untrained_initialisation(line_task) -> None:
    """Xavier init: PyTorch's smaller default init already separates this task untrained."""
    X_train, X_test, y_test = line_task
    recipe = {**FAST, "epochs": 20, "lr": 3e-3, "patience": 0, "random_state": 0,
              "init": "xavier"}
    untrained = DAGMMDetector(**recipe, steps=0).fit(X_train)
    trained = DAGMMDetector(**recipe).fit(X_train)
    auc_before = roc_auc_score(y_test, untrained.decision_function(X_test))
    auc_after = roc_auc_score(y_test, trained.decision_function(X_test))
    assert auc_after >= 0.95 and auc_after > auc_before + 0.2, (auc_before, auc_after)


def test_the_benchmark_times_the_detectors_own_training_path(monkeypatch) -> None:
    """``benchmarks/bench_dagmm.py``'s "ours" runs what ``fit`` runs for the default recipe."""
    spec = importlib.util.spec_from_file_location("bench_dagmm", ROOT / "benchmarks" / "bench_dagmm.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    calls: list[dict] = []

    def recording(model, objective, x, *, optimizer, batch_size, **kwargs):
        calls.append({"model": repr(model), "objective": (type(objective), objective.lambda_energy,
                      objective.lambda_cov_diag, objective.cov_jitter, objective.recon_reduction),
                      "optimizer": (type(optimizer), {k: v for k, v in optimizer.defaults.items()}),
                      "batch_size": batch_size, "n_features": x.shape[1]})
        return {"epochs_run": 0, "best_epoch": 0, "stop_reason": "max_epochs", "recoveries": []}

    monkeypatch.setattr(training, "train", recording)
    X = np.random.default_rng(0).normal(size=(3000, 118)).astype(np.float32)
    DAGMMDetector(preset="kddcup", val_fraction=0.0, patience=0, random_state=0).fit(X)
    bench.our_epoch_runner(torch.from_numpy(X), seed=0)()
    assert len(calls) == 2 and calls[0] == calls[1]
    assert calls[0]["optimizer"][0] is torch.optim.Adam and calls[0]["optimizer"][1]["fused"]


# -- real data ---------------------------------------------------------------------------------
def test_short_training_on_kddcup99_clears_a_floor(kdd_path) -> None:
    """zong2018, seed 0, the kddcup recipe cut to 6 epochs: F1 >= 0.85, ROC AUC >= 0.95."""
    from sklearn.metrics import precision_recall_fscore_support

    from adb_datasets.kddcup99 import KDDCup99Dataset
    from adbench_dagmm.protocols import Zong2018Protocol

    protocol = Zong2018Protocol()
    split = protocol.split(KDDCup99Dataset().load(), seed=0)
    det = DAGMMDetector(preset="kddcup", epochs=6, random_state=0).fit(split.X_train)
    scores = det.decision_function(split.X_test)
    predicted = protocol.threshold(scores, split.contamination)
    _, _, f1, _ = precision_recall_fscore_support(split.y_test, predicted, average="binary")
    auc = roc_auc_score(split.y_test, scores)
    assert f1 >= 0.85 and auc >= 0.95, (f1, auc)
    assert det.history_["epochs_run"] == 6 and det.history_["recoveries"] == []


def test_the_default_recipe_trains_small_data_for_its_whole_budget(synthetic) -> None:
    """Item 6: a few hundred rows get the full step budget and never stop on the initial net."""
    det = DAGMMDetector(random_state=0).fit(synthetic[0][:300])
    schedule, history = det.history_["schedule"], det.history_
    assert schedule["batches_per_epoch"] >= det.config_["min_batches"]
    assert schedule["epochs"] * schedule["batches_per_epoch"] >= det.config_["steps"]
    assert history["epochs_run"] == schedule["epochs"] and history["best_epoch"] == schedule["epochs"]
    assert det.notes_ == [] and history["loss"][-1] < history["loss"][0]


def test_effective_params_name_the_recipe_that_ran() -> None:
    """The run's stored parameters show the preset's values, not the None overrides."""
    from adb_plugins.dagmm import DAGMMDetector
    from adb_plugins.dagmm.presets import PRESETS

    params = DAGMMDetector(preset="paper_thyroid", lr=1e-3).effective_params()
    assert params["preset"] == "paper_thyroid" and params["lr"] == 1e-3  # the override wins
    assert params["epochs"] == PRESETS["paper_thyroid"]["epochs"] and params["hidden"] == [12, 4]
    assert all(params[k] is not None for k in PRESETS["paper_thyroid"] if k != "steps")


def test_threads_follow_the_caller_unless_set(synthetic, monkeypatch) -> None:
    """``n_threads=None`` uses torch's current count (what ``--jobs`` gives each worker)."""
    import adb_plugins.dagmm.detector as module

    seen: list[int] = []
    real = module._torch_threads

    def spy(n: int):  # type: ignore[no-untyped-def]
        seen.append(n)
        return real(n)

    monkeypatch.setattr(module, "_torch_threads", spy)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        DAGMMDetector(random_state=0, **FAST).fit(synthetic[0][:64])
        DAGMMDetector(random_state=0, n_threads=2, **FAST).fit(synthetic[0][:64])
    finally:
        torch.set_num_threads(previous)
    assert seen == [1, 2]
