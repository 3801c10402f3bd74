"""The report's figures, drawn with matplotlib's object API on the Agg canvas.

Figures are built from ``matplotlib.figure.Figure`` directly, never through pyplot: no global
state, no GUI backend, nothing kept alive between figures.  Each function takes plain data read
from the store (curves, histograms, metric values, training history, latent sample) and returns
a Figure; :func:`render` turns it into PNG or SVG bytes.  :func:`new_figure`, :func:`style`,
:func:`few_ticks` and the class colours ``NORMAL``/``ANOMALY`` are public for the figures of
plugins' report sections.

Colour means detector: :func:`colors` gives every detector of a report one colour, used by its
ROC and precision-recall curves, its score histograms, its box plots and its critical-difference
label, and by nothing else.  The test labels (normal / anomaly) are told apart by grey and black,
or by direction and shade, never by a hue a detector could also have.

A report of a few thousand runs has dozens of datasets, so the cost per figure matters: each
dataset gets one figure of small multiples (ROC, precision-recall, score histograms, box plots),
titles are placed without
matplotlib's automatic title layout, and axes carry few ticks.

Why one module of about 450 lines: every figure of a report shares one palette, one style and
the worker-pool renderer, so that one detector keeps one colour across all of them.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .document import FigureBlock
    from .stats import RankTest

DPI = 90
#: Colours of the test labels where a figure shows one detector (the latent space): neutral, so
#: that no hue means both a label and a detector.
NORMAL, ANOMALY = "#9aa3ab", "#1a1a1a"
STYLE = {
    # an explicit title height switches off the automatic title placement, which measures the
    # tick labels of every axes on every draw (a third of the drawing time of small multiples)
    "axes.titley": 1.0, "axes.titlepad": 4.0, "axes.titlesize": 9, "axes.labelsize": 8,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "legend.fontsize": 7, "legend.frameon": False,
    "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "adb",
}
METRIC_TITLE = {"f1": "F1", "roc_auc": "ROC AUC", "average_precision": "AP", "precision": "precision",
                "recall": "recall", "precision_at_n": "P@n"}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The report's matplotlib settings, for building and rendering figures."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float) -> Figure:
    """An empty Figure on the Agg canvas (no pyplot), at the report's resolution."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def few_ticks(ax: Axes, n: int = 4) -> None:
    """At most ``n`` major ticks on each axis (fewer labels to lay out and draw)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(n))
    ax.yaxis.set_major_locator(MaxNLocator(n))


def colors(names: Iterable[str]) -> dict[str, str]:
    """One colour per detector (``"#rrggbb"``), a function of the *set* of names only.

    Every figure of a report gets its colours from this one call on the report's detectors, so
    a detector has the same colour in the ROC, precision-recall, histogram, box-plot and
    critical-difference figures.  Names are sorted first: any order of the same names gives the
    same map.  Up to 10 detectors get matplotlib's ``tab10``; up to 20, the ten ``tab10`` colours
    and then their light ``tab20`` partners (so a detector's colour does not change when an 11th
    is added); beyond that, evenly spaced ``turbo`` colours, still one per detector.
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    ordered = sorted(set(names))
    n = len(ordered)
    if n <= 20:
        tab20 = colormaps["tab20"]  # even entries are tab10's colours, odd ones their light partners
        picks = [tab20(2 * i) for i in range(min(n, 10))] + [tab20(2 * i + 1) for i in range(n - 10)]
    else:
        picks = [colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, n)]
    return {name: to_hex(color) for name, color in zip(ordered, picks)}


def training_panel(ax: Axes, term: str, series: list[tuple[str, list[float]]], epochs: Any = None,
                   best: Any = None, legend: bool = False) -> None:
    """One training-curve panel: an objective term over epochs, for the training figures of
    plugins' report sections.  ``series`` is ``[(key, values), ...]`` (train solid black,
    ``val_*`` dashed grey).

    The x axis counts epochs in whole numbers, from the first epoch to the last; the y axis is
    labelled with the term (and "log scale" when the values span more than 50x, drawn on a log
    axis).  ``best`` (an epoch number) is marked with a dotted line.  ``epochs`` are the epoch
    numbers when they match the series' length, else 1, 2, ...
    """
    from matplotlib.ticker import MaxNLocator

    n = 0
    for key, values in series:
        x = epochs if isinstance(epochs, list) and len(epochs) == len(values) else range(1, len(values) + 1)
        validation = key.startswith("val_")
        ax.plot(list(x), values, lw=1.3, color="0.55" if validation else "0.1", ls="--" if validation else "-",
                label="validation" if validation else "train")
        n = max(n, len(values))
    finite = [v for _, vals in series for v in vals if math.isfinite(v)]
    log = bool(finite and min(finite) > 0 and max(finite) / min(finite) > 50)
    if log:
        ax.set_yscale("log")  # its own locator: decades
    else:
        ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True, min_n_ticks=1))
    xs = [float(v) for v in (epochs if isinstance(epochs, list) and len(epochs) == n else range(1, n + 1))
          if isinstance(v, (int, float))]
    if xs:
        lo, hi = min(xs), max(xs)
        ax.set_xlim(lo - 0.5, hi + 0.5) if lo == hi else ax.set_xlim(lo, hi)
    if isinstance(best, int) and not isinstance(best, bool) and best > 0:
        ax.axvline(best, color="0.5", lw=0.8, ls=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel(term + (" (log scale)" if log else ""))
    if legend:
        ax.legend(loc="upper right")


def render(fig: Figure, fmt: str = "png") -> bytes:
    buf = io.BytesIO()
    with style():
        if fmt == "png":
            fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None},
                        pil_kwargs={"compress_level": 3})
        else:
            fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


FIGURES = ("dataset_figure", "cd_figure")


def draw(job: tuple[str | Callable[..., Any], tuple[Any, ...]], fmt: str = "png") -> bytes:
    """Build and render one figure from ``(function, arguments)``; runs in worker processes.

    The function is the name of one of this module's :data:`FIGURES`, or a module-level function
    of a plugin's report section (pickled by reference, so importable in the worker).
    """
    func, args = job
    if isinstance(func, str):
        if func not in FIGURES:
            raise ValueError(f"unknown figure {func!r}")
        func = globals()[func]
    fig = func(*args)
    if fig is None:
        raise ValueError(f"{getattr(func, '__name__', func)} had nothing to draw")
    return render(fig, fmt)


#: Below this many figures, starting worker processes costs more than it saves.
PARALLEL_MIN_FIGURES = 16


def render_figures(blocks: list[FigureBlock], jobs: int | None = None) -> None:
    """Draw every figure block's job, in ``jobs`` processes (default: one per CPU, at most 4,
    when there are at least :data:`PARALLEL_MIN_FIGURES` figures).

    Drawing is pure-Python CPU work in matplotlib, so processes, not threads.  Workers fork
    from a forkserver that has imported matplotlib once (a fork of this process could inherit
    a browser driver's or a sweep's threads).  Results come back in document order.
    """
    import os

    todo = [b for b in blocks if b.job is not None]
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 4) if len(todo) >= PARALLEL_MIN_FIGURES else 1
    # critical-difference diagrams need scikit-posthocs, already imported here: draw them here
    # ... and figures of one-file plugins, whose modules a worker process cannot import
    here = [b for b in todo if jobs == 1 or b.job[0] == "cd_figure" or (
        not isinstance(b.job[0], str) and b.job[0].__module__.startswith("adb_local_plugin_"))]
    away = [b for b in todo if b not in here]
    for block in here:
        block.data = draw(block.job, block.fmt)
    if not away:
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["adbench_dagmm.reporting.plots", "matplotlib.figure",
                                    "matplotlib.backends.backend_agg", "matplotlib.backends.backend_svg"])
    else:
        ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(jobs, len(away)), mp_context=ctx) as pool:
        results = pool.map(draw, [b.job for b in away], [b.fmt for b in away], chunksize=1)
        for block, data in zip(away, results):
            block.data = data


# -- one figure per dataset ----------------------------------------------------------------------
def dataset_figure(title: str, runs: list[tuple[str, int, dict[str, Any]]],
                   values: dict[str, dict[str, list[float]]], palette: dict[str, Any]) -> Figure:
    """Small multiples of one dataset.

    Top: ROC and precision-recall curves and test-score histograms by label of one run per
    detector (``runs``: detector, seed, curves artifact).  Bottom: box plots of F1 and ROC AUC
    over seeds (``values``: detector -> metric -> per-seed values).
    """
    detectors = sorted(set(values) | {d for d, _, _ in runs})
    width = max(11.0, 0.45 * len(detectors) * 2 + 4)
    fig = new_figure(width, 6.6)
    grid = fig.add_gridspec(2, 3, left=0.06, right=0.99, bottom=0.13, top=0.9, wspace=0.28, hspace=0.5,
                            width_ratios=[1, 1, 1.15])
    with style():
        roc_ax, pr_ax, hist_ax = (fig.add_subplot(grid[0, i]) for i in range(3))
        f1_ax, auc_ax = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
        legend_ax = fig.add_subplot(grid[1, 2])
        _roc_pr(roc_ax, pr_ax, runs, palette)
        _score_hist(hist_ax, runs, palette)
        _box(f1_ax, values, detectors, "f1", palette)
        _box(auc_ax, values, detectors, "roc_auc", palette)
        _legend(legend_ax, detectors, runs, palette)
        fig.suptitle(title, fontsize=11, x=0.06, ha="left")
    return fig


def _roc_pr(roc_ax: Axes, pr_ax: Axes, runs: list[tuple[str, int, dict[str, Any]]],
            palette: dict[str, Any]) -> None:
    from matplotlib.collections import LineCollection

    roc_lines, pr_lines, roc_colors, pr_colors = [], [], [], []
    for detector, _seed, curves in runs:
        roc, pr = curves.get("roc") or {}, curves.get("pr") or {}
        if roc.get("fpr") and len(roc["fpr"]) == len(roc.get("tpr") or []):
            roc_lines.append(np.column_stack([roc["fpr"], roc["tpr"]]))
            roc_colors.append(palette.get(detector))
        if pr.get("recall") and len(pr["recall"]) == len(pr.get("precision") or []):
            pr_lines.append(np.column_stack([pr["recall"], pr["precision"]]))
            pr_colors.append(palette.get(detector))
    # one collection per axes instead of a Line2D per detector: cheaper to build and draw
    roc_ax.add_collection(LineCollection(roc_lines, colors=roc_colors, linewidths=1.3))
    pr_ax.add_collection(LineCollection(pr_lines, colors=pr_colors, linewidths=1.3))
    roc_ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01))
    roc_ax.set_title("ROC", y=1.0)
    pr_ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.01))
    pr_ax.set_title("Precision–recall", y=1.0)
    few_ticks(roc_ax, 5)
    few_ticks(pr_ax, 5)


#: Shades of a detector's colour in its score histogram: normal rows (up) light, anomalies (down) dark.
NORMAL_ALPHA, ANOMALY_ALPHA = 0.35, 0.9


def rank_histogram(curves: dict[str, Any], per_decade: int = 8, min_rows: int = 10, min_width: float = 5.0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Where a run's normal and anomalous test rows rank among all its test scores.

    Returns ``(edges, normal, anomaly)``: ``edges`` are shares of the test rows, increasing
    from ``min_rows / n`` (or a quarter of the anomalies' share, if smaller, but at least one
    row) to 1, spaced evenly on a log scale (``per_decade`` bins a decade) except that no bin
    is narrower than ``min_width`` rows (a bin of one or two rows is noise); bin ``i`` counts
    the rows whose *top share* (the share of test rows scoring at least as high) lies between
    ``edges[i]`` and ``edges[i + 1]``; the first bin also holds the rows above ``edges[0]``.

    Ranks, not score values: a heavy tail (DAGMM's energies, HBOS, PCA) cannot squeeze every
    row into one bin of a linear score axis, and every detector of a dataset shares the axis.
    Log spacing gives the top few per cent, where the anomalies of a good detector are, as many
    bins as the bulk of the rows.

    The counts come from the stored ROC curve, which holds the two labels' score
    distributions: at each threshold, ``fpr * n_normal`` normal and ``tpr * n_anomaly``
    anomalous rows score at or above it.  Between stored points (ties, or points thinned away)
    rows are spread evenly.  The label counts are the sums of the stored histogram.  None when
    either is missing.
    """
    roc, hist = curves.get("roc") or {}, curves.get("hist") or {}
    try:
        fpr = np.asarray(roc.get("fpr") or [], dtype=np.float64)
        tpr = np.asarray(roc.get("tpr") or [], dtype=np.float64)
        n_normal = float(np.sum(hist.get("normal") or []))
        n_anomaly = float(np.sum(hist.get("anomaly") or []))
    except (TypeError, ValueError):
        return None
    if (fpr.size < 2 or fpr.shape != tpr.shape or not (np.isfinite(fpr).all() and np.isfinite(tpr).all())
            or n_normal <= 0 or n_anomaly <= 0):
        return None
    n = n_normal + n_anomaly
    above = n_normal * fpr + n_anomaly * tpr  # rows scoring at or above each threshold
    above, first = np.unique(above, return_index=True)  # increasing, as np.interp needs
    # the axis reaches the top min_rows rows, or further where anomalies are few: a quarter
    # of their share, so that the bins right of it can show where they rank
    low = min(1.0, max(1.0 / n, min(min_rows / n, n_anomaly / n / 4)))
    step = 10 ** (1 / per_decade)
    rows_list = [low * n]
    while rows_list[-1] < n:
        rows_list.append(max(rows_list[-1] * step, rows_list[-1] + min_width))
    if len(rows_list) > 2 and n - rows_list[-2] < min_width / 2:
        rows_list.pop(-2)  # no sliver of a bin next to the bottom edge
    rows = np.minimum(np.asarray(rows_list), n)
    edges = rows / n
    if rows.size < 2:
        return None
    rows[0] = 0.0  # the first bin takes the rows above edges[0] too
    normal = np.diff(np.interp(rows, above, n_normal * fpr[first]))
    anomaly = np.diff(np.interp(rows, above, n_anomaly * tpr[first]))
    return edges, normal, anomaly


def _score_hist(ax: Axes, runs: list[tuple[str, int, dict[str, Any]]], palette: dict[str, Any]) -> None:
    """One row per detector, in its colour: where its normal (up, light) and anomalous (down,
    dark) test rows rank, as shares of the test rows scoring at least as high, on a log axis
    (:func:`rank_histogram`).  Bars are densities (a label's share of rows in a bin over the
    bin's share of all rows), each label scaled to its own largest bin: both labels are flat
    for scores that rank at random, and a perfect detector's normal bars stop, and its anomaly
    bars start, at the dotted mark, the anomalies' share of the test rows."""
    from matplotlib.ticker import NullFormatter

    labels, lowest = [], 1.0
    for row, (detector, _seed, curves) in enumerate(runs):
        base = -1.2 * row
        labels.append((base, detector))
        hist = rank_histogram(curves)
        if hist is None:
            continue
        edges, normal, anomaly = hist
        lowest = min(lowest, float(edges[0]))
        widths = np.diff(np.concatenate([[0.0], edges[1:]]))  # the first bin starts at the top row
        for counts, alpha, sign in ((normal, NORMAL_ALPHA, 1), (anomaly, ANOMALY_ALPHA, -1)):
            values = counts / widths
            if values.max() > 0:
                ax.stairs(base + sign * 0.55 * values / values.max(), edges, baseline=base, fill=True,
                          color=palette.get(detector, "0.4"), alpha=alpha, lw=0)
        ax.axhline(base, color="0.75", lw=0.5)
        share = anomaly.sum() / (normal.sum() + anomaly.sum())
        ax.vlines(share, base - 0.6, base + 0.6, color="0.2", lw=0.9, ls=":")
    ax.set_yticks([b for b, _ in labels], [d for _, d in labels])
    for tick, (_, detector) in zip(ax.get_yticklabels(), labels):
        tick.set_color(palette.get(detector, "0.1"))
    ax.tick_params(axis="y", length=0)
    ax.set_xscale("log")
    ax.set_xlim(1.0, lowest)  # highest scores on the right
    ticks = [t for t in (1.0, 0.1, 0.01, 0.001, 0.0001) if t >= lowest]
    ax.set_xticks(ticks, [f"{t * 100:g} %" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(-1.2 * max(len(runs) - 1, 0) - 0.65, 0.65)
    ax.set_xlabel("share of test rows scoring at least as high (log)")
    ax.set_title("Test-score ranks: normal ▲ / anomaly ▼", y=1.0)
    ax.spines["left"].set_visible(False)


def _box(ax: Axes, values: dict[str, dict[str, list[float]]], detectors: list[str], metric: str,
         palette: dict[str, Any]) -> None:
    """Box plots (quartiles, 1.5 IQR whiskers, median) of every seed's value, drawn as three
    collections rather than ~7 artists per box: a report can hold hundreds of boxes."""
    from matplotlib.cbook import boxplot_stats
    from matplotlib.collections import LineCollection, PolyCollection

    boxes, colors_, segments, dots = [], [], [], []
    for i, detector in enumerate(detectors, start=1):
        data = [v for v in values.get(detector, {}).get(metric, []) if v is not None and math.isfinite(v)]
        if not data:
            continue
        st = boxplot_stats(np.asarray(data, dtype=np.float64))[0]
        w = 0.3
        boxes.append([(i - w, st["q1"]), (i + w, st["q1"]), (i + w, st["q3"]), (i - w, st["q3"])])
        colors_.append(palette.get(detector))
        segments += [[(i - w, st["med"]), (i + w, st["med"])],
                     [(i, st["q1"]), (i, st["whislo"])], [(i, st["q3"]), (i, st["whishi"])],
                     [(i - w / 2, st["whislo"]), (i + w / 2, st["whislo"])],
                     [(i - w / 2, st["whishi"]), (i + w / 2, st["whishi"])]]
        dots += [(i, v) for v in data]
    ax.add_collection(PolyCollection(boxes, facecolors=colors_, edgecolors="0.2", alpha=0.6, linewidths=0.8))
    ax.add_collection(LineCollection(segments, colors="0.1", linewidths=1.0))
    if dots:
        pts = np.asarray(dots)
        ax.scatter(pts[:, 0], pts[:, 1], s=4, color="0.2", zorder=3)
        lo, hi = float(pts[:, 1].min()), float(pts[:, 1].max())
        pad = max(0.02, 0.08 * (hi - lo))
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(0.4, len(detectors) + 0.6)
    ax.set_xticks(range(1, len(detectors) + 1), detectors, rotation=35, ha="right")
    ax.set_title(f"{METRIC_TITLE[metric]} over seeds", y=1.0)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(4))


def _legend(ax: Axes, detectors: list[str], runs: list[tuple[str, int, dict[str, Any]]],
            palette: dict[str, Any]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    seeds = {d: s for d, s, _ in runs}
    handles = [Line2D([], [], color=palette.get(d), lw=2,
                      label=d + (f" (seed {seeds[d]})" if d in seeds else " (no curves)"))
               for d in detectors]
    handles += [Patch(color="0.3", alpha=NORMAL_ALPHA, label="normal ▲ (score ranks)"),
                Patch(color="0.3", alpha=ANOMALY_ALPHA, label="anomaly ▼ (score ranks)"),
                Line2D([], [], color="0.2", lw=0.9, ls=":", label="share of anomalies in the test rows")]
    ax.axis("off")
    ax.legend(handles=handles, loc="center left", ncols=2 if len(handles) > 8 else 1, fontsize=8)


# -- critical differences ------------------------------------------------------------------------
def cd_figure(test: RankTest, palette: dict[str, Any] | None = None) -> Figure:
    """Critical-difference diagram (scikit-posthocs): average ranks, bars join detectors whose
    post-hoc test is not significant; with no significant Friedman test every detector is joined.

    The rank axis spans every possible average rank, 1 (best) to k (the number of detectors
    ranked), with a tick at each whole rank, so the distance of a detector from either end reads
    directly; the labels sit beyond the ends of the axis.  Each detector is drawn in its colour
    from ``palette`` (the report's :func:`colors`); without one, or when it lacks a ranked
    detector, from :func:`colors` of the ranked detectors (the same map when every detector of
    the report is ranked).
    """
    import pandas as pd
    import scikit_posthocs as sp

    ranks = pd.Series(test.average_ranks)
    if test.pairwise is not None:
        sig = test.pairwise.loc[ranks.index, ranks.index]
    else:
        sig = pd.DataFrame(1.0, index=ranks.index, columns=ranks.index)
    if palette is None or not set(ranks.index) <= set(palette):
        palette = colors(ranks.index)
    k = len(ranks)
    fig = new_figure(7.5, 1.1 + 0.28 * k)
    with style():
        ax = fig.add_subplot()
        drawn = sp.critical_difference_diagram(ranks, sig, ax=ax, alpha=test.alpha,
                                               label_props={"fontsize": 8},
                                               label_fmt_left="{label} ({rank:.2f})",
                                               label_fmt_right="({rank:.2f}) {label}",
                                               color_palette={d: palette[d] for d in ranks.index})
        # scikit-posthocs fits the axis to the ranks drawn; a reader needs the whole scale 1..k
        ax.set_xlim(1, max(k, 2))
        ax.set_xticks(range(1, k + 1))
        ax.spines["top"].set_visible(True)  # the rank axis (the report's style hides top spines)
        margin = 0.04 * (k - 1)
        for elbow, label in zip(drawn["elbows"], drawn["labels"]):
            end = 1 - margin if label.get_ha() == "right" else k + margin
            xs = list(elbow.get_xdata())
            elbow.set_xdata([end, *xs[1:]])
            elbow.set_clip_on(False)
            label.set_x(end)
        fig.suptitle(f"average rank on {METRIC_TITLE.get(test.metric, test.metric)} "
                     f"over {len(test.blocks)} datasets (1 = best, {k} = worst)", fontsize=9)
        fig.subplots_adjust(left=0.22, right=0.78, bottom=0.05, top=0.72)
    return fig
