"""KDD Cup 99: parsing on a slice, the real file's counts, caching, and clear file errors."""

from __future__ import annotations

import gzip
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.dataset import DATA_DIR_ENV, use_data_dir
from adbench_dagmm.errors import DataError
from adb_datasets.kddcup99 import CARD, COLUMNS, KDDCup99Dataset, encode, read_kdd_csv

SLICE_ROWS = 3000


@pytest.fixture
def kdd_slice(kdd_path: Path, tmp_path: Path) -> Path:
    """The first rows of the real file as a small gzip fixture."""
    out = tmp_path / "slice.gz"
    with gzip.open(kdd_path, "rt") as src, gzip.open(out, "wt") as dst:
        for _, line in zip(range(SLICE_ROWS), src):
            dst.write(line)
    return out


def test_parse_and_encode_a_slice(kdd_slice: Path) -> None:
    frame = read_kdd_csv(kdd_slice)
    assert frame.shape == (SLICE_ROWS, len(COLUMNS))
    dataset = encode(frame).validate()
    assert dataset.X.dtype == np.float32
    assert dataset.y.sum() == (frame["label"] == "normal.").sum()  # inverted: normal. is the anomaly
    n_categories = sum(frame[c].nunique() for c in ("protocol_type", "service", "flag"))
    assert dataset.n_features == 38 + n_categories
    assert dataset.categorical.sum() == n_categories
    onehot = dataset.X[:, dataset.categorical]
    np.testing.assert_array_equal(onehot.sum(axis=1), 3)  # exactly one level of each symbolic column
    assert dataset.feature_names[:2] == ["duration", "src_bytes"]


def test_a_non_numeric_value_names_its_column(kdd_slice: Path, tmp_path: Path) -> None:
    with gzip.open(kdd_slice, "rt") as src:
        lines = src.readlines()
    fields = lines[7].split(",")
    fields[COLUMNS.index("src_bytes")] = "lots"
    lines[7] = ",".join(fields)
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wt") as dst:
        dst.writelines(lines)
    with pytest.raises(DataError, match="'src_bytes' has 1 non-numeric"):
        encode(read_kdd_csv(bad))


@pytest.mark.slow
def test_real_file_counts_and_fast_second_load(kdd_path: Path) -> None:
    with gzip.open(kdd_path, "rt") as src:  # the file itself, not a constant copied from the code
        labels = [line.rsplit(",", 1)[-1].strip() for line in src if line.strip()]
    dataset = KDDCup99Dataset().load().validate()
    assert dataset.X.shape == (len(labels), 118)
    assert int(dataset.y.sum()) == labels.count("normal.")
    assert dataset.anomaly_ratio == pytest.approx(0.1969, abs=1e-4)  # the paper's 20 %
    assert dataset.sha256 == CARD.sha256 and dataset.card is CARD
    assert dataset.continuous.sum() == 38
    start = time.perf_counter()
    again = KDDCup99Dataset().load()
    assert time.perf_counter() - start < 1.0
    np.testing.assert_array_equal(again.y, dataset.y)
    np.testing.assert_array_equal(again.X[::997], dataset.X[::997])


def test_missing_file_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_shipped_data: None) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    with use_data_dir(tmp_path / "flag"), pytest.raises(DataError) as info:
        KDDCup99Dataset().load()
    message = str(info.value)
    assert "kddcup99/kddcup.data_10_percent.gz" in message
    assert str(tmp_path / "flag") in message and "(--data-dir)" in message
    assert str(tmp_path / "env") in message and "$ADB_DATA_DIR" in message
    assert "user cache" in message and CARD.source_url in message


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_file_is_a_checksum_error(kdd_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    target = tmp_path / "kddcup99" / kdd_path.name
    target.parent.mkdir()
    if damage == "truncated":
        target.write_bytes(kdd_path.read_bytes()[: 100_000])
    else:
        shutil.copy(kdd_path, target)
        with open(target, "r+b") as fh:
            fh.seek(5000)
            fh.write(b"\x00" * 64)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataError, match=r"sha256 mismatch .*truncated, corrupt"):
        KDDCup99Dataset().load()


def test_download_failure_is_one_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_shipped_data: None) -> None:
    import pooch

    tried = []

    def offline(url, **kwargs):  # type: ignore[no-untyped-def]
        tried.append(url)
        raise ConnectionError("network unreachable")

    monkeypatch.delenv("ADB_OFFLINE")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(DataError, match=r"not found locally .* every download failed "
                       r"\(http://kdd.ics.uci.edu\S*: network unreachable; "
                       r"https://ndownloader.figshare.com/files/5976042: network unreachable\)"):
        KDDCup99Dataset().load()
    # the canonical address first, then scikit-learn's copy of the same bytes
    assert tried == [CARD.source_url, "https://ndownloader.figshare.com/files/5976042"]


def test_cli_run_on_real_kdd(kdd_path: Path, tmp_path: Path) -> None:
    """The issue's main command, shortened to 2 seeds and a small forest."""
    args = ["run", "--detector", "iforest", "--dataset", "kddcup99", "--seeds", "2",
            "--param", "iforest.n_estimators=25", "--results", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "kddcup99" in result.output and "2/2" in result.output
    from adbench_dagmm.results import Store

    rows = Store(tmp_path).rows()
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert all(r["n_features"] == 118 and r["n_test"] == 247_011 for r in rows)
    assert all(r["roc_auc"] > 0.95 and r["f1"] > 0.85 for r in rows)
    assert "2 run(s) already stored" in CliRunner().invoke(app, args).output
