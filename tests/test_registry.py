"""The plugin registry: built-ins, entry points, one-file plugins, duplicates, broken plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.errors import PluginError, UsageError
from adbench_dagmm.registry import build_registry, builtin_modules

PLUGIN_SOURCE = '''
from adbench_dagmm import hookimpl
from mean_distance import MeanDistance  # tests/plugins, on sys.path (conftest)

__version__ = "{version}"

class {cls}(MeanDistance):
    """A test detector: distance to the training mean."""
    name = "{name}"

@hookimpl
def adb_register_detectors(register):
    register({cls})
'''


def write_plugin(folder: Path, stem: str, name: str, version: str = "1.0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.py"
    cls = "".join(part.title() for part in name.split("_")) + "Detector"
    path.write_text(PLUGIN_SOURCE.format(name=name, cls=cls, version=version))
    return path


def install_distribution(site: Path, dist: str, module: str, name: str) -> None:
    """A real (tiny) installed distribution with an ``adbench_dagmm`` entry point.

    It is laid out exactly as pip lays out a wheel (module + ``.dist-info`` with METADATA and
    entry_points.txt) in a folder on ``sys.path``, so discovery goes through importlib.metadata.
    """
    write_plugin(site, module, name, version="0.3.1")
    info = site / f"{dist.replace('-', '_')}-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text(f"[adbench_dagmm]\n{dist} = {module}\n")
    (info / "RECORD").write_text("")


def test_builtins_register_through_hooks() -> None:
    registry = build_registry(load_entrypoints=False)
    assert {"zong2018", "pyod", "adbench"} <= set(registry.names("protocol"))
    assert "iforest" in registry.names("detector")
    assert "kddcup99" in registry.names("dataset")
    by_name = {p.name: p for p in registry.plugins}
    assert set(builtin_modules()) <= set(by_name)
    assert by_name["adb_datasets.kddcup99"].registered["dataset"] == ["kddcup99"]
    assert registry.get("detector", "iforest").plugin == "adb_plugins.pyod_baselines"


def test_entry_point_distribution_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_distribution(tmp_path, "adb-mean", "adb_mean_plugin", "mean_distance")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = build_registry()
    entry = registry.get("detector", "mean_distance")
    assert entry.plugin == "adb-mean"
    info = next(p for p in registry.plugins if p.name == "adb-mean")
    assert info.version == "0.3.1" and info.source == "entry point of adb-mean"
    assert info.registered == {"detector": ["mean_distance"]}
    # and it can be switched off
    monkeypatch.setenv("ADB_DISABLE_PLUGINS", "adb-mean")
    assert "mean_distance" not in build_registry().names("detector")


def test_one_file_plugin_from_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_plugin(tmp_path / "plugs", "my_plugin", "my_det", version="2.5")
    registry = build_registry(load_entrypoints=False, plugins_dir=tmp_path / "plugs")
    assert "my_det" in registry.names("detector")
    assert next(p for p in registry.plugins if p.name == "my_plugin").version == "2.5"
    monkeypatch.setenv("ADB_PLUGINS_DIR", str(tmp_path / "plugs"))
    result = CliRunner().invoke(app, ["list", "detectors"])
    assert result.exit_code == 0, result.output
    assert any(line.startswith("my_det\t") for line in result.output.splitlines())


def test_duplicate_name_names_both_plugins(tmp_path: Path) -> None:
    write_plugin(tmp_path, "shadow", "iforest")
    with pytest.raises(PluginError, match=r"detector 'iforest' registered by both 'adb_plugins.pyod_baselines' and 'shadow'"):
        build_registry(load_entrypoints=False, plugins_dir=tmp_path)


def test_broken_plugin_is_listed_unavailable(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import numpy\nimport no_such_module_xyz\n")
    write_plugin(tmp_path, "good", "good_det")
    registry = build_registry(load_entrypoints=False, plugins_dir=tmp_path)
    broken = next(p for p in registry.plugins if p.name == "broken")
    assert not broken.available
    assert "ModuleNotFoundError" in broken.error and "no_such_module_xyz" in broken.error
    assert "good_det" in registry.names("detector")  # the rest works
    result = CliRunner().invoke(app, ["--plugins-dir", str(tmp_path), "plugins"])
    assert result.exit_code == 0, result.output
    assert "broken" in result.output and "unavailable" in result.output
    assert "good_det" in result.output


def test_plugin_whose_hook_raises_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "hookfail.py").write_text(textwrap.dedent('''
        from adbench_dagmm import hookimpl
        @hookimpl
        def adb_register_detectors(register):
            raise RuntimeError("boom in hook")
    '''))
    registry = build_registry(load_entrypoints=False, plugins_dir=tmp_path)
    info = next(p for p in registry.plugins if p.name == "hookfail")
    assert "boom in hook" in info.error
    assert "iforest" in registry.names("detector")


def test_invalid_registration_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "badname.py").write_text(textwrap.dedent('''
        from adbench_dagmm import BaseDetector, hookimpl
        class Bad(BaseDetector):
            name = "Bad Name"
        @hookimpl
        def adb_register_detectors(register):
            register(Bad)
    '''))
    with pytest.raises(PluginError, match=r"'badname' registered .* as a detector"):
        build_registry(load_entrypoints=False, plugins_dir=tmp_path)


def test_unknown_name_suggests_closest() -> None:
    registry = build_registry(load_entrypoints=False)
    with pytest.raises(UsageError, match=r"unknown detector 'iforets'\. Did you mean: iforest\?"):
        registry.get("detector", "iforets")


def test_missing_plugins_dir_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--plugins-dir", str(tmp_path / "nope"), "plugins"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_plugins_command_lists_versions() -> None:
    result = CliRunner().invoke(app, ["plugins"])
    assert result.exit_code == 0, result.output
    for name in ("adb_plugins.pyod_baselines", "adb_datasets.kddcup99", "zong2018", "kddcup99"):
        assert name.split(".")[-1][:10] in result.output


def test_suites_and_aliases_expand() -> None:
    registry = build_registry(load_entrypoints=False)
    assert registry.expand("dataset", ["adbench:thyroid", "adbench:38_thyroid"]) == ["adbench:38_thyroid"]
    assert registry.expand("dataset", ["suite:dagmm-paper"]) == ["kddcup99", "thyroid", "arrhythmia", "kddcup99_rev"]
    with pytest.raises(UsageError, match=r"unknown dataset suite 'suite:nope'; known: .*suite:dagmm-paper"):
        registry.expand("dataset", ["suite:nope"])


def test_file_datasets_come_from_a_resolver_plugin(csv_dataset: Path) -> None:
    registry = build_registry(load_entrypoints=False)
    info = next(p for p in registry.plugins if p.name == "adb_datasets.files")
    assert info.hooks == ["adb_resolve_dataset"] and info.registered == {}
    assert type(registry.make_dataset(str(csv_dataset))).__name__ == "FileDataset"
    with pytest.raises(UsageError, match=r"unknown dataset 'kdcup99'\. Did you mean: kddcup99"):
        registry.make_dataset("kdcup99")


def test_a_blocked_resolver_leaves_paths_unresolved(csv_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADB_DISABLE_PLUGINS", "adb_datasets.files")
    registry = build_registry(load_entrypoints=False)
    with pytest.raises(UsageError, match="unknown dataset"):
        registry.make_dataset(str(csv_dataset))


def test_a_file_plugin_named_like_an_installed_one_loads_next_to_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_distribution(tmp_path / "site", "twin", "twin", "twin_installed")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    path = write_plugin(tmp_path / "plugs", "twin", "twin_file")
    registry = build_registry(plugins_dir=tmp_path / "plugs")
    assert {"twin_installed", "twin_file"} <= set(registry.names("detector"))
    by_name = {p.name: p for p in registry.plugins}
    assert by_name["twin"].available and by_name["file:twin"].available, by_name
    assert registry.get("detector", "twin_file").plugin == "file:twin"
    import hashlib

    assert by_name["file:twin"].identity == f"1.0 sha256:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
    assert by_name["twin"].identity == "0.3.1"


def test_registered_dataset_refuses_options_it_does_not_take() -> None:
    """Options a registered dataset's constructor does not take are an error, not dropped."""
    registry = build_registry(load_entrypoints=False)
    assert registry.make_dataset("kddcup99", {}).name == "kddcup99"
    with pytest.raises(UsageError, match=r"dataset 'kddcup99' does not take the option\(s\) "
                                         r"label_column \(it takes: .*\); leave them out"):
        registry.make_dataset("kddcup99", {"label_column": "y"})
