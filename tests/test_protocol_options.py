"""Protocol options: declared and checked by the protocol, typed from the command line and sweep
files, part of the run id only when given, stored on every row, and named in tables."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.errors import ParameterError
from adbench_dagmm.plan import RunConfig, build_configs, run_id
from adbench_dagmm.protocols import ADBenchProtocol, Option, PyODProtocol, Zong2018Protocol, protocol_label
from adbench_dagmm.registry import build_registry
from adbench_dagmm.results import Store, current_rows

PLUGINS = str(Path(__file__).parent / "plugins")


def adb(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--plugins-dir", PLUGINS, *args])


@pytest.fixture(scope="module")
def registry():  # type: ignore[no-untyped-def]
    return build_registry(plugins_dir=PLUGINS, load_entrypoints=False)


# -- declaration and checks ------------------------------------------------------------------------
def test_options_are_typed_and_checked_by_the_protocol() -> None:
    protocol = ADBenchProtocol(labeled_anomalies=1, upsample=False)
    assert protocol.given == {"labeled_anomalies": 1.0, "upsample": False}
    assert isinstance(protocol.given["labeled_anomalies"], float)  # 1 and 1.0: one run id
    assert protocol.settings["subsample"] is True and protocol.settings["anomaly_type"] == "none"
    assert protocol.label == "adbench[labeled_anomalies=1.0,upsample=false]"
    assert ADBenchProtocol().given == {} and ADBenchProtocol().label == "adbench"


@pytest.mark.parametrize(("options", "message"), [
    ({"labeled_anomalies": 1.5}, r"protocol option adbench\.labeled_anomalies must be in \[0, 1\], got 1\.5"),
    ({"labeled_anomalies": "lots"}, r"adbench\.labeled_anomalies must be a number, got 'lots'"),
    ({"upsample": 1}, r"adbench\.upsample must be true or false, got 1"),
    ({"irrelevant_features": 1.0}, r"irrelevant_features must be in \[0, 1\), got 1\.0"),
    ({"duplicate_anomalies": 0.5}, r"duplicate_anomalies must be in \[1, inf\]"),
    ({"anomaly_type": "weird"}, r"anomaly_type must be one of none, local, global, dependency, clustered"),
    ({"labeled_anomaly": 0.1}, r"unknown option 'labeled_anomaly' of protocol 'adbench'\. Did you mean "
                               r"'labeled_anomalies'\? Its options: upsample, subsample, labeled_anomalies"),
    ({"label_noise": 0.1}, r"label_noise flips the training labels .* labeled_anomalies=0 reveals none"),
    ({"anomaly_alpha": 2.0}, r"anomaly_alpha applies to anomaly_type local, global or clustered"),
], ids=["range", "type", "bool", "open-range", "factor", "choice", "unknown", "noise-needs-labels",
        "alpha-needs-type"])
def test_bad_options_name_the_option(options, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterError, match=message):
        ADBenchProtocol(**options)


def test_zong2018_refuses_a_label_budget_and_says_why() -> None:
    with pytest.raises(ParameterError, match=r"'zong2018' does not take option 'labeled_anomalies': "
                                             r"zong2018 fits on normal training rows only"):
        Zong2018Protocol(labeled_anomalies=0.1)
    with pytest.raises(ParameterError, match=r"unknown option 'upsample' of protocol 'zong2018'\. Its options: none"):
        Zong2018Protocol(upsample=False)
    assert PyODProtocol(labeled_anomalies=0.5).given == {"labeled_anomalies": 0.5}


def test_command_line_text_is_parsed_by_the_declared_type() -> None:
    flag = Option("flag", bool, True, "a flag")
    assert [flag.parse("p", t) for t in ("false", "0", "no", "TRUE", "on")] == [False, False, False, True, True]
    with pytest.raises(ParameterError, match=r"protocol option p\.flag must be true or false, got 'maybe'"):
        flag.parse("p", "maybe")
    share = Option("share", float, 0.0, "a share", low=0.0, high=1.0)
    assert share.parse("p", "0.25") == 0.25 and share.parse("p", "1") == 1.0
    with pytest.raises(ParameterError, match=r"must be finite, got nan"):
        share.parse("p", "nan")


def test_protocol_label_sorts_keys_and_writes_values_plainly() -> None:
    assert protocol_label("adbench", {}) == "adbench"
    assert protocol_label("adbench", {"b": True, "a": 0.5, "c": "local"}) == "adbench[a=0.5,b=true,c=local]"


# -- run ids -----------------------------------------------------------------------------------------
def test_a_run_without_options_keeps_its_run_id() -> None:
    """Pinned: the id this configuration had before protocol options existed (main at a0c9309)."""
    config = RunConfig(detector="iforest", params={"n_estimators": 50}, dataset="kddcup99",
                       protocol="adbench", seed=3, dataset_options={"impute": "mean"})
    params = {"n_estimators": 50, "random_state": 3, "contamination": 0.1}
    plugins = {"adb_plugins.pyod_baselines": "0.1.0"}
    assert run_id(config, params, "ab" * 32, "1", plugins) == "8edccd665c05585efa8c"
    with_options = RunConfig(**{**config.__dict__, "protocol_options": {"labeled_anomalies": 0.1}})
    other = run_id(with_options, params, "ab" * 32, "1", plugins)
    assert other != "8edccd665c05585efa8c"
    again = RunConfig(**{**config.__dict__, "protocol_options": {"labeled_anomalies": 0.1}})
    assert run_id(again, params, "ab" * 32, "1", plugins) == other


# -- sweeps: --param protocol.NAME=VALUE and [protocol_options] ---------------------------------------
def test_a_repeated_protocol_option_is_a_sweep_axis(registry, csv_dataset: Path) -> None:  # type: ignore[no-untyped-def]
    specs = [f"protocol.labeled_anomalies={v}" for v in ("0", "0.01", "0.05", "0.1", "0.25", "0.5", "1")]
    configs = build_configs(registry, ["mean_distance"], [str(csv_dataset)], 2, 0, "adbench",
                            [*specs, "protocol.upsample=false"], None, {})
    budgets = [c.protocol_options["labeled_anomalies"] for c in configs if c.seed == 0]
    assert budgets == [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0] and len(configs) == 14
    assert all(c.protocol_options["upsample"] is False for c in configs)


def test_a_repeated_detector_parameter_is_a_sweep_axis_too(registry, csv_dataset: Path) -> None:  # type: ignore[no-untyped-def]
    configs = build_configs(registry, ["gridprobe"], [str(csv_dataset)], 1, 0, "pyod",
                            ["gridprobe.k=1", "gridprobe.k=2", "gridprobe.scale=0.5"], None, {})
    assert [(c.params["k"], c.params["scale"]) for c in configs] == [(1, 0.5), (2, 0.5)]


def test_a_protocol_option_applies_to_every_protocol_of_the_sweep(registry, csv_dataset: Path) -> None:  # type: ignore[no-untyped-def]
    configs = build_configs(registry, ["mean_distance"], [str(csv_dataset)], 1, 0, ["adbench", "pyod"],
                            ["protocol.labeled_anomalies=0.5"], None, {})
    assert {(c.protocol, c.protocol_options["labeled_anomalies"]) for c in configs} == {
        ("adbench", 0.5), ("pyod", 0.5)}
    with pytest.raises(ParameterError, match="'zong2018' does not take option 'labeled_anomalies'"):
        build_configs(registry, ["mean_distance"], [str(csv_dataset)], 1, 0, ["adbench", "zong2018"],
                      ["protocol.labeled_anomalies=0.5"], None, {})


def test_sweep_file_protocol_options(tmp_path: Path, csv_dataset: Path) -> None:
    sweep = tmp_path / "budgets.toml"
    sweep.write_text(textwrap.dedent(f"""
        detectors = ["mean_distance"]
        datasets = ["{csv_dataset}"]
        protocol = "adbench"
        seeds = 1
        [protocol_options]
        labeled_anomalies = [0.0, 0.1, 1.0]
        upsample = false
        [run]
        results = "{tmp_path / 'res'}"
    """))
    result = adb("run", "--config", str(sweep))
    assert result.exit_code == 0, result.output
    for budget in ("0.0", "0.1", "1.0"):
        assert f"adbench[labeled_anomalies={budget},upsample=false]" in result.output
    with Store(tmp_path / "res") as store:
        rows = store.rows()
    assert sorted(r["protocol_options"]["labeled_anomalies"] for r in rows) == [0.0, 0.1, 1.0]
    # the command line wins over the file for the same option, as for detector parameters
    again = adb("run", "--config", str(sweep), "--param", "protocol.labeled_anomalies=0.5")
    assert again.exit_code == 0, again.output
    assert "adbench[labeled_anomalies=0.5,upsample=false]" in again.output
    assert "labeled_anomalies=0.1" not in again.output


@pytest.mark.parametrize(("spec", "message"), [
    ("protocol.budget=0.1", r"unknown option 'budget' of protocol 'adbench'\..* Its options: upsample"),
    ("protocol.labeled_anomalies=2", r"adbench\.labeled_anomalies must be in \[0, 1\], got 2\.0"),
    ("protocol.upsample=maybe", r"adbench\.upsample must be true or false"),
], ids=["unknown", "range", "bool"])
def test_bad_protocol_options_are_usage_errors(csv_dataset: Path, tmp_path: Path, spec: str, message: str) -> None:
    import re

    result = adb("run", "-d", "mean_distance", "-D", str(csv_dataset), "-p", "adbench", "--param", spec,
                 "--results", str(tmp_path / "res"))
    assert result.exit_code == 2, result.output
    assert re.search(message, " ".join(result.output.split())), result.output
    assert not (tmp_path / "res" / "adb.sqlite").exists() or not Store(tmp_path / "res").rows()


def test_list_protocols_shows_the_options() -> None:
    result = adb("list", "protocols")
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[0]: line for line in result.output.splitlines()}
    assert "labeled_anomalies=0.0 (float in [0, 1])" in lines["adbench"]
    assert "anomaly_type=none (none|local|global|dependency|clustered)" in lines["adbench"]
    assert "upsample=true (bool)" in lines["adbench"] and "\tv2\t" in lines["adbench"]
    assert lines["zong2018"].endswith("options: none")


# -- the store ----------------------------------------------------------------------------------------
def test_rows_carry_their_options_and_differ_by_them(csv_dataset: Path, tmp_path: Path) -> None:
    results = tmp_path / "res"
    base = ["run", "-d", "mean_distance", "-D", str(csv_dataset), "-p", "adbench", "-n", "2",
            "--results", str(results)]
    assert adb(*base).exit_code == 0
    result = adb(*base, "--param", "protocol.upsample=false")
    assert result.exit_code == 0, result.output
    assert "adbench[upsample=false]" in result.output
    with Store(results) as store:
        rows = store.rows()
        history = store.rows(history=True)
    assert len(rows) == 4 == len(current_rows(rows))  # two configurations, both count
    assert sorted(str(r["protocol_options"]) for r in rows) == ["{'upsample': False}"] * 2 + ["{}"] * 2
    assert {r["n_train"] for r in rows if r["protocol_options"]} == {140}  # 200 rows, 70 %
    assert {r["n_train"] for r in rows if not r["protocol_options"]} == {700}  # up-sampled to 1,000
    assert all("protocol_options" in h for h in history)
    assert {r["n_labeled"] for r in rows} == {0}


def test_a_store_without_the_column_is_migrated(csv_dataset: Path, tmp_path: Path) -> None:
    results = tmp_path / "res"
    assert adb("run", "-d", "mean_distance", "-D", str(csv_dataset), "-n", "1", "--results",
               str(results)).exit_code == 0
    path = results / "adb.sqlite"
    with sqlite3.connect(path) as conn:  # the store as the version before protocol options wrote it
        for table in ("runs", "attempts"):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN protocol_options")
            conn.execute(f"ALTER TABLE {table} DROP COLUMN n_labeled")
    with Store(results, create=False) as store:  # read-only: not migrated, still readable
        assert [r["protocol_options"] for r in store.rows()] == [{}]
    with Store(results) as store:  # opened for writing: migrated
        assert [r["protocol_options"] for r in store.rows()] == [{}]
    with sqlite3.connect(path) as conn:
        for table in ("runs", "attempts"):
            assert conn.execute(f"SELECT protocol_options FROM {table}").fetchall() == [("{}",)]
    result = adb("run", "-d", "mean_distance", "-D", str(csv_dataset), "-n", "1", "--results",
                 str(results), "-p", "pyod", "--param", "protocol.labeled_anomalies=0.5")
    assert result.exit_code == 0, result.output
    with Store(results) as store:
        assert sorted(str(r["protocol_options"]) for r in store.rows()) == [
            "{'labeled_anomalies': 0.5}", "{}"]


def test_current_rows_keep_configurations_with_different_options_apart() -> None:
    def row(run_id: str, options: dict, status: str = "ok") -> dict:  # type: ignore[type-arg]
        return {"run_id": run_id, "detector": "x", "dataset": "d", "protocol": "adbench", "seed": 0,
                "params": {}, "status": status, "protocol_options": options, "data_sha256": "a",
                "protocol_version": "2", "dataset_options": {}}

    rows = [row("a", {}), row("b", {"labeled_anomalies": 0.1}), row("c", {"labeled_anomalies": 0.1}, "error")]
    assert [r["run_id"] for r in current_rows(rows)] == ["a", "b"]
    later = [row("a", {"labeled_anomalies": 0.1}), row("b", {"labeled_anomalies": 0.1})]
    assert [r["run_id"] for r in current_rows(later)] == ["b"]  # the same configuration measured again
