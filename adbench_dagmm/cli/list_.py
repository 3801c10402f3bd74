"""``adb list detectors|datasets|protocols|references``: one item per line, name first.

:func:`print_listing` is the one layout of ``adb list`` and ``adb plugins``: for a pipe or a
file (no terminal, no ``$COLUMNS``), tab-separated fields on one line per item; otherwise a
table that fits the width, whose long cells wrap at spaces and whose least useful columns are
dropped when even that does not fit, so no name is ever cut.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Sequence

import typer

from . import app, get_registry, handle_errors, out_console, output_width


@dataclasses.dataclass(frozen=True)
class Column:
    """One field of a listing."""

    header: str
    #: the field in tab-separated output ("rows={}"); an empty value of a "key=" field is left out
    plain: str = "{}"
    #: long cells wrap at spaces; otherwise the column is as wide as its longest cell
    wrap: bool = False
    #: when the table is too wide, columns with the highest ``drop`` go first (0: never dropped)
    drop: int = 0
    justify: str = "left"


#: A wrapping column narrower than this reads badly: drop optional columns first.
MIN_WRAP = 40


def print_listing(columns: Sequence[Column], rows: Sequence[Sequence[str]], *,
                  header: bool = True) -> None:
    """Print ``rows`` (one value per column) as tab-separated lines or as a table (see module)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    width = output_width()
    if width is None:
        for row in rows:
            typer.echo("\t".join(col.plain.format(value) for col, value in zip(columns, row)
                                 if value or "=" not in col.plain))
        return
    keep = list(range(len(columns)))

    def needed(kept: list[int]) -> int:
        total = 2 * (len(kept) - 1)
        for i in kept:
            cells = [columns[i].header if header else ""] + [row[i] for row in rows]
            longest = max(len(c) for c in cells)
            if columns[i].wrap:
                word = max((len(w) for c in cells for w in c.split()), default=0)
                total += max(word, min(longest, MIN_WRAP))
            else:
                total += longest
        return total

    for i in sorted((i for i in keep if columns[i].drop), key=lambda i: -columns[i].drop):
        if needed(keep) <= width:
            break
        keep.remove(i)
    table = Table(box=box.SIMPLE_HEAD if header else None, show_header=header, show_edge=False,
                  pad_edge=False, collapse_padding=True, header_style="bold")
    for i in keep:
        table.add_column(columns[i].header, no_wrap=not columns[i].wrap, overflow="fold",
                         justify=columns[i].justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(Text(row[i]) for i in keep))
    out_console.print(table)


def plain_doc(text: str) -> str:
    """A docstring's text without reStructuredText markup: ``ABOD`` -> ABOD, :class:`X` -> X."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return re.sub(r"``([^`]+)``", r"\1", text)


class Kind(str, enum.Enum):
    detectors = "detectors"
    datasets = "datasets"
    protocols = "protocols"
    references = "references"


def _first_line(cls: type) -> str:
    doc = (cls.__doc__ or "").strip().splitlines()
    return plain_doc(doc[0]) if doc else ""


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
    ours, and the citation.  Protocols show their options (name=default (type, valid values):
    what it does), set with --param protocol.NAME=VALUE.
    """
    registry = get_registry()
    singular = kind.value[:-1]
    if kind is Kind.datasets:
        _list_datasets(registry, check_files)
        return
    if kind is Kind.references:
        _list_references(registry)
        return
    if kind is Kind.detectors:
        rows = []
        for name in registry.names("detector"):
            entry = registry.get("detector", name)
            reason = entry.unavailable_reason()
            rows.append([name, f"unavailable: {reason}" if reason else _first_line(entry.cls),
                         entry.plugin])
        print_listing([Column("detector"), Column("description", wrap=True),
                       Column("plugin", plain="[{}]", drop=1)], rows)
    else:
        rows = []
        for name in registry.names("protocol"):
            cls = registry.protocol(name)
            options = "; ".join(option.describe() for option in getattr(cls, "options", ()))
            options = options or "none"
            rows.append([name, f"v{cls.version}", _first_line(cls), options])
        print_listing([Column("protocol"), Column("version"), Column("description", wrap=True),
                       Column("options (--param protocol.NAME=VALUE)", plain="options: {}",
                              wrap=True)], rows)


def _list_references(registry) -> None:  # type: ignore[no-untyped-def]
    """One line per reference set: name, protocol, metrics, matches, citation, plugin."""
    rows = []
    for name in registry.names("reference"):
        entry = registry.get("reference", name)
        ref = entry.cls
        matched = ref.matched()
        methods = list(dict.fromkeys(f"{v.method}={d}" for v, d, _ in matched))
        datasets = list(dict.fromkeys(f"{v.dataset}={s}" for v, _, s in matched))
        rows.append([
            name, ref.protocol, ",".join(ref.metrics),
            f"{len(ref.values)} ({len(ref.methods)} methods)",
            f"{', '.join(methods) or 'none'} on {', '.join(datasets) or 'none'}",
            ref.citation, entry.plugin,
        ])
    print_listing([
        Column("reference"), Column("protocol", plain="protocol={}"),
        Column("metrics", plain="metrics={}", drop=2),
        Column("values", plain="values={}", wrap=True, drop=3),
        Column("matches", plain="matches: {}", wrap=True, drop=4),
        Column("citation", wrap=True), Column("plugin", plain="[{}]", drop=5),
    ], rows)


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
        rows = []
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
            rows.append([
                name, str(info.get("rows", "?")), str(info.get("features", "?")),
                f"{info['anomaly_ratio']:.4f}" if "anomaly_ratio" in info else "?",
                f"{(card.source_url if card else '') or '?'}", present, ",".join(aliases.get(name, [])),
            ])
        print_listing([
            Column("dataset"), Column("rows", plain="rows={}", justify="right", drop=1),
            Column("features", plain="features={}", justify="right", drop=2),
            Column("anomalies", plain="anomalies={}", justify="right"),
            Column("source", plain="source={}", drop=4), Column("file", wrap=True),
            Column("alias", plain="alias={}", wrap=True, drop=3),
        ], rows)
        suites = []
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
            suites.append([f"suite:{suite.name}", listing, suite.description])
        if output_width() is not None:
            out_console.print()
        print_listing([Column("suite"), Column("members", wrap=True),
                       Column("description", wrap=True, drop=1)], suites)
    finally:
        if saved is None:
            os.environ.pop("ADB_OFFLINE", None)
        else:
            os.environ["ADB_OFFLINE"] = saved
