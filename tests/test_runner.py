"""The sweep end to end: runs stored with status, skipped when stored, failures recorded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.results import EXPORT_COLUMNS, Store
from adbench_dagmm.execute import execute
from adbench_dagmm.plan import RunConfig

PLUGINS = str(Path(__file__).parent / "plugins")


def adb(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--plugins-dir", PLUGINS, *args])


def test_run_store_skip_force_export(csv_dataset: Path, tmp_path: Path) -> None:
    results = tmp_path / "res"
    args = ["run", "-d", "iforest", "-d", "mean_distance", "-D", str(csv_dataset), "--seeds", "3",
            "--results", str(results), "--param", "iforest.n_estimators=50"]
    first = adb(*args)
    assert first.exit_code == 0, first.output
    assert "iforest" in first.output and "mean_distance" in first.output and "3/3" in first.output
    with Store(results) as store:
        rows = store.rows()
    assert len(rows) == 6 and {r["status"] for r in rows} == {"ok"}
    row = next(r for r in rows if r["detector"] == "iforest" and r["seed"] == 1)
    assert row["params"]["n_estimators"] == 50 and row["params"]["random_state"] == 1
    # every parameter the detector ran with, its defaults included (params: the run id's)
    assert "max_samples" not in row["params"]
    assert row["effective_params"]["n_estimators"] == 50
    assert row["effective_params"]["max_samples"] == "auto"
    assert row["effective_params"]["random_state"] == 1
    assert row["protocol"] == "zong2018" and row["protocol_version"] == "1"
    assert len(row["data_sha256"]) == 64 and row["versions"]["numpy"]
    assert row["host"] and row["created_at"] and row["peak_rss_mb"] >= 0  # the run's own increase
    assert row["fit_seconds"] > 0 and row["score_seconds"] > 0 and 0.9 < row["roc_auc"] <= 1.0

    again = adb(*args)
    assert again.exit_code == 0, again.output
    assert "6 run(s) already stored were skipped" in again.output
    with Store(results) as store:
        assert [r["created_at"] for r in store.rows()] == [r["created_at"] for r in rows]

    forced = adb(*args, "--force")
    assert forced.exit_code == 0 and "skipped" not in forced.output

    export = adb("export", "--format", "csv", "--results", str(results))
    assert export.exit_code == 0, export.output
    frame = pd.read_csv(pd.io.common.StringIO(export.output))
    assert list(frame.columns) == list(EXPORT_COLUMNS) and len(frame) == 6
    assert (frame["status"] == "ok").all()
    js = adb("export", "--format", "json", "--results", str(results), "--detector", "iforest")
    assert len(json.loads(js.output)) == 3
    out = tmp_path / "runs.parquet"
    assert adb("export", "--format", "parquet", "--output", str(out), "--results", str(results)).exit_code == 0
    assert len(pd.read_parquet(out)) == 6


def test_same_seed_same_scores(csv_dataset: Path) -> None:
    config = RunConfig(detector="iforest", params={}, dataset=str(csv_dataset), protocol="pyod", seed=3)
    a, b = execute(config), execute(config)
    assert a[0]["status"] == "ok"
    assert a[0]["run_id"] == b[0]["run_id"]
    assert a[1]["curves"] == b[1]["curves"]
    for metric in ("f1", "roc_auc", "average_precision"):
        assert a[0][metric] == b[0][metric]
    other = execute(RunConfig(detector="iforest", params={}, dataset=str(csv_dataset), protocol="pyod", seed=4))
    assert other[0]["run_id"] != a[0]["run_id"]


def test_failures_are_recorded_and_the_sweep_goes_on(csv_dataset: Path, tmp_path: Path) -> None:
    results = tmp_path / "res"
    result = adb("run", "-d", "crashing", "-d", "nan_scores", "-d", "mean_distance", "-D", str(csv_dataset),
                 "--seeds", "2", "--results", str(results))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    with Store(results) as store:
        rows = {(r["detector"], r["seed"]): r for r in store.rows()}
    assert len(rows) == 6
    assert rows[("crashing", 0)]["status"] == "ok"
    assert rows[("crashing", 1)]["status"] == "error"
    assert "deliberate crash for seed 1" in rows[("crashing", 1)]["error"]
    for seed in (0, 1):
        assert rows[("nan_scores", seed)]["status"] == "error"
        assert "non-finite scores" in rows[("nan_scores", seed)]["error"]
        assert rows[("nan_scores", seed)]["f1"] is None  # a NaN is never stored as a metric
        assert rows[("mean_distance", seed)]["status"] == "ok"
    # the table is still printed, failed runs are counted
    assert "1/2" in result.output and "0/2" in result.output
    # failed runs are not cached: a rerun retries exactly them
    rerun = adb("run", "-d", "crashing", "-d", "nan_scores", "-d", "mean_distance", "-D", str(csv_dataset),
                "--seeds", "2", "--results", str(results))
    assert rerun.exit_code == 1 and "3 run(s) already stored were skipped" in rerun.output


def test_timeout_is_recorded(csv_dataset: Path, tmp_path: Path) -> None:
    results = tmp_path / "res"
    result = adb("run", "-d", "sleepy", "-D", str(csv_dataset), "--seeds", "1", "--timeout", "4",
                 "--param", "sleepy.seconds=60", "--results", str(results))
    assert result.exit_code == 1, result.output
    with Store(results) as store:
        (row,) = store.rows()
    assert row["status"] == "timeout" and "4 s timeout" in row["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-d", "iforets", "-D", "kddcup99"], "Did you mean: iforest?"),
        (["-d", "iforest", "-D", "kdcup99"], "Did you mean: kddcup99"),
        (["-d", "iforest", "-D", "kddcup99", "--protocol", "zong"], "unknown protocol 'zong'"),
        (["-d", "iforest", "-D", "kddcup99", "--seeds", "0"], "--seeds must be from 1 to 100,000, got 0"),
        (["-D", "kddcup99"], "give at least one --detector"),
    ],
    ids=["detector", "dataset", "protocol", "seeds", "no-detector"],
)
def test_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = adb("run", *args, "--results", str(tmp_path / "r"))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_missing_dataset_file_fails_its_runs_only(csv_dataset: Path, tmp_path: Path) -> None:
    results = tmp_path / "res"
    result = adb("run", "-d", "mean_distance", "-D", str(csv_dataset), "-D", str(tmp_path / "nope.csv"),
                 "--seeds", "1", "--results", str(results))
    assert result.exit_code == 1, result.output
    with Store(results) as store:
        status = {Path(r["dataset"]).name: (r["status"], r["error"]) for r in store.rows()}
    assert status["blobs.csv"][0] == "ok"
    assert status["nope.csv"][0] == "error" and "file not found" in status["nope.csv"][1]


def test_store_keeps_finished_runs_and_rejects_a_foreign_file(tmp_path: Path, csv_dataset: Path) -> None:
    results = tmp_path / "res"
    assert adb("run", "-d", "mean_distance", "-D", str(csv_dataset), "--seeds", "1",
               "--results", str(results)).exit_code == 0
    with sqlite3.connect(results / "adb.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "adb.sqlite").write_bytes(b"not a database at all" * 100)
    result = adb("run", "-d", "mean_distance", "-D", str(csv_dataset), "--seeds", "1", "--results", str(bad))
    assert result.exit_code == 1 and "cannot be opened" in result.output
    assert (bad / "adb.sqlite").read_bytes() == b"not a database at all" * 100
    assert adb("export", "--results", str(tmp_path / "none")).exit_code == 2


def test_detector_results_are_reproducible_through_the_cli(csv_dataset: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert adb("run", "-d", "iforest", "-D", str(csv_dataset), "--seeds", "2", "--protocol", "adbench",
                   "--results", str(tmp_path / name)).exit_code == 0
    rows = [Store(tmp_path / n).rows() for n in ("a", "b")]
    for ra, rb in zip(*rows):
        assert ra["run_id"] == rb["run_id"] and ra["roc_auc"] == rb["roc_auc"] and ra["f1"] == rb["f1"]
    assert np.isfinite([r["f1"] for r in rows[0]]).all()


def test_effective_params_are_json_and_absent_on_failed_runs(csv_dataset: Path) -> None:
    from adbench_dagmm.execute import json_values

    assert json_values({"a": 1, "b": [1, 2], "c": object, "d": float("nan")}) == {
        "a": 1, "b": [1, 2], "c": repr(object), "d": "nan"}
    from adbench_dagmm.context import RunContext

    context = RunContext(plugins_dir=Path(__file__).parent / "plugins")
    row, _ = execute(RunConfig("mean_distance", {}, str(csv_dataset), "zong2018", 0), context)
    assert row["status"] == "ok" and row["effective_params"] == {"random_state": 0}
    bad, _ = execute(RunConfig("mean_distance", {}, str(csv_dataset.with_name("gone.csv")), "zong2018", 0),
                     context)
    assert bad["status"] == "error" and "effective_params" not in bad
