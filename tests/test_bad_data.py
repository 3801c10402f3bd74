"""Bad data: one clear message per case naming the file/column and the fix, no traceback.

Usage errors (a wrong option, an unsupported file type) stop ``adb run`` before any run with exit
status 2.  Data errors (missing, empty, corrupt files, bad values, bad labels, too few rows,
checksum mismatches) fail only the runs of that dataset: they are stored as ``error`` rows, the
other datasets of the sweep run, and the exit status is 1.  Nothing already stored is lost.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
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


# numeric edge cases (issue 14 item 6)
def huge_values(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame.loc[3, "x2"] = 1e308
    frame.loc[7, "x2"] = -np.finfo(np.float64).max
    path = tmp_path / "huge.csv"
    frame.to_csv(path, index=False)
    return path


def id_int64(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["hash"] = np.iinfo(np.int64).max - np.arange(len(frame))  # 200 values, one float64
    path = tmp_path / "hash.csv"
    frame.to_csv(path, index=False)
    return path


def id_int64_with_a_blank(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    path = id_int64(tmp_path, blobs)
    lines = path.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ","  # pandas then reads the column as float64
    path.write_text("\n".join(lines) + "\n")
    return path


def id_uint64_npz(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    n = len(blobs[1])
    X = np.column_stack([np.arange(n, dtype=np.uint64) % 7, np.iinfo(np.uint64).max - np.arange(n, dtype=np.uint64)])
    path = tmp_path / "uhash.npz"
    np.savez(path, X=X, y=blobs[1])
    return path


def complex_npz(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "complex.npz"
    np.savez(path, X=blobs[0] + 1j * blobs[0][::-1], y=blobs[1])
    return path


def object_npz(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "objects.npz"
    np.savez(path, X=blobs[0].astype(object), y=blobs[1])  # a pickle inside: never loaded
    return path


# columns are what they say (issue 14 item 8)
def two_label_columns(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    path = tmp_path / "leak.csv"
    frame.to_csv(path, index=False)
    text = path.read_text().splitlines()
    path.write_text("\n".join(f"{line},{line.rsplit(',', 1)[1]}" for line in text) + "\n")
    return path


def two_feature_columns(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs).rename(columns={"x1": "x0"})
    path = tmp_path / "twice.tsv"
    frame.to_csv(path, sep="\t", index=False)
    return path


def duplicate_parquet(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = blobs_frame(blobs)
    arrays = [pa.array(frame[c]) for c in frame.columns] + [pa.array(frame["label"])]
    path = tmp_path / "twice.parquet"
    pq.write_table(pa.Table.from_arrays(arrays, names=[*frame.columns, "label"]), path)
    return path


def list_parquet(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["pair"] = [[float(i), 1.0] for i in range(len(frame))]
    path = tmp_path / "lists.parquet"
    frame.to_parquet(path, index=False)
    return path


def struct_parquet(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["point"] = [{"lat": float(i), "lon": 2.0} for i in range(len(frame))]
    path = tmp_path / "structs.parquet"
    frame.to_parquet(path, index=False)
    return path


def date_parquet(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["when"] = pd.date_range("2020-01-01", periods=len(frame), freq="h")
    path = tmp_path / "dates.parquet"
    frame.to_parquet(path, index=False)
    return path


def one_hot_collision(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["color"] = np.where(np.arange(len(frame)) % 2, "red", "blue")
    frame["color=red"] = np.arange(len(frame)) % 3
    path = tmp_path / "collide.csv"
    frame.to_csv(path, index=False)
    return path


def latin1_csv(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["drink"] = np.where(np.arange(len(frame)) % 2, "café", "thé")
    path = tmp_path / "latin1.csv.gz"
    path.write_bytes(gzip.compress(frame.to_csv(index=False).encode("latin-1")))
    return path


def short_header(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    path = tmp_path / "short.csv"
    body = frame.to_csv(index=False, header=False)
    path.write_text("x1,x2,x3,x4,label\n" + body)  # 5 names over 6 fields a row
    return path


def ragged_rows(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "ragged.csv"
    text = blobs_frame(blobs).to_csv(index=False).splitlines()
    text[5] += ",9"
    path.write_text("\n".join(text) + "\n")
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
    (huge_values, {}, r"dataset '.*huge\.csv': 2 value\(s\) beyond \+-1e150 in column\(s\) 'x2' \(2, largest "
                      r"1\.8e\+308\); scaling them .* overflows float64\. Rescale those columns"),
    (id_int64, {}, r"hash\.csv: column 'hash' holds integers up to 9223372036854775807, beyond the 2\*\*53 that "
                   r"float64 represents exactly: its 200 distinct values would become \d+\. If it is an identifier"),
    (id_int64_with_a_blank, {"impute": "median"}, r"hash\.csv: column 'hash' holds integers up to "
                                                  r"9223372036854775807, .*its 199 distinct values would become"),
    (id_uint64_npz, {}, r"uhash\.npz: column 'x1' holds integers up to 18446744073709551615, beyond the 2\*\*53"),
    (complex_npz, {}, r"complex\.npz: X holds complex numbers \(dtype complex128\); detectors need real features"),
    (object_npz, {}, r"objects\.npz: X or y is an array of Python objects \(stored as a pickle\), which adb never "
                     r"loads"),
    (two_label_columns, {}, r"leak\.csv: column name\(s\) used more than once: 'label' \(2 times\); a second label "
                            r"column 'label' would be read as a feature, leaking the labels"),
    (two_feature_columns, {}, r"twice\.tsv: column name\(s\) used more than once: 'x0' \(2 times\)\. Give every"),
    (duplicate_parquet, {}, r"twice\.parquet: column name\(s\) used more than once: 'label' \(2 times\); a second"),
    (list_parquet, {}, r"lists\.parquet: column\(s\) 'pair' \(list<element: double>\) hold nested values"),
    (struct_parquet, {}, r"structs\.parquet: column\(s\) 'point' \(struct<lat: double, lon: double>\) hold nested"),
    (date_parquet, {}, r"dates\.parquet: column 'when' holds dates or times \(datetime64\[.*\]\), not features"),
    (one_hot_collision, {}, r"collide\.csv: one-hot encoding names a column 'color=red', but that name comes from "
                            r"numeric column 'color=red' and value 'red' of text column 'color'\. Rename one"),
    (latin1_csv, {}, r"latin1\.csv\.gz: the text is not UTF-8 \(byte 0xe9 on line 2\)\. Save the file as UTF-8"),
    (short_header, {}, r"short\.csv: the rows have more fields than the header \(5 names: 'x1', .*'label'\); name "
                       r"every column"),
    (ragged_rows, {}, r"ragged\.csv: cannot parse the file as CSV \(Error tokenizing data\. C error: Expected 6 "
                      r"fields in line 6, saw 7\)\. Check the delimiter"),
]
IDS = ["empty", "header-only", "truncated-gz", "truncated-npz", "garbage-npz", "truncated-mat",
       "npz-without-y", "nan-inf", "id-column", "stray-text", "missing-label-column", "not-binary",
       "no-anomalies", "anomaly-label-absent", "only-anomalies", "all-constant",
       "huge-values", "int64-beyond-float", "int64-with-a-blank", "uint64-npz-beyond-float", "complex-npz", "object-npz",
       "duplicate-label", "duplicate-feature", "duplicate-parquet", "list-parquet", "struct-parquet",
       "date-parquet", "one-hot-collision", "not-utf8", "short-header", "ragged-rows"]


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
        FileDataset(str(path), **options).load().validate()  # what the runner does


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


# -- numeric edge cases (issue 14 item 6) ------------------------------------------------------
@pytest.mark.parametrize("protocol", ["zong2018", "pyod", "adbench"])
def test_values_too_large_to_scale_fail_naming_the_column_under_every_protocol(protocol: str, tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    path = huge_values(tmp_path, blobs)
    results = tmp_path / "r"
    result = adb("run", "-d", "iforest", "-D", str(path), "-p", protocol, "--seeds", "1",
                 "--results", str(results))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "overflow encountered" not in result.output
    error = exported(results)["error"].iloc[0]
    assert re_search(r"huge\.csv': 2 value\(s\) beyond \+-1e150 in column\(s\) 'x2'", error), error
    assert "Input contains" not in error


@pytest.mark.parametrize("value", [1e200, 1e308, np.finfo(np.float64).max], ids=["1e200", "1e308", "max-float"])
def test_a_registered_dataset_with_huge_values_is_named_by_column(value: float) -> None:
    """Under the pyod protocol 1e200 used to overflow the std to inf: a column of silent zeros."""
    from adbench_dagmm.dataset import Dataset

    X = np.random.default_rng(0).normal(size=(40, 3))
    X[:, 1] = np.where(X[:, 1] > 0, value, -value)
    y = np.r_[np.zeros(36), np.ones(4)].astype(int)
    with pytest.raises(DataError, match=r"dataset 'demo': 40 value\(s\) beyond \+-1e150 in column\(s\) 'b' "
                                        r"\(40, largest .*\); scaling them"):
        Dataset(X=X, y=y, name="demo", feature_names=["a", "b", "c"]).validate()


@pytest.mark.parametrize("protocol", ["zong2018", "pyod", "adbench"])
def test_scaling_statistics_that_overflow_are_an_error_not_nan_or_zeros(protocol: str) -> None:
    """The backstop for a dataset that skipped validation: never inf/NaN/zeros into a detector."""
    from adbench_dagmm.dataset import Dataset
    from adbench_dagmm.registry import build_registry

    X = np.random.default_rng(0).normal(size=(60, 3))
    X[::2, 2] = np.finfo(np.float64).max
    X[1::2, 2] = -np.finfo(np.float64).max
    y = (np.arange(60) % 6 == 0).astype(int)
    split = build_registry(load_entrypoints=False).protocol(protocol)().split
    with pytest.raises(DataError, match=r"scaling statistics of the training rows overflow float64 in the "
                                        r"column\(s\) at position\(s\) 2: their values are too large"):
        split(Dataset(X=X, y=y, name="raw"), 0)


def test_large_integers_that_stay_distinct_are_converted_with_a_note(tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    frame = blobs_frame(blobs)
    frame["count"] = 2**60 + 1024 * (np.arange(len(frame)) % 9)  # float64 spacing there is 256
    path = tmp_path / "counts.csv"
    frame.to_csv(path, index=False)
    data = FileDataset(str(path)).load().validate()
    column = data.X[:, data.feature_names.index("count")]
    assert np.unique(column).size == 9 and column.min() == 2.0**60
    assert "column 'count': integers beyond 2**53 (up to 1152921504606855168) rounded to float64; its 9 " \
           "distinct values stay distinct" in data.notes


# -- columns are what they say (issue 14 item 8) -------------------------------------------------
def test_a_duplicated_label_column_fails_its_runs_instead_of_leaking(tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    path = two_label_columns(tmp_path, blobs)
    results = tmp_path / "r"
    result = adb("run", "-d", "iforest", "-D", str(path), "--seeds", "1", "--results", str(results))
    assert result.exit_code == 1, result.output
    frame = exported(results)
    assert list(frame["status"]) == ["error"]
    assert "'label' (2 times); a second label column 'label' would be read as a feature" in frame["error"].iloc[0]


# -- checksums mean what they say (issue 14 item 10) ---------------------------------------------
def edit_in_place_keeping_size_and_mtime(path: Path) -> None:
    before = path.stat()
    data = bytearray(path.read_bytes())
    at = data.rindex(b",0\n")  # the last normal row's label becomes an anomaly: same size
    data[at + 1] = ord("1")
    with open(path, "r+b") as fh:  # the same inode, rewritten
        fh.write(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


def test_the_sha256_memo_sees_an_edit_that_keeps_size_and_mtime(tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    from adbench_dagmm.dataset import file_sha256

    path = tmp_path / "good.csv"
    blobs_frame(blobs).to_csv(path, index=False)
    first = file_sha256(path)
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    edit_in_place_keeping_size_and_mtime(path)
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest() != first


def test_the_stored_sha256_is_the_hash_of_the_bytes_parsed(tmp_path: Path, blobs, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from adb_datasets import files

    path = tmp_path / "good.csv"
    blobs_frame(blobs).to_csv(path, index=False)
    monkeypatch.setattr(files, "file_sha256", lambda p: "0" * 64)  # a stale memo cannot leak in
    assert FileDataset(str(path)).load().sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def rerun_after_an_in_place_edit(tmp_path: Path, blobs) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    path = tmp_path / "good.csv"
    blobs_frame(blobs).to_csv(path, index=False)
    results = tmp_path / "r"
    first = adb("run", "-d", "iforest", "-D", str(path), "--seeds", "1", "--results", str(results))
    assert first.exit_code == 0, first.output
    edit_in_place_keeping_size_and_mtime(path)
    # the same process: each `adb run` plans and loads in a RunContext of its own
    second = adb("run", "-d", "iforest", "-D", str(path), "--seeds", "1", "--results", str(results))
    assert second.exit_code == 0, second.output
    assert "already stored were skipped" not in second.output
    history = adb("export", "--format", "csv", "--results", str(results), "--all")
    assert history.exit_code == 0, history.output
    assert pd.read_csv(io.StringIO(history.stdout))["run_id"].nunique() == 2  # two data versions
    frame = exported(results)  # the newer run supersedes the older one in every table
    assert len(frame) == 1
    return frame.set_index("data_sha256").loc[[hashlib.sha256(path.read_bytes()).hexdigest()]]


def test_a_rerun_after_an_in_place_edit_runs_again_with_the_new_sha256(tmp_path: Path, blobs) -> None:  # type: ignore[no-untyped-def]
    assert len(rerun_after_an_in_place_edit(tmp_path, blobs)) == 1
