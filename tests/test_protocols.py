"""Protocols: reproducible seeded splits, training-row statistics only, the top-ρ threshold."""

from __future__ import annotations

import numpy as np
import pytest

from adbench_dagmm.dataset import Dataset
from adbench_dagmm.errors import DataError
from adbench_dagmm.protocols import ADBenchProtocol, PyODProtocol, Zong2018Protocol, top_fraction


@pytest.fixture
def dataset() -> Dataset:
    rng = np.random.default_rng(1)
    n = 1000
    X = np.column_stack([rng.normal(5, 3, n), rng.uniform(-2, 9, n), rng.integers(0, 2, n)]).astype(np.float64)
    y = (rng.random(n) < 0.2).astype(np.int8)
    return Dataset(X=X, y=y, name="toy", feature_names=["a", "b", "onehot"],
                   categorical=np.array([False, False, True])).validate()


PROTOCOLS = [Zong2018Protocol(), PyODProtocol(), ADBenchProtocol()]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_same_seed_same_split_other_seed_other_split(dataset: Dataset, protocol) -> None:  # type: ignore[no-untyped-def]
    a, b, c = protocol.split(dataset, 7), protocol.split(dataset, 7), protocol.split(dataset, 8)
    np.testing.assert_array_equal(a.train_index, b.train_index)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.train_index, c.train_index)
    assert np.intersect1d(a.train_index, a.test_index).size == 0


def test_zong2018_halves_and_fits_on_normal_rows_only(dataset: Dataset) -> None:
    split = Zong2018Protocol().split(dataset, 0)
    assert split.test_index.size == dataset.n_samples - dataset.n_samples // 2
    assert (split.y_train == 0).all()
    half = np.random.default_rng(0).permutation(dataset.n_samples)[: dataset.n_samples // 2]
    np.testing.assert_array_equal(split.train_index, np.sort(half[dataset.y[half] == 0]))
    assert split.contamination == pytest.approx(dataset.anomaly_ratio)
    # continuous columns min-max scaled on the fitted rows, the one-hot column untouched
    assert split.X_train[:, :2].min(axis=0) == pytest.approx([0, 0])
    assert split.X_train[:, :2].max(axis=0) == pytest.approx([1, 1])
    np.testing.assert_array_equal(split.X_test[:, 2], dataset.X[split.test_index, 2])


@pytest.mark.parametrize("protocol", [Zong2018Protocol(), ADBenchProtocol()], ids=lambda p: p.name)
def test_minmax_scaling_by_row_blocks_equals_whole_columns(dataset: Dataset, protocol,  # type: ignore[no-untyped-def]
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import adbench_dagmm.protocols as protocols

    monkeypatch.setattr(protocols, "SCALE_BLOCK", 7)  # many blocks and a ragged last one
    split = protocol.split(dataset, 2)
    raw_train, raw_test = dataset.X[split.train_index], dataset.X[split.test_index]
    lo, hi = raw_train[:, :2].min(axis=0), raw_train[:, :2].max(axis=0)
    for scaled, raw in ((split.X_train, raw_train), (split.X_test, raw_test)):
        np.testing.assert_array_equal(scaled[:, :2], (raw[:, :2] - lo) / (hi - lo))  # bit for bit
        np.testing.assert_array_equal(scaled[:, 2], raw[:, 2])


def test_pyod_standardizes_with_training_statistics(dataset: Dataset) -> None:
    split = PyODProtocol().split(dataset, 3)
    assert split.train_index.size == 600 and split.test_index.size == 400
    assert split.y_train.sum() > 0  # contaminated training set
    np.testing.assert_allclose(split.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(split.X_train.std(axis=0), 1, atol=1e-12)
    raw = dataset.X[split.train_index]
    expected = (dataset.X[split.test_index] - raw.mean(axis=0)) / raw.std(axis=0)
    np.testing.assert_allclose(split.X_test, expected, rtol=1e-12)


def test_adbench_is_stratified_and_minmax(dataset: Dataset) -> None:
    split = ADBenchProtocol().split(dataset, 5)
    assert split.test_index.size == 300
    assert abs(split.y_test.mean() - dataset.anomaly_ratio) < 0.01
    assert abs(dataset.y[split.train_index].mean() - dataset.anomaly_ratio) < 0.01
    assert split.X_train.min() == 0 and split.X_train.max() == 1


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_nothing_is_fitted_on_test_rows(dataset: Dataset, protocol) -> None:  # type: ignore[no-untyped-def]
    before = protocol.split(dataset, 11)
    changed = Dataset(X=dataset.X.copy(), y=dataset.y, name="toy", feature_names=dataset.feature_names,
                      categorical=dataset.categorical)
    changed.X[before.test_index] *= 1000.0  # wild test rows must not move the training transform
    after = protocol.split(changed, 11)
    np.testing.assert_array_equal(before.X_train, after.X_train)
    untouched = dataset.X.copy()
    protocol.split(dataset, 11)
    np.testing.assert_array_equal(dataset.X, untouched)  # the dataset itself is never modified


def test_constant_training_column_is_not_divided_by_zero() -> None:
    X = np.column_stack([np.ones(100), np.arange(100.0)])
    y = np.r_[np.zeros(80), np.ones(20)].astype(np.int8)
    split = Zong2018Protocol().split(Dataset(X=X, y=y, name="c").validate(), 0)
    assert np.isfinite(split.X_train).all() and np.isfinite(split.X_test).all()


def test_too_few_rows_is_a_clear_error() -> None:
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 1, 0, 1, 0, 1], dtype=np.int8)
    with pytest.raises(DataError, match=r"dataset 'tiny': protocol 'zong2018' leaves only \d+ training rows"):
        Zong2018Protocol().split(Dataset(X=X, y=y, name="tiny").validate(), 0)


def test_top_fraction_flags_the_highest_scores() -> None:
    scores = np.array([0.1, 0.9, 0.3, 0.8, 0.2, 0.7, 0.4, 0.6, 0.5, 0.0])
    np.testing.assert_array_equal(top_fraction(scores, 0.3), (scores >= 0.7).astype(int))
    assert top_fraction(scores, 0.0).sum() == 0
    assert top_fraction(np.ones(10), 0.2).sum() == 10  # ties share one label
    rng = np.random.default_rng(0)
    s = rng.random(10_000)
    assert top_fraction(s, 0.1969).sum() == round(0.1969 * 10_000)
    np.testing.assert_array_equal(top_fraction(s, 0.25), s > np.percentile(s, 75, method="lower"))


def test_split_of_a_memory_mapped_dataset_equals_in_memory_and_releases_pages(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The split gathers rows block by block and drops the mapped pages it has copied: the
    values are those of the in-memory dataset, and the map's pages leave resident memory."""
    psutil = pytest.importorskip("psutil")
    rng = np.random.default_rng(3)
    n, d = 60_000, 128  # 30 MB of float32
    X = rng.random((n, d), dtype=np.float32)
    y = (rng.random(n) < 0.2).astype(np.int8)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="c")
    cat = np.zeros(d, dtype=bool)
    memory = Dataset(X=X, y=y, name="m", categorical=cat)
    onmap = Dataset(X=mapped, y=y, name="m", categorical=cat)
    for seed in (0, 1):
        a, b = Zong2018Protocol().split(memory, seed), Zong2018Protocol().split(onmap, seed)
        np.testing.assert_array_equal(a.X_train, b.X_train)
        np.testing.assert_array_equal(a.X_test, b.X_test)
    np.testing.assert_array_equal(np.asarray(mapped), X)  # never written to

    proc = psutil.Process()
    if not hasattr(proc.memory_full_info(), "shared"):
        pytest.skip("this platform reports no shared (file-backed) resident memory")
    assert float(np.asarray(mapped).sum()) > 0  # touch every page
    touched = proc.memory_info().shared
    onmap.release_pages()
    released = proc.memory_info().shared
    assert touched - released > 20 * 2**20, (touched, released)  # ~30 MB of file pages dropped
    np.testing.assert_array_equal(onmap.take(np.arange(0, n, 7)), X[::7])
    onmap.release_pages(100, 200)  # a row range, not page-aligned: no error, values unchanged
    np.testing.assert_array_equal(np.asarray(mapped), X)


def test_pyod_protocol_scales_exactly_as_pyods_standardizer() -> None:
    """Bit-for-bit: a 1e-13 difference moves values across HBOS's bin edges (issue 16)."""
    from pyod.utils.utility import standardizer

    rng = np.random.default_rng(3)
    X = rng.lognormal(size=(300, 6)) * np.array([1e-3, 1.0, 7.0, 1e4, 0.5, 3.0])
    X[:, 4] = 0.25  # a constant column
    y = (rng.random(300) < 0.1).astype(np.int8)
    y[:2] = 1
    dataset = Dataset(X=X, y=y, name="lognormal").validate()
    split = PyODProtocol().split(dataset, seed=5)
    X_train, X_test = standardizer(X[split.train_index], X[split.test_index])
    np.testing.assert_array_equal(split.X_train, X_train)
    np.testing.assert_array_equal(split.X_test, X_test)
