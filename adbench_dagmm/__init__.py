"""adbench-dagmm: a plugin-based benchmark for unsupervised anomaly detection on tabular data.

The public API for plugin authors: ``hookimpl`` to implement hooks, ``BaseDetector`` and
``BaseDataset``/``Dataset``/``DatasetCard`` to subclass, ``Protocol`` for evaluation protocols,
published results (``ReferenceSet``, ``PublishedValue``) and report sections (``ReportSection``,
``ReportView``) to register, and the error classes.

The public API for data: :func:`load_dataset` loads a registered dataset (or a file) exactly as
``adb run`` does, and :func:`get_protocol` gives a protocol whose ``split(dataset, seed)`` is the
split a run gets::

    import adbench_dagmm
    data = adbench_dagmm.load_dataset("thyroid")
    split = adbench_dagmm.get_protocol("zong2018").split(data, seed=0)
    split.X_train, split.X_test, split.y_test    # scaled with training statistics only
"""

from __future__ import annotations

import os
from typing import Any

from .dataset import BaseDataset, Dataset, DatasetCard, data_dir, find_file
from .detector import BaseDetector
from .errors import AdbError, DataError, NotFittedError, ParameterError, PluginError, TrainingError, UsageError
from .hookspecs import hookimpl
from .protocols import Protocol, Split
from .references import PublishedValue, ReferenceSet
from .registry import Suite
from .context import RunContext
from .reporting.sections import ReportSection, ReportView


def load_dataset(name: str, *, data_dir: str | os.PathLike[str] | None = None,
                 context: RunContext | None = None, **options: Any) -> Dataset:
    """Load and validate a dataset as a run does.

    Parameters
    ----------
    name
        A registered name (``"kddcup99"``, ``"odds:wbc"``, an alias such as
        ``"adbench:thyroid"``; see ``adb list datasets``) or the path of a data file.
    data_dir
        A folder to look in before ``$ADB_DATA_DIR``, the user cache and the shipped files
        (``adb run --data-dir``).  Give either this or ``context``.
    context
        A :class:`RunContext` to load through (its data folder, plugins and dataset cache);
        reuse one to load several datasets without rebuilding the plugin registry.
    **options
        For data files only: ``label_column``, ``anomaly_label``, ``impute`` (as ``adb run``'s
        ``--label-column``, ``--anomaly-label`` and ``--impute``).

    Returns
    -------
    Dataset
        ``X`` (float, n x d), ``y`` (1 = anomaly), ``name``, ``card`` and ``notes``.

    Raises
    ------
    UsageError
        For an unknown name (with the closest names), both ``data_dir`` and ``context``, or an
        option a registered dataset does not take.
    DataError
        When the file cannot be found, read or validated; the message names it.
    """
    context = _context(data_dir, context)
    registry = context.registry
    if name in registry.entries["dataset"]:
        from .params import constructor_params

        accepted = constructor_params(registry.dataset(name))
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise UsageError(
                f"dataset {name!r} is registered and takes no option {', '.join(unknown)}; "
                "label_column, anomaly_label and impute are for data files."
            )
    return context.load(name, options)


def get_protocol(name: str, *, context: RunContext | None = None, **options: Any) -> Protocol:
    """The evaluation protocol ``name`` (``"zong2018"``, ``"pyod"``, ``"adbench"``, or one a
    plugin registers; see ``adb list protocols``) with ``options``, ready to use.

    ``get_protocol(name).split(dataset, seed)`` returns the :class:`Split` a run with that seed
    gets: training rows, test rows and labels, scaled with statistics of the training rows only,
    and the contamination the threshold uses; ``split.y_known`` holds the labels the protocol
    reveals (``get_protocol("adbench", labeled_anomalies=0.1)``).  ``threshold(scores, rho)``
    turns scores into 0/1 predictions as the run does.  Raises :class:`UsageError` for an
    unknown name, :class:`ParameterError` for a bad option.
    """
    return _context(None, context).registry.protocol(name)(**options)


def _context(data_dir: str | os.PathLike[str] | None, context: RunContext | None) -> RunContext:
    if context is not None and data_dir is not None:
        raise UsageError("give either data_dir or context, not both (a context has its own data_dir).")
    return context if context is not None else RunContext(data_dir)


try:
    from importlib.metadata import version as _version

    __version__ = _version("adbench-dagmm")
except Exception:  # not installed (running from a source tree)
    __version__ = "0+unknown"

__all__ = [
    "AdbError", "BaseDataset", "BaseDetector", "DataError", "Dataset", "DatasetCard",
    "NotFittedError", "ParameterError", "PluginError", "Protocol", "PublishedValue", "ReferenceSet",
    "ReportSection", "ReportView", "RunContext", "Split", "Suite", "TrainingError", "UsageError",
    "__version__", "data_dir", "find_file", "get_protocol", "hookimpl", "load_dataset",
]
