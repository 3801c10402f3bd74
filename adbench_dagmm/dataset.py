"""The dataset contract, data-file resolution and the parsed-dataset cache.

A dataset plugin's ``load()`` reads, parses and encodes; it never splits, scales or seeds (the
protocol does that with training-row statistics).  Files are found in this order:
``--data-dir``, ``$ADB_DATA_DIR``, the per-user cache folder, a copy shipped with the plugin's
package, then a checksummed download from the canonical URL or a published mirror.  Parsed
arrays are cached under the source file's sha256, so the second load of a big file is a memory
map, not a parse.

Why one module of about 450 lines: the dataset contract, the file lookup chain and the parsed
cache are the one surface dataset plugins import; splitting them would make plugins import three.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import mmap
import os
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Sequence

import numpy as np

from .errors import DataError

#: The environment variable that points at a folder of data files (e.g. ../shared/data).
DATA_DIR_ENV = "ADB_DATA_DIR"
#: Overrides the per-user cache folder (downloads and parsed datasets).
CACHE_DIR_ENV = "ADB_CACHE_DIR"
#: When set to 1, never download; a missing file is an error.
OFFLINE_ENV = "ADB_OFFLINE"

#: The ``--data-dir`` folder of the run being executed (set by :func:`use_data_dir`, i.e. by a
#: :class:`~adbench_dagmm.context.RunContext`).  A context variable, not a module global: it is
#: set only for the duration of a ``with`` block, per thread, so two contexts with different
#: data folders can run in one process and nothing outlives the run.
_data_dir_var: contextvars.ContextVar[Path | None] = contextvars.ContextVar("adb_data_dir", default=None)


@dataclasses.dataclass(frozen=True)
class DatasetCard:
    """What a dataset is and where it comes from."""

    name: str
    description: str = ""
    source_url: str = ""
    sha256: str = ""
    citation: str = ""
    anomaly_definition: str = ""
    default_protocol: str = "zong2018"
    #: Detector parameters this dataset recommends, e.g. ``{"dagmm": {"preset": "kddcup"}}``;
    #: applied by the runner unless the user sets the same parameter.
    detector_params: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ClassSubsample:
    """A per-seed random subsample of one class, which the protocol draws before it splits.

    A dataset whose published protocol redraws part of one class in every run (KDDCUP-Rev keeps
    all normal rows and a fresh 20 % of attack rows per run) declares it on its ``Dataset`` value
    instead of drawing once in ``load()``, which never sees the run seed.
    """

    label: int  #: the class (0 or 1) whose rows are subsampled
    size: int  #: how many rows of that class are kept; every row of the other class stays

    def rows(self, y: np.ndarray, seed: int) -> np.ndarray:
        """Sorted indices of the rows kept for run seed ``seed``.

        The kept rows of the class are the first ``size`` of ``np.random.default_rng([seed, 1])``'s
        permutation of that class's rows (in dataset order): a stream of its own, so the split,
        drawn from ``default_rng(seed)``, stays independent of it.
        """
        y = np.asarray(y)
        members = np.flatnonzero(y == self.label)
        if not 0 < self.size <= members.size:
            raise DataError(
                f"class subsample: {self.size} rows of class {self.label} requested, the dataset "
                f"has {members.size}."
            )
        take = members[np.random.default_rng([seed, 1]).permutation(members.size)[: self.size]]
        return np.sort(np.concatenate([np.flatnonzero(y != self.label), take]))


@dataclasses.dataclass
class Dataset:
    """A loaded dataset: features, labels (1 = anomaly) and what each column is."""

    X: np.ndarray
    y: np.ndarray
    name: str
    feature_names: list[str] = dataclasses.field(default_factory=list)
    categorical: np.ndarray | None = None  # bool mask over columns; None = all continuous
    card: DatasetCard | None = None
    sha256: str = ""
    notes: list[str] = dataclasses.field(default_factory=list)
    #: A per-seed subsample of one class that the protocol draws before splitting (None: all rows).
    class_subsample: ClassSubsample | None = None

    def __post_init__(self) -> None:
        if not self.feature_names:
            self.feature_names = [f"x{i}" for i in range(self.X.shape[1] if self.X.ndim == 2 else 0)]
        if self.categorical is None and self.X.ndim == 2:
            self.categorical = np.zeros(self.X.shape[1], dtype=bool)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def anomaly_ratio(self) -> float:
        return float(np.mean(self.y)) if len(self.y) else float("nan")

    @property
    def continuous(self) -> np.ndarray:
        return ~np.asarray(self.categorical, dtype=bool)

    def take(self, rows: np.ndarray, *, block: int = 32768) -> np.ndarray:
        """A copy of ``X[rows]`` (``rows`` sorted), gathered block by block.

        For a memory-mapped ``X`` the pages of each block are released once copied (see
        :meth:`release_pages`), so a split of KDD99 never holds the whole dataset (233 MB) and
        its copy at once.
        """
        rows = np.asarray(rows)
        out = np.empty((rows.shape[0], self.X.shape[1]), dtype=self.X.dtype)
        for start in range(0, rows.shape[0], block):
            part = rows[start : start + block]
            out[start : start + part.shape[0]] = self.X[part]
            if part.size:
                self.release_pages(int(part[0]), int(part[-1]) + 1)
        return out

    def release_pages(self, start: int = 0, stop: int | None = None) -> None:
        """Drop the pages of rows ``start:stop`` of a memory-mapped ``X`` from resident memory.

        A cached dataset is mapped from its ``.npy`` file: every page a load or a split touched
        stays in this process's resident set (233 MB for KDD99) although the next access faults
        it back in from the OS page cache for almost nothing.  The mapping is copy-on-write and
        never written to (the dataset is read-only by contract), so the values are unchanged.
        A no-op for in-memory or non-contiguous arrays and where ``madvise`` is unavailable.
        """
        X: Any = self.X
        base: Any = X
        while base is not None and getattr(base, "_mmap", None) is None:
            base = getattr(base, "base", None)
        if base is None or not hasattr(mmap, "MADV_DONTNEED") or not X.flags.c_contiguous:
            return
        mm = base._mmap
        stop = X.shape[0] if stop is None else stop
        row_bytes = X.strides[0]
        # Byte range of the rows inside the map, widened to whole pages.
        origin = X.__array_interface__["data"][0] - np.frombuffer(mm, np.uint8).ctypes.data
        lo = (origin + start * row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        hi = min(len(mm), origin + stop * row_bytes)
        if hi > lo:
            try:
                mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
            except (OSError, ValueError):  # a closed map, an exotic file system: keep the pages
                pass

    def validate(self) -> Dataset:
        """Check the contract (benchopt-style); every message names the dataset."""
        X, y, name = self.X, np.asarray(self.y), self.name
        if X.ndim != 2:
            raise DataError(f"dataset {name!r}: X must be 2-D, got shape {X.shape}.")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(f"dataset {name!r}: X is empty (shape {X.shape}).")
        if not np.issubdtype(X.dtype, np.floating):
            raise DataError(f"dataset {name!r}: X must be floating point, got {X.dtype}.")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise DataError(
                f"dataset {name!r}: y must be 1-D with one label per row of X "
                f"({X.shape[0]} rows), got shape {y.shape}."
            )
        # Every value must be finite and within +-1e150.  Beyond that, scaling and every detector
        # square values (variances, distances, energies): (1e154)^2 already overflows float64,
        # which turns a column into inf/NaN or silently into zeros under some protocol.  The
        # margin keeps sums of up to ~1e8 such squares finite.  Row blocks, and min/max rather
        # than a mask: a whole-array mask would cost ~110 MB for KDD99; NaN fails both bounds.
        limit = 1e150
        block = 65536
        if not all(-limit <= float(np.min(X[i : i + block])) and float(np.max(X[i : i + block])) <= limit
                   for i in range(0, X.shape[0], block)):
            finite = np.isfinite(X)
            # huge values first: they are the cause when an inf came from them (a mean fill)
            huge = finite & (np.abs(np.where(finite, X, 0.0)) > limit)
            if huge.any():
                cols = np.flatnonzero(huge.any(axis=0))
                names = ", ".join(
                    f"{self.feature_names[c]!r} ({int(huge[:, c].sum())}, largest "
                    f"{float(np.abs(X[:, c][finite[:, c]]).max()):.3g})" for c in cols[:5])
                more = f" and {cols.size - 5} more column(s)" if cols.size > 5 else ""
                raise DataError(
                    f"dataset {name!r}: {int(huge.sum())} value(s) beyond +-1e150 in column(s) "
                    f"{names}{more}; scaling them (and the squares every detector computes) "
                    "overflows float64. Rescale those columns (another unit, or a log), or drop them."
                )
            bad = ~finite
            cols = np.flatnonzero(bad.any(axis=0))
            names = ", ".join(f"{self.feature_names[c]!r} ({int(bad[:, c].sum())})" for c in cols[:5])
            more = f" and {cols.size - 5} more column(s)" if cols.size > 5 else ""
            raise DataError(
                f"dataset {name!r}: {int(bad.sum())} NaN/inf values in column(s) {names}{more}; "
                "clean the data or impute explicitly."
            )
        values = set(np.unique(y).tolist())
        if not values <= {0, 1}:
            raise DataError(
                f"dataset {name!r}: labels must be binary 0/1 (1 = anomaly), got values "
                f"{sorted(values)[:10]}."
            )
        n_anom = int(y.sum())
        if n_anom == 0:
            raise DataError(f"dataset {name!r}: no anomalies (no label 1); nothing to detect.")
        if n_anom == len(y):
            raise DataError(f"dataset {name!r}: every row is an anomaly; there is no normal class.")
        if len(self.feature_names) != X.shape[1]:
            raise DataError(
                f"dataset {name!r}: {len(self.feature_names)} feature names for {X.shape[1]} columns."
            )
        return self


class BaseDataset:
    """Base class of dataset plugins: a ``name``, a ``card`` and a deterministic ``load``."""

    name: ClassVar[str] = ""
    card: ClassVar[DatasetCard | None] = None

    def load(self) -> Dataset:
        raise NotImplementedError

    def sha256(self) -> str:
        """The checksum identifying the data (the source file's sha256 for file datasets)."""
        return self.card.sha256 if self.card else ""

    def is_present(self) -> bool | None:
        """Whether the data is available locally without a download (None = not file-based)."""
        return None

    def describe(self) -> dict[str, Any]:
        """Rows, features and anomaly ratio for listings, from the card or a cheap load."""
        return {}


# -- locations --------------------------------------------------------------------------------
@contextlib.contextmanager
def use_data_dir(path: str | os.PathLike[str] | None) -> Iterator[None]:
    """Look for data files in ``path`` first (the ``--data-dir`` step) inside the ``with`` block."""
    token = _data_dir_var.set(Path(path).expanduser() if path else None)
    try:
        yield
    finally:
        _data_dir_var.reset(token)


def set_data_dir(path: str | os.PathLike[str] | None) -> None:
    """Set the ``--data-dir`` folder for the rest of the current context (scripts; see
    :func:`use_data_dir` for a scoped one, which the runner uses)."""
    _data_dir_var.set(Path(path).expanduser() if path else None)


def cache_dir() -> Path:
    """The per-user cache folder (``$ADB_CACHE_DIR`` or platformdirs' user cache dir)."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("adbench-dagmm", appauthor=False))


def data_dirs() -> list[tuple[str, Path]]:
    """Where data files are looked for, in order, with the reason for each folder."""
    dirs: list[tuple[str, Path]] = []
    override = _data_dir_var.get()
    if override is not None:
        dirs.append(("--data-dir", override))
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        dirs.append((f"${DATA_DIR_ENV}", Path(env).expanduser()))
    dirs.append(("user cache", cache_dir() / "data"))
    return dirs


def data_dir() -> Path:
    """The first configured data folder (``--data-dir``, then ``$ADB_DATA_DIR``, then the cache)."""
    return data_dirs()[0][1]


def file_sha256(path: Path) -> str:
    """sha256 of a file, memoised in the cache folder on the file's identity and change time.

    The memo key is (path, device, inode, size, mtime, ctime): an in-place edit that restores
    the size and the modification time (``touch -r``, ``os.utime``) still changes the ctime,
    which no user call can set back, and a replaced file has a new inode; either misses the
    memo and the file is hashed again.
    """
    stat = path.stat()
    memo_dir = cache_dir() / "sha256"
    identity = (f"{path.resolve()}|{stat.st_dev}|{stat.st_ino}|{stat.st_size}|"
                f"{stat.st_mtime_ns}|{stat.st_ctime_ns}")
    key = hashlib.sha256(identity.encode()).hexdigest()
    memo = memo_dir / key
    try:
        memoised = memo.read_text().strip()
        if len(memoised) == 64:  # a memo cut short (full disk, killed writer) is recomputed
            return memoised
    except OSError:
        pass
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    try:
        memo_dir.mkdir(parents=True, exist_ok=True)
        memo.write_text(value)
    except OSError:
        pass
    return value


def _how_to_provide(relpath: str, url: str) -> str:
    tip = (
        f"Put the file at <folder>/{relpath} and pass --data-dir <folder> or set "
        f"{DATA_DIR_ENV}=<folder>"
    )
    if url:
        tip += f"; the canonical copy is {url}"
    return tip + "."


def find_file(relpath: str, sha256: str = "", url: str | Sequence[str] = "", *,
              shipped: Path | None = None) -> Path:
    """Find (or download) a data file, check its sha256 and return its path.

    The lookup order: the data folders (:func:`data_dirs`: ``--data-dir``, ``$ADB_DATA_DIR``,
    the user cache), then ``shipped`` (a copy a plugin ships as package data, if it exists),
    then a checksummed download from each address in ``url`` in turn (the canonical one first,
    then published mirrors of the same bytes) unless ``$ADB_OFFLINE`` is set.

    Raises
    ------
    DataError
        If the file is missing everywhere and cannot be downloaded, or its checksum differs.
    """
    urls = [url] if isinstance(url, str) else list(url)
    urls = [u for u in urls if u]
    canonical = urls[0] if urls else ""
    looked: list[str] = []
    candidates = [(why, folder / relpath) for why, folder in data_dirs()]
    if shipped is not None:
        candidates.append(("shipped with the package", shipped))
    for why, path in candidates:
        looked.append(f"{path} ({why})")
        if path.is_file():
            if sha256:
                got = file_sha256(path)
                if got != sha256:
                    raise DataError(
                        f"{path}: sha256 mismatch (expected {sha256}, got {got}); the file is "
                        f"truncated, corrupt or a different version. Replace it. "
                        + _how_to_provide(relpath, canonical)
                    )
            return path
    if urls and os.environ.get(OFFLINE_ENV, "") not in ("1", "true", "yes"):
        return _download(relpath, sha256, urls, looked)
    raise DataError(
        f"data file {relpath!r} not found; looked in: {'; '.join(looked)}. "
        + _how_to_provide(relpath, canonical)
    )


def _download(relpath: str, sha256: str, urls: Sequence[str], looked: list[str]) -> Path:
    """Download from the first address that answers with the right bytes, into the cache."""
    import pooch

    target = cache_dir() / "data" / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for address in urls:
        try:
            got = pooch.retrieve(
                address,
                known_hash=f"sha256:{sha256}" if sha256 else None,
                fname=target.name,
                path=target.parent,
                progressbar=False,
            )
        except Exception as exc:  # network down, HTTP error, checksum mismatch
            failures.append(f"{address}: {exc}")
            continue
        return Path(got)
    raise DataError(
        f"data file {relpath!r} not found locally (looked in: {'; '.join(looked)}) and every "
        f"download failed ({'; '.join(failures)}). " + _how_to_provide(relpath, urls[0])
    )


# -- parsed cache ------------------------------------------------------------------------------
def _load_parsed(folder: Path) -> Dataset | None:
    """The dataset cached in ``folder``, X memory-mapped; None when there is none (or it is broken)."""
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        X = np.load(folder / "X.npy", mmap_mode="c")
        y = np.load(folder / "y.npy")
        categorical = np.asarray(meta["categorical"], dtype=bool)
        return Dataset(
            X=X, y=y, name=meta["name"], feature_names=meta["feature_names"],
            categorical=categorical, sha256=meta["sha256"], notes=meta.get("notes", []),
        )
    except (OSError, ValueError, KeyError):
        return None  # a broken cache entry is parsed again


@contextlib.contextmanager
def _parse_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock file: the workers of a sweep that load one new file together wait
    for one parse and map it, instead of each parsing (and holding) a copy.  Where locking is
    not possible (no ``fcntl`` on Windows, a read-only cache, a file system without locks),
    nothing is locked: that only costs a second parse."""
    handle = None
    try:
        import fcntl

        folder.parent.mkdir(parents=True, exist_ok=True)
        handle = open(folder.with_name(folder.name + ".lock"), "a")
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes, or the process dies
    except (ImportError, OSError):
        if handle is not None:
            handle.close()
        handle = None
    try:
        yield
    finally:
        if handle is not None:
            handle.close()


def cached_parse(key: str, parse: Callable[[], Dataset], sha256: str | None = None) -> Dataset:
    """Return ``parse()``'s dataset, cached on disk under ``key`` (include the source sha256).

    X is stored as a raw ``.npy`` and memory-mapped on load (copy-on-write), so a cached load of
    KDD Cup 99 is a fraction of a second and costs no memory until rows are touched.  Processes
    that miss the cache together parse once: the others wait, then map that parse.
    ``sha256``: the source hash the key names; a parse of other bytes (the file changed, or its
    hash memo is stale) is returned but not cached.
    """
    folder = cache_dir() / "parsed" / key
    cached = _load_parsed(folder)
    if cached is not None:
        return cached
    with _parse_lock(folder):
        cached = _load_parsed(folder)  # parsed by another process while this one waited
        if cached is not None:
            return cached
        return _parse_and_store(folder, parse, sha256)


def _parse_and_store(folder: Path, parse: Callable[[], Dataset], sha256: str | None) -> Dataset:
    """Parse, and store the parse in ``folder`` (written beside it and renamed into place)."""
    dataset = parse()
    if sha256 is not None and dataset.sha256 != sha256:
        return dataset
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        np.save(tmp / "X.npy", np.ascontiguousarray(dataset.X))
        np.save(tmp / "y.npy", np.asarray(dataset.y))
        (tmp / "meta.json").write_text(json.dumps({
            "name": dataset.name, "feature_names": list(dataset.feature_names),
            "categorical": np.asarray(dataset.categorical, dtype=bool).tolist(),
            "sha256": dataset.sha256, "notes": dataset.notes,
        }))
        if folder.exists():
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    except OSError:
        return dataset  # a read-only cache only costs speed
    # The stored copy, memory-mapped, in place of the parse: the parse's arrays (private memory
    # that the runs would grow on top of) are freed, and the pages are shared with other workers.
    return _load_parsed(folder) or dataset
