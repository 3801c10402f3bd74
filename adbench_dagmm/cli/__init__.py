"""The ``adb`` command line: the Typer app, its global options and error handling.

Library errors (``AdbError``) become one ``error: ...`` line on stderr and their exit code
(1 = a run or data failed, 2 = usage); so do operating-system errors (a full disk, a read-only
folder: exit 1).  Ctrl-C exits 130 and keeps every finished run.

Text is never markup: both consoles are made with ``markup=False``, so every string printed
through them (a path, a column name, a detector's error message, a table cell) appears as it
is, ``[/]`` and ``weight[kg]`` included.  Styling is done with :class:`rich.text.Text` spans,
never by writing markup into a string.

Width: on a terminal, output fits the terminal; elsewhere it fits ``$COLUMNS`` when set, and is
not wrapped at all otherwise (:func:`output_width`), so a pipe or a file gets whole lines.

Help texts follow one convention, applied to every command by :class:`Command` when help is
shown: a value is labelled by its metavar (``NAME``, ``N``, ``DIR``, ``TEXT``, ``INTEGER``, or
its choices ``csv|parquet|json``), never by a Python type; a flag has no label; a default is the
help's last sentence, ``Default: X.`` (written by hand where the default is worked out at run
time, added from the value otherwise); a help paragraph is one line of source text or several
joined with spaces; and help text is plain text, never markup.
"""

from __future__ import annotations

import functools
import gc
import inspect
import os
import sys
from typing import Any, Callable, Optional, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from ..errors import AdbError


def unwrap(text: str | None) -> str | None:
    """A help text with its paragraphs joined into single lines (blank lines separate them)."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


_TYPE_LABELS = {"int": "INTEGER", "float": "NUMBER", "str": "TEXT", "path": "PATH", "bool": ""}


def _metavar(param: Any, ctx: typer.Context) -> str:
    """The label of a parameter's value: its choices, or a word for its type (no label for a flag)."""
    label = param.display_type(ctx).strip("<>")
    if label.startswith("list[") and label.endswith("]"):  # repeatable: the element's label
        label = label[5:-1]
    return _TYPE_LABELS.get(label, label)


def _default_text(param: Any) -> str | None:
    """'Default: X.' for a parameter whose default Typer would show, else None."""
    default = param.default
    if param.show_default is False or default is None or default is False or default == []:
        return None
    if getattr(param, "is_bool_flag", False) and param.secondary_opts:
        flag = param.opts[0] if default else param.secondary_opts[0]
        return f"Default: {flag}."
    if isinstance(default, (list, tuple)):
        default = ",".join(str(getattr(v, "value", v)) for v in default)
    return f"Default: {getattr(default, 'value', default)}."


def tidy_help(command: Any, ctx: typer.Context) -> None:
    """Apply the help conventions (module docstring) to one command, once."""
    if getattr(command, "_adb_tidy", False):
        return
    command._adb_tidy = True  # type: ignore[attr-defined]
    command.help = escape(unwrap(command.help) or "") or None
    for param in command.get_params(ctx):
        if not hasattr(param, "display_type"):
            continue
        param.help = escape(unwrap(param.help) or "") or None
        if isinstance(param, typer.core.TyperArgument):  # its name, then its choices, unbracketed
            label = _metavar(param, ctx)
            param.display_type_rich = lambda ctx, label=label: label  # type: ignore[method-assign]
            continue
        if param.metavar is None or param.metavar == "":
            param.metavar = _metavar(param, ctx) if not getattr(param, "is_flag", False) else ""
        if isinstance(param, typer.core.TyperOption):
            default = _default_text(param)
            if default and "Default:" not in (param.help or ""):
                param.help = f"{param.help} {default}" if param.help else default
            param.show_default = False


def plain_bad_parameter(exc: typer.BadParameter) -> None:
    """Word a value Typer could not convert as this CLI's other messages, in place.

    Typer converts values with pydantic and passes its message on: "Value error, 'x' is not
    one of ..." or "Input should be a valid integer, unable to parse string as an integer".
    """
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors) or not errors():
        return
    first = errors()[0]
    kind, value, message = first.get("type"), first.get("input"), str(first.get("msg", ""))
    if kind in ("int_parsing", "int_from_float"):
        message = f"{value!r} is not an integer."
    elif kind in ("float_parsing", "finite_number"):
        message = f"{value!r} is not a number."
    exc.message = message.removeprefix("Value error, ")


class Command(typer.core.TyperCommand):
    """A command whose help and usage errors follow the conventions of this module."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.BadParameter as exc:
            plain_bad_parameter(exc)
            raise

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        tidy_help(self, ctx)
        super().format_help(ctx, formatter)


class Group(typer.core.TyperGroup):
    """The ``adb`` group: its own help and its command list follow the same conventions."""

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        tidy_help(self, ctx)
        for command in self.commands.values():
            command.help = unwrap(command.help)
        super().format_help(ctx, formatter)


class App(typer.Typer):
    """``typer.Typer`` whose commands are :class:`Command`: every command gets the same help."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or Command, **kwargs)


app = App(
    name="adb",
    cls=Group,
    help="Benchmark unsupervised anomaly detectors (DAGMM, PyOD baselines) on tabular data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# markup=False: the one place where text from data, paths and plugins is kept literal
err_console = Console(stderr=True, markup=False, highlight=False)
out_console = Console(markup=False, highlight=False)
#: The width of stdout when it is neither a terminal nor given by $COLUMNS (a pipe, a file).
UNLIMITED = 10_000

F = TypeVar("F", bound=Callable[..., Any])


class State:
    """The global options of the command being run (reset by the callback on every command)."""

    def __init__(self) -> None:
        self.plugins_dir: str | None = None
        self.registry: Any = None  # built once per command, on first use


state = State()


def output_width() -> int | None:
    """The width results on stdout must fit: $COLUMNS, else the terminal's, else None (a pipe
    or a file without $COLUMNS: no limit, one line per row)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if sys.stdout.isatty():
            return os.get_terminal_size(sys.stdout.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        pass
    return None


def configure_consoles() -> None:
    """Size the consoles for this command (the environment may have changed since import)."""
    width = output_width()
    out_console.width = width or UNLIMITED  # type: ignore[assignment]
    err_console.width = None  # type: ignore[assignment]  # rich: the terminal, $COLUMNS or 80


def print_error(message: str) -> None:
    """One ``error: ...`` line on stderr; the message is plain text, never markup."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False,
                      soft_wrap=True)


def describe_os_error(exc: OSError) -> str:
    """'cannot write /x/report.md: No space left on device' for an OSError."""
    where = f" {exc.filename}" if exc.filename is not None else ""
    if exc.filename2 is not None:
        where += f" -> {exc.filename2}"
    return f"cannot access{where}: {exc.strerror or exc}."


def handle_errors(func: F) -> F:
    """Turn AdbError and OSError into an error line and exit code, KeyboardInterrupt into 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AdbError as exc:
            print_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("interrupted: finished runs are kept in the store.")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # `adb export | head`: the reader left; say nothing more
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), sys.stdout.fileno())
            raise typer.Exit(1) from None
        except OSError as exc:  # the file system said no (full disk, read-only folder, ...)
            print_error(describe_os_error(exc))
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def get_registry():  # type: ignore[no-untyped-def]
    """The registry of this command's plugins (``--plugins-dir`` included), built once."""
    if state.registry is None:
        from ..registry import build_registry

        state.registry = build_registry(plugins_dir=state.plugins_dir)
    return state.registry


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"adb {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    plugins_dir: Optional[str] = typer.Option(
        None, "--plugins-dir", envvar="ADB_PLUGINS_DIR", metavar="DIR",
        help="Folder of one-file plugins (*.py) to load besides the installed ones.",
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """Benchmark unsupervised anomaly detectors on tabular data."""
    state.__init__()  # type: ignore[misc]
    state.plugins_dir = plugins_dir
    configure_consoles()


from . import export, list_, plugins, report, run  # noqa: E402,F401  (registers the commands)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # outside a command (e.g. during import)
        sys.exit(130)
    finally:
        # The command is done and its store closed: spare the interpreter's final garbage
        # collections over every imported module's objects (scikit-learn, PyOD: ~0.3 s).
        gc.freeze()
