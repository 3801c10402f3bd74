"""Building a comparison report from the results store and writing it as Markdown, HTML and LaTeX.

The report reads only the store (runs and their artifacts), never a runner's memory, and the
registry for what plugins contribute: published reference results (``adb_register_references``)
and sections for their own artifacts (``adb_register_report_sections``).  Failed runs are
counted, marked and listed, and left out of every mean; a statistical test that cannot run, or
is not significant, is reported as such and the report goes on.
"""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ..errors import UsageError
from ..protocols import protocol_label
from ..results import Store
from ..summary import group_runs, mean_std, summarize
from . import plots
from .document import Document, FigureBlock, Heading, Para, TableBlock, to_latex, to_markdown
from .html import to_html
from .sections import ReportView
from .studies import label_key, label_rows, options_of, study_blocks
from .stats import (
    MIN_DATASETS,
    MIN_DETECTORS,
    POSTHOCS,
    RANK_METRICS,
    add_intervals,
    block_label,
    compare_reference,
    rank_test,
    short_names,
)
from .tables import (
    DETAIL_METRICS,
    dataset_table,
    failed_table,
    overview_table,
    pairwise_table,
    rank_table,
    reference_table,
    runtime_table,
)

if TYPE_CHECKING:
    from ..registry import Registry

FORMATS = ("md", "html", "tex")
IMAGE_FORMATS = ("png", "svg")
METRIC_NAMES = {"f1": "F1", "roc_auc": "ROC AUC", "average_precision": "average precision",
                "precision": "precision", "recall": "recall", "precision_at_n": "precision@n"}


@dataclasses.dataclass
class ReportOptions:
    """What goes into a report; the defaults are those of ``adb report``."""

    formats: Sequence[str] = ("md", "html")
    detectors: Sequence[str] | None = None
    datasets: Sequence[str] | None = None
    protocols: Sequence[str] | None = None
    seed: int | None = None  # runs whose curves are drawn; default: smallest seed per dataset
    metrics: Sequence[str] = ("f1", "roc_auc")  # metrics ranked and tested
    alpha: float = 0.05
    posthoc: str = "wilcoxon"
    image_format: str = "png"  # or "svg" (sharper, ~1.8x larger; LaTeX cannot include it)
    plots: bool = True
    jobs: int | None = None  # processes drawing figures; None: up to 4 when there are many

    def check(self) -> None:
        for fmt in self.formats:
            if fmt not in FORMATS:
                raise UsageError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}.")
        if not self.formats:
            raise UsageError(f"give at least one report format ({', '.join(FORMATS)}).")
        for metric in self.metrics:
            if metric not in RANK_METRICS:
                raise UsageError(f"cannot rank on metric {metric!r}; choose from {', '.join(RANK_METRICS)}.")
        if not 0 < self.alpha < 1:
            raise UsageError(f"--alpha must be between 0 and 1, got {self.alpha}.")
        if self.posthoc not in POSTHOCS:
            raise UsageError(f"unknown post-hoc test {self.posthoc!r}; choose from {', '.join(POSTHOCS)}.")
        if self.jobs is not None and self.jobs < 1:
            raise UsageError(f"--jobs must be >= 1, got {self.jobs}.")
        if self.image_format not in IMAGE_FORMATS:
            raise UsageError(f"unknown image format {self.image_format!r}; choose png or svg.")


@dataclasses.dataclass
class Report:
    document: Document
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    files: list[Path]
    seconds: float

    @property
    def n_failed(self) -> int:
        return sum(r["status"] != "ok" for r in self.rows)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


class _Names:
    """Unique figure file stems."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, *parts: str) -> str:
        base = "_".join(slug(p) for p in parts)
        name, i = base, 2
        while name in self.seen:
            name, i = f"{base}-{i}", i + 1
        self.seen.add(name)
        return name


def load_rows(store: Store, options: ReportOptions) -> list[dict[str, Any]]:
    """The store's runs that pass the filters; a filter that matches nothing is a usage error.

    A protocol filter is a name (every run of that protocol, whatever its options) or a label
    with options, ``name[key=value,...]`` as the report prints it (exactly those runs).
    """
    protocols = list(options.protocols or [])
    names = sorted({p.split("[", 1)[0] for p in protocols})
    rows = store.rows(detector=_none_if_empty(options.detectors), dataset=_none_if_empty(options.datasets),
                      protocol=names or None)
    if protocols:
        wanted = set(protocols)
        rows = [r for r in rows if r["protocol"] in wanted or _label(r) in wanted]
    if rows:
        return rows
    everything = store.rows()
    if not everything:
        raise UsageError(f"the results store {store.path} holds no runs; run `adb run` first.")
    have = {c: sorted({str(r[c]) for r in everything}) for c in ("detector", "dataset")}
    have["protocol"] = sorted({_label(r) for r in everything})
    wanted_by = {"detector": options.detectors, "dataset": options.datasets, "protocol": options.protocols}
    parts = [f"--{c} {', '.join(v)} (the store has: {', '.join(have[c])})"
             for c, v in wanted_by.items() if v]
    raise UsageError(f"no stored run matches {'; '.join(parts)} in {store.path}.")


def _label(row: dict[str, Any]) -> str:
    return protocol_label(row["protocol"], options_of(row))


def _none_if_empty(values: Sequence[str] | None) -> list[str] | None:
    return list(values) if values else None


def enrich(summary: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Add CIs, precision@n, fit/score seconds and data sizes to the summary records."""
    add_intervals(summary, rows, DETAIL_METRICS)
    groups = group_runs(rows, ok_only=True)
    for rec in summary:
        ok = groups.get((rec["detector"], rec["dataset"], rec["protocol"]), [])
        for key in ("fit_seconds", "score_seconds", "n_train", "n_test", "n_features"):
            rec[key] = mean_std(r.get(key) for r in ok)


def build_document(store: Store, rows: list[dict[str, Any]], options: ReportOptions,
                   registry: Registry) -> tuple[Document, list[dict[str, Any]]]:
    """The report's content (tables, tests, figures) from ``rows`` of ``store``, with the
    reference sets and sections the plugins in ``registry`` contribute.

    Runs are grouped by their protocol's label (name and options, :func:`label_rows`), so
    configurations that differ in a protocol option are never averaged together; sweeps over
    one option get a Studies section (:mod:`adbench_dagmm.reporting.studies`)."""
    rows = label_rows(rows)
    summary = summarize(rows)
    enrich(summary, rows)
    detectors = sorted({r["detector"] for r in rows})
    datasets = sorted({r["dataset"] for r in rows})
    protocols = sorted({r["protocol"] for r in rows})
    failed = [r for r in rows if r["status"] != "ok"]
    palette = plots.colors(detectors)
    short = short_names(datasets)
    names = _Names()
    doc = Document(title="adb comparison report")

    def figure(job: tuple[str | Callable[..., Any], tuple[Any, ...]], stem: str, caption: str) -> None:
        """Add a figure now; it is drawn later (see render_figures) from ``job``."""
        doc.add(FigureBlock(stem, caption, b"", options.image_format, job=job))

    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc.add(Para(f"Store {store.path}, read {generated}. {len(rows)} runs "
                 f"({len(rows) - len(failed)} ok, {len(failed)} failed) of {len(detectors)} detector(s) "
                 f"on {len(datasets)} dataset(s) under protocol(s) {', '.join(protocols)}."))
    filters = [f"{k} {', '.join(v)}" for k, v in (("detectors", options.detectors),
               ("datasets", options.datasets), ("protocols", options.protocols)) if v]
    if filters:
        doc.add(Para("Filtered to " + "; ".join(filters) + ".", "note"))
    doc.add(Para("Detectors: " + ", ".join(detectors) + ". Datasets: " + ", ".join(datasets) + ".", "note"))
    if failed:
        doc.add(Para(f"{len(failed)} of {len(rows)} runs did not finish ok. They are marked ⚠ (ok "
                     "column shows ok/total), left out of every mean, rank and plot, and listed "
                     "under Failed runs.", "warn"))

    # -- overview (the terminal table of `adb run`) ------------------------------------------------
    doc.add(Heading(1, "Overview"),
            TableBlock(overview_table(summary), "Mean ± std over seeds (sample std, ddof = 1), "
                       "ok runs only; the table `adb run` prints."))

    # -- studies: sweeps over one protocol option -------------------------------------------------
    studies = study_blocks(rows, palette, options.plots, lambda job, stem, caption: FigureBlock(
        names(*stem), caption, b"", options.image_format, job=job))
    if studies:
        doc.add(Heading(1, "Studies"), *studies)

    # -- per dataset --------------------------------------------------------------------------------
    doc.add(Heading(1, "Per-dataset results"),
            Para("Mean ± std [95 % Student-t confidence interval of the mean, clipped to [0, 1]] "
                 "over seeds; best mean per column in bold. A CI needs at least two ok seeds.", "note"))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in summary:
        groups.setdefault((rec["dataset"], rec["protocol"]), []).append(rec)
    ok_rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        if row["status"] == "ok":
            ok_rows.setdefault((row["dataset"], row["protocol"]), []).append(row)
    many_protocols = len(protocols) > 1
    drawn: list[tuple[str, dict[str, Any]]] = []  # (dataset label, run) drawn, for plugin sections
    if options.plots:
        seed_text = f"seed {options.seed}" if options.seed is not None else "the smallest seed of the dataset"
        doc.add(Para("Figures: ROC and precision–recall curves and test-score histograms of one run "
                     f"per detector ({seed_text}; a detector without an ok run of that seed shows its "
                     "smallest seed, named in the legend); box plots of F1 and ROC AUC over all ok "
                     "seeds.", "note"))
    order = {r["protocol"]: label_key(r) for r in rows}  # 0.05 before 0.1, not as text
    for (dataset, protocol), records in sorted(groups.items(), key=lambda g: (g[0][0], order[g[0][1]])):
        label = block_label(dataset, protocol, many_protocols, short)
        doc.add(Heading(2, label), TableBlock(dataset_table(records), "" if label == dataset else
                                              f"Dataset {dataset}, protocol {protocol}."))
        block_rows = ok_rows.get((dataset, protocol), [])
        if options.plots and block_rows:
            drawn.extend(_dataset_figure(doc, store, label, block_rows, options, palette, names, figure))

    # -- ranks and significance ---------------------------------------------------------------------
    doc.add(Heading(1, "Ranks and significance"),
            Para(f"Detectors are ranked on every dataset by their mean over seeds (1 = best, ties "
                 f"share the average rank), on datasets where every detector has an ok run. The "
                 f"Friedman test (SciPy) needs at least {MIN_DETECTORS} detectors and {MIN_DATASETS} "
                 f"such datasets; when it rejects at α = {options.alpha:g}, the post-hoc test "
                 f"({'Wilcoxon signed-rank, Holm-corrected' if options.posthoc == 'wilcoxon' else 'Nemenyi'}"
                 ", scikit-posthocs) compares every pair. Per-dataset cells show rank (mean).", "note"))
    for metric in options.metrics:
        test = rank_test(summary, metric, alpha=options.alpha, posthoc=options.posthoc, names=short)
        doc.add(Heading(2, f"Average rank: {METRIC_NAMES[metric]}"))
        if test.blocks:
            doc.add(TableBlock(rank_table(test)))
        else:
            doc.add(Para("No dataset has an ok run of every detector: nothing to rank.", "warn"))
        doc.add(Para(test.message, "text" if test.ran else "warn"))
        if test.pairwise is not None:
            doc.add(TableBlock(pairwise_table(test), f"Post-hoc p-values ({METRIC_NAMES[metric]}); "
                               f"bold: significant at α = {options.alpha:g}."))
        if options.plots and test.ran:
            figure(("cd_figure", (test, palette)), names("cd", metric),
                   f"Critical-difference diagram, {METRIC_NAMES[metric]}: average ranks; a bar joins "
                   "detectors that are not significantly different"
                   + ("" if test.significant else " (Friedman not significant: all are joined)") + ".")

    # -- published results ---------------------------------------------------------------------------
    _reference_sections(doc, registry, summary)

    # -- sections of plugins (their own artifacts) --------------------------------------------------
    view = ReportView(
        rows=rows, summary=summary, drawn=drawn, plots=options.plots, _artifact=store.artifact,
        _figure=lambda draw, args, stem, caption: FigureBlock(
            names(*stem), caption, b"", options.image_format, job=(draw, args)),
    )
    for name in registry.names("report_section"):
        section = registry.get("report_section", name).cls
        blocks = section.build(view)
        if blocks:
            doc.add(Heading(1, section.title), *blocks)

    # -- runtime and failures -----------------------------------------------------------------------
    doc.add(Heading(1, "Runtime"),
            TableBlock(runtime_table(summary), "Mean ± std over ok runs: fit and score wall-clock "
                       "seconds, peak resident memory of the run, rows and features."))
    if failed:
        doc.add(Heading(1, "Failed runs"), TableBlock(failed_table(rows)))
    return doc, summary


def _pick_runs(block_rows: list[dict[str, Any]], seed: int | None) -> tuple[int | None, list[dict[str, Any]]]:
    """One ok run per detector: at ``seed`` (default: the smallest seed of the dataset), else the
    detector's smallest seed."""
    chosen = seed if seed is not None else min(r["seed"] for r in block_rows)
    by_detector: dict[str, list[dict[str, Any]]] = {}
    for row in block_rows:  # ordered by seed, then created_at: the last of a seed is the newest
        by_detector.setdefault(row["detector"], []).append(row)
    picked = []
    for detector in sorted(by_detector):
        runs = by_detector[detector]
        seed_of = chosen if any(r["seed"] == chosen for r in runs) else min(r["seed"] for r in runs)
        picked.append([r for r in runs if r["seed"] == seed_of][-1])
    return chosen, picked


def _dataset_figure(doc, store, label, block_rows, options, palette, names, figure):  # type: ignore[no-untyped-def]
    """The dataset's small multiples; returns the runs drawn (their training is drawn later)."""
    seed, picked = _pick_runs(block_rows, options.seed)
    runs = []
    for row in picked:
        curves = store.artifact(row["run_id"], "curves")
        if isinstance(curves, dict):
            runs.append((row["detector"], row["seed"], curves))
    values: dict[str, dict[str, list[float]]] = {}
    for row in block_rows:
        per = values.setdefault(row["detector"], {"f1": [], "roc_auc": []})
        per["f1"].append(row.get("f1"))
        per["roc_auc"].append(row.get("roc_auc"))
    figure(("dataset_figure", (label, runs, values, palette)), names("dataset", label),
           f"{label}: ROC, precision–recall and score histograms (seed {seed}"
           + ("" if runs else "; no stored curves") + "), F1 and ROC AUC over seeds.")
    return [(label, row) for row in picked]


def _reference_sections(doc: Document, registry: Registry, summary: list[dict[str, Any]]) -> None:
    """A section per registered reference set that matches a detector of this report."""
    shown = []
    for name in registry.names("reference"):
        reference = registry.get("reference", name).cls
        comparisons = compare_reference(reference, summary)
        if comparisons:
            shown.append((reference, comparisons))
    if not shown:
        return
    doc.add(Heading(1, "Published results"),
            Para("Registered reference results (`adb list references`) next to this report's "
                 "runs of the matching detectors (mean ± std over seeds). Verdict: where our mean "
                 "lies relative to the published value on the verdict metric — above it (our whole "
                 "95 % CI is above), the published value is within the 95 % CI, or below it; "
                 "\"protocol differs\" when we ran the pair only under another protocol.", "note"))
    for reference, comparisons in shown:
        doc.add(Heading(2, reference.citation),
                Para(f"Protocol: {reference.protocol}. {reference.protocol_differences}".strip(), "note"),
                TableBlock(reference_table(reference, comparisons)))
        unmatched = [m for m in reference.methods if m not in reference.detectors]
        if unmatched:
            doc.add(Para("Also in this table, with no detector of ours: " + ", ".join(unmatched) + ".",
                         "note"))


def build_report(results_dir: str | Path | None, output_dir: str | Path,
                 options: ReportOptions | None = None, *, registry: Registry | None = None) -> Report:
    """Read the store under ``results_dir`` and write the report files into ``output_dir``.

    ``registry`` (default: every installed plugin) supplies the reference sets and sections.

    Writes ``report.md``, ``report.html`` and/or ``report.tex`` and the figures under
    ``figures/`` (the HTML also embeds them, so it is one self-contained file).
    """
    options = options or ReportOptions()
    options.check()
    start = time.perf_counter()
    if registry is None:
        from ..registry import build_registry

        registry = build_registry()
    with Store(results_dir, create=False) as store:
        rows = load_rows(store, options)
        doc, summary = build_document(store, rows, options, registry)
    plots.render_figures(doc.figures, options.jobs)
    out = Path(output_dir)
    figures_dir = out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for block in doc.figures:
        path = out / block.path
        path.write_bytes(block.data)
    renderers = {"md": to_markdown, "html": to_html, "tex": to_latex}
    for fmt in dict.fromkeys(options.formats):
        path = out / f"report.{fmt}"
        path.write_text(renderers[fmt](doc), encoding="utf-8")
        files.append(path)
    return Report(doc, rows, summary, files, time.perf_counter() - start)


def parse_list(values: Iterable[str] | None) -> list[str]:
    """``["md,html", "tex"]`` -> ``["md", "html", "tex"]`` (options given as lists or repeated)."""
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out
