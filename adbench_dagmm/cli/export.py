"""``adb export``: the stored runs as CSV, Parquet or JSON (stdout by default)."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UsageError
from . import app, handle_errors


class Format(str, enum.Enum):
    csv = "csv"
    parquet = "parquet"
    json = "json"


@app.command("export")
@handle_errors
def export_command(
    format: Format = typer.Option(Format.csv, "--format", "-f", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write (default: stdout)."),
    results: Optional[Path] = typer.Option(None, "--results", help="Results folder (default: ./results)."),
    detector: Optional[List[str]] = typer.Option(None, "--detector", "-d", help="Only these detectors."),
    dataset: Optional[List[str]] = typer.Option(None, "--dataset", "-D", help="Only these datasets."),
    protocol: Optional[List[str]] = typer.Option(None, "--protocol", "-p", help="Only these protocols."),
    status: Optional[List[str]] = typer.Option(None, "--status", help="Only runs with this status (ok, error, timeout)."),
    all_columns: bool = typer.Option(False, "--all-columns", help="Every stored column, not just the main ones."),
) -> None:
    """Export stored runs (one row per run) for analysis elsewhere."""
    import pandas as pd

    from ..results import COLUMNS, EXPORT_COLUMNS, Store

    with Store(results, create=False) as store:
        rows = store.rows(detector=detector, dataset=dataset, protocol=protocol, status=status)
    columns = list(COLUMNS) if all_columns else list(EXPORT_COLUMNS)
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("params", "notes", "versions"):
        if column in frame:
            frame[column] = frame[column].map(lambda v: json.dumps(v, sort_keys=True) if v is not None else None)
    if format is Format.parquet:
        if output is None and sys.stdout.isatty():
            raise UsageError("parquet is binary: pass --output FILE (or redirect stdout).")
        target = output or sys.stdout.buffer
        frame.to_parquet(target, index=False)
    elif format is Format.json:
        text = frame.to_json(orient="records", indent=2)
        (output.write_text(text + "\n") if output else sys.stdout.write(text + "\n"))
    else:
        text = frame.to_csv(index=False)
        (output.write_text(text) if output else sys.stdout.write(text))
