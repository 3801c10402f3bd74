"""Registered datasets: the paper's four, the ODDS and ADBench collections, suites and listing."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.dataset import DATA_DIR_ENV
from adbench_dagmm.errors import DataError, UsageError
from adbench_dagmm.registry import build_registry
from adb_datasets import adbench, kddcup99_rev, odds, paper
from adb_datasets.catalog import ArrayFileDataset

from conftest import KDD_FILE, missing_data, require_data


@pytest.fixture(scope="module")
def registry():  # type: ignore[no-untyped-def]
    return build_registry(load_entrypoints=False)


def collection_classes(registry) -> list[type[ArrayFileDataset]]:  # type: ignore[no-untyped-def]
    """Every registered ODDS/ADBench/paper dataset stored as one array file, aliases excluded."""
    out = []
    for name in registry.names("dataset"):
        cls = registry.dataset(name)
        if issubclass(cls, ArrayFileDataset) and cls.alias_of is None:
            out.append(cls)
    return out


def list_datasets() -> str:
    result = CliRunner().invoke(app, ["list", "datasets"])
    assert result.exit_code == 0, result.output
    return result.output


# -- naming and cards (no data needed) ------------------------------------------------------------
def test_collection_names_follow_the_naming_rule(registry) -> None:  # type: ignore[no-untyped-def]
    names = set(registry.names("dataset"))
    assert {f"odds:{stem}" for stem in odds.CATALOG} <= names
    assert {f"adbench:{stem.lower()}" for stem in adbench.CATALOG} <= names
    assert {"kddcup99", "kddcup99_rev", "thyroid", "arrhythmia"} <= names
    assert "adbench:38_thyroid" in names and "adbench:22_magic.gamma" in names
    for stem in adbench.CATALOG:
        alias = registry.dataset(adbench.alias_name(stem))
        assert alias.alias_of == adbench.dataset_name(stem)
        assert alias.entry == registry.dataset(adbench.dataset_name(stem)).entry
    assert registry.dataset("adbench:thyroid").alias_of == "adbench:38_thyroid"


def test_every_card_names_source_checksum_and_anomalies(registry) -> None:  # type: ignore[no-untyped-def]
    protocols = set(registry.names("protocol"))
    for name in registry.names("dataset"):
        card = registry.dataset(name).card
        assert re.fullmatch(r"[0-9a-f]{64}", card.sha256), name
        assert card.source_url.startswith(("https://", "http://")), name
        assert card.anomaly_definition and card.citation, name
        assert card.default_protocol in protocols, name
        info = registry.dataset(name)().describe()
        assert info["rows"] > 0 and info["features"] > 0 and 0 < info["anomaly_ratio"] < 1, name


PAPER_CARDS = [("kddcup99", "kddcup"), ("thyroid", "thyroid"), ("arrhythmia", "arrhythmia"),
               ("kddcup99_rev", "kddcup_rev")]


@pytest.mark.parametrize(("name", "preset"), PAPER_CARDS, ids=[n for n, _ in PAPER_CARDS])
def test_paper_dataset_cards(registry, name, preset) -> None:  # type: ignore[no-untyped-def]
    cls = registry.dataset(name)
    assert cls.card.detector_params == {"dagmm": {"preset": preset}}
    assert cls.card.default_protocol == "zong2018"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, _ in PAPER_CARDS])
def test_listed_sizes_match_the_file(registry, data_dir, name) -> None:  # type: ignore[no-untyped-def]
    """``describe()`` (what `adb list datasets` shows without loading) against a real load."""
    dataset = registry.dataset(name)
    if dataset().is_present() is False:
        missing_data(f"the data file of {name} is not in {data_dir}")
    info = dataset().describe()
    loaded = dataset().load()
    y = np.asarray(loaded.y)
    sub = loaded.class_subsample
    if sub is not None:  # describe() tells what a run sees: the rows after the per-seed draw
        y = y[sub.rows(y, seed=0)]
    assert (info["rows"], info["features"]) == (y.size, loaded.n_features)
    assert info["anomaly_ratio"] == pytest.approx(y.mean(), abs=5e-5)


def test_dagmm_paper_suite_is_the_four_in_table_order(registry) -> None:  # type: ignore[no-untyped-def]
    assert registry.expand("dataset", ["suite:dagmm-paper"]) == [
        "kddcup99", "thyroid", "arrhythmia", "kddcup99_rev"]
    assert paper.PAPER_DATASETS == ("kddcup99", "thyroid", "arrhythmia", "kddcup99_rev")


# -- suites and presence (temporary data folders, no real data) ----------------------------------
def test_collection_suites_hold_only_present_files(registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_shipped_data: None) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(UsageError, match=r"suite:odds holds the ODDS datasets present locally, and none is present"):
        registry.expand("dataset", ["suite:odds"])
    with pytest.raises(UsageError, match=r"suite:adbench .* none is present"):
        registry.expand("dataset", ["suite:adbench"])
    # a file with the wrong bytes does not count as present
    (tmp_path / "odds").mkdir()
    (tmp_path / "odds" / "wbc.mat").write_bytes(b"not the ODDS file")
    with pytest.raises(UsageError, match="none is present"):
        registry.expand("dataset", ["suite:odds"])
    assert registry.dataset("odds:wbc")().local_status().startswith("corrupt (sha256 mismatch)")


def test_missing_registered_file_says_where_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_shipped_data: None) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    cls = build_registry(load_entrypoints=False).dataset("adbench:thyroid")
    assert cls().is_present() is False
    with pytest.raises(DataError, match=r"'adbench/38_thyroid.npz' not found; looked in: .*"
                                        r"https://github.com/Minqi824/ADBench/raw/main/adbench/datasets/Classical/38_thyroid.npz"):
        cls().load()


def test_list_datasets_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_shipped_data: None) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    monkeypatch.delenv("ADB_OFFLINE")
    output = list_datasets()
    lines = {line.split("\t")[0]: line.split("\t") for line in output.splitlines()}
    assert lines["thyroid"] == [
        "thyroid", "rows=3772", "features=6", "anomalies=0.0247",
        "source=https://github.com/Minqi824/ADBench/raw/main/adbench/datasets/Classical/38_thyroid.npz",
        "missing",
    ]
    assert lines["adbench:38_thyroid"][-1] == "alias=adbench:thyroid"
    assert "adbench:thyroid" not in lines  # aliases are shown on their dataset's line
    assert lines["suite:odds"][1] == "0 datasets (no file present)"
    assert lines["suite:dagmm-paper"][1] == "4 datasets: kddcup99, thyroid, arrhythmia, kddcup99_rev"
    names = [n for n in lines if n.startswith("adbench:")]
    assert names.index("adbench:2_annthyroid") < names.index("adbench:10_cover")  # natural order
    assert "ADB_OFFLINE" not in os.environ  # listing forces offline only while it runs


# -- real data ---------------------------------------------------------------------------------------
def test_catalog_checksums_match_the_shared_sums(data_dir: Path) -> None:
    sums_file = require_data(data_dir, "SHA256SUMS")
    sums = {rel: digest for digest, rel in (line.split() for line in sums_file.read_text().splitlines() if line)}
    for stem, (*_, sha256, _) in odds.CATALOG.items():
        assert sums[f"odds/{stem}.mat"] == sha256, stem
    for stem, (*_, sha256) in adbench.CATALOG.items():
        assert sums[f"adbench/{stem}.npz"] == sha256, stem


def test_every_collection_file_loads_as_its_card_says(registry, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    classes = collection_classes(registry)
    assert len(classes) == len(odds.CATALOG) + len(adbench.CATALOG) + 2
    for cls in classes:
        require_data(data_dir, cls.entry.relpath)
        dataset = cls().load().validate()
        info = cls().describe()
        assert dataset.X.dtype == np.float64 and dataset.name == cls.name
        assert (dataset.n_samples, dataset.n_features) == (info["rows"], info["features"]), cls.name
        assert int(dataset.y.sum()) == cls.entry.anomalies, cls.name
        assert dataset.sha256 == cls.entry.sha256 and dataset.card is cls.card


def test_paper_thyroid_and_arrhythmia(registry, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    require_data(data_dir, "adbench/38_thyroid.npz")
    require_data(data_dir, "odds/arrhythmia.mat")
    thyroid = registry.dataset("thyroid")().load()
    assert thyroid.X.shape == (3772, 6) and int(thyroid.y.sum()) == 93
    same = registry.dataset("adbench:thyroid")().load()
    np.testing.assert_array_equal(thyroid.X, same.X)
    arrhythmia = registry.dataset("arrhythmia")().load()
    assert arrhythmia.X.shape == (452, 274) and int(arrhythmia.y.sum()) == 66
    np.testing.assert_array_equal(arrhythmia.X, registry.dataset("odds:arrhythmia")().load().X)


def test_collection_suites_with_the_real_folder(registry, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    odds_members = registry.expand("dataset", ["suite:odds"])
    assert odds_members == [f"odds:{s}" for s in odds.CATALOG if (data_dir / f"odds/{s}.mat").is_file()]
    assert len(registry.expand("dataset", ["suite:adbench"])) == sum(
        (data_dir / f"adbench/{s}.npz").is_file() for s in adbench.CATALOG)


def test_one_copied_file_makes_a_one_member_suite(registry, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_shipped_data: None) -> None:  # type: ignore[no-untyped-def]
    source = require_data(data_dir, "odds/wbc.mat")
    (tmp_path / "odds").mkdir()
    shutil.copy(source, tmp_path / "odds" / "wbc.mat")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert registry.expand("dataset", ["suite:odds"]) == ["odds:wbc"]


def test_list_datasets_with_the_real_folder(data_dir: Path) -> None:
    require_data(data_dir, "adbench/38_thyroid.npz")
    lines = {line.split("\t")[0]: line.split("\t") for line in list_datasets().splitlines()}
    assert lines["thyroid"][-1] == "present"
    assert lines["odds:wbc"][1:4] == ["rows=378", "features=30", "anomalies=0.0556"]
    assert lines["suite:odds"][1] == f"{len(odds.CATALOG)} datasets"
