"""User files as datasets: every format, the label options, one-hot encoding and --impute."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.results import Store
from adbench_dagmm.execute import execute
from adbench_dagmm.plan import RunConfig
from adbench_dagmm.registry import build_registry
from adb_datasets.files import FileDataset
from adbench_dagmm.errors import DataError


def table(blobs, **extra) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The blobs as a frame x0..x4 plus ``label`` (1 = outlier) and any extra columns."""
    X, y = blobs
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["label"] = y
    for name, values in extra.items():
        frame[name] = values
    return frame


def write(frame: pd.DataFrame, path: Path) -> Path:
    name = path.name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif name.endswith((".tsv", ".tsv.gz")):
        frame.to_csv(path, sep="\t", index=False)
    else:
        frame.to_csv(path, index=False)  # .csv and .csv.gz (compression from the suffix)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv", ".parquet"], ids=["csv", "csv.gz", "tsv", "parquet"])
def test_tables_load_the_same(blobs, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    X, y = blobs
    dataset = FileDataset(str(write(table(blobs), tmp_path / f"data{suffix}"))).load().validate()
    np.testing.assert_allclose(dataset.X, X)
    np.testing.assert_array_equal(dataset.y, y)
    assert dataset.feature_names == [f"x{i}" for i in range(5)] and dataset.notes == []
    assert dataset.sha256 and dataset.name.endswith(f"data{suffix}")


def test_npz_and_mat(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from scipy.io import savemat

    X, y = blobs
    np.savez(tmp_path / "d.npz", X=X, y=y)
    savemat(tmp_path / "d.mat", {"X": X, "y": y.reshape(-1, 1).astype(np.uint8)})  # ODDS layout
    for name in ("d.npz", "d.mat"):
        dataset = FileDataset(str(tmp_path / name)).load().validate()
        np.testing.assert_allclose(dataset.X, X)
        np.testing.assert_array_equal(dataset.y, y)


def test_a_parse_is_cached_under_the_file_hash_and_the_options(blobs, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    parses: list[str] = []
    parse = FileDataset._parse
    monkeypatch.setattr(FileDataset, "_parse", lambda self: parses.append(self.path) or parse(self))
    frame = table(blobs)
    frame.loc[3, "x1"] = np.nan
    path = write(frame, tmp_path / "d.csv")
    parsed = FileDataset(str(path), impute="mean").load()
    # the first load parses, and hands back the stored copy: the parse's own arrays are freed
    assert len(parses) == 1 and isinstance(parsed.X, np.memmap)
    cached = FileDataset(str(path), impute="mean").load()  # as another worker would
    assert len(parses) == 1 and isinstance(cached.X, np.memmap)
    np.testing.assert_array_equal(cached.X, parsed.X)
    np.testing.assert_array_equal(cached.y, parsed.y)
    assert (cached.notes, cached.sha256, cached.feature_names) == (parsed.notes, parsed.sha256, parsed.feature_names)
    assert cached.notes and cached.card is not None
    # the same bytes under another name keep that name; other options or bytes parse afresh
    copy = tmp_path / "copy.csv"
    copy.write_bytes(path.read_bytes())
    assert FileDataset(str(copy), impute="mean").load().name == str(copy)
    assert len(parses) == 1
    FileDataset(str(path), impute="median").load()
    assert len(parses) == 2
    write(frame.fillna(0.0), path)
    changed = FileDataset(str(path), impute="mean").load()
    assert len(parses) == 3 and changed.X[3, 1] == 0.0 and not changed.notes


def test_a_parse_of_other_bytes_than_the_hash_names_is_not_cached(blobs, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = write(table(blobs), tmp_path / "d.csv")
    monkeypatch.setattr(FileDataset, "sha256", lambda self: "0" * 64)  # a stale hash memo, or an edit
    for _ in range(2):
        dataset = FileDataset(str(path)).load()
        assert not isinstance(dataset.X, np.memmap)
        assert dataset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_loaders_that_miss_the_cache_together_parse_once(blobs) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    from adbench_dagmm.dataset import Dataset, cached_parse

    calls = []

    def slow_parse() -> Dataset:
        calls.append(1)
        time.sleep(0.3)  # long enough for the other loader to arrive meanwhile
        return Dataset(X=blobs[0], y=blobs[1], name="slow", sha256="s")

    got: list[Dataset] = []
    loaders = [threading.Thread(target=lambda: got.append(cached_parse("slow-file", slow_parse)))
               for _ in range(2)]  # each opens the lock file itself, as two workers would
    for loader in loaders:
        loader.start()
    for loader in loaders:
        loader.join()
    assert len(calls) == 1 and all(isinstance(d.X, np.memmap) for d in got)
    np.testing.assert_array_equal(got[0].X, got[1].X)


def test_the_same_bytes_under_another_suffix_are_parsed_as_that_format(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tsv = write(table(blobs), tmp_path / "d.tsv")
    assert FileDataset(str(tsv)).load().X.shape == (200, 5)
    as_csv = tmp_path / "d.csv"
    as_csv.write_bytes(tsv.read_bytes())  # one tab-separated column to a CSV reader
    with pytest.raises(DataError, match="only the label column"):  # not the cached .tsv parse
        FileDataset(str(as_csv)).load()


def test_a_cache_that_cannot_lock_still_loads(blobs, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import errno
    import sys

    import fcntl

    path = write(table(blobs), tmp_path / "d.csv")

    def no_locks(handle, operation):  # a file system without locks (ENOSYS, ENOLCK)
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert FileDataset(str(path)).load().X.shape == (200, 5)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # no fcntl at all (Windows)
    assert isinstance(FileDataset(str(path)).load().X, np.memmap)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty") as error:
        FileDataset(str(empty)).load()
    assert error.value.__context__ is None  # no "during handling of ImportError" in the traceback


def test_label_column_default_option_and_last_column(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = table(blobs).rename(columns={"label": "is_outlier"})
    frame["x_after"] = np.arange(len(frame), dtype=float)  # the label is not last
    path = write(frame, tmp_path / "d.csv")
    dataset = FileDataset(str(path), label_column="is_outlier").load()
    assert int(dataset.y.sum()) == 20 and "is_outlier" not in dataset.feature_names
    last = write(table(blobs).rename(columns={"label": "class"}), tmp_path / "last.csv")
    dataset = FileDataset(str(last)).load()
    assert int(dataset.y.sum()) == 20
    assert dataset.notes == ["labels taken from the last column 'class' (no 'label' column)"]


@pytest.mark.parametrize(
    ("labels", "anomaly_label"),
    [
        (lambda y: np.where(y == 1, "attack", "normal"), "attack"),
        (lambda y: np.where(y == 1, -1, 1), "-1"),  # sklearn's convention
        (lambda y: y.astype(float), "1"),  # 1.0 matches --anomaly-label 1
        (lambda y: np.where(y == 1, 7, np.where(np.arange(len(y)) % 2, 3, 5)), "7"),  # one vs rest
        (lambda y: y.astype(bool), None),
    ],
    ids=["text", "minus-one", "float", "multiclass-one-vs-rest", "bool"],
)
def test_anomaly_label(blobs, tmp_path: Path, labels, anomaly_label) -> None:  # type: ignore[no-untyped-def]
    X, y = blobs
    frame = table(blobs)
    frame["label"] = labels(y)
    path = tmp_path / ("d.parquet" if anomaly_label is None else "d.csv")
    dataset = FileDataset(str(write(frame, path)), anomaly_label=anomaly_label).load()
    np.testing.assert_array_equal(dataset.y, y)


def test_text_categories_are_one_hot_and_left_unscaled(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    n = len(blobs[1])
    proto = np.array(["tcp", "udp", "icmp"])[np.arange(n) % 3]
    numbers_as_text = [f"{v:.1f}" for v in np.arange(n) % 7]
    frame = table(blobs, proto=proto, level=numbers_as_text)
    path = write(frame, tmp_path / "d.parquet")  # parquet keeps "3.0" as text
    assert not pd.api.types.is_numeric_dtype(pd.read_parquet(path)["level"])
    dataset = FileDataset(str(path)).load().validate()
    assert dataset.feature_names == ["x0", "x1", "x2", "x3", "x4", "level",
                                     "proto=icmp", "proto=tcp", "proto=udp"]
    np.testing.assert_array_equal(dataset.categorical, [False] * 6 + [True] * 3)
    np.testing.assert_array_equal(dataset.X[:, 6:].sum(axis=1), 1.0)
    assert dataset.X[3, 5] == 3.0
    assert any("one-hot encoded 1 text column(s): proto" in note for note in dataset.notes)
    split = build_registry(load_entrypoints=False).protocol("zong2018")().split(dataset, seed=0)
    assert set(np.unique(split.X_test[:, 6:])) <= {0.0, 1.0}  # one-hot columns are not min-max scaled


def test_parquet_categories_nullable_integers_and_a_bom_csv_load(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Column types pandas gives besides float/int/object: each is read as what it says."""
    n = len(blobs[1])
    frame = table(blobs, proto=pd.Categorical(np.array(["tcp", "udp"])[np.arange(n) % 2]),
                  count=pd.array(np.arange(n) % 5, dtype="Int64"),
                  flag=pd.array(np.arange(n) % 2 == 0, dtype="boolean"))
    dataset = FileDataset(str(write(frame, tmp_path / "d.parquet"))).load().validate()
    assert dataset.feature_names == [f"x{i}" for i in range(5)] + ["count", "flag", "proto=tcp", "proto=udp"]
    np.testing.assert_array_equal(dataset.X[:6, 5], [0, 1, 2, 3, 4, 0])
    np.testing.assert_array_equal(dataset.X[:2, 6], [1, 0])
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + table(blobs).to_csv(index=False).encode())  # Excel's "CSV UTF-8"
    assert FileDataset(str(path)).load().feature_names == [f"x{i}" for i in range(5)]


def test_integer_arrays_load_exactly(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    X = (np.abs(blobs[0]) * 1000).astype(np.int64)
    np.savez(tmp_path / "ints.npz", X=X, y=blobs[1].astype(bool))
    dataset = FileDataset(str(tmp_path / "ints.npz")).load().validate()
    np.testing.assert_array_equal(dataset.X, X.astype(np.float64))
    assert dataset.X.dtype == np.float64 and dataset.notes == []


def test_a_saved_pandas_index_is_not_a_feature(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "d.csv"
    table(blobs).to_csv(path)  # index=True: an unnamed first column 0..n-1
    dataset = FileDataset(str(path)).load()
    assert dataset.feature_names == [f"x{i}" for i in range(5)]
    assert dataset.notes == ["dropped column 'Unnamed: 0': a saved row index (0, 1, 2, ...)"]


def test_constant_columns_are_dropped_with_a_note(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(table(blobs, zeros=0.0, same="a"), tmp_path / "d.csv")
    dataset = FileDataset(str(path)).load().validate()
    assert dataset.feature_names == [f"x{i}" for i in range(5)]
    assert "dropped 2 constant column(s): zeros, same=a" in dataset.notes


@pytest.mark.parametrize(
    ("impute", "rows", "value", "note"),
    [
        ("drop", 198, None, "--impute drop: dropped 2 of 200 rows with NaN/inf/missing values in 'x1' (2)"),
        ("mean", 200, "mean", "--impute mean: filled 2 NaN/inf/missing value(s) in 'x1' (2) with the column mean"),
        ("median", 200, "median", "--impute median: filled 2"),
    ],
    ids=["drop", "mean", "median"],
)
def test_impute(blobs, tmp_path: Path, impute: str, rows: int, value, note: str) -> None:  # type: ignore[no-untyped-def]
    frame = table(blobs)
    frame.loc[[3, 50], "x1"] = [np.nan, np.inf]
    dataset = FileDataset(str(write(frame, tmp_path / "d.csv")), impute=impute).load().validate()
    assert dataset.n_samples == rows
    assert any(n.startswith(note) for n in dataset.notes), dataset.notes
    if value is not None:
        clean = frame["x1"].drop(index=[3, 50])
        expected = clean.mean() if value == "mean" else clean.median()
        assert dataset.X[3, 1] == pytest.approx(expected) and dataset.X[50, 1] == pytest.approx(expected)


def test_impute_fills_a_text_column_with_its_most_frequent_value(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    n = len(blobs[1])
    proto = np.where(np.arange(n) % 4 == 0, "udp", "tcp").astype(object)
    proto[7] = None
    dataset = FileDataset(str(write(table(blobs, proto=proto), tmp_path / "d.csv")), impute="median").load()
    assert dataset.X[7, dataset.feature_names.index("proto=tcp")] == 1.0


def test_cli_options_reach_the_file_dataset(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = table(blobs).rename(columns={"label": "kind"})
    frame["kind"] = np.where(blobs[1] == 1, "bad", "good")
    frame["other"] = 1.0  # constant: dropped, noted on every run
    frame.loc[5, "x2"] = np.nan
    path = write(frame, tmp_path / "d.csv")
    results = tmp_path / "r"
    result = CliRunner().invoke(app, [
        "run", "-d", "iforest", "-D", str(path), "--seeds", "2", "--label-column", "kind",
        "--anomaly-label", "bad", "--impute", "drop", "--results", str(results)])
    assert result.exit_code == 0, result.output
    assert "dropped 1 constant column(s): other" in result.output  # a table footnote
    rows = Store(results).rows()
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert all(r["n_features"] == 5 and r["roc_auc"] > 0.9 for r in rows)
    assert all("dropped 1 constant column(s): other" in r["notes"] for r in rows)


def test_file_resolver_passes_options_to_files(csv_dataset: Path) -> None:
    registry = build_registry(load_entrypoints=False)
    plugin = registry.make_dataset(str(csv_dataset), {"label_column": "label", "impute": "mean"})
    assert isinstance(plugin, FileDataset) and plugin.impute == "mean"
    row, _ = execute(RunConfig(detector="iforest", params={}, dataset=str(csv_dataset), protocol="zong2018", seed=0))
    assert row["status"] == "ok", row["error"]


def test_one_sweep_mixes_a_table_and_arrays(blobs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--label-column names the table's label column; .npz/.mat files always use y."""
    frame = table(blobs).rename(columns={"label": "kind"})
    frame["x_last"] = 0.5 * frame["x0"]
    csv = write(frame, tmp_path / "d.csv")
    np.savez(tmp_path / "d.npz", X=blobs[0], y=blobs[1])
    results = tmp_path / "r"
    result = CliRunner().invoke(app, ["run", "-d", "iforest", "-D", str(csv), "-D", str(tmp_path / "d.npz"),
                                      "--seeds", "1", "--label-column", "kind", "--results", str(results)])
    assert result.exit_code == 0, result.output
    assert [r["n_features"] for r in Store(results).rows()] == [6, 5]
