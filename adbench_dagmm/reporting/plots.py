"""The report's figures, drawn with matplotlib's object API on the Agg canvas.

Figures are built from ``matplotlib.figure.Figure`` directly, never through pyplot: no global
state, no GUI backend, nothing kept alive between figures.  Each function takes plain data read
from the store (curves, histograms, metric values, training history, latent sample) and returns
a Figure; :func:`render` turns it into PNG or SVG bytes.

A report of a few thousand runs has dozens of datasets, so the cost per figure matters: each
dataset gets one figure of small multiples (ROC, precision-recall, score histograms, box plots)
and each DAGMM run one (training curves and latent space), titles are placed without
matplotlib's automatic title layout, and axes carry few ticks.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def _few_ticks(ax: Axes, n: int = 4) -> None:
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


FIGURES = ("dataset_figure", "training_figure", "latent_figure", "cd_figure")


def draw(job: tuple[str, tuple[Any, ...]], fmt: str = "png") -> bytes:
    """Build and render one figure from ``(function name, arguments)``; runs in worker processes."""
    name, args = job
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}")
    fig = globals()[name](*args)
    if fig is None:
        raise ValueError(f"{name} had nothing to draw")
    return render(fig, fmt)


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
    fig = _figure(width, 6.6)
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
    _few_ticks(roc_ax, 5)
    _few_ticks(pr_ax, 5)


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


# -- one figure per DAGMM run --------------------------------------------------------------------
def history_series(history: dict[str, Any]) -> list[tuple[str, list[tuple[str, list[float]]]]]:
    """Panels of per-epoch curves from a training history: ``[(term, [(key, values), ...])]``.

    Every list of numbers as long as ``history["epoch"]`` is a curve, except the epoch numbers
    and timings; ``val_<term>`` is drawn in the panel of ``<term>``.  Unknown keys are tolerated.
    """
    epochs = history.get("epoch")
    n = len(epochs) if isinstance(epochs, list) else None
    curves: dict[str, list[float]] = {}
    for key, value in history.items():
        if key in ("epoch", "seconds") or not isinstance(value, list) or not value:
            continue
        if n is not None and len(value) != n:
            continue
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            curves[key] = [float(v) for v in value]
    panels: dict[str, list[tuple[str, list[float]]]] = {}
    for key, values in curves.items():
        term = key[4:] if key.startswith("val_") else key
        panels.setdefault(term, []).append((key, values))
    order = sorted(panels, key=lambda t: (t != "loss", t))
    return [(t, sorted(panels[t], key=lambda kv: kv[0].startswith("val_"))) for t in order]


def training_figure_possible(history: Any, latent: Any) -> bool:
    return bool(isinstance(history, dict) and history_series(history)) or (
        isinstance(latent, dict) and _latent_points(latent) is not None)


def training_figure(title: str, history: dict[str, Any] | None, latent: dict[str, Any] | None,
                    max_panels: int = 4) -> Figure | None:
    """Training curves (one panel per objective term, train solid, validation dashed; the first
    ``max_panels`` terms, loss first) and the latent space in 3-D; None when neither is usable."""
    panels = history_series(history) if isinstance(history, dict) else []
    panels = panels[:max_panels]
    cloud = _latent_points(latent) if isinstance(latent, dict) else None
    if not panels and cloud is None:
        return None
    if cloud is None:  # history only: two columns
        fig = _figure(7.6, 5.2)
        grid = fig.add_gridspec(2, 2, left=0.09, right=0.98, bottom=0.1, top=0.87, wspace=0.35, hspace=0.55)
    elif not panels:  # latent space only
        fig = _figure(5.6, 5.2)
        grid = fig.add_gridspec(2, 1, left=0.02, right=0.95, bottom=0.05, top=0.9)
    else:
        fig = _figure(12.0, 5.2)
        grid = fig.add_gridspec(2, 3, left=0.06, right=0.99, bottom=0.1, top=0.87, wspace=0.35, hspace=0.55,
                                width_ratios=[1, 1, 1.5])
    with style():
        epochs = history.get("epoch") if isinstance(history, dict) else None
        best = history.get("best_epoch") if isinstance(history, dict) else None
        for i, (term, series) in enumerate(panels):
            ax = fig.add_subplot(grid[i // 2, i % 2])
            for key, values in series:
                x = epochs if isinstance(epochs, list) and len(epochs) == len(values) else range(1, len(values) + 1)
                ax.plot(list(x), values, lw=1.3, color="#333" if not key.startswith("val_") else "#e07b00",
                        ls="--" if key.startswith("val_") else "-",
                        label="validation" if key.startswith("val_") else "train")
            _few_ticks(ax)
            finite = [v for _, vals in series for v in vals if math.isfinite(v)]
            if finite and min(finite) > 0 and max(finite) / min(finite) > 50:
                ax.set_yscale("log")  # its own locator: decades
            if isinstance(best, int) and not isinstance(best, bool) and best > 0:
                ax.axvline(best, color="0.5", lw=0.8, ls=":")
            ax.set_title(term, y=1.0)
            ax.set_xlabel("epoch")
            if i == 0:
                ax.legend(loc="upper right")
        if cloud is not None:
            _latent_axes(fig.add_subplot(grid[:, 2 if panels else 0], projection="3d"), *cloud)
        fig.suptitle(title, fontsize=11, x=0.06, ha="left")
    return fig


def _latent_points(latent: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """The stored ``z`` is ``[z_c (latent_dim columns), relative distance, cosine]``."""
    try:
        z = np.asarray(latent.get("z") or [], dtype=np.float64)
        y = np.asarray(latent.get("y") or [], dtype=np.int64)
    except (TypeError, ValueError):
        return None
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[0] != y.shape[0] or z.shape[1] < 3:
        return None
    keep = np.isfinite(z).all(axis=1)
    return (z[keep], y[keep]) if keep.any() else None


def _latent_axes(ax: Any, z: np.ndarray, y: np.ndarray) -> None:
    for label, color, name in ((0, NORMAL, "normal"), (1, ANOMALY, "anomaly")):
        m = y == label
        ax.scatter(z[m, 0], z[m, -2], z[m, -1], s=3 if label == 0 else 8, color=color, alpha=0.5,
                   label=f"{name} ({int(m.sum())})", depthshade=False)
    ax.set_xlabel("z_c" if z.shape[1] == 3 else "z_c[0]", labelpad=-2)
    ax.set_ylabel("rel. Euclidean dist.", labelpad=-2)
    ax.set_zlabel("cosine similarity", labelpad=-2)
    ax.tick_params(labelsize=6, pad=0)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        from matplotlib.ticker import MaxNLocator

        axis.set_major_locator(MaxNLocator(4))
    ax.set_box_aspect(None, zoom=0.82)  # room for the z label inside the figure
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 0.0))
    ax.text2D(0.5, 1.0, "latent space (test sample)", transform=ax.transAxes, ha="center",
              va="top", fontsize=9)


def latent_figure(title: str, latent: dict[str, Any]) -> Figure | None:
    """The latent space alone (z_c, relative Euclidean distance, cosine similarity, 3-D)."""
    cloud = _latent_points(latent)
    if cloud is None:
        return None
    fig = _figure(5.6, 4.8)
    with style():
        _latent_axes(fig.add_subplot(projection="3d"), *cloud)
        fig.suptitle(title, fontsize=10)
    return fig


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
    fig = _figure(7.5, 1.1 + 0.28 * len(ranks))
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
