"""adbench-dagmm: a plugin-based benchmark for unsupervised anomaly detection on tabular data.

The public API for plugin authors: ``hookimpl`` to implement hooks, ``BaseDetector`` and
``BaseDataset``/``Dataset``/``DatasetCard`` to subclass, ``Protocol`` for evaluation protocols,
published results (``ReferenceSet``, ``PublishedValue``) and report sections (``ReportSection``,
``ReportView``) to register, and the error classes.
"""

from __future__ import annotations

from .dataset import BaseDataset, Dataset, DatasetCard, data_dir, find_file
from .detector import BaseDetector
from .errors import AdbError, DataError, NotFittedError, ParameterError, PluginError, TrainingError, UsageError
from .hookspecs import hookimpl
from .protocols import Protocol, Split
from .references import PublishedValue, ReferenceSet
from .registry import Suite
from .reporting.sections import ReportSection, ReportView

try:
    from importlib.metadata import version as _version

    __version__ = _version("adbench-dagmm")
except Exception:  # not installed (running from a source tree)
    __version__ = "0+unknown"

__all__ = [
    "AdbError", "BaseDataset", "BaseDetector", "DataError", "Dataset", "DatasetCard",
    "NotFittedError", "ParameterError", "PluginError", "Protocol", "PublishedValue", "ReferenceSet",
    "ReportSection", "ReportView", "Split", "Suite", "TrainingError", "UsageError", "__version__",
    "data_dir", "find_file", "hookimpl",
]
