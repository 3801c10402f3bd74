"""The engine's promises: a missing dataset is one message, plugin identity in run ids, honest
timings and memory, plugins that cannot take the CLI down, parameters checked before any run,
kept ok results reported, and the worker pool's scheduling."""

from __future__ import annotations

import collections
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adbench_dagmm import dataset as dataset_module
from adbench_dagmm import environment as environment_module
from adbench_dagmm import execute as execute_module
from adbench_dagmm.cli import app
from adbench_dagmm.context import RunContext
from adbench_dagmm.errors import DataError
from adbench_dagmm.execute import execute
from adbench_dagmm.executors import LocalExecutor, _Task, _Worker, split_key
from adbench_dagmm.plan import RunConfig, plan
from adbench_dagmm.results import Store

FIXTURE_PLUGINS = str(Path(__file__).parent / "plugins")


def adb(plugins: str | Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--plugins-dir", str(plugins), *args])


def plugin_folder(tmp_path: Path, source: str, stem: str = "engine_plugin") -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    (folder / f"{stem}.py").write_text(textwrap.dedent(source))
    return folder


def rows(results: Path) -> list[dict]:
    with Store(results) as store:
        return store.rows()


# -- a missing dataset: one message, once --------------------------------------------------------
DOWNLOADED = '''
from adbench_dagmm import BaseDataset, Dataset, hookimpl
from adbench_dagmm.dataset import find_file


class Remote(BaseDataset):
    """Only downloadable (never present in tests)."""
    name = "remote"

    def sha256(self):
        find_file("remote/remote.csv", "0" * 64, "https://example.invalid/remote.csv")
        return "0" * 64

    def load(self):
        find_file("remote/remote.csv", "0" * 64, "https://example.invalid/remote.csv")
        raise AssertionError("unreachable")


@hookimpl
def adb_register_datasets(register):
    register(Remote)
'''


def test_a_missing_dataset_is_downloaded_once_reported_once_and_the_rest_runs(
        tmp_path: Path, csv_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = plugin_folder(tmp_path, DOWNLOADED)
    (folder / "fixtures.py").write_text("from mean_distance import *  # noqa\n")
    monkeypatch.delenv("ADB_OFFLINE")
    attempts = []

    def fake_download(relpath, sha256, urls, looked):  # type: ignore[no-untyped-def]
        attempts.append(relpath)
        raise DataError(f"data file {relpath!r} not found locally and every download failed (offline).")

    monkeypatch.setattr(dataset_module, "_download", fake_download)
    results = tmp_path / "res"
    result = adb(folder, "run", "-d", "mean_distance", "-d", "probe", "-D", "remote", "-D", str(csv_dataset),
                 "--seeds", "3", "--results", str(results))
    assert result.exit_code == 1, result.output
    assert attempts == ["remote/remote.csv"]  # once for the sweep, not once per run
    assert result.output.count("every download failed") == 1, result.output
    stored = rows(results)
    assert len(stored) == 12
    remote = [r for r in stored if r["dataset"] == "remote"]
    assert {r["status"] for r in remote} == {"error"} and len(remote) == 6
    assert all("every download failed" in r["error"] for r in remote)
    assert {r["status"] for r in stored if r["dataset"] != "remote"} == {"ok"}


# -- plugin identity ---------------------------------------------------------------------------
VERSIONED = '''
from adbench_dagmm import hookimpl
from mean_distance import MeanDistance


class Edited(MeanDistance):
    """Distance to the mean; {comment}"""
    name = "edited"


@hookimpl
def adb_register_detectors(register):
    register(Edited)
'''


def test_editing_a_one_file_plugin_reruns_its_runs(tmp_path: Path, csv_dataset: Path) -> None:
    folder = plugin_folder(tmp_path, VERSIONED.format(comment="first version"))
    results = tmp_path / "res"
    args = ["run", "-d", "edited", "-D", str(csv_dataset), "--seeds", "2", "--results", str(results)]
    assert adb(folder, *args).exit_code == 0
    first = rows(results)
    versions = first[0]["versions"]
    assert versions["plugin engine_plugin"].startswith("sha256:"), versions
    again = adb(folder, *args)
    assert "2 run(s) already stored were skipped" in again.output  # unchanged: skipped
    (folder / "engine_plugin.py").write_text(textwrap.dedent(VERSIONED.format(comment="edited")))
    edited = adb(folder, *args)
    assert edited.exit_code == 0 and "skipped" not in edited.output, edited.output
    with Store(results) as store:
        ids = {r["run_id"] for r in store.rows(history=True)}
    assert len(ids) == 4  # the edited plugin's runs are new runs


def test_installed_plugin_version_is_part_of_the_run_id(csv_dataset: Path) -> None:
    context = RunContext(plugins_dir=FIXTURE_PLUGINS)
    (run,) = plan([RunConfig("iforest", {}, str(csv_dataset), "zong2018", 0)], context)
    assert run.plugins and set(run.plugins) == {"adb_plugins.pyod_baselines"}
    entry = next(p for p in context.registry.plugins if p.name == "adb_plugins.pyod_baselines")
    entry.version = "999.0"
    (other,) = plan([RunConfig("iforest", {}, str(csv_dataset), "zong2018", 0)], context)
    assert other.run_id != run.run_id


def test_a_changed_preset_recipe_is_a_new_run(csv_dataset: Path, monkeypatch) -> None:
    """A detector that resolves a preset hashes the recipe into the run id: when the code's
    recipe changes under the same user parameters, the stored run is not skipped as done."""
    from adb_plugins.dagmm import presets

    from adbench_dagmm.plan import run_id

    context = RunContext()
    config = RunConfig("dagmm", {"preset": "default"}, str(csv_dataset), "zong2018", 0)
    (before,) = plan([config], context)
    assert before.recipe is not None and before.recipe["lr"] == presets.PRESETS["default"]["lr"]
    monkeypatch.setitem(presets.PRESETS, "default", {**presets.PRESETS["default"], "lr": 1e-3})
    (after,) = plan([config], context)
    assert after.recipe["lr"] == 1e-3 and after.run_id != before.run_id
    assert after.params == before.params  # the same configuration: the new run supersedes
    # a detector without presets keeps the id it always had (no recipe in the hash)
    (plain,) = plan([RunConfig("iforest", {}, str(csv_dataset), "zong2018", 0)], context)
    assert plain.recipe is None
    assert plain.run_id == run_id(plain.config, plain.params, plain.data_sha256,
                                  plain.protocol_version, plain.plugins)


# -- honest timings and memory -------------------------------------------------------------------
SLOW = '''
import time

import numpy as np

from adbench_dagmm import hookimpl
from mean_distance import MeanDistance

time.sleep({startup})  # a plugin that is slow to import: worker start-up, not a run


class SlowFirst(MeanDistance):
    """Its first fit in a process imports a slow module (like PyOD or numba's first call)."""
    name = "slow_first"

    def fit(self, X, y=None):
        import {helper}  # noqa: F401  (sleeps {first} s when first imported)
        return super().fit(X)


class Hungry(MeanDistance):
    """Allocates about 200 MB in fit."""
    name = "hungry"

    def fit(self, X, y=None):
        block = np.ones((200, 2**17))  # 200 MB, touched
        self.total_ = float(block.sum())
        return super().fit(X)


@hookimpl
def adb_register_detectors(register):
    register(SlowFirst)
    register(Hungry)
'''


def slow_plugin(tmp_path: Path, startup: float, first: float) -> Path:
    helper = f"slow_helper_{tmp_path.name.replace('-', '_')}"
    folder = plugin_folder(tmp_path, SLOW.format(startup=startup, helper=helper, first=first))
    (folder / "fixtures.py").write_text("from mean_distance import *  # noqa\n")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / f"{helper}.py").write_text(f"import time\ntime.sleep({first})\n")
    return folder


def test_timeout_and_fit_seconds_exclude_start_up_and_first_imports(
        tmp_path: Path, csv_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = slow_plugin(tmp_path, startup=4, first=1.5)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))  # spawned workers inherit sys.path
    results = tmp_path / "res"
    result = adb(folder, "run", "-d", "slow_first", "-D", str(csv_dataset), "--seeds", "2",
                 "--timeout", "3", "--results", str(results))
    assert result.exit_code == 0, result.output
    stored = rows(results)
    assert {r["status"] for r in stored} == {"ok"}
    assert max(r["fit_seconds"] for r in stored) < 1.0, [r["fit_seconds"] for r in stored]


def test_in_process_timings_and_memory_are_the_runs_own(
        tmp_path: Path, csv_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = slow_plugin(tmp_path, startup=0, first=2)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    context = RunContext(plugins_dir=folder)
    slow, _ = execute(RunConfig("slow_first", {}, str(csv_dataset), "zong2018", 0), context)
    assert slow["status"] == "ok" and slow["fit_seconds"] < 1.0, slow
    quiet, _ = execute(RunConfig("mean_distance", {}, str(csv_dataset), "zong2018", 0), context)
    hungry, _ = execute(RunConfig("hungry", {}, str(csv_dataset), "zong2018", 0), context)
    # the increase over the process's memory before fit, not the whole process (> 100 MB here)
    assert 0 <= quiet["peak_rss_mb"] < 30, quiet["peak_rss_mb"]
    assert 150 < hungry["peak_rss_mb"] < 400, hungry["peak_rss_mb"]


def resident_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


@pytest.mark.skipif(environment_module._malloc_trim() is None,
                    reason="no glibc malloc_trim here (not Linux/glibc): release_free_memory is a no-op")
def test_freed_heap_memory_goes_back_to_the_os_after_each_run(
        csv_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    # 64 KB blocks live in glibc's heap, not in mmaps; the last one, kept, pins the heap's top,
    # so freeing the others returns nothing to the OS by itself
    blocks = [np.ones(8192) for _ in range(3000)]  # ~190 MB, touched
    keep = blocks[-1]
    del blocks[:-1]
    before = resident_mb()
    environment_module.release_free_memory()
    assert before - resident_mb() > 100, (before, resident_mb())
    assert keep.sum() == 8192

    calls = []
    monkeypatch.setattr(execute_module, "release_free_memory", lambda: calls.append(1))
    row, _ = execute(RunConfig("mean_distance", {}, str(csv_dataset), "zong2018", 0),
                     RunContext(plugins_dir=FIXTURE_PLUGINS))
    assert row["status"] == "ok" and calls == [1]


# -- a plugin cannot take the CLI down ------------------------------------------------------------
ROGUE = '''
import sys

from adbench_dagmm import hookimpl
from mean_distance import MeanDistance


class Exits(MeanDistance):
    name = "exits"

    def fit(self, X, y=None):
        sys.exit(3)


class Interrupts(MeanDistance):
    name = "interrupts"

    def fit(self, X, y=None):
        raise KeyboardInterrupt


class Chatty(MeanDistance):
    name = "chatty"

    def fit(self, X, y=None):
        print("CHATTER-FROM-FIT")
        return super().fit(X)


@hookimpl
def adb_register_detectors(register):
    register(Exits)
    register(Interrupts)
    register(Chatty)
'''


def test_sys_exit_keyboard_interrupt_and_prints_of_a_plugin_stay_in_its_run(
        tmp_path: Path, csv_dataset: Path) -> None:
    folder = plugin_folder(tmp_path, ROGUE)
    results = tmp_path / "res"
    result = adb(folder, "run", "-d", "exits", "-d", "interrupts", "-d", "chatty", "-D", str(csv_dataset),
                 "--seeds", "2", "--results", str(results))
    assert result.exit_code == 1, result.output  # not 3, not 130
    assert "CHATTER-FROM-FIT" not in result.stdout
    status = {(r["detector"], r["seed"]): r for r in rows(results)}
    assert len(status) == 6
    assert all(status[("exits", s)]["status"] == "error" and "sys.exit(3)" in status[("exits", s)]["error"]
               for s in (0, 1))
    assert all("KeyboardInterrupt" in status[("interrupts", s)]["error"] for s in (0, 1))
    assert status[("chatty", 0)]["status"] == "ok" == status[("chatty", 1)]["status"]


# -- parameters are checked before any run --------------------------------------------------------
CHECKED = '''
from adbench_dagmm import hookimpl
from adbench_dagmm.errors import ParameterError
from mean_distance import MeanDistance


class Checked(MeanDistance):
    name = "checked"

    def __init__(self, alpha=1.0, random_state=None):
        self.alpha = alpha
        self.random_state = random_state

    def check_params(self):
        if not self.alpha > 0:
            raise ParameterError(f"The 'alpha' parameter of Checked must be > 0. Got {{self.alpha!r}} instead.")

    def fit(self, X, y=None):
        open({marker!r}, "a").write("fitted\\n")
        self.check_params()
        return super().fit(X)


@hookimpl
def adb_register_detectors(register):
    register(Checked)
'''


def test_a_bad_parameter_stops_the_sweep_before_any_run(tmp_path: Path, csv_dataset: Path) -> None:
    marker = tmp_path / "fitted.txt"
    folder = plugin_folder(tmp_path, CHECKED.format(marker=str(marker)))
    results = tmp_path / "res"
    result = adb(folder, "run", "-d", "checked", "-D", str(csv_dataset), "--seeds", "3",
                 "--param", "checked.alpha=-1", "--results", str(results))
    assert result.exit_code == 2, result.output
    assert "The 'alpha' parameter of Checked must be > 0. Got -1.0 instead." in result.output
    assert not marker.exists()  # no run started
    assert not (results / "adb.sqlite").exists() or rows(results) == []
    good = adb(folder, "run", "-d", "checked", "-D", str(csv_dataset), "--seeds", "1",
               "--param", "checked.alpha=2", "--results", str(results))
    assert good.exit_code == 0, good.output


# -- a --force rerun that fails ----------------------------------------------------------------
def test_a_failed_force_rerun_exits_1_and_says_the_ok_results_were_kept(
        tmp_path: Path, csv_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = FIXTURE_PLUGINS  # ``flaky`` fails while FLAKY_FAIL is set
    results = tmp_path / "res"
    args = ["run", "-d", "flaky", "-D", str(csv_dataset), "--seeds", "2", "--results", str(results)]
    assert adb(folder, *args).exit_code == 0
    monkeypatch.setenv("FLAKY_FAIL", "1")
    forced = adb(folder, *args, "--force")
    assert forced.exit_code == 1, forced.output
    assert "2 of 2 run(s) failed" in forced.output
    assert "the ok results were kept" in forced.output and "adb export --all --status error" in forced.output
    assert {r["status"] for r in rows(results)} == {"ok"}


# -- the worker pool -----------------------------------------------------------------------------
def test_a_free_worker_takes_a_run_of_the_split_it_holds_else_a_split_nobody_is_on(csv_dataset: Path) -> None:
    context = RunContext(plugins_dir=FIXTURE_PLUGINS)
    runs = plan([RunConfig(d, {}, str(csv_dataset), "zong2018", seed)
                 for seed in (0, 1, 2) for d in ("mean_distance", "probe")], context)
    queue = collections.deque(_Task(r) for r in runs)
    worker = _Worker.__new__(_Worker)
    worker.last_key = split_key(runs[2])  # holds seed 1's split
    assert LocalExecutor._pick(worker, queue, busy=set()).run is runs[2]
    worker.last_key = None  # fresh: avoid seed 0, which another worker is splitting
    assert LocalExecutor._pick(worker, queue, busy={split_key(runs[0])}).run is runs[3]
    retry = _Task(runs[5], attempt=2)
    queue.appendleft(retry)
    assert LocalExecutor._pick(worker, queue, busy=set()) is retry


def test_workers_started_before_planning_end_with_a_usage_error(tmp_path: Path, csv_dataset: Path) -> None:
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = adb(FIXTURE_PLUGINS, "run", "-d", "mean_distance", "-D", "no_such_dataset", "--jobs", "2",
                 "--results", str(tmp_path / "res"))
    assert result.exit_code == 2, result.output
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    _, alive = psutil.wait_procs(left, timeout=10)
    assert not alive, f"worker processes outlived the command: {alive}"
