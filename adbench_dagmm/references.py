"""Published reference results as plugin data: a :class:`ReferenceSet` is one table of a paper.

A plugin registers reference sets through ``adb_register_references``; ``adb report`` puts our
runs beside every set that matches them, with a verdict, and ``adb list references`` lists the
sets.  The core knows no paper: which methods of a table are which of our detectors, and which
of its datasets are ours, is part of the set.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

from .errors import PluginError

#: Metrics a reference set may publish (the store's columns).
REFERENCE_METRICS = ("precision", "recall", "f1", "roc_auc", "average_precision", "precision_at_n")


@dataclasses.dataclass(frozen=True)
class PublishedValue:
    """One row of a published table: a method on a dataset, as the paper names them.

    ``metrics`` maps a metric (``precision``, ``recall``, ``f1``, ...; fractions in [0, 1]) to
    the published mean; ``std`` the published standard deviations, where given; ``n_runs`` the
    number of runs the mean is over, where given.
    """

    method: str
    dataset: str
    metrics: Mapping[str, float]
    std: Mapping[str, float] = dataclasses.field(default_factory=dict)
    n_runs: int | None = None
    note: str = ""


@dataclasses.dataclass(frozen=True)
class ReferenceSet:
    """A table of published results, and how its rows match our runs.

    Parameters
    ----------
    name
        Registry key (``[a-z][a-z0-9_]*``), e.g. ``authoryear_table2``.
    citation
        Authors, title, venue, year and the table.
    protocol
        Our registered protocol that follows the paper's; runs under another protocol are
        shown with the verdict "protocol differs".
    protocol_differences
        What still differs between the paper's protocol and ours (shown with the table).
    values
        The published rows.
    detectors, datasets
        The paper's method and dataset names mapped to our detector and dataset names; rows
        whose method or dataset has no counterpart are listed, not compared.
    metric
        The metric the verdict is taken on.
    """

    name: str
    citation: str
    protocol: str
    values: tuple[PublishedValue, ...]
    detectors: Mapping[str, str]
    datasets: Mapping[str, str]
    protocol_differences: str = ""
    metric: str = "f1"
    description: str = ""

    def __post_init__(self) -> None:
        where = f"reference set {self.name!r}"
        if not self.values:
            raise PluginError(f"{where} has no values.")
        for value in self.values:
            unknown = [m for m in list(value.metrics) + list(value.std) if m not in REFERENCE_METRICS]
            if unknown:
                raise PluginError(f"{where}: unknown metric(s) {', '.join(unknown)} for "
                                  f"{value.method} on {value.dataset}; use {', '.join(REFERENCE_METRICS)}.")
            bad = [m for m, v in value.metrics.items() if not (math.isfinite(v) and 0.0 <= v <= 1.0)]
            if bad:
                raise PluginError(f"{where}: {value.method} on {value.dataset}: {', '.join(bad)} "
                                  "must be a finite fraction in [0, 1] (convert percentages).")
        if not any(self.metric in v.metrics for v in self.values):
            raise PluginError(f"{where}: no value publishes the verdict metric {self.metric!r}.")

    @property
    def metrics(self) -> list[str]:
        """The published metrics, in :data:`REFERENCE_METRICS` order."""
        seen = {m for v in self.values for m in v.metrics}
        return [m for m in REFERENCE_METRICS if m in seen]

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(v.method for v in self.values))

    def matched(self) -> list[tuple[PublishedValue, str, str]]:
        """``(value, our detector, our dataset)`` for every row with counterparts of ours."""
        return [(v, self.detectors[v.method], self.datasets[v.dataset]) for v in self.values
                if v.method in self.detectors and v.dataset in self.datasets]
