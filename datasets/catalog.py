"""What the ODDS, ADBench and paper plugins share: a catalog entry and an array-file dataset.

A catalog entry records one published file (its path under the data folder, shape, anomaly
count, sha256 and published mirrors), so that listings need no load and a download is checked
byte for byte.  An :class:`ArrayFileDataset` reads such a ``.mat``/``.npz`` file through
:func:`adbench_dagmm.dataset.find_file` (``--data-dir``, ``$ADB_DATA_DIR``, user cache, the copy
shipped in this package if there is one, then a checksummed download from the canonical address
or a mirror) and keeps every column as published.

Only the DAGMM paper's three small reference files ship in this package (under ``data/``, with
the same relative paths as in a data folder), so that a first run works without a network.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from adbench_dagmm.dataset import BaseDataset, Dataset, DatasetCard, data_dirs, file_sha256, find_file
from adbench_dagmm.errors import DataError, UsageError

from .files import binary_labels, read_arrays


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """One published data file: where it lives, its shape and its checksum."""

    relpath: str  # under the data folder, e.g. "odds/wbc.mat"
    rows: int
    features: int
    anomalies: int
    sha256: str
    #: Other published addresses of the same bytes, tried in order after the card's source_url.
    mirrors: tuple[str, ...] = ()

    @property
    def anomaly_ratio(self) -> float:
        return self.anomalies / self.rows

    def describe(self) -> dict[str, Any]:
        return {"rows": self.rows, "features": self.features, "anomaly_ratio": self.anomaly_ratio}


#: Where this package keeps the files it ships (same relative paths as in a data folder).
SHIPPED_DIR = Path(__file__).with_name("data")


def shipped_copy(relpath: str) -> Path | None:
    """The copy of ``relpath`` shipped in this package, or None when it ships none."""
    path = SHIPPED_DIR / relpath
    return path if path.is_file() else None


def local_status(relpath: str, sha256: str) -> tuple[str, Path | None]:
    """``("present", path)``, ``("corrupt", path)`` or ``("missing", None)``; never downloads.

    The shipped copy counts as present, after the data folders (the order of ``find_file``).
    """
    shipped = shipped_copy(relpath)
    paths = [folder / relpath for _, folder in data_dirs()] + ([shipped] if shipped else [])
    for path in paths:
        if path.is_file():
            try:
                ok = not sha256 or file_sha256(path) == sha256
            except OSError:
                ok = False
            return ("present" if ok else "corrupt"), path
    return "missing", None


class ArrayFileDataset(BaseDataset):
    """Base of registered datasets stored as one ``.mat``/``.npz`` file with ``X`` and ``y``."""

    entry: ClassVar[CatalogEntry]
    card: ClassVar[DatasetCard]
    #: Set on alias classes (``adbench:thyroid``) to the canonical name (``adbench:38_thyroid``).
    alias_of: ClassVar[str | None] = None

    def path(self) -> Path:
        return find_file(self.entry.relpath, self.entry.sha256,
                         (self.card.source_url, *self.entry.mirrors),
                         shipped=shipped_copy(self.entry.relpath))

    def sha256(self) -> str:
        self.path()  # fails clearly when the file is missing or its checksum differs
        return self.entry.sha256

    def is_present(self) -> bool:
        return local_status(self.entry.relpath, self.entry.sha256)[0] == "present"

    def local_status(self) -> str:
        """``present``, ``missing`` or ``corrupt: <path>`` (for ``adb list datasets``)."""
        status, path = local_status(self.entry.relpath, self.entry.sha256)
        return f"corrupt (sha256 mismatch): {path}" if status == "corrupt" else status

    def describe(self) -> dict[str, Any]:
        return self.entry.describe()

    def load(self) -> Dataset:
        path = self.path()
        X, y = read_arrays(path)
        if X.shape != (self.entry.rows, self.entry.features):
            raise DataError(
                f"{path}: X has shape {X.shape}, the catalog says "
                f"({self.entry.rows}, {self.entry.features}); replace the file."
            )
        return Dataset(
            X=np.ascontiguousarray(X, dtype=np.float64),
            y=binary_labels(y, None, str(path)),
            name=self.name,
            card=self.card,
            sha256=self.entry.sha256,
        )


def make_dataset_class(
    name: str, entry: CatalogEntry, card: DatasetCard, doc: str, *, alias_of: str | None = None,
    module: str = __name__,
) -> type[ArrayFileDataset]:
    """A registrable :class:`ArrayFileDataset` subclass for one catalog entry."""
    class_name = "".join(part.capitalize() for part in
                         name.replace(":", "_").replace(".", "_").replace("-", "_").split("_"))
    return type(f"{class_name}Dataset", (ArrayFileDataset,), {
        "__doc__": doc, "__module__": module, "name": name, "entry": entry, "card": card,
        "alias_of": alias_of,
    })


def present_members(classes: list[type[ArrayFileDataset]], suite: str, source: str):  # type: ignore[no-untyped-def]
    """A suite's ``members`` callable: the canonical datasets whose files are present locally."""

    def members() -> list[str]:
        names = [cls.name for cls in classes if cls.alias_of is None and cls().is_present()]
        if not names:
            folders = "; ".join(f"{p} ({why})" for why, p in data_dirs())
            raise UsageError(
                f"suite:{suite} holds the {source} datasets present locally, and none is present "
                f"(looked in: {folders}). Put the files under <folder>/{source.lower()}/ and pass "
                "--data-dir <folder>, or name single datasets to download them."
            )
        return names

    return members
