"""Supervision (contract 7): labels reach only semi-/supervised detectors, through the runner.

The protocol reveals labels as ``Split.y_known``; the runner passes them to ``fit`` only for a
detector whose ``supervision`` is not ``"unsupervised"``.  Spies (one-file plugins written here)
record what ``fit`` received, and the run's notes carry it back.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from adbench_dagmm.context import RunContext
from adbench_dagmm.detector import SUPERVISIONS
from adbench_dagmm.execute import execute, labels_for
from adbench_dagmm.plan import RunConfig
from adbench_dagmm.protocols import ADBenchProtocol, Split
from adbench_dagmm.registry import build_registry

SPIES = '''
from adbench_dagmm import BaseDetector, hookimpl
import numpy as np


class UnsupervisedSpy(BaseDetector):
    """Records the arguments fit received."""

    name = "unsupervised_spy"

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, *rest, **keywords):
        X = self._validate_data(X, reset=True)
        self.seen_ = f"fit got {len(rest)} extra argument(s), keywords {sorted(keywords)}"
        self.mean_ = X.mean(axis=0)
        return self

    def decision_function(self, X):
        X = self._validate_data(X, reset=False)
        return self.check_scores(np.linalg.norm(X - self.mean_, axis=1))

    def run_artifacts(self, X_test):
        return {"notes": [self.seen_]}


class SemiSpy(UnsupervisedSpy):
    name = "semi_spy"
    supervision = "semi-supervised"
    calls = []  # (rows, labelled anomalies) of every fit, the warm-up's included

    def fit(self, X, y=None):
        super().fit(X)
        SemiSpy.calls.append((len(X), int(np.sum(y))))
        self.seen_ = f"fit got y with {int(np.sum(y))} labelled anomalies of {len(y)} rows"
        return self


@hookimpl
def adb_register_detectors(register):
    register(UnsupervisedSpy)
    register(SemiSpy)
'''


@pytest.fixture
def spies(tmp_path: Path) -> RunContext:
    folder = tmp_path / "spies"
    folder.mkdir()
    (folder / "spies.py").write_text(textwrap.dedent(SPIES))
    return RunContext(plugins_dir=str(folder))


def run(context: RunContext, detector: str, dataset: Path, protocol: str = "adbench", **options):  # type: ignore[no-untyped-def]
    config = RunConfig(detector=detector, params={}, dataset=str(dataset), protocol=protocol, seed=0,
                       protocol_options=options)
    return execute(config, context)[0]


def test_an_unsupervised_detector_never_receives_labels(spies: RunContext, csv_dataset: Path) -> None:
    row = run(spies, "unsupervised_spy", csv_dataset, labeled_anomalies=1.0, upsample=False)
    assert row["status"] == "ok", row["error"]
    assert "fit got 0 extra argument(s), keywords []" in row["notes"]
    assert row["n_labeled"] == 0


def test_a_semi_supervised_detector_receives_the_revealed_labels(spies: RunContext, csv_dataset: Path) -> None:
    row = run(spies, "semi_spy", csv_dataset, labeled_anomalies=0.5, upsample=False)
    assert row["status"] == "ok", row["error"]
    # 20 anomalies in 200 rows: 14 in the stratified 70 % training rows, ceil(0.5 * 14) revealed
    assert "fit got y with 7 labelled anomalies of 140 rows" in row["notes"]
    assert row["n_labeled"] == 7
    # the warm-up fit (imports, first calls) also got labels: 128 rows holding the 7 labelled
    assert spies.registry.detector("semi_spy").calls == [(128, 7), (140, 7)]


@pytest.mark.parametrize(("protocol", "options"), [
    ("adbench", {}), ("adbench", {"labeled_anomalies": 0.0}), ("pyod", {}), ("zong2018", {}),
], ids=["adbench", "adbench-budget-0", "pyod", "zong2018"])
def test_a_label_using_detector_without_labels_fails_its_run(spies: RunContext, csv_dataset: Path,  # type: ignore[no-untyped-def]
                                                             protocol, options) -> None:
    row = run(spies, "semi_spy", csv_dataset, protocol, **options)
    assert row["status"] == "error"
    assert "'semi_spy' is semi-supervised and needs labelled training anomalies" in row["error"]
    assert "--param protocol.labeled_anomalies=0.1" in row["error"]


REGISTRY = build_registry(load_entrypoints=False)
BUILTIN = {name: REGISTRY.detector(name) for name in REGISTRY.names("detector")}


def test_every_detector_declares_a_known_supervision() -> None:
    assert {cls.supervision for cls in BUILTIN.values()} <= set(SUPERVISIONS)
    using = {name: cls.supervision for name, cls in BUILTIN.items() if cls.supervision != "unsupervised"}
    assert using == {"devnet": "semi-supervised", "xgbod": "supervised"}


@pytest.mark.parametrize("name", sorted(n for n, c in BUILTIN.items() if c.supervision == "unsupervised"))
def test_the_runner_gives_no_unsupervised_detector_labels(name: str) -> None:
    """For every registered unsupervised detector, the runner's choice of fit labels is None
    even when the protocol reveals every training anomaly."""
    split = Split(X_train=np.zeros((4, 2)), y_train=np.array([0, 1, 0, 1]), X_test=np.zeros((2, 2)),
                  y_test=np.array([0, 1]), contamination=0.5, train_index=np.arange(4),
                  test_index=np.arange(2), y_known=np.array([0, 1, 0, 1], dtype=np.int8))
    config = RunConfig(detector=name, params={}, dataset="d", protocol="adbench", seed=0,
                       protocol_options={"labeled_anomalies": 1.0})
    assert labels_for(config, BUILTIN[name], split) is None
    assert labels_for(config, BUILTIN["xgbod"], split) is split.y_known  # the control


def test_revealed_labels_are_a_seeded_subset_of_the_training_anomalies() -> None:
    from adbench_dagmm.dataset import Dataset

    rng = np.random.default_rng(4)
    X = rng.normal(size=(2000, 3))
    y = (rng.random(2000) < 0.1).astype(np.int8)
    dataset = Dataset(X=X, y=y, name="toy").validate()
    for fraction in (0.01, 0.05, 0.1, 0.25, 0.5, 1.0):
        protocol = ADBenchProtocol(labeled_anomalies=fraction)
        split = protocol.split(dataset, 3)
        known = split.y_known
        assert known is not None and known.dtype == np.int8 and known.shape == split.y_train.shape
        assert (known <= split.y_train).all()  # only training anomalies are revealed
        n_anomalies = int(split.y_train.sum())
        assert split.n_labeled == math.ceil(round(fraction * n_anomalies, 9))
        np.testing.assert_array_equal(protocol.split(dataset, 3).y_known, known)
        if fraction < 1:
            assert not np.array_equal(protocol.split(dataset, 4).y_known, known)
    assert ADBenchProtocol().split(dataset, 3).y_known is None
    # the budget only reveals labels: the rows and their scaling are the same
    np.testing.assert_array_equal(ADBenchProtocol(labeled_anomalies=0.5).split(dataset, 3).X_train,
                                  ADBenchProtocol().split(dataset, 3).X_train)


def test_xgbod_runs_with_a_label_budget(csv_dataset: Path) -> None:
    pytest.importorskip("xgboost", reason="XGBOD needs xgboost-cpu (the 'supervised'/'test' extra)")
    row = run(RunContext(), "xgbod", csv_dataset, labeled_anomalies=0.5, upsample=False)
    assert row["status"] == "ok", row["error"]
    assert row["n_labeled"] == 7 and row["roc_auc"] > 0.9
