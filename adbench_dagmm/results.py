"""The results store: one SQLite row per run, written by the driver alone.

Every run is committed in its own transaction (WAL journal), so a killed sweep leaves every
finished run intact.  A run's id is a hash of its configuration; a run stored as ``ok`` is
skipped when the same sweep runs again, a failed one is retried (failed runs are never cached).
Reports and exports read only this store.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

from .errors import DataError, UsageError

DEFAULT_DIR = "results"
DB_NAME = "adb.sqlite"
SCHEMA_VERSION = 1

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
}
JSON_COLUMNS = ("params", "notes", "versions")
EXPORT_COLUMNS = (
    "run_id", "detector", "dataset", "protocol", "protocol_version", "seed", "status",
    "precision", "recall", "f1", "roc_auc", "average_precision", "precision_at_n",
    "fit_seconds", "score_seconds", "peak_rss_mb", "params", "notes", "error",
)


def db_path(results_dir: str | Path | None) -> Path:
    return Path(results_dir or DEFAULT_DIR) / DB_NAME


class Store:
    """The SQLite run store under ``results_dir`` (created on first write)."""

    def __init__(self, results_dir: str | Path | None = None, *, create: bool = True) -> None:
        self.path = db_path(results_dir)
        if not create and not self.path.is_file():
            raise UsageError(
                f"no results store at {self.path}; run `adb run` first or pass --results DIR."
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise DataError(
                f"results store {self.path} cannot be opened ({exc}); it is not an adb store or "
                "is damaged. Pass another --results folder; the file was left untouched."
            ) from None

    def _migrate(self) -> None:
        cols = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS.items())
        with self.conn:
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS artifacts (run_id TEXT NOT NULL, name TEXT NOT NULL, "
                "value TEXT NOT NULL, PRIMARY KEY (run_id, name))"
            )
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            self.conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            existing = {row[1] for row in self.conn.execute("PRAGMA table_info(runs)")}
            for name, kind in COLUMNS.items():  # stores only ever gain columns
                if name not in existing:
                    self.conn.execute(f'ALTER TABLE runs ADD COLUMN "{name}" {kind.split()[0]}')

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------
    def write(self, row: dict[str, Any], artifacts: dict[str, Any] | None = None) -> None:
        """Insert or replace one run and its artifacts in a single transaction."""
        values = []
        for name in COLUMNS:
            value = row.get(name)
            if name in JSON_COLUMNS and value is not None and not isinstance(value, str):
                value = json.dumps(value, sort_keys=True, default=str)
            values.append(value)
        marks = ", ".join("?" for _ in COLUMNS)
        names = ", ".join(f'"{n}"' for n in COLUMNS)
        with self.conn:
            self.conn.execute(f"INSERT OR REPLACE INTO runs ({names}) VALUES ({marks})", values)
            self.conn.execute("DELETE FROM artifacts WHERE run_id = ?", (row["run_id"],))
            for name, value in (artifacts or {}).items():
                if value is not None:
                    self.conn.execute(
                        "INSERT INTO artifacts VALUES (?, ?, ?)",
                        (row["run_id"], name, json.dumps(value, default=str)),
                    )

    # -- reading -------------------------------------------------------------------------------
    def ok_ids(self, run_ids: Iterable[str]) -> set[str]:
        ids = list(run_ids)
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT run_id FROM runs WHERE status = 'ok' AND run_id IN ({marks})", chunk
                )
            )
        return found

    def rows(self, run_ids: Iterable[str] | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Runs as dicts (JSON columns decoded), optionally only ``run_ids`` / column filters."""
        sql = "SELECT * FROM runs"
        where, args = [], []
        for column, value in filters.items():
            if value is None:
                continue
            if column not in COLUMNS:
                raise UsageError(f"cannot filter runs on unknown column {column!r}.")
            values = list(value) if isinstance(value, (list, tuple, set)) else [value]
            if values:
                where.append(f'"{column}" IN ({", ".join("?" for _ in values)})')
                args.extend(values)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY detector, dataset, protocol, seed, created_at"
        cursor = self.conn.execute(sql, args)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor]
        if run_ids is not None:
            wanted = set(run_ids)
            rows = [r for r in rows if r["run_id"] in wanted]
        for row in rows:
            for name in JSON_COLUMNS:
                if row.get(name):
                    row[name] = json.loads(row[name])
        return rows

    def artifact(self, run_id: str, name: str) -> Any:
        hit = self.conn.execute(
            "SELECT value FROM artifacts WHERE run_id = ? AND name = ?", (run_id, name)
        ).fetchone()
        return json.loads(hit[0]) if hit else None
