"""What the command line prints: text from data and plugins literally, tables that fit the
terminal (or $COLUMNS), help texts without type labels or hard line breaks, and options that
do not apply refused."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.results import Store

#: Strings rich would read as markup: a closing tag with nothing open (MarkupError), a style
#: tag (swallowed), and a unit in brackets (swallowed as an unknown style).
MARKUP = ("[/]", "[bold]x[/bold]", "weight[kg]")

MARKUP_PLUGIN = '''
from adbench_dagmm import BaseDetector, hookimpl


class Loud(BaseDetector):
    """Fails with [bold]x[/bold] and [/] and weight[kg] in its message."""

    name = "loud"

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None):
        self._validate_data(X, reset=True)
        raise ValueError("bad [/] input [bold]x[/bold] in weight[kg]")


@hookimpl
def adb_register_detectors(register):
    register(Loud)
'''


def adb(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def markup_files(tmp_path: Path, blobs) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """A clean CSV in a folder whose name holds every markup string, and CSVs whose columns
    named with markup hold a NaN (so each column name appears in an error message)."""
    X, y = blobs
    folder = tmp_path / "data [/] [bold]x[/bold] weight[kg]"
    folder.mkdir(parents=True)  # "[/]" makes two folders: "data [" and "] [bold]x[/bold] weight[kg]"
    clean = pd.DataFrame(X, columns=["[/]", "[bold]x[/bold]", "weight[kg]", "x3", "x4"])
    clean["label"] = y
    files = {"clean": folder / "clean[kg].csv"}
    clean.to_csv(files["clean"], index=False)
    for i, name in enumerate(MARKUP):
        broken = clean.copy()
        broken.loc[3, name] = np.nan
        files[name] = folder / f"nan{i}.csv"
        broken.to_csv(files[name], index=False)
    return files


def test_markup_in_paths_columns_and_plugin_errors_is_printed_literally(
        tmp_path: Path, markup_files: dict[str, Path]) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "loud.py").write_text(MARKUP_PLUGIN)
    results = tmp_path / "results [/] weight[kg]"
    args = ["--plugins-dir", str(plugins), "run", "-d", "iforest", "-d", "loud", "--seeds", "1",
            "--results", str(results)]
    for path in markup_files.values():
        args += ["-D", str(path)]
    result = adb(*args)
    assert result.exit_code == 1, result.output  # some runs failed, none crashed the sweep
    assert "MarkupError" not in result.output and "Traceback" not in result.output
    out = result.output
    # the detector's message, the columns named in the NaN errors, the file and results paths
    assert "bad [/] input [bold]x[/bold] in weight[kg]" in out
    for name in MARKUP:
        assert re.search(rf"'{re.escape(name)}' \(1\)", out), (name, out)
    assert str(markup_files["clean"]) in out  # the table names the file as given
    assert f"results: {results / 'adb.sqlite'}" in out
    # every run was stored: 4 files x 2 detectors, iforest ok on the clean file only
    rows = Store(results, create=False).rows()
    assert len(rows) == 8
    assert sorted((Path(r["dataset"]).name, r["detector"], r["status"]) for r in rows if r["status"] == "ok") == [
        ("clean[kg].csv", "iforest", "ok")]
    # the report's paths and its error summary, literally
    report = adb("report", "--results", str(results), "--format", "md", "--no-plots")
    assert report.exit_code == 0, report.output
    assert str(results / "report" / "report.md") in report.output
    assert "MarkupError" not in report.output and "Traceback" not in report.output


def test_markup_in_a_plugin_name_and_docstring_is_listed_literally(tmp_path: Path) -> None:
    (tmp_path / "weight[kg].py").write_text(MARKUP_PLUGIN)
    listing = adb("--plugins-dir", str(tmp_path), "list", "detectors")
    assert listing.exit_code == 0, listing.output
    assert "Fails with [bold]x[/bold] and [/] and weight[kg]" in listing.output
    plugins = adb("--plugins-dir", str(tmp_path), "plugins", env={"COLUMNS": "200"})
    assert plugins.exit_code == 0, plugins.output
    assert "weight[kg]" in plugins.output


# -- options that do not apply ---------------------------------------------------------------------
@pytest.mark.parametrize("option", [["--impute", "mean"], ["--label-column", "y"], ["--anomaly-label", "2"]],
                         ids=["impute", "label-column", "anomaly-label"])
def test_file_options_with_a_registered_dataset_are_usage_errors(tmp_path: Path, option: list[str]) -> None:
    result = adb("run", "-d", "iforest", "-D", "kddcup99", *option, "--results", str(tmp_path / "r"))
    assert result.exit_code == 2, result.output
    assert re.search(rf"error: {option[0]} applies to dataset files only, and 'kddcup99' is a "
                     r"registered dataset", result.output)
    assert not (tmp_path / "r").exists()  # refused before anything is stored


def test_file_options_from_a_sweep_file_name_the_file(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(textwrap.dedent('''
        detectors = ["iforest"]
        datasets = ["suite:dagmm-paper"]
        [dataset_options]
        impute = "median"
    '''))
    result = adb("run", "--config", str(sweep), "--results", str(tmp_path / "r"))
    assert result.exit_code == 2, result.output
    assert f"error: impute in [dataset_options] of {sweep} applies to dataset files only, and 'kddcup99'" \
        in result.output


def test_file_options_still_apply_to_files(tmp_path: Path, csv_dataset: Path) -> None:
    result = adb("run", "-d", "iforest", "-D", str(csv_dataset), "--impute", "mean", "--label-column",
                 "label", "--seeds", "1", "--results", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output


# -- 80 columns ------------------------------------------------------------------------------------
def lines(text: str) -> list[str]:
    return text.splitlines()


def test_the_run_table_fits_80_columns_without_cutting_names(tmp_path: Path, csv_dataset: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    long_names = ["a_rather_long_dataset_file_name_for_80_columns.csv", "another_long_one.csv"]
    for name in long_names:
        (tmp_path / name).write_bytes(csv_dataset.read_bytes())
    args = ["--plugins-dir", str(Path(__file__).parent / "plugins"), "run", "-d", "mean_distance",
            "-d", "iforest", "-d", "hbos", "-d", "crashing", "-D", long_names[0], "-D", long_names[1],
            "--seeds", "2", "--results", "r"]
    narrow = adb(*args, env={"COLUMNS": "80"})
    assert narrow.exit_code == 1, narrow.output  # 'crashing' fails on purpose
    table = lines(narrow.stdout)
    assert max(len(line) for line in table) <= 80, narrow.stdout
    for name in long_names:  # each dataset heads its block, whole
        assert name in table
    detectors = [line.split()[0] for line in table if line.split() and line.split()[1:2] and
                 re.fullmatch(r"\d+/\d+", line.split()[1])]
    assert detectors == ["crashing", "hbos", "iforest", "mean_distance"] * 2
    # wide enough (or a pipe without $COLUMNS): one table, a row per detector and dataset
    for env in ({"COLUMNS": "200"}, {"COLUMNS": None}):
        wide = adb(*args, env=env)
        rows = [line for line in lines(wide.stdout) if long_names[0] in line]
        assert len(rows) == 4 and all("/2" in row for row in rows), wide.stdout


@pytest.mark.parametrize("command", [["list", "detectors"], ["list", "datasets"], ["list", "protocols"],
                                     ["list", "references"], ["plugins"]],
                         ids=["detectors", "datasets", "protocols", "references", "plugins"])
def test_listings_fit_80_columns_and_pipes_get_tab_separated_lines(command: list[str]) -> None:
    narrow = adb(*command, env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in lines(narrow.output)) <= 80, narrow.output
    assert "\t" not in narrow.output
    piped = adb(*command, env={"COLUMNS": None})
    assert piped.exit_code == 0, piped.output
    names = [line.split("\t")[0] for line in lines(piped.output) if "\t" in line]
    assert names
    first_column = {line.split()[0] for line in lines(narrow.output) if line and not line[0].isspace()}
    assert set(names) <= first_column  # every name whole, first on its line


def test_listings_name_long_names_whole() -> None:
    datasets = adb("list", "datasets", env={"COLUMNS": "80"}).output
    assert re.search(r"^adbench:7_cardiotocography +2114 +21 +0\.2204", datasets, re.M)
    plugins = adb("plugins", env={"COLUMNS": "80"}).output
    assert re.search(r"^adb_plugins\.pyod_baselines +\S+ +\d+ detectors", plugins, re.M)
    full = adb("plugins", env={"COLUMNS": None}).output  # a pipe gets every name
    assert "adbench:22_magic.gamma" in full


# -- --help ----------------------------------------------------------------------------------------
COMMANDS = [[], ["run"], ["list"], ["plugins"], ["export"], ["report"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "adb")
def test_help_has_no_type_labels_and_fits_80_columns(command: list[str]) -> None:
    result = adb(*command, "--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    for bad in ("<bool>", "<int>", "<str>", "<float>", "<path>", "list[", "``", "[default:"):
        assert bad not in result.output, (bad, result.output)
    assert max(len(line) for line in lines(result.output)) <= 80


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "adb")
def test_help_paragraphs_are_not_broken_inside_sentences(command: list[str]) -> None:
    import typer

    from adbench_dagmm.cli import unwrap

    group = typer.main.get_command(app)
    source = group.commands[command[0]].help if command else group.help
    result = adb(*command, "--help", env={"COLUMNS": "1000"})
    shown = [line.strip(" │") for line in lines(result.output)]
    for paragraph in unwrap(source).split("\n\n"):  # type: ignore[union-attr]
        assert paragraph.strip() in shown, (paragraph, result.output)


@pytest.mark.parametrize("command", [["run"], ["list"], ["plugins"], ["export"], ["report"], []],
                         ids=["run", "list", "plugins", "export", "report", "adb"])
def test_defaults_are_written_one_way(command: list[str]) -> None:
    result = adb(*command, "--help", env={"COLUMNS": "1000"})
    assert "(default" not in result.output.lower()
    if command == ["run"]:
        for default in ("Default: 5.", "Default: ./results.", "Default: local.", "Default: auto."):
            assert default in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["run", "-d", "x", "-D", "y", "--seeds", "x"], "Invalid value for '--seeds' / '-n': 'x' is not an integer."),
    (["run", "-d", "x", "-D", "y", "--timeout", "abc"], "Invalid value for '--timeout': 'abc' is not a number."),
    (["run", "--executor", "foo"], "Invalid value for '--executor': 'foo' is not one of 'local', 'dask'."),
    (["export", "--status", "bogus"], "Invalid value for '--status': 'bogus' is not one of"),
], ids=["int", "float", "choice", "list-choice"])
def test_usage_errors_have_no_value_error_prefix(args: list[str], message: str) -> None:
    result = adb(*args, env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert message in result.output and "Value error" not in result.output
