"""``adb list detectors|datasets|protocols|references``: one item per line, name first."""

from __future__ import annotations

import enum

import typer

from . import app, get_registry, handle_errors


class Kind(str, enum.Enum):
    detectors = "detectors"
    datasets = "datasets"
    protocols = "protocols"
    references = "references"


def _first_line(cls: type) -> str:
    doc = (cls.__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


@app.command("list")
@handle_errors
def list_command(
    kind: Kind = typer.Argument(..., metavar="KIND", help="What to list: detectors, datasets, protocols or references."),
    check_files: bool = typer.Option(
        True, "--check-files/--no-check-files",
        help="For datasets: check whether each data file is present locally (no download).",
    ),
) -> None:
    """List registered detectors, datasets, protocols or published reference results.

    One item per line, name first. On a terminal, or with $COLUMNS set, the columns fit its
    width and long cells wrap at spaces; otherwise the fields are separated by tabs.

    Datasets show rows, features, anomaly ratio, whether the file is present locally (checked
    without downloading) and its source, then the dataset suites (--dataset suite:NAME).
    References show the protocol, the metrics, which of the table's methods and datasets match
    ours, and the citation.
    """
    registry = get_registry()
    singular = kind.value[:-1]
    if kind is Kind.datasets:
        _list_datasets(registry, check_files)
        return
    if kind is Kind.references:
        _list_references(registry)
        return
    for name in registry.names(singular):
        entry = registry.get(singular, name)
        cls = entry.cls
        if kind is Kind.detectors:
            reason = entry.unavailable_reason()
            status = f"unavailable: {reason}" if reason else _first_line(cls)
            typer.echo(f"{name}\t{status}\t[{entry.plugin}]")
        elif kind is Kind.protocols:
            typer.echo(f"{name}\tv{cls.version}\t{_first_line(cls)}")


def _list_references(registry) -> None:  # type: ignore[no-untyped-def]
    """One line per reference set: name, protocol, metrics, matches, citation, plugin."""
    for name in registry.names("reference"):
        entry = registry.get("reference", name)
        ref = entry.cls
        matched = ref.matched()
        methods = list(dict.fromkeys(f"{v.method}={d}" for v, d, _ in matched))
        datasets = list(dict.fromkeys(f"{v.dataset}={s}" for v, _, s in matched))
        fields = [
            name,
            f"protocol={ref.protocol}",
            f"metrics={','.join(ref.metrics)}",
            f"values={len(ref.values)} ({len(ref.methods)} methods)",
            f"matches: {', '.join(methods) or 'none'} on {', '.join(datasets) or 'none'}",
            ref.citation,
            f"[{entry.plugin}]",
        ]
        typer.echo("\t".join(fields))


def _natural(name: str) -> list[object]:
    """Sort key that puts adbench:2_annthyroid before adbench:10_cover."""
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _list_datasets(registry, check_files: bool) -> None:  # type: ignore[no-untyped-def]
    """One line per dataset (aliases on their dataset's line), then one per dataset suite."""
    import os

    from ..errors import AdbError

    aliases: dict[str, list[str]] = {}
    for name in registry.names("dataset"):
        target = getattr(registry.dataset(name), "alias_of", None)
        if target:
            aliases.setdefault(target, []).append(name)
    saved = os.environ.get("ADB_OFFLINE")
    os.environ["ADB_OFFLINE"] = "1"  # listing never downloads
    try:
        for name in sorted(registry.names("dataset"), key=_natural):
            cls = registry.dataset(name)
            if getattr(cls, "alias_of", None):
                continue
            dataset = cls()
            info = dataset.describe()
            card = getattr(dataset, "card", None)
            if not check_files:
                present = "unchecked"
            elif callable(getattr(dataset, "local_status", None)):
                present = dataset.local_status()
            else:
                found = dataset.is_present()
                present = "present" if found else ("missing" if found is False else "unchecked")
            fields = [
                name,
                f"rows={info.get('rows', '?')}",
                f"features={info.get('features', '?')}",
                f"anomalies={info['anomaly_ratio']:.4f}" if "anomaly_ratio" in info else "anomalies=?",
                f"source={(card.source_url if card else '') or '?'}",
                present,
            ]
            if name in aliases:
                fields.append(f"alias={','.join(aliases[name])}")
            typer.echo("\t".join(fields))
        for key in sorted(registry.entries["suite"]):
            suite = registry.entries["suite"][key].cls
            if suite.kind != "dataset":
                continue
            try:
                members = suite.resolve()
                listing = (f"{len(members)} datasets: {', '.join(members)}" if len(members) <= 6
                           else f"{len(members)} datasets")
            except AdbError:
                listing = "0 datasets (no file present)"
            typer.echo(f"suite:{suite.name}\t{listing}\t{suite.description}")
    finally:
        if saved is None:
            os.environ.pop("ADB_OFFLINE", None)
        else:
            os.environ["ADB_OFFLINE"] = saved
