"""Runs carry their context: two data folders in one process, no state left behind."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adbench_dagmm.context import RunContext
from adbench_dagmm.dataset import data_dirs
from adbench_dagmm.execute import execute
from adbench_dagmm.plan import RunConfig, plan

PLUGINS = str(Path(__file__).parent / "plugins")


def toy_folder(root: Path, shift: float) -> Path:
    """A data folder holding toy/toy.csv: blobs whose outliers sit ``shift`` away."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(90, 3)), rng.normal(size=(10, 3)) + shift])
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["label"] = [0] * 90 + [1] * 10
    (root / "toy").mkdir(parents=True)
    frame.to_csv(root / "toy" / "toy.csv", index=False)
    return root


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return toy_folder(tmp_path / "easy", 6.0), toy_folder(tmp_path / "hard", 0.5)


CONFIG = RunConfig("mean_distance", {}, "toy", "zong2018", seed=0)


def test_two_contexts_with_different_data_folders_in_one_process(folders) -> None:  # type: ignore[no-untyped-def]
    easy, hard = (RunContext(folder, PLUGINS) for folder in folders)
    first = execute(CONFIG, easy)[0]
    other = execute(CONFIG, hard)[0]
    again = execute(CONFIG, easy)[0]  # from easy's cache; hard's run changed nothing of it
    assert first["status"] == other["status"] == "ok", (first["error"], other["error"])
    assert first["data_sha256"] != other["data_sha256"]
    assert first["run_id"] != other["run_id"]  # the data checksum is part of the run id
    assert first["roc_auc"] > 0.99 > other["roc_auc"]
    assert {k: again[k] for k in ("run_id", "roc_auc", "f1")} == {k: first[k] for k in ("run_id", "roc_auc", "f1")}
    assert "--data-dir" not in [why for why, _ in data_dirs()]  # nothing outlives a run


def test_contexts_in_two_threads_see_their_own_folder(folders) -> None:  # type: ignore[no-untyped-def]
    results: dict[str, dict] = {}

    def run(name: str, folder: Path) -> None:
        results[name] = execute(CONFIG, RunContext(folder, PLUGINS))[0]

    threads = [threading.Thread(target=run, args=(f.name, f)) for f in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    alone = {f.name: execute(CONFIG, RunContext(f, PLUGINS))[0] for f in folders}
    for name, row in results.items():
        assert row["status"] == "ok" and row["roc_auc"] == alone[name]["roc_auc"]


def test_a_run_without_the_folder_fails_and_names_where_it_looked(folders) -> None:  # type: ignore[no-untyped-def]
    row, artifacts = execute(CONFIG, RunContext(None, PLUGINS))
    assert row["status"] == "error" and artifacts == {}
    assert "data file 'toy/toy.csv' not found" in row["error"]


def test_each_run_is_planned_once(folders, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The planned parameters and run id travel with the run: execute recomputes neither."""
    context = RunContext(folders[0], PLUGINS)
    (planned,) = plan([CONFIG], context)
    assert planned.params == {"random_state": 0}
    import adbench_dagmm.plan as plan_module

    def no_replanning(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("planned twice")

    monkeypatch.setattr(plan_module, "resolved_params", no_replanning)
    row, _ = execute(planned, context)
    assert row["status"] == "ok" and row["run_id"] == planned.run_id


def test_a_context_pickles_as_its_locations(folders) -> None:  # type: ignore[no-untyped-def]
    import pickle

    context = RunContext(folders[0], PLUGINS)
    context.load("toy")
    clone = pickle.loads(pickle.dumps(context))
    assert clone.locations() == context.locations() and clone._datasets == {}
