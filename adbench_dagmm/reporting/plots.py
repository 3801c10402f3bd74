"""The report's figures, drawn with matplotlib's object API on the Agg canvas.

Figures are built from ``matplotlib.figure.Figure`` directly, never through pyplot: no global
state, no GUI backend, nothing kept alive between figures.  Each function takes plain data read
from the store (curves, histograms, metric values, training history, latent sample) and returns
a Figure; :func:`render` turns it into PNG or SVG bytes.  :func:`new_figure`, :func:`style`,
:func:`few_ticks` and the class colours ``NORMAL``/``ANOMALY`` are public for the figures of
plugins' report sections.

A report of a few thousand runs has dozens of datasets, so the cost per figure matters: each
dataset gets one figure of small multiples (ROC, precision-recall, score histograms, box plots),
titles are placed without
matplotlib's automatic title layout, and axes carry few ticks.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .document import FigureBlock
    from .stats import RankTest

DPI = 90
NORMAL, ANOMALY = "#3b75af", "#d1495b"
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


def colors(names: Sequence[str]) -> dict[str, Any]:
    """A fixed colour per detector, the same in every figure of a report."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


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
        _score_hist(hist_ax, runs)
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


def _score_hist(ax: Axes, runs: list[tuple[str, int, dict[str, Any]]]) -> None:
    """One row per detector: normal (up) and anomaly (down) score histograms, each normalised to
    its label's count, on the detector's own score range scaled to [0, 1]."""
    labels = []
    for row, (detector, _seed, curves) in enumerate(runs):
        base = -1.2 * row
        hist = curves.get("hist") or {}
        edges = np.asarray(hist.get("edges") or [], dtype=np.float64)
        labels.append((base, detector))
        if edges.size < 2 or not np.all(np.isfinite(edges)):
            continue
        span = edges[-1] - edges[0]
        scaled = (edges - edges[0]) / span if span > 0 else np.linspace(0, 1, edges.size)
        for key, color, sign in (("normal", NORMAL, 1), ("anomaly", ANOMALY, -1)):
            counts = np.asarray(hist.get(key) or [], dtype=np.float64)
            if counts.size == edges.size - 1 and counts.sum() > 0:
                frac = counts / counts.sum()
                ax.stairs(base + sign * 0.55 * frac / frac.max(), scaled, baseline=base, fill=True,
                          color=color, alpha=0.6, lw=0)
        ax.axhline(base, color="0.75", lw=0.5)
    ax.set_yticks([b for b, _ in labels], [d for _, d in labels])
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(-1.2 * max(len(runs) - 1, 0) - 0.65, 0.65)
    ax.set_xticks([0, 0.5, 1], ["min", "score", "max"])
    ax.set_title("Test scores: normal ▲ / anomaly ▼", y=1.0)
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
    handles += [Patch(color=NORMAL, alpha=0.6, label="normal"), Patch(color=ANOMALY, alpha=0.6, label="anomaly")]
    ax.axis("off")
    ax.legend(handles=handles, loc="center left", ncols=2 if len(handles) > 8 else 1, fontsize=8)


# -- critical differences ------------------------------------------------------------------------
def cd_figure(test: RankTest) -> Figure:
    """Critical-difference diagram (scikit-posthocs): average ranks, bars join detectors whose
    post-hoc test is not significant; with no significant Friedman test every detector is joined."""
    import pandas as pd
    import scikit_posthocs as sp

    ranks = pd.Series(test.average_ranks)
    if test.pairwise is not None:
        sig = test.pairwise.loc[ranks.index, ranks.index]
    else:
        sig = pd.DataFrame(1.0, index=ranks.index, columns=ranks.index)
    fig = new_figure(7.5, 1.1 + 0.28 * len(ranks))
    with style():
        ax = fig.add_subplot()
        sp.critical_difference_diagram(ranks, sig, ax=ax, alpha=test.alpha,
                                       label_props={"fontsize": 8},
                                       label_fmt_left="{label} ({rank:.2f})",
                                       label_fmt_right="({rank:.2f}) {label}")
        fig.suptitle(f"average rank on {METRIC_TITLE.get(test.metric, test.metric)} "
                     f"over {len(test.blocks)} datasets (1 = best)", fontsize=9)
        fig.subplots_adjust(left=0.22, right=0.78, bottom=0.05, top=0.72)
    return fig
