"""Report sections contributed by plugins (``adb_register_report_sections``).

A plugin whose detector stores artifacts of its own (``BaseDetector.run_artifacts``: a
training history, a latent sample, ...) registers a :class:`ReportSection` whose ``build``
turns them into blocks.  ``build`` gets a :class:`ReportView`: the report's runs, the run drawn
per dataset, the stored artifacts and a factory for figures, which are drawn later, possibly in
another process, by calling ``draw(*args)`` (a module-level function returning a matplotlib
Figure or None; the helpers of :mod:`adbench_dagmm.reporting.plots` are public for it).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .document import FigureBlock


@dataclasses.dataclass(frozen=True)
class ReportSection:
    """A section of ``adb report``: a top-level heading and the blocks ``build(view)`` returns.

    ``build`` returns a list of blocks (:class:`~adbench_dagmm.reporting.document.Heading`,
    ``Para``, ``TableBlock``, or figures from :meth:`ReportView.figure`); an empty list leaves
    the section out of the report.
    """

    name: str
    title: str
    build: Callable[[ReportView], list[Any]]
    description: str = ""


@dataclasses.dataclass
class ReportView:
    """What a section may read: the report's runs and their artifacts, never the runner."""

    rows: list[dict[str, Any]]  # every run of the report, ok or not
    summary: list[dict[str, Any]]  # mean ± std (and 95 % CI) per detector, dataset, protocol
    drawn: list[tuple[str, dict[str, Any]]]  # (dataset label, run) whose figures the report drew
    plots: bool  # False with --no-plots: add no figure
    _artifact: Callable[[str, str], Any]
    _figure: Callable[[Callable[..., Any], tuple[Any, ...], tuple[str, ...], str], FigureBlock]

    def artifact(self, run_id: str, name: str) -> Any:
        """The stored artifact ``name`` of run ``run_id`` (None when it has none)."""
        return self._artifact(run_id, name)

    def figure(self, draw: Callable[..., Any], args: tuple[Any, ...], stem: tuple[str, ...],
               caption: str) -> FigureBlock:
        """A figure block drawn later as ``draw(*args)``; ``stem`` names its file."""
        return self._figure(draw, args, stem, caption)
