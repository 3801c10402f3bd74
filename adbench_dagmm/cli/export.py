"""``adb export``: the stored runs as CSV, Parquet or JSON (stdout by default).

It reads the store read-only (so it works on a store in a read-only folder and never changes
one).  ``--output`` is written to a temporary file next to it and renamed into place, so a
failed export (full disk) never leaves half a file or destroys an earlier export.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Callable, List, Optional

import typer

from ..errors import AdbError, UsageError
from . import app, handle_errors


class Format(str, enum.Enum):
    csv = "csv"
    parquet = "parquet"
    json = "json"


class Status(str, enum.Enum):
    ok = "ok"
    error = "error"
    timeout = "timeout"


@app.command("export")
@handle_errors
def export_command(
    format: Format = typer.Option(Format.csv, "--format", "-f", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="FILE", help="File to write; its folder must exist. Default: standard output."),
    results: Optional[Path] = typer.Option(None, "--results", metavar="DIR", help="Results folder. Default: ./results."),
    detector: Optional[List[str]] = typer.Option(None, "--detector", "-d", metavar="NAME", help="Only these detectors (repeatable)."),
    dataset: Optional[List[str]] = typer.Option(None, "--dataset", "-D", metavar="NAME", help="Only these datasets (repeatable)."),
    protocol: Optional[List[str]] = typer.Option(None, "--protocol", "-p", metavar="NAME", help="Only these protocols (repeatable)."),
    status: Optional[List[Status]] = typer.Option(None, "--status", help="Only runs with this status (repeatable)."),
    all_columns: bool = typer.Option(False, "--all-columns", help="Every stored column, not just the main ones."),
    history: bool = typer.Option(False, "--all", help="Every attempt ever stored, also failed runs that were superseded and results a --force rerun replaced; adds the columns attempt and current."),
) -> None:
    """Export stored runs (one row per run) for analysis elsewhere.

    A failed run is left out once the same configuration has succeeded, as in the table of
    adb run and in adb report; --all exports every attempt.
    """
    import pandas as pd

    from ..results import COLUMNS, EXPORT_COLUMNS, HISTORY_COLUMNS, JSON_COLUMNS, Store

    if output is not None:
        check_output_file(output)
    if format is Format.parquet and output is None and sys.stdout.isatty():
        raise UsageError("parquet is binary: pass --output FILE (or redirect stdout).")
    with Store(results, create=False) as store:
        rows = store.rows(detector=detector, dataset=dataset, protocol=protocol,
                          status=[s.value for s in status] if status else None, history=history)
    columns = list(COLUMNS) if all_columns else list(EXPORT_COLUMNS)
    if history:
        columns += HISTORY_COLUMNS
    frame = pd.DataFrame(rows, columns=columns)
    for column in JSON_COLUMNS:
        if column in frame:
            frame[column] = frame[column].map(lambda v: json.dumps(v, sort_keys=True) if v is not None else None)

    def write(target: IO[bytes]) -> None:
        if format is Format.parquet:
            frame.to_parquet(target, index=False)
        elif format is Format.json:
            target.write((frame.to_json(orient="records", indent=2) + "\n").encode())
        else:
            target.write(frame.to_csv(index=False).encode())

    if output is None:
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        write_atomically(output, write)


def check_output_file(output: Path) -> None:
    """Refuse an --output that cannot be a file: a folder, a missing folder, a read-only file."""
    from ..results import blocking_file

    if output.is_dir():
        raise UsageError(f"--output {output} is a folder; pass a file name (e.g. {output / 'runs.csv'}).")
    blocker = blocking_file(output.parent)
    if blocker is not None:
        raise UsageError(f"--output {output}: {blocker} is a file, not a folder.")
    if not output.parent.is_dir():
        raise UsageError(f"--output {output}: the folder {output.parent} does not exist; create it first.")
    if output.exists() and not os.access(output, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        raise AdbError(f"cannot write --output {output}: the file is read-only.")


def write_atomically(output: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``output`` through a temporary file in its folder, renamed into place when complete."""
    try:
        handle = tempfile.NamedTemporaryFile(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp",
                                             delete=False)
    except OSError as exc:
        raise AdbError(f"cannot write --output {output}: {exc.strerror} (folder {output.parent}).") from None
    try:
        with handle:
            write(handle)
        mode = output.stat().st_mode & 0o7777 if output.exists() else 0o666 & ~_umask()
        os.chmod(handle.name, mode)
        os.replace(handle.name, output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise AdbError(f"cannot write --output {output}: {exc.strerror}; nothing was written.") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
