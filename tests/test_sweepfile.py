"""Sweeps from a TOML file: grids, typing, run ids, errors, and how the command line overrides."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.errors import UsageError
from adbench_dagmm.results import Store
from adbench_dagmm.registry import build_registry
from adbench_dagmm.sweepfile import load_sweep

@pytest.fixture
def plugins() -> str:
    """The fixture plugins (``gridprobe`` and ``otherprobe`` take parameters of every kind)."""
    return str(Path(__file__).parent / "plugins")


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(text: str) -> Path:
        path = tmp_path / "sweep.toml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


def adb(plugins: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--plugins-dir", plugins, *args])


def rows_of(results: Path) -> list[dict]:
    with Store(results) as store:
        return store.rows()


# -- grids and typing -----------------------------------------------------------------------------
def test_lists_are_grid_axes_and_list_parameters_take_lists_of_lists(plugins: str, write) -> None:  # type: ignore[no-untyped-def]
    sweep = load_sweep(write('''
        [detectors.gridprobe]
        k = [1, 2]
        scale = [0.5, 1]
        hidden = [16, 8]
        mode = "l1"
        widths = [4, 2]
        [detectors.otherprobe]
        hidden = [[8, 4], [16, 8], [32, 16]]
        widths = [[4, 2], [8]]
    '''))
    grids = sweep.grids(build_registry(plugins_dir=plugins))
    fixed = {"hidden": (16, 8), "mode": "l1", "widths": [4, 2]}
    assert grids["gridprobe"] == [
        {"k": 1, "scale": 0.5, **fixed}, {"k": 1, "scale": 1.0, **fixed},
        {"k": 2, "scale": 0.5, **fixed}, {"k": 2, "scale": 1.0, **fixed},
    ]
    assert all(isinstance(g["scale"], float) for g in grids["gridprobe"])
    assert [(g["hidden"], g["widths"]) for g in grids["otherprobe"]] == [
        (h, w) for h in [(8, 4), (16, 8), (32, 16)] for w in ([4, 2], [8])]


def test_values_are_typed_like_param_options(plugins: str, write) -> None:  # type: ignore[no-untyped-def]
    sweep = load_sweep(write('''
        detectors = {gridprobe = {k = 2.0, scale = "1e-3", center = true}}
    '''))
    assert sweep.grids(build_registry(plugins_dir=plugins)) == {"gridprobe": [{"k": 2, "scale": 0.001, "center": True}]}


@pytest.mark.parametrize(("text", "message"), [
    ('detector = ["gridprobe"]', r"unknown key 'detector' in the top level\. Did you mean 'detectors'\?"),
    ('[run]\njob = 2', r"unknown key 'job' in \[run\]\. Did you mean 'jobs'\?"),
    ('[dataset_options]\nlabel = "y"', r"unknown key 'label' in \[dataset_options\]"),
    ('[run]\njobs = "two"', r"\[run\] jobs must be an integer, got 'two'"),
    ('seeds = 0', r"'seeds' must be >= 1, got 0"),
    ('seeds = [1, 2]\nseed_start = 3', r"'seed_start' goes with a seed count"),
    ('protocol = "pyod"\nprotocols = ["pyod"]', r"give 'protocol' or 'protocols', not both"),
    ('datasets = "', r"not valid TOML"),
], ids=["top-level", "run", "dataset-options", "run-type", "zero-seeds", "start-with-list", "protocol-twice",
        "bad-toml"])
def test_file_errors_name_the_key_and_the_file(write, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = write(text)
    with pytest.raises(UsageError, match=rf"{re.escape(str(path))}: .*{message}"):
        load_sweep(path)


@pytest.mark.parametrize(("text", "message"), [
    ('[detectors.gridprobe]\nkk = 1', r"unknown parameter gridprobe\.kk in \[detectors\.gridprobe\]\. Did you mean k\?"),
    ('[detectors.gridprobe]\nk = [1, 2.5]', r"\[detectors\.gridprobe\] parameter gridprobe\.k: value '2\.5' is not a valid integer"),
    ('[detectors.gridprobe]\nk = []', r"\[detectors\.gridprobe\] k is an empty list"),
    ('detectors = ["nosuch"]', r"unknown detector 'nosuch'"),
], ids=["unknown-param", "bad-value", "empty-grid", "unknown-detector"])
def test_parameter_errors_name_the_file(plugins: str, write, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = write(text)
    with pytest.raises(UsageError, match=rf"{re.escape(str(path))}: .*{message}"):
        load_sweep(path).grids(build_registry(plugins_dir=plugins))


def test_missing_file_is_a_usage_error(plugins: str, tmp_path: Path) -> None:
    result = adb(plugins, "run", "--config", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2, result.output
    assert "sweep file" in result.output and "nope.toml not found" in result.output


# -- the command line -----------------------------------------------------------------------------
def test_same_file_same_run_ids_as_the_equivalent_flags(plugins: str, write, csv_dataset: Path,
                                                        tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "res"
    path = write(f'''
        datasets = ["{csv_dataset}"]
        protocols = ["zong2018", "pyod"]
        seeds = 2
        seed_start = 4
        [detectors.gridprobe]
        k = [1, 2]
        hidden = [16, 8]
        [run]
        results = "{results}"
    ''')
    first = adb(plugins, "run", "--config", str(path))
    assert first.exit_code == 0, first.output
    rows = rows_of(results)
    assert len(rows) == 2 * 2 * 2 and {r["seed"] for r in rows} == {4, 5}
    assert {r["protocol"] for r in rows} == {"zong2018", "pyod"}
    again = adb(plugins, "run", "--config", str(path))
    assert again.exit_code == 0 and "8 run(s) already stored were skipped" in again.output
    for k in (1, 2):  # the same runs given as flags are the same runs
        flags = adb(plugins, "run", "-d", "gridprobe", "-D", str(csv_dataset), "-p", "zong2018", "-p", "pyod",
                    "--seeds", "2", "--seed-start", "4", "--param", f"gridprobe.k={k}",
                    "--param", "gridprobe.hidden=16,8", "--results", str(results))
        assert flags.exit_code == 0 and "4 run(s) already stored were skipped" in flags.output, flags.output
    assert len(rows_of(results)) == 8


def test_command_line_options_win_over_the_file(plugins: str, write, csv_dataset: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(f'''
        datasets = ["{csv_dataset}"]
        seeds = [3, 7, 9]
        [detectors.gridprobe]
        k = [1, 2]
        [detectors.otherprobe]
        [run]
        results = "{tmp_path / 'from-file'}"
    ''')
    mine = tmp_path / "mine"
    result = adb(plugins, "run", "--config", str(path), "-d", "gridprobe", "--seeds", "1",
                 "--param", "gridprobe.scale=2", "--results", str(mine))
    assert result.exit_code == 0, result.output
    rows = rows_of(mine)
    assert not (tmp_path / "from-file").exists()
    assert {r["detector"] for r in rows} == {"gridprobe"}  # --detector replaced the list
    assert {r["seed"] for r in rows} == {0}  # --seeds replaced the file's seeds
    assert sorted((r["params"]["k"], r["params"]["scale"]) for r in rows) == [(1, 2.0), (2, 2.0)]
    assert "gridprobe(k=1)" in result.stdout and "gridprobe(k=2)" in result.stdout  # one table row each

    from_file = adb(plugins, "run", "--config", str(path))
    assert from_file.exit_code == 0, from_file.output
    rows = rows_of(tmp_path / "from-file")
    assert {r["seed"] for r in rows} == {3, 7, 9} and len(rows) == 3 * 3


def test_run_table_errors_are_usage_errors(plugins: str, write, csv_dataset: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(f'''
        datasets = ["{csv_dataset}"]
        detectors = ["gridprobe"]
        [run]
        executor = "dask"
    ''')
    result = adb(plugins, "run", "--config", str(path), "--results", str(tmp_path / "res"))
    assert result.exit_code == 2, result.output
    assert "--executor dask needs --scheduler" in result.output
