"""``adb list detectors|datasets|protocols``: one item per line, name first."""

from __future__ import annotations

import enum

import typer

from . import app, get_registry, handle_errors


class Kind(str, enum.Enum):
    detectors = "detectors"
    datasets = "datasets"
    protocols = "protocols"


def _first_line(cls: type) -> str:
    doc = (cls.__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


@app.command("list")
@handle_errors
def list_command(
    kind: Kind = typer.Argument(..., help="What to list."),
    check_files: bool = typer.Option(
        True, "--check-files/--no-check-files",
        help="For datasets: check whether each data file is present locally (no download).",
    ),
) -> None:
    """List registered detectors, datasets or protocols, one per line, name first."""
    import os

    registry = get_registry()
    singular = kind.value[:-1]
    for name in registry.names(singular):
        entry = registry.get(singular, name)
        cls = entry.cls
        if kind is Kind.detectors:
            reason = entry.unavailable_reason()
            status = f"unavailable: {reason}" if reason else _first_line(cls)
            typer.echo(f"{name}\t{status}\t[{entry.plugin}]")
        elif kind is Kind.protocols:
            typer.echo(f"{name}\tv{cls.version}\t{_first_line(cls)}")
        else:
            os.environ.setdefault("ADB_OFFLINE", "1")  # listing never downloads
            dataset = cls()
            info = dataset.describe()
            card = getattr(dataset, "card", None)
            present = dataset.is_present() if check_files else None
            fields = [
                name,
                f"rows={info.get('rows', '?')}",
                f"features={info.get('features', '?')}",
                f"anomalies={info['anomaly_ratio']:.4f}" if "anomaly_ratio" in info else "anomalies=?",
                f"source={card.source_url if card else '?'}",
                "present" if present else ("missing" if present is False else "unchecked"),
            ]
            typer.echo("\t".join(fields))
