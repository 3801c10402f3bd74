"""Executors: --jobs N worker processes, timeouts, dying workers, devices, and a Dask cluster."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adbench_dagmm import devices
from adbench_dagmm.cli import app
from adbench_dagmm.errors import UsageError
from adbench_dagmm import executors
from adbench_dagmm.context import RunContext
from adbench_dagmm.devices import assign_device, check_device, validate_device
from adbench_dagmm.executors import DaskExecutor, LocalExecutor, threads_per_worker
from adbench_dagmm.results import Store
from adbench_dagmm.plan import RunConfig
from adbench_dagmm.runner import run_sweep

METRICS = ("precision", "recall", "f1", "roc_auc", "average_precision", "precision_at_n")


@pytest.fixture
def plugins() -> str:
    """The fixture plugins: ``probe`` notes where it ran, ``sleepy``, ``crash_exit``, ``crash_kill``."""
    return str(Path(__file__).parent / "plugins")


def adb(plugins: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--plugins-dir", plugins, *args])


def stored(results: Path) -> dict[str, dict]:
    with Store(results) as store:
        return {row["run_id"]: row for row in store.rows()}


def notes(row: dict) -> dict[str, str]:
    return dict(note.split("=", 1) for note in row["notes"] if "=" in note)


# -- pure helpers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("jobs", "cores", "expected"), [(1, 2, 2), (2, 2, 1), (4, 2, 1), (2, 16, 8), (3, 16, 5)],
                         ids=["1of2", "2of2", "4of2", "2of16", "3of16"])
def test_threads_per_worker_keeps_workers_times_threads_within_cores(jobs: int, cores: int, expected: int) -> None:
    assert threads_per_worker(jobs, cores) == expected
    assert jobs * expected <= max(cores, jobs)


@pytest.mark.parametrize(("requested", "worker", "count", "expected"), [
    ("auto", 0, 0, "cpu"), ("auto", 1, 0, "cpu"), ("auto", 0, 1, "cuda:0"), ("auto", 3, 1, "cuda:0"),
    ("auto", 1, 2, "cuda:1"), ("auto", 2, 2, "cuda:0"), ("cuda", 3, 4, "cuda:3"), ("cpu", 1, 2, "cpu"),
    ("cuda:1", 0, 2, "cuda:1"), (None, 1, 2, None),
], ids=["auto-nogpu", "auto-nogpu-w1", "auto-1gpu", "auto-1gpu-w3", "auto-2gpu-w1", "auto-2gpu-w2",
        "cuda-4gpu-w3", "cpu", "explicit-index", "unset"])
def test_assign_device_gives_each_worker_one_gpu(requested, worker: int, count: int, expected) -> None:  # type: ignore[no-untyped-def]
    assert assign_device(requested, worker, count) == expected


def test_device_errors_name_the_option() -> None:
    with pytest.raises(UsageError, match="--device cuda: no CUDA device"):
        assign_device("cuda", 0, 0)
    with pytest.raises(UsageError, match=r"--device cuda:2: only 2 CUDA device\(s\)"):
        validate_device("cuda:2", 2)
    with pytest.raises(UsageError, match="--device 'gpu' is not one of auto, cpu, cuda"):
        check_device("gpu")
    validate_device("cuda:1", 2)
    validate_device("cpu", 0)


def test_jobs_must_be_positive(plugins: str, csv_dataset: Path, tmp_path: Path) -> None:
    result = adb(plugins, "run", "-d", "probe", "-D", str(csv_dataset), "--jobs", "0",
                 "--results", str(tmp_path / "res"))
    assert result.exit_code == 2, result.output
    assert "--jobs must be >= 1, got 0" in result.output


# -- local worker processes -----------------------------------------------------------------------
def test_jobs_2_gives_the_results_of_jobs_1(plugins: str, csv_dataset: Path, tmp_path: Path) -> None:
    args = ["run", "-d", "iforest", "-d", "probe", "-D", str(csv_dataset), "--seeds", "3",
            "--param", "iforest.n_estimators=30"]
    one = adb(plugins, *args, "--results", str(tmp_path / "one"))
    two = adb(plugins, *args, "--jobs", "2", "--results", str(tmp_path / "two"))
    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    serial, parallel = stored(tmp_path / "one"), stored(tmp_path / "two")
    assert len(serial) == 6 and serial.keys() == parallel.keys()
    for run_id, row in serial.items():
        other = parallel[run_id]
        assert row["status"] == other["status"] == "ok"
        assert {m: row[m] for m in METRICS} == {m: other[m] for m in METRICS}
    # the parallel runs happened in other processes, each limited to cores // 2 threads
    probes = [notes(r) for r in parallel.values() if r["detector"] == "probe"]
    assert str(os.getpid()) not in {p["pid"] for p in probes}
    assert {p["omp"] for p in probes} == {str(threads_per_worker(2))}
    assert {p["blas"] for p in probes} <= {"0", str(threads_per_worker(2))}
    assert all(notes(r)["pid"] == str(os.getpid()) for r in serial.values() if r["detector"] == "probe")


def test_timeout_with_jobs_kills_only_that_run(plugins: str, csv_dataset: Path, tmp_path: Path) -> None:
    result = adb(plugins, "run", "-d", "sleepy", "-D", str(csv_dataset), "--seeds", "4", "--jobs", "2",
                 "--param", "sleepy.seconds=120", "--param", "sleepy.slow_seed=1",
                 "--timeout", "5", "--results", str(tmp_path / "res"))
    assert result.exit_code == 1, result.output
    rows = stored(tmp_path / "res")
    by_seed = {r["seed"]: r for r in rows.values()}
    assert by_seed[1]["status"] == "timeout"
    assert "run exceeded the 5 s timeout and was killed" in by_seed[1]["error"]
    assert [by_seed[s]["status"] for s in (0, 2, 3)] == ["ok", "ok", "ok"]
    assert "1 of 4 run(s) failed" in result.output


def test_a_dying_worker_loses_only_its_run(plugins: str, csv_dataset: Path, tmp_path: Path) -> None:
    result = adb(plugins, "run", "-d", "crash_exit", "-d", "crash_kill", "-D", str(csv_dataset),
                 "--seeds", "3", "--jobs", "2", "--results", str(tmp_path / "res"))
    assert result.exit_code == 1, result.output
    rows = stored(tmp_path / "res")
    assert len(rows) == 6
    failed = {r["detector"]: r for r in rows.values() if r["status"] != "ok"}
    assert {(r["seed"], r["status"]) for r in failed.values()} == {(1, "error")}
    assert failed.keys() == {"crash_exit", "crash_kill"}
    assert "worker process died (exit code 1) while running this run (2 attempts)" in failed["crash_exit"]["error"]
    assert "worker process died (killed by signal SIGKILL)" in failed["crash_kill"]["error"]
    assert sum(r["status"] == "ok" for r in rows.values()) == 4
    assert "2 of 6 run(s) failed" in result.output


def test_auto_device_pins_one_gpu_per_worker(plugins: str, csv_dataset: Path, tmp_path: Path) -> None:
    """With a fake count of two GPUs, each worker runs all its runs on its own cuda:i."""
    configs = [RunConfig("probe", {}, str(csv_dataset), "zong2018", seed, device="auto")
               for seed in range(6)]
    pool = LocalExecutor(2, device_count=2)
    with Store(tmp_path / "res") as store:
        run_sweep(configs, store, context=RunContext(plugins_dir=plugins), executor=pool)
        rows = store.rows()
    assert len(rows) == 6 and {r["status"] for r in rows} == {"ok"}
    device_of_pid = {}
    for row in rows:
        seen = notes(row)
        assert seen["device"] == row["params"]["device"]
        device_of_pid.setdefault(seen["pid"], set()).add(seen["device"])
    assert all(len(devices) == 1 for devices in device_of_pid.values())
    served = {str(pid): index for index, pids in pool.pids.items() for pid in pids}
    assert all(devices == {f"cuda:{served[pid]}"} for pid, devices in device_of_pid.items())


def test_device_option_is_not_part_of_the_run_id(plugins: str, csv_dataset: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "cuda_device_count", lambda: 1)
    base = ["run", "-d", "probe", "-D", str(csv_dataset), "--seeds", "2", "--results", str(tmp_path / "res")]
    first = adb(plugins, *base, "--device", "cuda:0")
    assert first.exit_code == 0, first.output
    assert {r["params"]["device"] for r in stored(tmp_path / "res").values()} == {"cuda:0"}
    again = adb(plugins, *base, "--device", "cpu")
    assert again.exit_code == 0 and "2 run(s) already stored were skipped" in again.output
    # a device set with --param is the user's: it is kept and it is part of the run id
    mine = adb(plugins, *base, "--device", "cuda:0", "--param", "probe.device=cpu")
    assert mine.exit_code == 0 and "skipped" not in mine.output
    with Store(tmp_path / "res") as store:
        history = store.rows(history=True)
    assert sorted(r["params"]["device"] for r in history) == ["cpu", "cpu", "cuda:0", "cuda:0"]
    # the device says where a run ran, not what it computed: a table counts the newer runs once
    assert sorted(r["params"]["device"] for r in stored(tmp_path / "res").values()) == ["cpu", "cpu"]


def test_cuda_without_a_gpu_is_a_usage_error(plugins: str, csv_dataset: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "cuda_device_count", lambda: 0)
    result = adb(plugins, "run", "-d", "probe", "-D", str(csv_dataset), "--device", "cuda",
                 "--results", str(tmp_path / "res"))
    assert result.exit_code == 2, result.output
    assert "--device cuda: no CUDA device is visible here" in result.output


# -- Dask -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_cluster():  # type: ignore[no-untyped-def]
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster


def test_dask_cluster_gives_the_results_of_a_local_run(plugins: str, csv_dataset: Path, tmp_path: Path,
                                                       dask_cluster) -> None:  # type: ignore[no-untyped-def]
    args = ["run", "-d", "iforest", "-d", "probe", "-D", str(csv_dataset), "--seeds", "2",
            "--param", "iforest.n_estimators=30"]
    local = adb(plugins, *args, "--results", str(tmp_path / "local"))
    remote = adb(plugins, *args, "--scheduler", dask_cluster.scheduler_address, "--results", str(tmp_path / "dask"))
    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    a, b = stored(tmp_path / "local"), stored(tmp_path / "dask")
    assert len(a) == 4 and a.keys() == b.keys()
    assert all({m: a[k][m] for m in METRICS} == {m: b[k][m] for m in METRICS} for k in a)


def test_dask_failures_are_rows_not_crashes(plugins: str, csv_dataset: Path, tmp_path: Path,
                                            dask_cluster) -> None:  # type: ignore[no-untyped-def]
    configs = [RunConfig("probe", {}, str(csv_dataset), "zong2018", 0),
               RunConfig("probe", {}, str(tmp_path / "missing.csv"), "zong2018", 0)]
    with Store(tmp_path / "res") as store:
        ids = run_sweep(configs, store, context=RunContext(plugins_dir=plugins),
                        executor=DaskExecutor(dask_cluster.scheduler_address))
        rows = {r["run_id"]: r for r in store.rows(run_ids=ids)}
    assert [rows[i]["status"] for i in ids] == ["ok", "error"]
    assert "missing.csv: file not found" in rows[ids[1]]["error"]


def test_dask_needs_a_reachable_scheduler(plugins: str, csv_dataset: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    no_scheduler = adb(plugins, "run", "-d", "probe", "-D", str(csv_dataset), "--executor", "dask",
                       "--results", str(tmp_path / "res"))
    assert no_scheduler.exit_code == 2, no_scheduler.output
    assert "--executor dask needs --scheduler tcp://HOST:PORT" in no_scheduler.output
    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT", 1.0)
    unreachable = adb(plugins, "run", "-d", "probe", "-D", str(csv_dataset), "--seeds", "1",
                      "--scheduler", "tcp://127.0.0.1:9", "--results", str(tmp_path / "res"))
    assert unreachable.exit_code == 2, unreachable.output
    assert "cannot connect to the Dask scheduler at tcp://127.0.0.1:9" in unreachable.output


# -- the fork server's preload ------------------------------------------------------------------
def _preloaded(env: dict[str, str], probe: str) -> str:
    """Import adbench_dagmm.preload in a fresh interpreter with ``env`` set; print ``probe``."""
    import subprocess
    import sys

    code = f"import adbench_dagmm.preload, sys\nprint({probe})"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_preload_imports_the_named_modules_and_survives_bad_ones() -> None:
    out = _preloaded({executors.PRELOAD_ENV: "pyod.models.hbos,no_such_module_xyz",
                      executors.WARM_UP_ENV: ""},
                     "'pyod.models.hbos' in sys.modules, 'sklearn.metrics' in sys.modules")
    assert out == "True True"


@pytest.mark.parametrize(("threads", "compiled"), [("1", "True"), ("2", "False")])
def test_preload_warms_detectors_up_only_for_single_threaded_workers(threads: str, compiled: str) -> None:
    """With one thread per worker the fork server fits HBOS once, so PyOD's numba kernel is
    compiled before any worker is forked; with more threads it must not start OpenMP pools."""
    probe = "bool(sys.modules['pyod.models.hbos']._calculate_outlier_scores.signatures)"
    env = {executors.PRELOAD_ENV: "pyod.models.hbos", executors.WARM_UP_ENV: "hbos,no_such_detector"}
    env.update({name: threads for name in executors.THREAD_ENV})
    assert _preloaded(env, probe) == compiled


def test_cli_hands_the_sweeps_detectors_to_the_workers(plugins: str, csv_dataset: Path, tmp_path: Path,
                                                       monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen: dict[str, tuple[str, ...]] = {}
    start = LocalExecutor.start

    def spy(self, context, preload=(), warm_up=()):  # type: ignore[no-untyped-def]
        seen.setdefault("preload", tuple(preload))  # the CLI's call (the executor's own adds none)
        seen.setdefault("warm_up", tuple(warm_up))
        return start(self, context, preload, warm_up)

    monkeypatch.setattr(LocalExecutor, "start", spy)
    result = adb(plugins, "run", "-d", "hbos", "-d", "probe", "-D", str(csv_dataset), "--jobs", "2",
                 "--results", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert seen["warm_up"] == ("hbos", "probe")
    assert "pyod.models.hbos" in seen["preload"] and "adb_plugins.pyod_baselines" in seen["preload"]
