"""``adb plugins``: every plugin, its version, source and what it registers."""

from __future__ import annotations

from rich.table import Table

from . import app, get_registry, handle_errors, out_console


@app.command("plugins")
@handle_errors
def plugins_command() -> None:
    """List loaded plugins with version and registrations; broken ones show why."""
    registry = get_registry()
    table = Table(show_lines=False)
    for column in ("plugin", "version", "source", "registers", "status"):
        table.add_column(column, overflow="fold")
    for info in registry.plugins:
        registers = "; ".join(f"{kind}s: {', '.join(names)}" for kind, names in info.registered.items())
        if "adb_resolve_dataset" in info.hooks:
            registers = "; ".join(filter(None, [registers, "resolves dataset specs (adb_resolve_dataset)"]))
        status = "ok" if info.available else f"unavailable: {info.error}"
        table.add_row(info.name, info.version, info.source, registers or "-", status)
    out_console.print(table)
