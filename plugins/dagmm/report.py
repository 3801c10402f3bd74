"""DAGMM's report section: training curves and the latent space of the runs the report drew.

Registered through ``adb_register_report_sections``; it reads the ``history`` and ``latent``
artifacts that :meth:`DAGMMDetector.run_artifacts` stores (the artifacts contract of
:class:`adbench_dagmm.BaseDetector`), so any detector storing artifacts of the same shape gets
the same figures.  The figure functions are module-level so the report can draw them in worker
processes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from adbench_dagmm.reporting.document import Heading, Para
from adbench_dagmm.reporting.plots import ANOMALY, NORMAL, new_figure, style, training_panel
from adbench_dagmm.reporting.sections import ReportSection, ReportView

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def training_section(view: ReportView) -> list[Any]:
    """One figure per drawn run with a stored training history or latent sample."""
    if not view.plots:
        return []
    blocks: list[Any] = []
    for label, row in view.drawn:
        history = view.artifact(row["run_id"], "history")
        latent = view.artifact(row["run_id"], "latent")
        if not isinstance(history, dict) and not isinstance(latent, dict):
            continue
        title = f"{row['detector']} on {label}, seed {row['seed']}"
        blocks.append(Heading(2, f"{row['detector']} on {label} (seed {row['seed']})"))
        if not training_figure_possible(history, latent):
            blocks.append(Para("The stored training history has no per-epoch curves and the latent "
                               "sample is empty or has fewer than 3 columns.", "note"))
            continue
        parts = []
        if isinstance(history, dict) and history_series(history):
            stop = ", ".join(f"{k.replace('_', ' ')} {history[k]}" for k in
                             ("epochs_run", "best_epoch", "stop_reason") if history.get(k) is not None)
            parts.append("per-epoch objective terms, train (solid) and validation (dashed)"
                         + (f"; {stop}" if stop else ""))
        else:
            parts.append("no per-epoch training history stored")
        if training_figure_possible(None, latent):
            parts.append("latent space: test rows in the estimation network's input (z_c, relative "
                         "Euclidean distance, cosine similarity) by label")
        else:
            parts.append("no latent sample stored")
        blocks.append(view.figure(training_figure, (title, history, latent),
                                  ("training", row["detector"], label),
                                  f"{title}: " + ". ".join(p[0].upper() + p[1:] for p in parts) + "."))
    return blocks


SECTION = ReportSection(
    name="dagmm_training",
    title="DAGMM training and latent space",
    build=training_section,
    description="Training curves (history artifact) and latent space (latent artifact) of the runs drawn.",
)


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
        fig = new_figure(7.6, 5.2)
        grid = fig.add_gridspec(2, 2, left=0.09, right=0.98, bottom=0.1, top=0.87, wspace=0.35, hspace=0.55)
    elif not panels:  # latent space only
        fig = new_figure(5.6, 5.2)
        grid = fig.add_gridspec(2, 1, left=0.02, right=0.95, bottom=0.05, top=0.9)
    else:
        fig = new_figure(12.0, 5.2)
        grid = fig.add_gridspec(2, 3, left=0.06, right=0.99, bottom=0.1, top=0.87, wspace=0.35, hspace=0.55,
                                width_ratios=[1, 1, 1.5])
    with style():
        epochs = history.get("epoch") if isinstance(history, dict) else None
        best = history.get("best_epoch") if isinstance(history, dict) else None
        for i, (term, series) in enumerate(panels):
            training_panel(fig.add_subplot(grid[i // 2, i % 2]), term, series, epochs, best,
                           legend=i == 0)
        if cloud is not None:
            _latent_axes(fig.add_subplot(grid[:, 2 if panels else 0], projection="3d"), *cloud)
        fig.suptitle(title, fontsize=11, x=0.06, ha="left")
    return fig


def _latent_points(latent: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, str] | None:
    """The stored ``z`` is ``[z_c (latent_dim columns), (absolute distance,) relative distance,
    cosine]``; the figure draws z_c[0] and the last two: returns those columns, the labels and
    the name of the first column (artifacts from before ``latent_dim`` was stored leave it to
    the column count)."""
    try:
        z = np.asarray(latent.get("z") or [], dtype=np.float64)
        y = np.asarray(latent.get("y") or [], dtype=np.int64)
    except (TypeError, ValueError):
        return None
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[0] != y.shape[0] or z.shape[1] < 3:
        return None
    keep = np.isfinite(z).all(axis=1)
    single = latent.get("latent_dim", z.shape[1] - 2) == 1
    return (z[keep][:, [0, -2, -1]], y[keep], "z_c" if single else "z_c[0]") if keep.any() else None


def _latent_axes(ax: Any, z: np.ndarray, y: np.ndarray, first: str) -> None:
    for label, color, name in ((0, NORMAL, "normal"), (1, ANOMALY, "anomaly")):
        m = y == label
        ax.scatter(z[m, 0], z[m, 1], z[m, 2], s=3 if label == 0 else 8, color=color, alpha=0.5,
                   label=f"{name} ({int(m.sum())})", depthshade=False)
    ax.set_xlabel(first, labelpad=-2)
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
    fig = new_figure(5.6, 4.8)
    with style():
        _latent_axes(fig.add_subplot(projection="3d"), *cloud)
        fig.suptitle(title, fontsize=10)
    return fig
