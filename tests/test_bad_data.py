"""Bad data: one clear message per case naming the file/column and the fix, no traceback.

Usage errors (a wrong option, an unsupported file type) stop ``adb run`` before any run with exit
status 2.  Data errors (missing, empty, corrupt files, bad values, bad labels, too few rows,
checksum mismatches) fail only the runs of that dataset: they are stored as ``error`` rows, the
other datasets of the sweep run, and the exit status is 1.  Nothing already stored is lost.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.dataset import DATA_DIR_ENV
from adbench_dagmm.errors import DataError
from adb_datasets.files import FileDataset


def adb(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def blobs_frame(blobs) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    X, y = blobs
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["label"] = y
    return frame


def exported(results: Path) -> pd.DataFrame:
    result = adb("export", "--format", "csv", "--results", str(results), "--all-columns")
    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.stdout))


# -- fixture builders: each writes one bad file into tmp_path and returns (path, message) ---------
def empty_file(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    return path


def header_only(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "header.csv"
    path.write_text("x0,x1,label\n")
    return path


def truncated_gz(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    data = gzip.compress(blobs_frame(blobs).to_csv(index=False).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def truncated_npz(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    full = tmp_path / "full.npz"
    np.savez_compressed(full, X=blobs[0], y=blobs[1])
    path = tmp_path / "cut.npz"
    path.write_bytes(full.read_bytes()[:-200])
    return path


def garbage_npz(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "garbage.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return path


def truncated_mat(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    from scipy.io import savemat

    full = tmp_path / "full.mat"
    savemat(full, {"X": blobs[0], "y": blobs[1].reshape(-1, 1)})
    path = tmp_path / "cut.mat"
    path.write_bytes(full.read_bytes()[:3000])
    return path


def npz_without_y(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "noy.npz"
    np.savez(path, X=blobs[0], labels=blobs[1])
    return path


def nan_and_inf(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame.loc[[1, 2], "x1"] = np.nan
    frame.loc[9, "x3"] = np.inf
    path = tmp_path / "nan.csv"
    frame.to_csv(path, index=False)
    return path


def id_column(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame.insert(0, "user", [f"user-{i:04d}" for i in range(len(frame))])
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    return path


def stray_text(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["x2"] = frame["x2"].astype(object)
    frame.loc[[4, 8, 15], "x2"] = "?"  # UCI's missing-value marker
    path = tmp_path / "stray.csv"
    frame.to_csv(path, index=False)
    return path


def many_labels(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["label"] = np.arange(len(frame)) % 3
    path = tmp_path / "three.csv"
    frame.to_csv(path, index=False)
    return path


def no_anomalies(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["label"] = 0
    path = tmp_path / "normal.csv"
    frame.to_csv(path, index=False)
    return path


def only_anomalies(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["label"] = 1
    path = tmp_path / "allbad.csv"
    frame.to_csv(path, index=False)
    return path


def all_constant(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"a": 1.0, "b": "x", "label": blobs[1]})
    path = tmp_path / "flat.csv"
    frame.to_csv(path, index=False)
    return path


BAD_FILES = [
    (empty_file, {}, r"empty\.csv: the file is empty \(0 bytes\); replace it"),
    (header_only, {}, r"header\.csv: the file holds a header but no rows"),
    (truncated_gz, {}, r"cut\.csv\.gz: cannot read the file \(.*\); it is truncated or corrupt"),
    (truncated_npz, {}, r"cut\.npz: cannot read the file \(.*\); it is truncated or corrupt"),
    (garbage_npz, {}, r"garbage\.npz: cannot read the file \(.*\); it is truncated or corrupt"),
    (truncated_mat, {}, r"cut\.mat: cannot read the file \(.*\); it is truncated or corrupt"),
    (npz_without_y, {}, r"noy\.npz: no y array \(found: X, labels\)"),
    (nan_and_inf, {}, r"nan\.csv: 3 NaN/inf/missing value\(s\) in column\(s\) 'x1' \(2\), 'x3' \(1\)\. "
                      r"Clean the file, or pass --impute drop"),
    (id_column, {}, r"ids\.csv: column 'user' holds text with 200 distinct values in 200 rows.*"
                    r"Drop the column"),
    (stray_text, {}, r"stray\.csv: column 'x2' is numeric except for 3 text value\(s\) \('\?'\)"),
    (blobs_frame, {"label_column": "target"}, r"no label column 'target'; the columns are 'x0', .*'label'\. "
                                              r"Pass --label-column NAME"),
    (many_labels, {}, r"three\.csv: label column 'label' holds 3 distinct values \('0', '1', '2'\), not 0/1.*"
                      r"Pass --anomaly-label VALUE"),
    (no_anomalies, {}, r"normal\.csv: no anomalies: no row of label column 'label' equals 1"),
    (blobs_frame, {"anomaly_label": "attack"}, r"no anomalies: no row of label column 'label' equals 'attack'"),
    (only_anomalies, {}, r"allbad\.csv: every row of label column 'label' equals 1, so every row is an "
                         r"anomaly and there is no normal class"),
    (all_constant, {}, r"flat\.csv: no usable feature column remains \(every feature column is constant\)"),
]
IDS = ["empty", "header-only", "truncated-gz", "truncated-npz", "garbage-npz", "truncated-mat",
       "npz-without-y", "nan-inf", "id-column", "stray-text", "missing-label-column", "not-binary",
       "no-anomalies", "anomaly-label-absent", "only-anomalies", "all-constant"]


def build(builder, tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    if builder is blobs_frame:  # a good file; the option makes it bad
        path = tmp_path / "good.csv"
        blobs_frame(blobs).to_csv(path, index=False)
        return path
    return builder(tmp_path, blobs)


@pytest.mark.parametrize(("builder", "options", "message"), BAD_FILES, ids=IDS)
def test_bad_file_is_one_clear_data_error(builder, options, message, tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    path = build(builder, tmp_path, blobs)
    with pytest.raises(DataError, match=message):
        FileDataset(str(path), **options).load()


@pytest.mark.parametrize(("builder", "options", "message"), [BAD_FILES[i] for i in (0, 2, 7, 11)],
                         ids=[IDS[i] for i in (0, 2, 7, 11)])
def test_bad_file_fails_its_runs_through_the_cli(builder, options, message, tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    path = build(builder, tmp_path, blobs)
    results = tmp_path / "r"
    result = adb("run", "-d", "iforest", "-D", str(path), "--seeds", "2", "--results", str(results))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "2 of 2 run(s) failed" in result.output
    frame = exported(results)
    assert list(frame["status"]) == ["error", "error"]
    assert all(re_search(message, text) for text in frame["error"])


def re_search(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


def test_missing_file_fails_its_runs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found\. Check the path given to --dataset"):
        FileDataset(str(tmp_path / "nope.csv")).load()
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(DataError, match=r"folder\.csv: is a folder, not a file"):
        FileDataset(str(folder)).sha256()


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("data.xlsx", [], r"data\.xlsx: not a registered dataset \(`adb list datasets`\), and '\.xlsx' is not a "
                         r"supported file type"),
        ("good.csv", ["--impute", "zero"], r"--impute 'zero' is not one of: none, mean, median, drop"),
        ("odds:wbcc", [], r"unknown dataset 'odds:wbcc'\. Did you mean: odds:wbc"),
        ("suite:nope", [], r"unknown dataset suite 'suite:nope'; known: .*suite:dagmm-paper"),
    ],
    ids=["suffix", "impute", "typo", "unknown-suite"],
)
def test_usage_errors_stop_before_any_run(spec, options, message, tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    blobs_frame(blobs).to_csv(tmp_path / "good.csv", index=False)
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    target = str(tmp_path / spec) if "." in spec else spec
    results = tmp_path / "r"
    result = adb("run", "-d", "iforest", "-D", target, *options, "--results", str(results))
    assert result.exit_code == 2, result.output
    assert re_search(message, result.output) and "Traceback" not in result.output
    assert not (results / "adb.sqlite").exists() or exported(results).empty


def test_too_few_rows_for_the_protocol(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12.0) % 5, "label": [0] * 10 + [1] * 2})
    path = tmp_path / "tiny.csv"
    frame.to_csv(path, index=False)
    results = tmp_path / "r"
    result = adb("run", "-d", "iforest", "-D", str(path), "--seeds", "1", "--results", str(results))
    assert result.exit_code == 1, result.output
    error = exported(results)["error"].iloc[0]
    assert re_search(r"tiny\.csv'?: protocol 'zong2018' leaves only \d+ training rows \(needs at least 10\)", error)


def test_checksum_mismatch_of_a_registered_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "odds").mkdir()
    (tmp_path / "odds" / "wbc.mat").write_bytes(b"MATLAB 5.0 MAT-file, but not the ODDS one" * 50)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    results = tmp_path / "r"
    result = adb("run", "-d", "iforest", "-D", "odds:wbc", "--seeds", "2", "--results", str(results))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = exported(results)["error"]
    assert len(errors) == 2 and all(
        re_search(r"odds/wbc\.mat: sha256 mismatch \(expected afe6b269.*\); the file is truncated, corrupt "
                  r"or a different version\. Replace it\..*pyod/raw/master/notebooks/data/wbc\.mat", e)
        for e in errors)
    listing = adb("list", "datasets")
    assert re_search(r"odds:wbc\t.*\tcorrupt \(sha256 mismatch\): .*wbc\.mat", listing.output)


def test_a_bad_file_fails_only_its_own_runs_and_keeps_the_store(tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.csv"
    blobs_frame(blobs).to_csv(good, index=False)
    bad = nan_and_inf(tmp_path, blobs)
    results = tmp_path / "r"
    first = adb("run", "-d", "iforest", "-D", str(good), "--seeds", "1", "--results", str(results))
    assert first.exit_code == 0, first.output
    stored = exported(results)
    assert list(stored["status"]) == ["ok"]

    sweep = adb("run", "-d", "iforest", "-D", str(good), "-D", str(bad), "-D", str(tmp_path / "gone.csv"),
                "--seeds", "2", "--results", str(results))
    assert sweep.exit_code == 1, sweep.output
    assert "Traceback" not in sweep.output
    assert "1 run(s) already stored were skipped" in sweep.output
    assert "'x1' (2), 'x3' (1)" in sweep.output  # the failure is reported as it happens
    frame = exported(results)
    by_file = {name: group for name, group in frame.groupby(frame["dataset"].map(lambda d: Path(d).name))}
    assert list(by_file["good.csv"]["status"]) == ["ok", "ok"]
    assert list(by_file["nan.csv"]["status"]) == ["error", "error"]
    assert list(by_file["gone.csv"]["status"]) == ["error", "error"]
    assert all("file not found" in e for e in by_file["gone.csv"]["error"])
    # the run stored before the failing sweep is still there, unchanged
    before = stored.iloc[0]
    after = frame[frame["run_id"] == before["run_id"]].iloc[0]
    assert after["status"] == "ok" and after["created_at"] == before["created_at"]
    assert after["roc_auc"] == before["roc_auc"]


def test_nan_in_a_registered_dataset_is_named_by_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract check the runner applies to every plugin's load() (registered datasets too)."""
    from adbench_dagmm.dataset import Dataset

    X = np.zeros((20, 3))
    X[4, 2] = np.nan
    with pytest.raises(DataError, match=r"dataset 'demo': 1 NaN/inf values in column\(s\) 'c' \(1\)"):
        Dataset(X=X, y=np.r_[np.zeros(18), np.ones(2)].astype(int), name="demo",
                feature_names=["a", "b", "c"]).validate()


def test_notes_of_a_file_reach_the_stored_run(tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["flat"] = 3.0
    path = tmp_path / "flat_col.csv"
    frame.to_csv(path, index=False)
    results = tmp_path / "r"
    result = adb("run", "-d", "iforest", "-D", str(path), "--seeds", "1", "--results", str(results))
    assert result.exit_code == 0, result.output
    notes = json.loads(exported(results)["notes"].iloc[0])
    assert notes == ["dropped 1 constant column(s): flat"]
