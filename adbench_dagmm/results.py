"""The results store: one SQLite file per results folder, written by the driver alone.

* **Runs.** The ``runs`` table holds one row per run id (a hash of the run's configuration):
  the result that counts.  A run stored as ``ok`` is skipped when the same sweep runs again; a
  failed one is retried.  A failed attempt never replaces an ``ok`` row (a rerun never destroys
  a good result); any other newer result does.
* **History.** Every attempt is appended to the ``attempts`` table (``rows(history=True)``).
* **Superseding.** Readers see *current* rows: a failed run stops counting once the same
  configuration has an ``ok`` result or a later attempt (:func:`current_rows`).  Runs with
  different protocol options (``protocol_options``) are different configurations.
* **Integrity.** One transaction per run (WAL journal), so a killed sweep, a full disk or a
  locked store keeps every finished run.  A file that is not one of our stores is refused
  untouched; read-only opens (``create=False``: ``adb export``, ``adb report``) never write and
  work in read-only folders.  SQLite errors become :class:`StoreError` messages that name the
  store and say what to do.

Why one module of about 500 lines: the schema, its migration, the superseding rule and the
mapping of SQLite errors change together, and every reader and writer goes through ``Store``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import DataError, UsageError

DEFAULT_DIR = "results"
DB_NAME = "adb.sqlite"
#: 1: runs/artifacts/meta.  2: + attempts (history), runs.attempt, runs.dataset_options,
#: PRAGMA application_id.
SCHEMA_VERSION = 2
#: SQLite's header field for "which application owns this file": b"adbd".
APPLICATION_ID = int.from_bytes(b"adbd", "big")
#: Seconds a command waits for another process's write lock before giving up.
BUSY_TIMEOUT = 30.0
FAILED = ("error", "timeout")

#: Columns of the ``runs`` table, in order, with their SQLite types.
COLUMNS: dict[str, str] = {
    "run_id": "TEXT PRIMARY KEY",
    "detector": "TEXT NOT NULL",
    "params": "TEXT NOT NULL",
    "dataset": "TEXT NOT NULL",
    "data_sha256": "TEXT",
    "protocol": "TEXT NOT NULL",
    "protocol_version": "TEXT NOT NULL",
    "seed": "INTEGER NOT NULL",
    "status": "TEXT NOT NULL",
    "error": "TEXT",
    "precision": "REAL",
    "recall": "REAL",
    "f1": "REAL",
    "roc_auc": "REAL",
    "average_precision": "REAL",
    "precision_at_n": "REAL",
    "fit_seconds": "REAL",
    "score_seconds": "REAL",
    "peak_rss_mb": "REAL",
    "n_train": "INTEGER",
    "n_test": "INTEGER",
    "n_features": "INTEGER",
    "contamination": "REAL",
    "notes": "TEXT",
    "versions": "TEXT",
    "git_commit": "TEXT",
    "host": "TEXT",
    "created_at": "TEXT NOT NULL",
    "dataset_options": "TEXT",  # schema 2; NULL when the writer did not record them
    # added by migration (stores only gain columns): the protocol's options as given ('{}' for
    # none, also on rows written before the column existed) and how many training labels the
    # detector received (0 for unsupervised detectors; NULL on older rows)
    "protocol_options": "TEXT NOT NULL DEFAULT '{}'",
    "n_labeled": "INTEGER",
    # every parameter the detector ran with, its defaults included (``params`` holds those the
    # run id is made of); NULL on older rows and on runs that failed before fit
    "effective_params": "TEXT",
}
JSON_COLUMNS = ("params", "notes", "versions", "dataset_options", "protocol_options",
                "effective_params")
EXPORT_COLUMNS = (
    "run_id", "detector", "dataset", "protocol", "protocol_options", "protocol_version", "seed",
    "status",
    "precision", "recall", "f1", "roc_auc", "average_precision", "precision_at_n",
    "fit_seconds", "score_seconds", "peak_rss_mb", "n_labeled", "params", "effective_params",
    "notes", "error",
)
#: Extra keys of history rows: the attempt's number (write order) and whether it is current.
HISTORY_COLUMNS = ("attempt", "current")
#: The columns a configuration's rows share; filters on them never split a configuration.
GROUP_COLUMNS = ("detector", "dataset", "protocol", "seed")
#: Parameters that do not say *what* a run computes (the seed is its own column; contamination
#: and device are filled in by the runner after the run id is made).
_NOT_CONFIG = ("contamination", "device", "random_state")
_UNKNOWN = (None, "", "?")
_V1_COLUMNS = frozenset(list(COLUMNS)[:list(COLUMNS).index("dataset_options")])


class StoreError(DataError):
    """The results store cannot be opened, read or written (names the file and a fix)."""


def db_path(results_dir: str | Path | None) -> Path:
    return Path(results_dir or DEFAULT_DIR) / DB_NAME


def blocking_file(path: Path) -> Path | None:
    """The first of ``path`` and its parents that exists and is not a folder, if any."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


# -- superseding -------------------------------------------------------------------------------
def _config(row: dict[str, Any]) -> tuple[Any, ...]:
    params = row.get("params")
    if isinstance(params, str):
        params = json.loads(params)
    params = {k: v for k, v in (params or {}).items() if k not in _NOT_CONFIG}
    return (*(row.get(c) for c in GROUP_COLUMNS), json.dumps(params, sort_keys=True, default=str),
            _options(row, "protocol_options"))


def _options(row: dict[str, Any], column: str = "dataset_options") -> str:
    """A row's dataset (or protocol) options, normalised; a row of a store that did not record
    them has none."""
    value = row.get(column)
    if value in _UNKNOWN:
        return "{}"
    if isinstance(value, str):
        value = json.loads(value)
    return json.dumps(value, sort_keys=True, default=str)


def _same_options(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _options(a) == _options(b)


def _same_config(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same configuration, where a field one row does not know (``""``, ``"?"``, NULL) matches."""
    for name in ("data_sha256", "protocol_version", "dataset_options"):
        x, y = a.get(name), b.get(name)
        if x not in _UNKNOWN and y not in _UNKNOWN and x != y:
            return False
    return True


def current_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows that count, from rows given in write order.

    A failed row (``error``/``timeout``) no longer counts once the same configuration has an
    ``ok`` row (written before or after it: a failure never hides a good result) or a later
    failed attempt.  An ``ok`` row no longer counts once a later ``ok`` row of the same
    configuration exists under another run id: the same named run measured again after its
    plugin, its data file or its protocol changed (each part of the run id).  A table counts
    each configuration once; ``rows(history=True)`` keeps them all.
    """
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(_config(row), []).append(i)
    dropped: set[int] = set()
    for members in groups.values():
        for i in members:
            if rows[i]["status"] == "ok":
                if any(j > i and rows[j]["status"] == "ok" and _same_options(rows[i], rows[j])
                       for j in members):
                    dropped.add(i)
            elif any(j != i and (rows[j]["status"] == "ok" or j > i) and _same_config(rows[i], rows[j])
                     for j in members):
                dropped.add(i)
    return [row for i, row in enumerate(rows) if i not in dropped]


# -- errors --------------------------------------------------------------------------------------
def lock_holders(path: Path) -> list[str]:
    """``"pid 123 (adb run ...)"`` for each process holding a lock on the store (Linux only)."""
    inodes = set()
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):
            inodes.add(os.stat(name).st_ino)
    pids: dict[int, None] = {}
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            for line in locks:
                fields = line.split()
                if len(fields) > 5 and fields[1] == "POSIX" and fields[4].isdigit():
                    if int(fields[5].rsplit(":", 1)[-1]) in inodes:
                        pids[int(fields[4])] = None
    except (OSError, ValueError):
        return []
    described = []
    for pid in pids:
        try:
            import psutil

            command = " ".join(psutil.Process(pid).cmdline()) or psutil.Process(pid).name()
        except Exception:  # noqa: BLE001  (gone, or not ours to inspect)
            command = "?"
        mine = " (this process)" if pid == os.getpid() else ""
        described.append(f"pid {pid}{mine}: {command[:80]}")
    return described


def _describe(exc: sqlite3.Error, path: Path, action: str) -> StoreError:
    """A StoreError naming the store, what went wrong and what to do."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        holders = lock_holders(path)
        who = f" by {'; '.join(holders)}" if holders else " by another process"
        return StoreError(
            f"results store {path} is locked{who}; gave up waiting after {BUSY_TIMEOUT:g} s. "
            "Wait for that process to finish, or pass another --results folder; "
            "finished runs are kept."
        )
    if code.startswith("SQLITE_FULL") or "disk is full" in text:
        return StoreError(
            f"cannot {action} results store {path}: the disk is full ({text}). Every finished "
            "run is kept; free some space and run the same command again to run the rest."
        )
    if code.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return StoreError(
            f"results store {path} is damaged ({text}); it was left untouched. Pass another "
            f"--results folder; `sqlite3 {path} .recover` may rescue its finished runs."
        )
    if code.startswith("SQLITE_NOTADB") or "not a database" in text:
        return StoreError(
            f"results store {path} cannot be opened: it is not an SQLite database ({text}). "
            "Pass another --results folder; the file was left untouched."
        )
    if code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return StoreError(
            f"cannot {action} results store {path}: the file or its folder is read-only or "
            f"inaccessible ({text}). Pass a writable --results folder; `adb export` and "
            "`adb report` can still read a read-only store."
        )
    return StoreError(f"cannot {action} results store {path}: {text}.")


# -- the store -----------------------------------------------------------------------------------
class Store:
    """The SQLite run store under ``results_dir``.

    ``Store(dir)`` opens it for writing, creating it on first use and migrating a store written
    by an older version.  ``Store(dir, create=False)`` opens an existing store read-only: it
    never writes (no migration, no journal change) and works in a read-only folder; this is what
    ``adb export`` and ``adb report`` use.
    """

    def __init__(self, results_dir: str | Path | None = None, *, create: bool = True) -> None:
        self.path = db_path(results_dir)
        self.readonly = not create
        folder = self.path.parent
        blocker = blocking_file(folder)
        if blocker is not None:
            hint = " (pass the folder that holds it)" if blocker.name == DB_NAME else ""
            raise UsageError(f"results folder {folder}: {blocker} is a file, not a folder{hint}.")
        if self.path.is_dir():
            raise UsageError(f"results store {self.path} is a folder, not an SQLite file.")
        if self.readonly and not self.path.is_file():
            raise UsageError(
                f"no results store at {self.path}; run `adb run` first or pass --results DIR."
            )
        if not self.readonly:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create results folder {folder}: {exc.strerror}. Pass a writable "
                    "--results folder."
                ) from None
        self.conn = self._connect()
        try:
            self.schema_version, self._tables = self._inspect()
            if not self.readonly:
                self._prepare_for_writing()
        except BaseException:
            self.conn.close()
            raise

    # -- opening ---------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """A connection: read-write, or read-only (immutable only where nobody could write)."""
        try:
            if not self.readonly:
                return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            uri = self.path.resolve().as_uri()
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT,
                                   isolation_level=None)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.OperationalError as exc:
                # a WAL store in a read-only folder: SQLite cannot make its shared-memory file
                if not str(getattr(exc, "sqlite_errorname", "")).startswith(
                        ("SQLITE_READONLY", "SQLITE_CANTOPEN")):
                    raise
                conn.close()
            wal = Path(f"{self.path}-wal")
            if wal.is_file() and wal.stat().st_size > 0:
                raise StoreError(
                    f"results store {self.path} was not closed cleanly: its journal {wal} holds "
                    "runs not yet merged, and its folder is read-only. Copy the folder (with the "
                    "-wal file) somewhere writable and pass that as --results."
                )
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise _describe(exc, self.path, "open") from None

    def _inspect(self) -> tuple[int, set[str]]:
        """(schema version, tables) of an adb store; 0 for an empty file; else refuse it."""
        with self._errors("read"):
            tables = {r[0] for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
            if not tables and app_id in (0, APPLICATION_ID):
                if self.readonly:
                    raise UsageError(
                        f"results store {self.path} is empty (no runs yet); run `adb run` first "
                        "or pass another --results folder. The file was left untouched."
                    )
                return 0, tables
            version = None
            if "meta" in tables:
                hit = self.conn.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                version = int(hit[0]) if hit and str(hit[0]).isdigit() else None
            run_columns = {r[1] for r in self.conn.execute("PRAGMA table_info(runs)")}
            ours = (app_id == APPLICATION_ID and version is not None) or (
                app_id == 0 and version == 1 and _V1_COLUMNS <= run_columns)
        if not ours:
            raise StoreError(
                f"{self.path} is not an adb results store (an SQLite database with tables "
                f"{', '.join(sorted(tables))}, application id {app_id}); it was left untouched. "
                "Pass another --results folder."
            )
        assert version is not None
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"results store {self.path} was written by a newer adbench-dagmm (store schema "
                f"{version}; this version knows up to {SCHEMA_VERSION}). Upgrade adbench-dagmm."
            )
        return version, tables

    def _prepare_for_writing(self) -> None:
        """Create or migrate the schema, and make sure the write lock can be had."""
        with self._errors("write to"):
            self.conn.execute("PRAGMA journal_mode=WAL")
            with self._transaction():
                if self.schema_version == 0:
                    self._create()
                elif self.schema_version == 1:
                    self._migrate_v1()
                self._add_new_columns()
        self.schema_version = SCHEMA_VERSION
        self._tables = {"runs", "attempts", "artifacts", "meta"}

    def _create(self) -> None:
        runs = ", ".join(f'"{n}" {k}' for n, k in COLUMNS.items())
        self.conn.execute(f"CREATE TABLE runs ({runs}, attempt INTEGER)")
        self._create_attempts()
        self.conn.execute(
            "CREATE TABLE artifacts (run_id TEXT NOT NULL, name TEXT NOT NULL, "
            "value TEXT NOT NULL, PRIMARY KEY (run_id, name))"
        )
        self.conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        self.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def _create_attempts(self) -> None:
        cols = ", ".join(f'"{n}" {k.replace(" PRIMARY KEY", " NOT NULL")}'
                         for n, k in COLUMNS.items())
        self.conn.execute(f"CREATE TABLE attempts (attempt INTEGER PRIMARY KEY AUTOINCREMENT, {cols})")
        self.conn.execute("CREATE INDEX attempts_run_id ON attempts (run_id)")

    def _migrate_v1(self) -> None:
        """Schema 1 -> 2: the rows held so far become the first attempts of the history."""
        self._add_new_columns(tables=("runs",))
        self.conn.execute("ALTER TABLE runs ADD COLUMN attempt INTEGER")
        self._create_attempts()
        names = ", ".join(f'"{n}"' for n in COLUMNS)
        self.conn.execute(f"INSERT INTO attempts ({names}) SELECT {names} FROM runs ORDER BY rowid")
        self.conn.execute("UPDATE runs SET attempt = (SELECT max(a.attempt) FROM attempts a "
                          "WHERE a.run_id = runs.run_id)")
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                          (str(SCHEMA_VERSION),))
        self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def _add_new_columns(self, tables: Iterable[str] = ("runs", "attempts")) -> None:
        for table in tables:  # stores only ever gain columns
            existing = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in COLUMNS.items():
                if name not in existing:  # a NOT NULL column has a default: old rows get it
                    kind = kind.replace(" PRIMARY KEY", "")
                    kind = kind if "DEFAULT" in kind else kind.replace(" NOT NULL", "")
                    self.conn.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}')

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise _describe(exc, self.path, action) from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")  # take the write lock first: no upgrade deadlock
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------
    def write(self, row: dict[str, Any], artifacts: dict[str, Any] | None = None) -> bool:
        """Record one attempt of a run and, unless it would replace a good result, make it the run's row.

        Every attempt is appended to the history.  The run's row (and its artifacts) is replaced
        unless the stored row is ``ok`` and this attempt failed: then the good result is kept.
        One transaction.  Returns whether this attempt became the run's row.
        """
        if self.readonly:
            raise StoreError(f"results store {self.path} was opened read-only; it cannot store runs.")
        values = []
        for name in COLUMNS:
            value = row.get(name)
            if name in JSON_COLUMNS and value is not None and not isinstance(value, str):
                value = json.dumps(value, sort_keys=True, default=str)
            if name == "protocol_options" and value is None:
                value = "{}"
            values.append(value)
        marks = ", ".join("?" for _ in COLUMNS)
        names = ", ".join(f'"{n}"' for n in COLUMNS)
        with self._errors(f"store run {row.get('run_id')} in"), self._transaction():
            attempt = self.conn.execute(
                f"INSERT INTO attempts ({names}) VALUES ({marks})", values).lastrowid
            stored = self.conn.execute(
                "SELECT status FROM runs WHERE run_id = ?", (row["run_id"],)).fetchone()
            if stored is not None and stored[0] == "ok" and row.get("status") != "ok":
                return False
            self.conn.execute(f"INSERT OR REPLACE INTO runs ({names}, attempt) VALUES ({marks}, ?)",
                              [*values, attempt])
            self.conn.execute("DELETE FROM artifacts WHERE run_id = ?", (row["run_id"],))
            for name, value in (artifacts or {}).items():
                if value is not None:
                    self.conn.execute(
                        "INSERT INTO artifacts VALUES (?, ?, ?)",
                        (row["run_id"], name, json.dumps(value, default=str)),
                    )
        return True

    # -- reading -------------------------------------------------------------------------------
    def ok_ids(self, run_ids: Iterable[str]) -> set[str]:
        """The run ids, of those given, stored as ``ok`` (the runs a sweep skips)."""
        ids = list(run_ids)
        found: set[str] = set()
        with self._errors("read"):
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                found.update(r[0] for r in self.conn.execute(
                    f"SELECT run_id FROM runs WHERE status = 'ok' AND run_id IN ({marks})", chunk))
        return found

    def rows(self, run_ids: Iterable[str] | None = None, *, history: bool = False,
             **filters: Any) -> list[dict[str, Any]]:
        """Stored runs as dicts (JSON columns decoded), filtered on columns (a value or a list).

        * ``rows()`` — the current rows: one per run, failed runs that were superseded left out
          (:func:`current_rows`).  This is what tables, reports and exports show.
        * ``rows(run_ids)`` — the stored row of each of those runs (e.g. one sweep's), superseded
          or not.
        * ``rows(history=True)`` — every attempt ever written, oldest first within a run, with
          ``attempt`` (its number) and ``current`` (whether it is the row that counts).
        """
        for column in filters:
            if column not in COLUMNS:
                raise UsageError(f"cannot filter runs on unknown column {column!r}.")
        wanted = {c: list(v) if isinstance(v, (list, tuple, set)) else [v]
                  for c, v in filters.items() if v is not None}
        where, args = [], []
        for column in GROUP_COLUMNS:  # filters that never split a configuration go to SQL
            if column in wanted:
                where.append(f'"{column}" IN ({", ".join("?" for _ in wanted[column])})')
                args.extend(wanted[column])
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._errors("read"):
            runs = self._select("runs", clause, args)
            if not history:
                rows = runs if run_ids is not None else current_rows(runs)
            elif "attempts" in self._tables:
                keep = {r.get("attempt") for r in current_rows(runs)}
                rows = self._select("attempts", clause, args)
                for r in rows:
                    r["current"] = r["attempt"] in keep
            else:  # a schema-1 store read without migrating: its rows are its history
                keep_ids = {id(r) for r in current_rows(runs)}
                rows = [{**r, "attempt": None, "current": id(r) in keep_ids} for r in runs]
        if run_ids is not None:
            ids = set(run_ids)
            rows = [r for r in rows if r["run_id"] in ids]
        out = []
        for row in rows:
            if any(row.get(c) not in v for c, v in wanted.items()):
                continue
            row = {k: row.get(k) for k in (*COLUMNS, *(HISTORY_COLUMNS if history else ()))}
            for name in JSON_COLUMNS:
                if row.get(name):
                    row[name] = json.loads(row[name])
            if row.get("protocol_options") is None:  # a store read without migrating
                row["protocol_options"] = {}
            out.append(row)
        out.sort(key=lambda r: (str(r["detector"]), str(r["dataset"]), str(r["protocol"]),
                                r["seed"] or 0, str(r["created_at"]), r.get("attempt") or 0))
        return out

    def _select(self, table: str, clause: str, args: list[Any]) -> list[dict[str, Any]]:
        cursor = self.conn.execute(f"SELECT * FROM {table}{clause} ORDER BY rowid", args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor]

    def artifact(self, run_id: str, name: str) -> Any:
        with self._errors("read"):
            hit = self.conn.execute(
                "SELECT value FROM artifacts WHERE run_id = ? AND name = ?", (run_id, name)
            ).fetchone()
        return json.loads(hit[0]) if hit else None
