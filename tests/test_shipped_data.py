"""The DAGMM paper's three reference files ship with the package: lookup order and checksums.

A fresh machine with no data folder and no network can run the paper's datasets, because
``adb_datasets`` carries byte-identical copies of the KDD Cup 99 10 % file, ADBench's
38_thyroid.npz and ODDS' arrhythmia.mat.  A data folder still wins over the shipped copy, the
shipped copy wins over any download, and each shipped file is checked against its sha256.
"""

from __future__ import annotations

import hashlib
import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adb_datasets import adbench, catalog, kddcup99, odds
from adbench_dagmm.cli import app
from adbench_dagmm.dataset import DATA_DIR_ENV
from adbench_dagmm.errors import DataError
from adbench_dagmm.registry import build_registry

from conftest import require_data

ROOT = Path(__file__).resolve().parents[1]
#: relpath -> sha256, from the dataset plugins' own catalogs (not from the shipped files).
SHIPPED = {
    kddcup99.KDDCup99Dataset.filename: kddcup99.CARD.sha256,
    adbench.entry("38_thyroid").relpath: adbench.entry("38_thyroid").sha256,
    odds.entry("arrhythmia").relpath: odds.entry("arrhythmia").sha256,
}


@pytest.mark.parametrize("relpath", sorted(SHIPPED), ids=lambda p: Path(p).name)
def test_shipped_file_is_byte_identical_to_the_catalogued_one(relpath: str) -> None:
    path = catalog.shipped_copy(relpath)
    assert path is not None, f"{relpath} is not shipped in {catalog.SHIPPED_DIR}"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHIPPED[relpath]


def test_exactly_the_three_paper_files_ship_and_are_package_data() -> None:
    shipped = sorted(str(p.relative_to(catalog.SHIPPED_DIR)) for p in catalog.SHIPPED_DIR.rglob("*")
                     if p.is_file())
    assert shipped == sorted(SHIPPED)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"]["package-data"]["adb_datasets"]
    assert sorted(package_data) == sorted(f"data/{p}" for p in SHIPPED)
    assert sum(catalog.SHIPPED_DIR.joinpath(p).stat().st_size for p in SHIPPED) < 3_000_000


def test_paper_suite_runs_offline_from_the_shipped_files(tmp_path: Path) -> None:
    """No data folder, ADB_OFFLINE=1 (conftest), an empty cache: the paper's datasets load."""
    registry = build_registry(load_entrypoints=False)
    for name in ("kddcup99", "kddcup99_rev", "thyroid", "arrhythmia"):
        assert registry.dataset(name)().is_present(), name
    result = CliRunner().invoke(app, [
        "run", "--detector", "iforest", "--dataset", "thyroid", "--dataset", "arrhythmia",
        "--seeds", "1", "--param", "iforest.n_estimators=10", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("1/1") == 2


def test_a_data_folder_wins_over_the_shipped_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    relpath = odds.entry("arrhythmia").relpath
    local = tmp_path / relpath
    local.parent.mkdir(parents=True)
    shutil.copy(catalog.shipped_copy(relpath), local)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    cls = build_registry(load_entrypoints=False).dataset("arrhythmia")
    assert cls().path() == local


def test_the_shipped_copy_wins_over_a_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import pooch

    def no_download(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("downloaded although the package ships the file")

    monkeypatch.delenv("ADB_OFFLINE")
    monkeypatch.setattr(pooch, "retrieve", no_download)
    path = build_registry(load_entrypoints=False).dataset("thyroid")().path()
    assert path == catalog.shipped_copy(adbench.entry("38_thyroid").relpath)


def test_a_damaged_shipped_copy_is_a_checksum_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    relpath = adbench.entry("38_thyroid").relpath
    fake = tmp_path / "shipped"
    (fake / relpath).parent.mkdir(parents=True)
    (fake / relpath).write_bytes(b"not the ADBench file")
    monkeypatch.setattr(catalog, "SHIPPED_DIR", fake)
    with pytest.raises(DataError, match=r"38_thyroid.npz: sha256 mismatch"):
        build_registry(load_entrypoints=False).dataset("thyroid")().load()


def test_a_mirror_is_tried_after_the_canonical_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       no_shipped_data: None, data_dir: Path) -> None:
    """The canonical download fails; the mirror's bytes are checked and used."""
    import pooch

    source = require_data(data_dir, "odds/wbc.mat")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.delenv("ADB_OFFLINE")
    monkeypatch.setenv("ADB_CACHE_DIR", str(tmp_path / "cache"))
    tried = []

    def fake_retrieve(url, *, known_hash, fname, path, progressbar):  # type: ignore[no-untyped-def]
        tried.append(url)
        if "cdn.jsdelivr.net" not in url:
            raise ConnectionError("canonical host unreachable")
        assert known_hash == f"sha256:{odds.entry('wbc').sha256}"
        target = Path(path) / fname
        shutil.copy(source, target)
        return str(target)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    dataset = build_registry(load_entrypoints=False).dataset("odds:wbc")().load()
    assert dataset.X.shape == (378, 30)
    assert tried == [odds.URL.format(stem="wbc"), odds.MIRROR.format(stem="wbc")]
