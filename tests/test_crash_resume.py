"""A real ``adb run --jobs 2`` killed mid-sweep (SIGKILL, Ctrl-C) keeps its finished runs.

The same command afterwards runs only the missing ones, with no duplicates; no worker process
outlives its driver.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

N_RUNS = 12


def adb_command() -> list[str]:
    script = Path(sys.executable).parent / "adb"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from adbench_dagmm.cli import main; main()"]


@pytest.fixture
def sweep(tmp_path: Path, csv_dataset: Path) -> tuple[list[str], Path]:
    plugins = Path(__file__).parent / "plugins"
    results = tmp_path / "res"
    command = [*adb_command(), "--plugins-dir", str(plugins), "run", "-d", "sleepy", "--param", "sleepy.seconds=0.4",
               "-D", str(csv_dataset),
               "--seeds", str(N_RUNS), "--jobs", "2", "--results", str(results)]
    return command, results / "adb.sqlite"


def stored(db: Path) -> dict[str, tuple[str, str]]:
    """run_id -> (status, created_at); asserts the store holds each run id once."""
    if not db.is_file():
        return {}
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("SELECT run_id, status, created_at FROM runs").fetchall()
        except sqlite3.OperationalError:  # the table is not created yet
            return {}
    assert len(rows) == len({r[0] for r in rows}), "a run id is stored twice"
    return {r[0]: (r[1], r[2]) for r in rows}


def start_and_wait(command: list[str], db: Path, at_least: int) -> tuple[subprocess.Popen, list[psutil.Process]]:
    """Start the sweep in its own session; return once ``at_least`` runs are stored."""
    # SIGINT at its default disposition in the child: a shell starts background jobs with SIGINT
    # ignored, Python then keeps it ignored, and Ctrl-C could not be tested from such a job.
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while len(stored(db)) < at_least:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"adb run ended early ({proc.returncode}):\n{out.decode()}\n{err.decode()}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("adb run stored too few runs within 120 s")
        time.sleep(0.1)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert workers, "adb run --jobs 2 started no worker processes"
    return proc, workers


def assert_gone(workers: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(workers, timeout=15)
    for proc in alive:
        proc.kill()
    assert not alive, f"worker processes outlived their driver: {alive}"


def test_kill_9_of_the_driver_then_the_same_command_completes_the_rest(sweep) -> None:  # type: ignore[no-untyped-def]
    command, db = sweep
    proc, workers = start_and_wait(command, db, at_least=3)
    proc.kill()  # SIGKILL of the driver alone, as `kill -9 PID` does
    proc.communicate()
    before = stored(db)
    assert 3 <= len(before) < N_RUNS
    assert {status for status, _ in before.values()} == {"ok"}
    assert_gone(workers)

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(before)} run(s) already stored were skipped" in again.stderr
    after = stored(db)
    assert len(after) == N_RUNS and {status for status, _ in after.values()} == {"ok"}
    assert {k: after[k] for k in before} == before  # finished runs were not run again


def test_ctrl_c_exits_130_keeps_finished_runs_and_leaves_no_workers(sweep) -> None:  # type: ignore[no-untyped-def]
    command, db = sweep
    proc, workers = start_and_wait(command, db, at_least=2)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "interrupted: finished runs are kept in the store" in err.decode()
    assert_gone(workers)
    kept = stored(db)
    assert len(kept) >= 2 and {status for status, _ in kept.values()} == {"ok"}


def test_kill_9_of_a_driver_with_timeout_leaves_no_child_running_a_run(tmp_path: Path, csv_dataset: Path) -> None:
    """--jobs 1 --timeout runs in a killable child process; it must not outlive its driver."""
    plugins = Path(__file__).parent / "plugins"
    results = tmp_path / "res"
    command = [*adb_command(), "--plugins-dir", str(plugins), "run", "-d", "sleepy",
               "--param", "sleepy.seconds=120", "--param", "sleepy.slow_seed=1", "-D", str(csv_dataset),
               "--seeds", "2", "--jobs", "1", "--timeout", "300", "--results", str(results)]
    proc, children = start_and_wait(command, results / "adb.sqlite", at_least=1)
    time.sleep(1.0)  # the second run (120 s) is now under way in the child
    assert any(c.is_running() for c in children)
    proc.kill()
    proc.wait()  # not communicate(): an orphan would hold the pipes open until its run ends
    assert_gone(children)
    proc.communicate()
