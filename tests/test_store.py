"""The run store's integrity: history and superseding, migrations, and every bad store state.

Library-level tests drive :class:`Store` directly; CLI tests run ``adb`` through CliRunner and
check the contract for bad states: exit status 1 or 2, one ``error:`` line that names what and
where, no traceback, and the store's finished rows unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest
from typer.testing import CliRunner

from adbench_dagmm import results as results_mod
from adbench_dagmm.cli import app
from adbench_dagmm.results import (
    APPLICATION_ID, COLUMNS, SCHEMA_VERSION, Store, StoreError, current_rows,
)



@pytest.fixture
def plugins() -> Path:
    """The fixture plugins: ``mean_distance`` (steady) and ``flaky`` (fails while FLAKY_FAIL is set)."""
    return Path(__file__).parent / "plugins"


def adb(plugins: Path | None, *args: str):  # type: ignore[no-untyped-def]
    pre = ["--plugins-dir", str(plugins)] if plugins else []
    return CliRunner().invoke(app, [*pre, *args])


def assert_error(result, code: int, *words: str) -> str:  # type: ignore[no-untyped-def]
    """Exit ``code``, exactly one ``error:`` line holding ``words``, no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_args(dataset: Path, results: Path, *extra: str, detector: str = "mean_distance") -> list[str]:
    return ["run", "-d", detector, "-D", str(dataset), "--seeds", "2", "--results", str(results), *extra]


@pytest.fixture
def store_dir(tmp_path: Path, csv_dataset: Path, plugins: Path) -> Path:
    """A results folder holding two finished ok runs."""
    results = tmp_path / "res"
    result = adb(plugins, *run_args(csv_dataset, results))
    assert result.exit_code == 0, result.output
    return results


def finished(results: Path) -> list[dict[str, Any]]:
    """The stored rows, read as plain SQL (independent of the Store's own reading)."""
    conn = sqlite3.connect(f"{(results / 'adb.sqlite').resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY run_id")]
    finally:
        conn.close()


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as user 'nobody' when we are root, so file permissions apply."""
    if os.geteuid() != 0:
        yield
        return
    try:
        os.setegid(65534)
        os.seteuid(65534)
    except PermissionError:
        pytest.skip("PERMISSIONS UNTESTABLE: running as root without CAP_SETUID, read-only "
                    "folders cannot be simulated")
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder 'nobody' can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="adb-store-"))
    folder.chmod(0o755)
    yield folder
    for sub in [folder, *folder.rglob("*")]:
        if sub.is_dir():
            sub.chmod(0o755)
    shutil.rmtree(folder)


# -- rows, history and superseding (library) ------------------------------------------------------
def row(run_id: str, status: str = "ok", **extra: Any) -> dict[str, Any]:
    base = {"run_id": run_id, "detector": "iforest", "params": {"n_estimators": 10, "random_state": 0},
            "dataset": "wbc", "data_sha256": "a" * 64, "protocol": "pyod", "protocol_version": "1",
            "seed": 0, "status": status, "created_at": "2026-01-01T00:00:00+00:00",
            "f1": 0.5 if status == "ok" else None, "error": None if status == "ok" else "boom"}
    return {**base, **extra}


def test_a_failed_attempt_never_replaces_an_ok_row(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        assert store.write(row("r1", f1=0.75), {"curves": [1, 2]}) is True
        assert store.write(row("r1", "timeout")) is False
        assert store.write(row("r1", "error")) is False
        (kept,) = store.rows()
        assert kept["status"] == "ok" and kept["f1"] == 0.75
        assert store.artifact("r1", "curves") == [1, 2]
        assert store.ok_ids(["r1"]) == {"r1"}
        history = store.rows(history=True)
    assert [(h["status"], h["current"]) for h in history] == [("ok", True), ("timeout", False), ("error", False)]
    assert [h["attempt"] for h in history] == [1, 2, 3]


def test_a_newer_result_replaces_a_failure_or_an_older_ok_row(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(row("r1", "error"))
        assert store.write(row("r1", f1=0.5), {"curves": [1]}) is True
        assert store.write(row("r1", f1=0.6), {"curves": [2]}) is True  # --force, ok again
        (current,) = store.rows()
        assert current["f1"] == 0.6 and store.artifact("r1", "curves") == [2]
        assert [h["current"] for h in store.rows(history=True)] == [False, False, True]


SUPERSEDE_CASES = {
    # name: (rows in write order, statuses of the rows that count)
    "data-missing-then-ok": ([row("a", "error", data_sha256=""), row("b")], ["ok"]),
    "ok-then-data-missing": ([row("b"), row("a", "error", data_sha256="")], ["ok"]),
    "timeout-then-ok": ([row("a", "timeout"), row("b", protocol_version="?")], ["ok"]),
    "other-data-keeps-both": ([row("a", "error", data_sha256="b" * 64), row("b")], ["error", "ok"]),
    "other-params-keeps-both": ([row("a", "error", params={"n_estimators": 5}), row("b")], ["error", "ok"]),
    "other-seed-keeps-both": ([row("a", "error", seed=1), row("b")], ["error", "ok"]),
    "later-failure-wins": ([row("a", "error", data_sha256=""), row("b", "timeout")], ["timeout"]),
    "runner-filled-params-ignored": (
        [row("a", "error", params={"n_estimators": 10}),
         row("b", params={"n_estimators": 10, "random_state": 0, "contamination": 0.1, "device": "cpu"})],
        ["ok"]),
}


@pytest.mark.parametrize("rows, expected", list(SUPERSEDE_CASES.values()), ids=list(SUPERSEDE_CASES))
def test_which_failures_are_superseded(rows: list[dict[str, Any]], expected: list[str]) -> None:
    rows = [{**r, "params": json.dumps(r["params"])} for r in rows]
    assert [r["status"] for r in current_rows(rows)] == expected


def test_readers_get_current_rows_and_history_on_request(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(row("a", "error", data_sha256=""))
        store.write(row("b"))
        store.write(row("c", seed=1))
        assert [r["run_id"] for r in store.rows()] == ["b", "c"]
        assert [r["run_id"] for r in store.rows(status="error")] == []
        assert [r["run_id"] for r in store.rows(run_ids=["a", "b"])] == ["a", "b"]  # one sweep's rows
        assert [r["run_id"] for r in store.rows(seed=0, history=True)] == ["a", "b"]
        assert [r["run_id"] for r in store.rows(history=True, status="error")] == ["a"]


# -- schema migration -----------------------------------------------------------------------------
def write_v1_store(folder: Path, rows: list[dict[str, Any]]) -> Path:
    """A store exactly as schema 1 (adbench-dagmm up to this change) wrote it."""
    v1 = {k: v for k, v in COLUMNS.items()
          if k not in ("dataset_options", "protocol_options", "n_labeled")}
    folder.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(folder / "adb.sqlite")
    conn.execute("PRAGMA journal_mode=WAL")
    with conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS runs ({', '.join(f'{chr(34)}{n}{chr(34)} {k}' for n, k in v1.items())})")
        conn.execute("CREATE TABLE IF NOT EXISTS artifacts (run_id TEXT NOT NULL, name TEXT NOT NULL, "
                     "value TEXT NOT NULL, PRIMARY KEY (run_id, name))")
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', '1')")
    for r in rows:
        values = [json.dumps(r[n]) if n in ("params", "notes", "versions") and r.get(n) is not None
                  else r.get(n) for n in v1]
        with conn:
            conn.execute(f"INSERT OR REPLACE INTO runs VALUES ({', '.join('?' for _ in v1)})", values)
            conn.execute("INSERT INTO artifacts VALUES (?, 'curves', '[1]')", (r["run_id"],))
    conn.close()
    return folder / "adb.sqlite"


def test_a_schema_1_store_is_migrated_on_write(tmp_path: Path) -> None:
    v1_rows = [row("a", "error", data_sha256=""), row("b"), row("c", seed=1, f1=0.25)]
    path = write_v1_store(tmp_path, v1_rows)
    with Store(tmp_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert [r["run_id"] for r in store.rows()] == ["b", "c"]
        assert [(h["run_id"], h["attempt"], h["current"]) for h in store.rows(history=True)] == [
            ("a", 1, False), ("b", 2, True), ("c", 3, True)]
        assert store.artifact("c", "curves") == [1]
        assert store.write(row("c", "error", seed=1)) is False  # the history goes on
        assert store.rows(seed=1)[0]["f1"] == 0.25
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
        assert conn.execute("SELECT count(*) FROM attempts").fetchone()[0] == 4


def test_a_schema_1_store_is_read_without_being_migrated(tmp_path: Path, plugins: Path) -> None:
    path = write_v1_store(tmp_path / "res", [row("a", "error", data_sha256=""), row("b")])
    before = digest(path)
    with Store(tmp_path / "res", create=False) as store:
        assert store.schema_version == 1
        assert [r["run_id"] for r in store.rows()] == ["b"]
        assert [(h["run_id"], h["current"]) for h in store.rows(history=True)] == [("a", False), ("b", True)]
    export = adb(plugins, "export", "--results", str(tmp_path / "res"), "--all")
    assert export.exit_code == 0, export.output
    assert len(pd.read_csv(pd.io.common.StringIO(export.stdout))) == 2
    assert digest(path) == before


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(row("a"))
        store.conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    for create in (True, False):
        with pytest.raises(StoreError, match="written by a newer adbench-dagmm .store schema 99"):
            Store(tmp_path, create=create)


# -- the CLI: superseded failures and kept results (issue 13 item 4, issue 14 item 2) -------------
def test_a_failure_then_a_success_agree_everywhere(tmp_path: Path, csv_dataset: Path, plugins: Path) -> None:
    results, late = tmp_path / "res", tmp_path / "late.csv"
    missing = adb(plugins, *run_args(late, results))
    assert missing.exit_code == 1 and "0/2" in missing.output, missing.output
    shutil.copy(csv_dataset, late)
    present = adb(plugins, *run_args(late, results))
    assert present.exit_code == 0 and "2/2" in present.output, present.output

    report = adb(plugins, "report", "--results", str(results), "--no-plots", "-f", "md")
    assert report.exit_code == 0, report.output
    assert "report of 2 run(s) (2 ok, 0 failed)" in report.output
    frame = pd.read_csv(pd.io.common.StringIO(adb(plugins, "export", "--results", str(results)).stdout))
    assert list(frame["status"]) == ["ok", "ok"]
    everything = adb(plugins, "export", "--results", str(results), "--all")
    history = pd.read_csv(pd.io.common.StringIO(everything.stdout))
    assert sorted(zip(history["status"], history["current"])) == [
        ("error", False), ("error", False), ("ok", True), ("ok", True)]
    assert adb(plugins, "export", "--results", str(results), "--status", "error").stdout.strip() == \
        ",".join(frame.columns)


def test_force_rerun_that_fails_keeps_the_good_result(store_dir: Path, csv_dataset: Path, plugins: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ok = adb(plugins, *run_args(csv_dataset, store_dir, detector="flaky"))
    assert ok.exit_code == 0, ok.output
    before = {r["run_id"]: r for r in finished(store_dir)}
    monkeypatch.setenv("FLAKY_FAIL", "1")
    adb(plugins, *run_args(csv_dataset, store_dir, "--force", detector="flaky"))
    after = {r["run_id"]: r for r in finished(store_dir)}
    assert after == before  # every ok row and its metrics unchanged
    frame = pd.read_csv(pd.io.common.StringIO(
        adb(plugins, "export", "--results", str(store_dir), "--all", "-d", "flaky").stdout))
    assert sorted(zip(frame["status"], frame["current"])) == [
        ("error", False), ("error", False), ("ok", True), ("ok", True)]
    assert all(e.startswith("RuntimeError: flaky failure") for e in frame.loc[frame["status"] == "error", "error"])


# -- the CLI: paths and store states (issue 14 items 4 and 5) --------------------------------------
@pytest.mark.parametrize("where", ["is-a-file", "under-a-file"])
@pytest.mark.parametrize("command", ["run", "export", "report"])
def test_results_path_that_is_or_is_under_a_file(tmp_path: Path, csv_dataset: Path, plugins: Path,
                                                 where: str, command: str) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("mine")
    results = blocker if where == "is-a-file" else blocker / "res"
    args = {"run": run_args(csv_dataset, results), "export": ["export", "--results", str(results)],
            "report": ["report", "--results", str(results), "--no-plots"]}[command]
    assert_error(adb(plugins, *args), 2, str(blocker), "is a file, not a folder")
    assert blocker.read_text() == "mine"


def test_read_only_results_folder(open_dir: Path, csv_dataset: Path, plugins: Path) -> None:
    plugins = Path(shutil.copytree(plugins, open_dir / "plugins"))
    csv_dataset = Path(shutil.copy(csv_dataset, open_dir))
    results = open_dir / "res"
    assert adb(plugins, *run_args(csv_dataset, results)).exit_code == 0
    store = results / "adb.sqlite"
    assert sorted(p.name for p in results.iterdir()) == ["adb.sqlite"]  # a clean close: WAL merged
    before = digest(store)
    report_dir = open_dir / "report"
    report_dir.mkdir()
    report_dir.chmod(0o777)
    store.chmod(0o444)
    results.chmod(0o555)
    with unprivileged():
        export = adb(plugins, "export", "--results", str(results))
        report = adb(plugins, "report", "--results", str(results), "--no-plots", "-f", "md",
                     "-o", str(report_dir))
        default_report = adb(plugins, "report", "--results", str(results), "--no-plots")
        run = adb(plugins, *run_args(csv_dataset, results, "--seed-start", "5"))
    assert export.exit_code == 0, export.output
    assert len(pd.read_csv(pd.io.common.StringIO(export.stdout))) == 2
    assert report.exit_code == 0 and (report_dir / "report.md").is_file(), report.output
    assert_error(default_report, 1, "cannot write the report into", str(results / "report"))
    assert_error(run, 1, str(results), "read-only")
    assert digest(store) == before and sorted(p.name for p in results.iterdir()) == ["adb.sqlite"]


def test_locked_store_says_so_and_by_whom(store_dir: Path, csv_dataset: Path, plugins: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results_mod, "BUSY_TIMEOUT", 0.2)
    before = finished(store_dir)
    holder = sqlite3.connect(store_dir / "adb.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        result = adb(plugins, *run_args(csv_dataset, store_dir, "--seed-start", "5"))
        line = assert_error(result, 1, str(store_dir / "adb.sqlite"), "is locked by", "gave up waiting")
        if Path("/proc/locks").is_file():  # Linux says who holds the lock
            assert f"pid {os.getpid()} (this process)" in line
        readable = adb(plugins, "export", "--results", str(store_dir))  # readers are not blocked
        assert readable.exit_code == 0, readable.output
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert finished(store_dir) == before


def test_store_locked_even_for_readers(store_dir: Path, plugins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results_mod, "BUSY_TIMEOUT", 0.2)
    holder = sqlite3.connect(store_dir / "adb.sqlite", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE meta SET value = value")
    try:
        assert_error(adb(plugins, "export", "--results", str(store_dir)), 1, "is locked by")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_disk_full_while_writing_keeps_finished_rows(store_dir: Path, csv_dataset: Path, plugins: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = finished(store_dir)
    connect = Store._connect

    def full_disk(self: Store) -> sqlite3.Connection:  # no page beyond what the store has now
        conn = connect(self)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(Store, "_connect", full_disk)
    result = adb(plugins, *run_args(csv_dataset, store_dir, "--seed-start", "5", "--seeds", "3"))
    assert_error(result, 1, "disk is full", str(store_dir / "adb.sqlite"), "finished run is kept")
    monkeypatch.undo()
    assert finished(store_dir) == before
    assert adb(plugins, "export", "--results", str(store_dir)).exit_code == 0


def corrupt_runs_table(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
    conn.close()
    with open(path, "r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xde\xad" * (page_size // 2))


@pytest.mark.parametrize("command", ["run", "export", "report"])
def test_corrupt_page(store_dir: Path, csv_dataset: Path, plugins: Path, command: str) -> None:
    path = store_dir / "adb.sqlite"
    corrupt_runs_table(path)
    before = digest(path)
    args = {"run": run_args(csv_dataset, store_dir), "export": ["export", "--results", str(store_dir)],
            "report": ["report", "--results", str(store_dir), "--no-plots"]}[command]
    assert_error(adb(plugins, *args), 1, str(path), "is damaged", ".recover")
    assert digest(path) == before


@pytest.mark.parametrize("command", ["run", "export", "report"])
def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path: Path, csv_dataset: Path, plugins: Path,
                                                    command: str) -> None:
    results = tmp_path / "res"
    results.mkdir()
    path = results / "adb.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, distance REAL)")
        conn.execute("INSERT INTO runs VALUES (1, 5.2)")
    conn.close()
    before = digest(path)
    args = {"run": run_args(csv_dataset, results), "export": ["export", "--results", str(results)],
            "report": ["report", "--results", str(results), "--no-plots"]}[command]
    assert_error(adb(plugins, *args), 1, str(path), "is not an adb results store", "left untouched")
    assert digest(path) == before and sorted(p.name for p in results.iterdir()) == ["adb.sqlite"]


def test_a_text_file_is_refused_untouched(tmp_path: Path, csv_dataset: Path, plugins: Path) -> None:
    (tmp_path / "res").mkdir()
    path = tmp_path / "res" / "adb.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    assert_error(adb(plugins, *run_args(csv_dataset, tmp_path / "res")), 1, "not an SQLite database")
    assert_error(adb(plugins, "export", "--results", str(tmp_path / "res")), 1, "not an SQLite database")
    assert path.read_bytes() == b"not a database at all" * 100


def test_an_empty_file_is_not_made_a_store_by_a_read_command(tmp_path: Path, csv_dataset: Path,
                                                            plugins: Path) -> None:
    results = tmp_path / "res"
    results.mkdir()
    path = results / "adb.sqlite"
    path.touch()
    for args in (["export", "--results", str(results)], ["report", "--results", str(results), "--no-plots"]):
        assert_error(adb(plugins, *args), 2, str(path), "is empty")
        assert path.stat().st_size == 0 and sorted(p.name for p in results.iterdir()) == ["adb.sqlite"]
    assert adb(plugins, *run_args(csv_dataset, results)).exit_code == 0  # a write command may start it
    assert len(finished(results)) == 2


def test_read_commands_never_write(store_dir: Path, plugins: Path, tmp_path: Path) -> None:
    path = store_dir / "adb.sqlite"
    before = digest(path)
    for args in (["export", "--results", str(store_dir), "--all"],
                 ["report", "--results", str(store_dir), "--no-plots", "-f", "md", "-o", str(tmp_path / "rep")]):
        result = adb(plugins, *args)
        assert result.exit_code == 0, result.output
        assert digest(path) == before


# -- the CLI: --output paths -------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["folder", "missing-folder", "under-a-file"])
def test_export_output_that_cannot_be_a_file(store_dir: Path, plugins: Path, tmp_path: Path, case: str) -> None:
    (tmp_path / "taken").write_text("x")
    output = {"folder": tmp_path, "missing-folder": tmp_path / "nope" / "runs.csv",
              "under-a-file": tmp_path / "taken" / "runs.csv"}[case]
    assert_error(adb(plugins, "export", "--results", str(store_dir), "-o", str(output)), 2, str(output))


def test_export_output_read_only(store_dir: Path, plugins: Path, open_dir: Path) -> None:
    locked_file = open_dir / "runs.csv"
    locked_file.write_text("old")
    locked_file.chmod(0o444)
    locked_folder = open_dir / "sealed"
    locked_folder.mkdir(mode=0o555)
    copy = open_dir / "res"
    shutil.copytree(store_dir, copy)
    with unprivileged():
        to_file = adb(plugins, "export", "--results", str(copy), "-o", str(locked_file))
        to_folder = adb(plugins, "export", "--results", str(copy), "-o", str(locked_folder / "runs.csv"))
    assert_error(to_file, 1, str(locked_file), "read-only")
    assert_error(to_folder, 1, str(locked_folder), "Permission denied")
    assert locked_file.read_text() == "old" and list(locked_folder.iterdir()) == []


def test_export_output_is_written_whole(store_dir: Path, plugins: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs.json"
    result = adb(plugins, "export", "--results", str(store_dir), "-f", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())) == 2 and sorted(p.name for p in tmp_path.iterdir()) == [
        "blobs.csv", "res", "runs.json"]  # no temporary file left beside it
    mask = os.umask(0)
    os.umask(mask)
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~mask)  # as a plain write would make it


def test_export_disk_full_leaves_the_old_file(store_dir: Path, plugins: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "runs.csv"
    out.write_text("old export")

    def no_space(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", no_space)
    result = adb(plugins, "export", "--results", str(store_dir), "-o", str(out))
    assert_error(result, 1, str(out), "No space left on device", "nothing was written")
    assert out.read_text() == "old export" and not list(tmp_path.glob(".runs.csv.*"))


@pytest.mark.parametrize("case", ["file", "under-a-file"])
def test_report_output_that_cannot_be_a_folder(store_dir: Path, plugins: Path, tmp_path: Path, case: str) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x")
    output = taken if case == "file" else taken / "report"
    assert_error(adb(plugins, "report", "--results", str(store_dir), "--no-plots", "-o", str(output)),
                 2, str(taken), "is a file, not a folder")
    assert taken.read_text() == "x"


def test_report_output_missing_folder_is_created(store_dir: Path, plugins: Path, tmp_path: Path) -> None:
    output = tmp_path / "new" / "deeper"
    result = adb(plugins, "report", "--results", str(store_dir), "--no-plots", "-f", "md", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert (output / "report.md").is_file()


def test_report_output_read_only(store_dir: Path, plugins: Path, open_dir: Path) -> None:
    sealed = open_dir / "sealed"
    sealed.mkdir(mode=0o555)
    copy = open_dir / "res"
    shutil.copytree(store_dir, copy)
    with unprivileged():
        result = adb(plugins, "report", "--results", str(copy), "--no-plots", "-o", str(sealed))
    assert_error(result, 1, "cannot write the report into", str(sealed), "Permission denied")


def test_no_store_is_a_usage_error(tmp_path: Path, plugins: Path) -> None:
    for args in (["export"], ["report", "--no-plots"]):
        assert_error(adb(plugins, *args, "--results", str(tmp_path / "none")), 2, "no results store at")
    assert not (tmp_path / "none").exists()


def test_errors_print_paths_literally(tmp_path: Path, plugins: Path) -> None:
    odd = tmp_path / "[bold]x[red]"
    odd.write_text("a file")
    assert_error(adb(plugins, "export", "--results", str(odd)), 2, f"{odd} is a file")


def test_export_status_is_checked(store_dir: Path, plugins: Path) -> None:
    result = adb(plugins, "export", "--results", str(store_dir), "--status", "bogus")
    assert result.exit_code == 2 and "bogus" in result.output


@pytest.mark.parametrize("changed", [
    {"data_sha256": "b" * 64},  # the data file changed
    {"protocol_version": "2"},  # the protocol changed
    {"versions": {"plugin adb_plugins.pyod_baselines": "0.2.0"}},  # the plugin changed
], ids=["data", "protocol", "plugin"])
def test_a_later_ok_result_of_the_same_configuration_supersedes_the_earlier(tmp_path: Path, changed) -> None:  # type: ignore[no-untyped-def]
    """Each change gives a new run id; a table still counts the configuration once (the latest)."""
    with Store(tmp_path) as store:
        store.write(row("old", f1=0.5))
        store.write(row("new", f1=0.7, **changed))
        store.write(row("other-seed", seed=1, f1=0.6))
        store.write(row("other-options", f1=0.4, dataset_options={"label_column": "y"}))
        current = {r["run_id"]: r["f1"] for r in store.rows()}
        history = {r["run_id"]: r["current"] for r in store.rows(history=True)}
    assert current == {"new": 0.7, "other-seed": 0.6, "other-options": 0.4}
    assert history == {"old": False, "new": True, "other-seed": True, "other-options": True}
