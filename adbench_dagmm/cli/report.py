"""``adb report``: a comparison report (Markdown, HTML, LaTeX) of the runs in a results store."""

from __future__ import annotations

import enum
import tempfile
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import AdbError, UsageError
from . import app, err_console, get_registry, handle_errors, out_console


class Posthoc(str, enum.Enum):
    wilcoxon = "wilcoxon"
    nemenyi = "nemenyi"


class ImageFormat(str, enum.Enum):
    png = "png"
    svg = "svg"


@app.command("report")
@handle_errors
def report_command(
    results: Path = typer.Option(Path("results"), "--results", metavar="DIR", help="Results folder holding adb.sqlite. Default: ./results."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="DIR", help="Folder for the report files, created if missing. Default: the results folder's report/."),
    format: List[str] = typer.Option(["md,html"], "--format", "-f", metavar="FORMATS", help="Formats, comma-separated or repeated: md, html, tex."),
    detector: Optional[List[str]] = typer.Option(None, "--detector", "-d", metavar="NAME", help="Only these detectors (repeatable)."),
    dataset: Optional[List[str]] = typer.Option(None, "--dataset", "-D", metavar="NAME", help="Only these datasets (repeatable), named as stored (adb export lists them)."),
    protocol: Optional[List[str]] = typer.Option(None, "--protocol", "-p", metavar="NAME", help="Only these protocols (repeatable): a name (with any options), or a label as the tables print it, with its options in brackets."),
    seed: Optional[int] = typer.Option(None, "--seed", metavar="SEED", help="Seed whose ROC/PR curves, histograms and plugin figures (e.g. training curves) are drawn. Default: the smallest seed of each dataset."),
    metric: List[str] = typer.Option(["f1,roc_auc"], "--metric", "-m", metavar="METRICS", help="Metrics to rank and test, comma-separated or repeated: f1, roc_auc, average_precision, precision, recall, precision_at_n."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the Friedman and post-hoc tests."),
    posthoc: Posthoc = typer.Option(Posthoc.wilcoxon, "--posthoc", help="Post-hoc test after a significant Friedman test: Wilcoxon signed-rank with Holm correction, or Nemenyi."),
    image_format: ImageFormat = typer.Option(ImageFormat.png, "--image-format", help="Figure format, embedded in the HTML and saved under figures/ (LaTeX includes PNG only)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", metavar="N", help="Processes that draw the figures. Default: one per CPU, at most 4, for reports of 12 figures or more."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Draw the figures (tables and tests only with --no-plots)."),
) -> None:
    """Write a comparison report of stored runs: per-dataset tables with 95 % CIs, average ranks,
    Friedman and post-hoc tests with critical-difference diagrams, published reference results
    beside ours with a verdict (adb list references), curves, histograms, the sections plugins
    add (e.g. training curves), runtimes, failed runs.

    Failed runs are marked in the report, not an error: the exit status is 0 whenever the
    report was written, 2 for a usage error (no store, a filter that matches nothing).
    """
    from ..reporting.build import ReportOptions, build_report, parse_list

    options = ReportOptions(
        formats=parse_list(format), detectors=detector or None, datasets=dataset or None,
        protocols=protocol or None, seed=seed, metrics=parse_list(metric), alpha=alpha,
        posthoc=posthoc.value, image_format=image_format.value, plots=plots, jobs=jobs,
    )
    from ..results import Store

    Store(results, create=False).close()  # a missing or foreign store: say so before making folders
    target = output or results / "report"
    check_output_folder(target, f"--output {target}" + ("" if output else " (the default)"))
    try:
        report = build_report(results, target, options, registry=get_registry())
    except OSError as exc:  # the store is read through Store; this is writing the report
        raise AdbError(f"cannot write the report into {target}: {exc.strerror} ({exc.filename}).") from None
    for path in report.files:
        out_console.print(str(path), highlight=False, soft_wrap=True)
    n = len(report.rows)
    err_console.print(
        f"report of {n} run(s) ({n - report.n_failed} ok, {report.n_failed} failed) with "
        f"{len(report.document.figures)} figure(s) written in {report.seconds:.1f} s.",
        highlight=False,
    )


def check_output_folder(folder: Path, what: str) -> None:
    """Make sure the report can be written to ``folder`` before any work: refuse a file (or a
    path under one), create a missing folder, and try a temporary file in it."""
    from ..results import blocking_file

    blocker = blocking_file(folder)
    if blocker is not None:
        raise UsageError(f"{what}: {blocker} is a file, not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise AdbError(f"cannot write the report into {folder}: {exc.strerror}; pass a writable --output folder.") from None
