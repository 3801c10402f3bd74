"""The exception hierarchy: every error the library raises on purpose is an ``AdbError``.

The CLI turns ``AdbError`` into one ``error: ...`` line and an exit code; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class AdbError(Exception):
    """Base class of every error raised on purpose by adbench-dagmm."""

    exit_code = 1


class UsageError(AdbError):
    """The command line or API was called wrongly (unknown name, bad option)."""

    exit_code = 2


class ParameterError(UsageError, ValueError):
    """A detector, protocol or dataset parameter is unknown or has a bad value."""


class PluginError(AdbError):
    """A plugin could not be loaded or registered something invalid."""


class DataError(AdbError, ValueError):
    """A data file or array is missing, corrupt or unusable (names the file/column and a fix)."""


class NotFittedError(AdbError, AttributeError):
    """A detector method that needs a fitted model was called before ``fit``."""


class TrainingError(AdbError, RuntimeError):
    """Training diverged or failed numerically (names the epoch/batch/component)."""
