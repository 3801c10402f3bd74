"""Published reference results: the type, its registration, `adb list references`, and the DAGMM
plugin's tables checked against independent copies of the papers' tables."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adbench_dagmm import PublishedValue, ReferenceSet
from adbench_dagmm.cli import app
from adbench_dagmm.errors import PluginError
from adbench_dagmm.registry import build_registry
from adb_plugins.dagmm import references

from conftest import PLUGINS_DIR, missing_data

#: Tables transcribed from the papers, kept outside this repository (../shared/references).
SHARED_REFERENCES = Path(__file__).resolve().parents[2] / "shared" / "references"


def shared_table(name: str) -> list[dict[str, str]]:
    path = SHARED_REFERENCES / name
    if not path.is_file():
        missing_data(f"{path} not found")
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_table2_matches_the_shared_copy_of_the_paper() -> None:
    shared = {(r["method"], r["dataset"]): (float(r["precision"]), float(r["recall"]), float(r["f1"]))
              for r in shared_table("dagmm_iclr2018_table2.csv")}
    ours = {(m, d): (p, r, f1) for m, d, p, r, f1 in references.TABLE2}
    assert ours == shared
    table = references.zong2018_table2()
    assert len(table.values) == 48 and table.metrics == ["precision", "recall", "f1"]
    assert all(v.n_runs == 20 for v in table.values)


def test_goad_table3_matches_the_shared_copy_of_the_paper() -> None:
    shared = {(r["method"], r["dataset"]): (float(r["f1_pct"]) / 100,
                                            float(r["std_pct"]) / 100 if r["std_pct"] else None)
              for r in shared_table("goad_iclr2020_table3.csv")}
    table = references.goad2020_table3()
    ours = {(v.method, v.dataset): (v.metrics["f1"], v.std.get("f1")) for v in table.values}
    assert ours.keys() == shared.keys()
    for key, (f1, std) in shared.items():
        assert ours[key][0] == pytest.approx(f1), key
        assert ours[key][1] is None if std is None else ours[key][1] == pytest.approx(std), key


def test_every_matched_name_is_registered() -> None:
    """The tables' detector and dataset mappings name real registrations (or they never match)."""
    registry = build_registry(load_entrypoints=False)
    for name in ("zong2018_table2", "goad2020_table3"):
        table = registry.get("reference", name).cls
        assert set(table.detectors.values()) <= set(registry.names("detector")), name
        assert set(table.datasets.values()) <= set(registry.names("dataset")), name
        assert table.protocol in registry.names("protocol")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"values": ()}, "has no values"),
    ({"values": (PublishedValue("A", "D", {"auc": 0.5}),)}, r"unknown metric\(s\) auc"),
    ({"values": (PublishedValue("A", "D", {"f1": 93.7}),)}, r"f1 must be a finite fraction in \[0, 1\] \(convert percentages\)"),
    ({"values": (PublishedValue("A", "D", {"recall": 0.5}),)}, "no value publishes the verdict metric 'f1'"),
], ids=["empty", "metric", "percent", "verdict-metric"])
def test_bad_reference_sets_are_refused(kwargs, message) -> None:  # type: ignore[no-untyped-def]
    base = dict(name="x", citation="c", protocol="zong2018", values=(PublishedValue("A", "D", {"f1": 0.5}),),
                detectors={}, datasets={})
    with pytest.raises(PluginError, match=message):
        ReferenceSet(**{**base, **kwargs})


def test_registering_something_else_is_a_plugin_error(tmp_path: Path) -> None:
    (tmp_path / "badref.py").write_text(textwrap.dedent('''
        from adbench_dagmm import hookimpl
        @hookimpl
        def adb_register_references(register):
            register({"name": "table1"})
    '''))
    with pytest.raises(PluginError, match=r"'badref' registered .* as a reference, which needs an adbench_dagmm ReferenceSet"):
        build_registry(load_entrypoints=False, plugins_dir=tmp_path)


def test_duplicate_reference_names_both_plugins(tmp_path: Path) -> None:
    source = (PLUGINS_DIR / "published.py").read_text()
    (tmp_path / "one.py").write_text(source)
    (tmp_path / "two.py").write_text(source)
    with pytest.raises(PluginError, match=r"reference 'toy2026_table1' registered by both 'one' and 'two'"):
        build_registry(load_entrypoints=False, plugins_dir=tmp_path)


def test_list_references() -> None:
    result = CliRunner().invoke(app, ["--plugins-dir", str(PLUGINS_DIR), "list", "references"])
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[0]: line.split("\t") for line in result.output.splitlines()}
    assert set(lines) == {"goad2020_table3", "toy2026_table1", "zong2018_table2"}
    zong = lines["zong2018_table2"]
    assert zong[1:4] == ["protocol=zong2018", "metrics=precision,recall,f1", "values=48 (12 methods)"]
    assert "DAGMM=dagmm" in zong[4] and "OC-SVM=ocsvm" in zong[4] and "KDDCUP-Rev=kddcup99_rev" in zong[4]
    assert zong[5].startswith("Zong et al.") and zong[6] == "[adb_plugins.dagmm]"
    assert lines["toy2026_table1"][-1] == "[published]"
