"""adbench-dagmm: a plugin-based benchmark for unsupervised anomaly detection on tabular data.

The public API for plugin authors: ``hookimpl`` to implement hooks, ``BaseDetector`` and
``BaseDataset``/``Dataset``/``DatasetCard`` to subclass, ``Protocol`` for evaluation protocols,
and the error classes.
"""

from __future__ import annotations

from .dataset import BaseDataset, Dataset, DatasetCard, data_dir, find_file
from .detector import BaseDetector
from .errors import AdbError, DataError, NotFittedError, ParameterError, PluginError, TrainingError, UsageError
from .hookspecs import hookimpl
from .protocols import Protocol, Split
from .registry import Suite

try:
    from importlib.metadata import version as _version

    __version__ = _version("adbench-dagmm")
except Exception:  # not installed (running from a source tree)
    __version__ = "0+unknown"

__all__ = [
    "AdbError", "BaseDataset", "BaseDetector", "DataError", "Dataset", "DatasetCard",
    "NotFittedError", "ParameterError", "PluginError", "Protocol", "Split", "Suite", "TrainingError",
    "UsageError", "__version__", "data_dir", "find_file", "hookimpl",
]
