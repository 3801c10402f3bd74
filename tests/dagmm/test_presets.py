"""``adb_plugins.dagmm.presets`` and the parameter checks of ``fit``."""

from __future__ import annotations

import re

import pytest

from adb_plugins.dagmm import DAGMMDetector
from adb_plugins.dagmm.detector import training_schedule
from adb_plugins.dagmm.presets import PRESETS, RECIPE_KEYS, resolve_recipe
from adbench_dagmm.errors import ParameterError

from .conftest import FAST

BAD_PARAMS = [
    ("n_gmm", 0, "The 'n_gmm' parameter of DAGMMDetector must be an int >= 1. Got 0 instead."),
    ("n_gmm", 2.5, "'n_gmm' parameter of DAGMMDetector must be an int >= 1. Got 2.5"),
    ("epochs", True, "'epochs' parameter of DAGMMDetector must be an int >= 1. Got True"),
    ("steps", -1, "'steps' parameter of DAGMMDetector must be an int >= 0. Got -1"),
    ("min_batches", 0, "'min_batches' parameter of DAGMMDetector must be an int >= 1. Got 0"),
    ("batch_size", "big", "'batch_size' parameter of DAGMMDetector must be an int >= 1"),
    ("patience", -1, "'patience' parameter of DAGMMDetector must be an int >= 0. Got -1"),
    ("hidden", "60,30", "'hidden' parameter of DAGMMDetector must be a list or tuple of ints"),
    ("hidden", [10, 0], "'hidden' parameter of DAGMMDetector must be a list or tuple of ints"),
    ("lr", -1e-4, "'lr' parameter of DAGMMDetector must be a float > 0. Got -0.0001"),
    ("lr", "fast", "'lr' parameter of DAGMMDetector must be a float > 0. Got 'fast'"),
    ("cov_jitter", 0.0, "'cov_jitter' parameter of DAGMMDetector must be a float > 0"),
    ("n_threads", 0, "'n_threads' parameter of DAGMMDetector must be None or an int >= 1"),
    ("lr_decay", 1.5, "'lr_decay' parameter of DAGMMDetector must be a float in the range (0, 1]"),
    ("lambda_energy", float("nan"), "'lambda_energy' parameter of DAGMMDetector must be a float"),
    ("dropout", 1.0, "'dropout' parameter of DAGMMDetector must be a float in the range [0, 1)"),
    ("val_fraction", 1.5, "'val_fraction' parameter of DAGMMDetector must be a float in the"),
    ("layer_norm", "everywhere", "'layer_norm' parameter of DAGMMDetector must be a str among"),
    ("abs_distance", "yes", "'abs_distance' parameter of DAGMMDetector must be a bool"),
    ("clip_inputs", 1, "'clip_inputs' parameter of DAGMMDetector must be a bool"),
    ("init", "he", "'init' parameter of DAGMMDetector must be a str among"),
    ("monitor", "auc", "'monitor' parameter of DAGMMDetector must be a str among"),
    ("preset", "kdd", "'preset' parameter of DAGMMDetector must be a str among"),
    ("device", "tpu", "'device' parameter of DAGMMDetector must be"),
    ("random_state", -3, "'random_state' parameter of DAGMMDetector must be None or an int"),
    ("contamination", 0.7, "'contamination' parameter of DAGMMDetector must be a float in"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_PARAMS,
                         ids=[f"{n}={v!r}" for n, v, _ in BAD_PARAMS])
def test_bad_parameters_raise_parameter_error_naming_them(name, value, message, synthetic) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        DAGMMDetector(**{name: value}).fit(synthetic[0][:100])


def test_early_stopping_needs_validation_rows(synthetic) -> None:
    with pytest.raises(ParameterError, match="'val_fraction' parameter .* must be > 0 when"):
        DAGMMDetector(patience=3, val_fraction=0.0).fit(synthetic[0][:100])


def test_every_preset_defines_every_recipe_key_and_resolves() -> None:
    for name, preset in PRESETS.items():
        assert set(preset) == set(RECIPE_KEYS), name
        assert resolve_recipe(name, {}, owner="X") == preset, name


def test_the_paper_presets_are_the_papers_settings() -> None:
    paper = PRESETS["paper"]
    assert (paper["hidden"], paper["latent_dim"], paper["n_gmm"], paper["lr"],
            paper["batch_size"], paper["epochs"]) == ([60, 30, 10], 1, 4, 1e-4, 1024, 200)
    assert (paper["lambda_energy"], paper["lambda_cov_diag"], paper["dropout"]) == (0.1, 0.005, 0.5)
    assert (paper["patience"], paper["warmup"], paper["steps"], paper["min_batches"]) == (0, 0, None, 1)
    thyroid, arrhythmia = PRESETS["paper_thyroid"], PRESETS["paper_arrhythmia"]
    assert (thyroid["hidden"], thyroid["latent_dim"], thyroid["n_gmm"]) == ([12, 4], 1, 2)
    assert (arrhythmia["hidden"], arrhythmia["latent_dim"], arrhythmia["n_gmm"]) == ([10], 2, 2)
    assert (thyroid["epochs"], arrhythmia["epochs"], arrhythmia["batch_size"]) == (20000, 10000, 128)


def test_cli_style_values_are_accepted(synthetic) -> None:
    """The CLI hands over literals: lists for hidden, bools, ints for floats."""
    det = DAGMMDetector(hidden=(6, 3), layer_norm=True, lr=1, epochs=1, random_state=0,
                        lambda_energy=0, **{k: v for k, v in FAST.items() if k not in (
                            "hidden", "epochs")})
    det.set_params(lr=1e-3).fit(synthetic[0][:300])
    assert det.config_["hidden"] == [6, 3] and det.config_["layer_norm"] == "input"
    assert det.config_["lr"] == 1e-3 and isinstance(det.config_["lambda_energy"], float)


def test_presets_resolve_and_explicit_values_win(synthetic) -> None:
    det = DAGMMDetector(preset="paper_thyroid", epochs=1, random_state=0).fit(synthetic[0][:300])
    assert det.config_["hidden"] == PRESETS["paper_thyroid"]["hidden"]
    assert det.config_["n_gmm"] == 2 and det.config_["epochs"] == 1


def test_schedule_in_epochs_keeps_the_recipe() -> None:
    cfg = {**PRESETS["kddcup"]}
    assert training_schedule(cfg, 200_000) == {
        "batch_size": 1024, "batches_per_epoch": 196, "epochs": cfg["epochs"],
        "warmup": cfg["warmup"], "lr_decay_start": cfg["lr_decay_start"]}


def test_a_step_budget_sets_epochs_and_bounds_the_batch() -> None:
    cfg = {**PRESETS["kddcup"], "steps": 1000, "min_batches": 8, "warmup": 100,
           "lr_decay_start": 600}
    small = training_schedule(cfg, 265)  # a few hundred rows: batch 34, 8 batches per epoch
    assert (small["batch_size"], small["batches_per_epoch"]) == (34, 8)
    assert (small["epochs"], small["warmup"], small["lr_decay_start"]) == (125, 12, 75)
    large = training_schedule(cfg, 400_000)  # many rows: the batch size is the recipe's
    assert (large["batch_size"], large["batches_per_epoch"], large["epochs"]) == (1024, 391, 3)
    assert (large["warmup"], large["lr_decay_start"]) == (0, 2)
    assert training_schedule({**cfg, "steps": 0}, 265)["epochs"] == 0
