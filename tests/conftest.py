"""Shared fixtures: a clean ``ADB_*`` environment, no network, a session cache, real-data access.

Every test runs with the ``ADB_*`` variables cleared, ``ADB_OFFLINE=1`` (nothing is ever
downloaded) and ``ADB_CACHE_DIR`` pointing at a per-session folder.  Tests that need the real
data files take the ``data_dir`` fixture (or ``require_data``), which uses the folder named by
``ADB_DATA_DIR`` when pytest started (CI sets it to ../shared/data), and otherwise skips loudly
— or fails under ``CI=true``, where missing data is a broken setup, not a reason to pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

PLUGINS_DIR = Path(__file__).resolve().parent / "plugins"
REAL_DATA_DIR = os.environ.get("ADB_DATA_DIR") or str(Path(__file__).resolve().parents[2] / "shared" / "data")
KDD_FILE = "kddcup99/kddcup.data_10_percent.gz"


def pytest_configure(config: pytest.Config) -> None:
    """Make the fixture plugins importable (``from mean_distance import MeanDistance``), for
    one-off plugins derived from them; spawned worker processes inherit ``sys.path``."""
    import sys

    if str(PLUGINS_DIR) not in sys.path:
        sys.path.insert(0, str(PLUGINS_DIR))


def missing_data(reason: str) -> None:
    """Skip with a loud reason, or fail when running under CI."""
    message = f"REAL DATA MISSING: {reason} (set ADB_DATA_DIR to the folder of ../shared/data)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("adb-cache")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, session_cache: Path) -> None:
    for key in list(os.environ):
        if key.startswith("ADB_") or key in ("COLUMNS", "LINES"):  # the terminal's width too
            monkeypatch.delenv(key)
    monkeypatch.setenv("ADB_OFFLINE", "1")
    monkeypatch.setenv("ADB_CACHE_DIR", str(session_cache))


@pytest.fixture
def no_shipped_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hide the data files the package ships, to test what a missing file does."""
    from adb_datasets import catalog

    monkeypatch.setattr(catalog, "SHIPPED_DIR", tmp_path / "nothing-shipped")


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real data folder, exported as ADB_DATA_DIR (skips/fails when absent)."""
    folder = Path(REAL_DATA_DIR)
    if not folder.is_dir():
        missing_data(f"{folder} does not exist")
    monkeypatch.setenv("ADB_DATA_DIR", str(folder))
    return folder


def require_data(folder: Path, relpath: str) -> Path:
    path = folder / relpath
    if not path.is_file():
        missing_data(f"{path} not found")
    return path


@pytest.fixture
def kdd_path(data_dir: Path) -> Path:
    return require_data(data_dir, KDD_FILE)


@pytest.fixture
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Seeded Gaussian inliers plus uniform outliers: (X, y) with y = 1 for the 20 outliers."""
    rng = np.random.default_rng(0)
    inliers = rng.normal(0.0, 1.0, size=(180, 5))
    outliers = rng.uniform(-8.0, 8.0, size=(20, 5))
    outliers[np.abs(outliers).max(axis=1) < 4, 0] = 7.5  # make sure each one is far out
    X = np.vstack([inliers, outliers])
    y = np.r_[np.zeros(180, dtype=np.int64), np.ones(20, dtype=np.int64)]
    return X, y


@pytest.fixture
def csv_dataset(tmp_path: Path, blobs) -> Path:  # type: ignore[no-untyped-def]
    """A small CSV dataset file (features x0..x4 and a 0/1 label column)."""
    import pandas as pd

    X, y = blobs
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["label"] = y
    path = tmp_path / "blobs.csv"
    frame.to_csv(path, index=False)
    return path


def chromium_path(what: str) -> str:
    """Debian's Chromium for a browser check of ``what``, or a loud skip (a failure under CI,
    which installs it in .ci/run)."""
    import shutil

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path, why = None, "the playwright package is not installed (pip install -e '.[test]')"
    else:
        why = "no chromium on PATH (apt-get install -y chromium)"
    if path is None:
        message = f"BROWSER CHECK OF {what} NOT RUN: {why}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path

