"""Comparison reports built from the results store: tables, significance tests and figures,
written as Markdown, a self-contained HTML file and LaTeX.

``stats`` (CIs, ranks, Friedman and post-hoc tests, verdicts against published results) · ``tables``
(format-neutral tables) · ``plots`` (matplotlib figures) · ``document``/``html`` (renderers) ·
``build`` (reads the store, assembles and writes a report).
"""

from __future__ import annotations

from .build import FORMATS, Report, ReportOptions, build_report

__all__ = ["FORMATS", "Report", "ReportOptions", "build_report"]
