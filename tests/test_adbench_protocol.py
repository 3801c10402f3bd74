"""The adbench protocol (v2): ADBench's size rules, synthetic anomaly types and corruptions.

The wiring of the synthetic steps (which rows each function of contract 6 gets, in which order,
and what the split holds afterwards) is tested with a recording stand-in for
``adbench_dagmm.synthetic``, so it is checked whatever that module's generators do; the tests
at the end run the real module (determinism per seed, class counts) and skip loudly only when
it is missing.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from adbench_dagmm.dataset import Dataset
from adbench_dagmm.protocols import ADBenchProtocol


def toy(n: int, seed: int = 1, ratio: float = 0.1) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * np.array([1.0, 5.0, 0.1, 2.0])
    y = (rng.random(n) < ratio).astype(np.int8)
    y[:3], y[3:6] = 1, 0
    return Dataset(X=X, y=y, name="toy").validate()


# -- size rules ----------------------------------------------------------------------------------
def test_a_small_dataset_is_upsampled_to_1000_rows_with_replacement() -> None:
    dataset = toy(300)
    split = ADBenchProtocol().split(dataset, 0)
    assert split.X_train.shape[0] + split.X_test.shape[0] == 1000
    assert split.X_train.shape[0] == 700
    # rows drawn with replacement: the same dataset row sits in train and in test
    assert np.intersect1d(split.train_index, split.test_index).size > 0
    np.testing.assert_array_equal(split.y_test, dataset.y[split.test_index])
    assert split.contamination == pytest.approx(np.r_[split.y_train, split.y_test].mean())
    off = ADBenchProtocol(upsample=False).split(dataset, 0)
    assert off.X_train.shape[0] + off.X_test.shape[0] == 300
    assert np.intersect1d(off.train_index, off.test_index).size == 0
    assert off.contamination == pytest.approx(dataset.anomaly_ratio)


def test_a_large_dataset_is_subsampled_to_10000_rows() -> None:
    dataset = toy(25_000)
    split = ADBenchProtocol().split(dataset, 0)
    rows = np.r_[split.train_index, split.test_index]
    assert rows.size == 10_000 and np.unique(rows).size == 10_000  # without replacement
    assert ADBenchProtocol(subsample=False).split(dataset, 0).X_test.shape[0] == 7_500
    assert ADBenchProtocol().split(toy(1000), 0).X_train.shape[0] == 700  # 1,000 rows: untouched


@pytest.mark.parametrize("n", [300, 25_000], ids=["upsampled", "subsampled"])
def test_size_rules_are_seeded(n: int) -> None:
    dataset = toy(n)
    a, b, c = (ADBenchProtocol().split(dataset, s) for s in (5, 5, 6))
    assert a.X_train.tobytes() == b.X_train.tobytes() and a.X_test.tobytes() == b.X_test.tobytes()
    assert a.X_train.tobytes() != c.X_train.tobytes()


# -- the synthetic steps, with a recording stand-in for contract 6 -------------------------------------
class Recorder:
    """Contract 6's four functions, simple and deterministic, recording each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []  # type: ignore[type-arg]

    def synthesize(self, X_normal, kind, n_normal, n_anomaly, rng, *, alpha=None):  # type: ignore[no-untyped-def]
        self.calls.append(("synthesize", dict(X_normal=X_normal.copy(), kind=kind, n_normal=n_normal,
                                              n_anomaly=n_anomaly, alpha=alpha)))
        d = X_normal.shape[1]
        normals = X_normal[rng.choice(len(X_normal), n_normal, replace=n_normal > len(X_normal))]
        return normals.astype(np.float64), rng.uniform(10, 20, size=(n_anomaly, d))

    def duplicate_anomalies(self, X, y, factor, rng):  # type: ignore[no-untyped-def]
        self.calls.append(("duplicate_anomalies", dict(n=len(y), factor=factor)))
        extra = np.repeat(np.flatnonzero(y == 1), int(factor) - 1)
        rows = np.r_[np.arange(len(y)), extra]
        return X[rows], y[rows]

    def add_irrelevant_features(self, X, ratio, rng):  # type: ignore[no-untyped-def]
        self.calls.append(("add_irrelevant_features", dict(n=len(X), ratio=ratio)))
        k = int(round(ratio / (1 - ratio) * X.shape[1]))
        return np.hstack([X, rng.uniform(size=(len(X), k))])

    def flip_labels(self, y, rate, rng):  # type: ignore[no-untyped-def]
        self.calls.append(("flip_labels", dict(n=len(y), rate=rate)))
        flipped = np.array(y, copy=True)
        rows = rng.choice(len(y), int(round(rate * len(y))), replace=False)
        flipped[rows] = 1 - flipped[rows]
        return flipped


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    fake = Recorder()
    module = types.ModuleType("adbench_dagmm.synthetic")
    for name in ("synthesize", "duplicate_anomalies", "add_irrelevant_features", "flip_labels"):
        setattr(module, name, getattr(fake, name))
    monkeypatch.setitem(sys.modules, "adbench_dagmm.synthetic", module)
    import adbench_dagmm

    monkeypatch.setattr(adbench_dagmm, "synthetic", module, raising=False)
    return fake


def counts(y_train: np.ndarray, y_test: np.ndarray) -> tuple[int, int, int, int]:
    return (int((y_train == 0).sum()), int(y_train.sum()), int((y_test == 0).sum()), int(y_test.sum()))


@pytest.mark.parametrize("kind", ["local", "global", "dependency", "clustered"])
def test_model_anomalies_come_from_the_training_normals_with_the_split_counts(recorder: Recorder, kind: str) -> None:
    dataset = toy(1000)
    real = ADBenchProtocol().split(dataset, 2)
    split = ADBenchProtocol(anomaly_type=kind).split(dataset, 2)
    [(name, call)] = recorder.calls
    assert name == "synthesize" and call["kind"] == kind and call["alpha"] is None
    raw_train_normals = dataset.X[real.train_index[real.y_train == 0]]  # unscaled, training only
    np.testing.assert_array_equal(np.sort(call["X_normal"], axis=0), np.sort(raw_train_normals, axis=0))
    n = counts(real.y_train, real.y_test)
    assert (call["n_normal"], call["n_anomaly"]) == (n[0] + n[2], n[1] + n[3])
    assert counts(split.y_train, split.y_test) == n  # the split's class counts are kept
    assert (split.train_index == -1).all() and (split.test_index == -1).all()  # all rows synthetic
    assert split.X_train.min() == 0 and split.X_train.max() == 1  # scaled after synthesis


def test_anomaly_alpha_reaches_the_generator(recorder: Recorder) -> None:
    dataset = toy(1000)
    ADBenchProtocol(anomaly_type="global", anomaly_alpha=1.1).split(dataset, 2)
    [(_, call)] = recorder.calls
    assert call["kind"] == "global" and call["alpha"] == 1.1


def test_corruptions_in_adbench_order(recorder: Recorder) -> None:
    dataset = toy(1000)
    real = ADBenchProtocol().split(dataset, 2)
    split = ADBenchProtocol(irrelevant_features=0.5, duplicate_anomalies=3).split(dataset, 2)
    assert [name for name, _ in recorder.calls] == [
        "add_irrelevant_features", "duplicate_anomalies", "duplicate_anomalies"]
    assert recorder.calls[0][1]["n"] == 1000  # train and test together: the same columns
    assert split.X_train.shape[1] == split.X_test.shape[1] == 8
    n = counts(real.y_train, real.y_test)
    assert counts(split.y_train, split.y_test) == (n[0], 3 * n[1], n[2], 3 * n[3])  # train, test apart
    # a duplicated row keeps its dataset row, and the labels stay those rows' labels
    np.testing.assert_array_equal(split.y_test, dataset.y[split.test_index])
    rho = (3 * (n[1] + n[3])) / (n[0] + n[2] + 3 * (n[1] + n[3]))
    assert split.contamination == pytest.approx(rho)


def test_label_noise_flips_the_training_labels_before_labels_are_revealed(recorder: Recorder) -> None:
    dataset = toy(1000)
    split = ADBenchProtocol(labeled_anomalies=1.0, label_noise=0.2).split(dataset, 2)
    [(name, call)] = recorder.calls
    assert name == "flip_labels" and call == {"n": 700, "rate": 0.2}
    assert split.y_known is not None
    wrong = int((split.y_known != split.y_train).sum())
    assert wrong == 140  # every flipped label is revealed at budget 1.0; y_train stays true
    assert ADBenchProtocol(labeled_anomalies=1.0).split(dataset, 2).y_known.tolist() == split.y_train.tolist()


@pytest.mark.parametrize("options", [
    {"anomaly_type": "local"}, {"anomaly_type": "global"}, {"duplicate_anomalies": 2.0},
    {"irrelevant_features": 0.25}, {"labeled_anomalies": 0.5, "label_noise": 0.05},
], ids=["local", "global", "duplicates", "irrelevant", "label-noise"])
def test_each_step_draws_from_the_run_seed(recorder: Recorder, options: dict) -> None:  # type: ignore[type-arg]
    """The generators get a Generator seeded from the run seed: the same seed gives the same
    split bytes, another seed other bytes."""
    dataset = toy(1000)
    protocol = ADBenchProtocol(**options)
    a, b, c = protocol.split(dataset, 7), protocol.split(dataset, 7), protocol.split(dataset, 8)
    parts = ("X_train", "X_test", "y_train", "y_test", "y_known")
    assert all(np.array_equal(getattr(a, n), getattr(b, n)) for n in parts)
    assert not all(np.array_equal(getattr(a, n), getattr(c, n)) for n in parts)


# -- the real synthetic module -----------------------------------------------------------------------

STUDIES = [
    {"anomaly_type": "local"}, {"anomaly_type": "global"}, {"anomaly_type": "dependency"},
    {"anomaly_type": "clustered", "anomaly_alpha": 3.0}, {"duplicate_anomalies": 2.0},
    {"irrelevant_features": 0.25}, {"labeled_anomalies": 0.5, "label_noise": 0.05},
]


@pytest.mark.parametrize("options", STUDIES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_studies_are_deterministic_per_seed(options: dict) -> None:  # type: ignore[type-arg]
    dataset = toy(600, ratio=0.15)
    protocol = ADBenchProtocol(**options)
    a, b, c = protocol.split(dataset, 7), protocol.split(dataset, 7), protocol.split(dataset, 8)
    for name in ("X_train", "X_test", "y_train", "y_test"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert a.X_train.tobytes() != c.X_train.tobytes()
    if a.y_known is not None:
        assert a.y_known.tobytes() == b.y_known.tobytes()
    assert np.isfinite(a.X_train).all() and np.isfinite(a.X_test).all()
    assert set(np.unique(a.y_test)) == {0, 1}


@pytest.mark.parametrize("kind", ["local", "global", "dependency", "clustered"])
def test_real_generators_keep_the_class_counts(kind: str) -> None:
    dataset = toy(600, ratio=0.15)
    real = ADBenchProtocol().split(dataset, 3)
    split = ADBenchProtocol(anomaly_type=kind).split(dataset, 3)
    assert counts(split.y_train, split.y_test) == counts(real.y_train, real.y_test)
