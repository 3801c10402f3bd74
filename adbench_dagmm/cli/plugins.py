"""``adb plugins``: every plugin, its identity (version, source hash), source and what it registers."""

from __future__ import annotations

from . import app, get_registry, handle_errors, output_width
from .list_ import Column, print_listing

#: On a terminal, a kind with more names than this is shown as a count (adb list has them all).
MAX_NAMES = 6


def _registers(registered: dict[str, list[str]], hooks: list[str], full: bool) -> str:
    """'detectors: dagmm; references: zong2018_table2' (counts for long lists unless ``full``)."""
    parts = []
    for kind, names in registered.items():
        label = kind.replace("_", " ") + "s"
        if full or len(names) <= MAX_NAMES:
            parts.append(f"{label}: {', '.join(names)}")
        else:
            parts.append(f"{len(names)} {label}")
    if "adb_resolve_dataset" in hooks:
        parts.append("resolves dataset specs (adb_resolve_dataset)")
    return "; ".join(parts) or "-"


@app.command("plugins")
@handle_errors
def plugins_command() -> None:
    """List loaded plugins with their identity and registrations; broken ones show why.

    The identity is what a run id records of the plugin: its distribution's version, and for a
    one-file plugin the sha256 of its source.

    On a terminal, or with $COLUMNS set, long lists of names are counted (adb list shows them);
    otherwise every name is printed, with tab-separated fields.
    """
    registry = get_registry()
    full = output_width() is None
    rows = [[info.name, info.identity, info.source, _registers(info.registered, info.hooks, full),
             "ok" if info.available else f"unavailable: {info.error}"]
            for info in registry.plugins]
    print_listing([Column("plugin"), Column("identity"), Column("source", wrap=True, drop=1),
                   Column("registers", wrap=True), Column("status", wrap=True)], rows)
