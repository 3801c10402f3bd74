"""Studies: sweeps over one protocol option (a label budget, an anomaly type, a corruption rate),
found in the report's runs and drawn as the metric against the option's values per detector.

A run's protocol options (``protocol_options``, ``{}`` for none; a row of an older store has no
such key and counts as ``{}``) make it a run of another configuration: :func:`label_rows` names
its protocol ``name[key=value,...]`` (:func:`adbench_dagmm.protocols.protocol_label`), and every
table of the report groups by that label, so runs under two label budgets are never averaged
together.

A *study* is a set of configurations of one protocol that differ in exactly one option, every
other option held at the same value (:func:`find_studies`).  One sweep may hold several: a grid
over budgets and anomaly types is a budget study per anomaly type and an anomaly-type study per
budget.  Each study gets a figure per dataset and one averaged over datasets (the metric's mean
over seeds, with the 95 % Student-t interval over seeds, or over datasets for the average) and a
table of the same numbers.  An option whose values are all numbers is drawn on a numeric axis
(logarithmic where the values span more than a decade, linear near 0 when 0 is among them);
any other (an anomaly type) as points with error bars.  A configuration that leaves the option
unset (the protocol's default) is a category of its own, "not set": in the tables always, on a
numeric axis not at all (its value is the protocol's business, not the store's).
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..protocols import protocol_label
from ..summary import mean_std
from .document import FigureBlock, Heading, Para, TableBlock
from .plots import METRIC_TITLE, new_figure, style
from .stats import METRIC_LABELS, ci95
from .tables import Table, _with_ci, best

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The metrics a study draws, one panel each, in this order.
STUDY_METRICS = ("roc_auc", "average_precision", "f1")
NOT_SET = "not set"
_MISSING = "\x00missing"  # the canonical key of an unset option


def options_of(row: dict[str, Any]) -> dict[str, Any]:
    """A row's protocol options as a dict (``{}`` when it has none or predates them)."""
    value = row.get("protocol_options")
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return dict(value) if isinstance(value, dict) else {}


def label_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``rows`` whose ``protocol`` is the display label of protocol and options, with
    the bare name kept as ``protocol_name`` and the options as a dict in ``protocol_options``;
    ordered by detector, dataset, then protocol name and option values in natural order
    (0.05 before 0.1), keeping the given order (by seed) within a configuration."""
    out = []
    for row in rows:
        name = row.get("protocol_name") or row["protocol"]
        options = options_of(row)
        out.append({**row, "protocol_name": name, "protocol_options": options,
                    "protocol": protocol_label(name, options)})
    out.sort(key=lambda r: (str(r["detector"]), str(r["dataset"]), label_key(r)))
    return out


def label_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key of a labelled row's configuration: protocol name, then its options' values,
    numbers by value before text."""
    options = row["protocol_options"]
    return (row["protocol_name"], tuple(
        (k, (0, float(v), "") if _is_number(options[k]) else (1, 0.0, value_text(options[k])))
        for k, v in sorted(options.items())))


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def value_text(value: Any) -> str:
    """How an option's value is shown: ``not set``, a string as is, anything else as JSON (as
    :func:`~adbench_dagmm.protocols.protocol_label` writes it)."""
    if value is _MISSING:
        return NOT_SET
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclasses.dataclass
class Study:
    """Configurations of ``protocol`` that differ only in ``option`` (the others at ``fixed``)."""

    protocol: str
    option: str
    fixed: dict[str, Any]
    values: list[Any]  # the option's values, sorted; _MISSING (unset) last
    rows: list[dict[str, Any]]  # the ok runs of these configurations

    @property
    def numeric(self) -> bool:
        """Whether the set values are numbers and at least two of them (a numeric axis)."""
        return sum(_is_number(v) for v in self.values) >= 2 and all(
            _is_number(v) or v is _MISSING for v in self.values)

    @property
    def title(self) -> str:
        where = protocol_label(self.protocol, self.fixed)
        return f"{self.option} under {where}"

    def value_of(self, row: dict[str, Any]) -> Any:
        return row["protocol_options"].get(self.option, _MISSING)

    @property
    def datasets(self) -> list[str]:
        return sorted({r["dataset"] for r in self.rows})

    @property
    def detectors(self) -> list[str]:
        return sorted({r["detector"] for r in self.rows})


def find_studies(rows: list[dict[str, Any]]) -> list[Study]:
    """Every sweep over one protocol option in ``rows`` (labelled by :func:`label_rows`).

    For each protocol and each option key, the configurations are grouped by the values of
    their *other* options; a group holding two or more values of the key is a study.  Only ok
    runs count (failed ones are in the report's Failed runs).
    """
    ok = [r for r in rows if r["status"] == "ok"]
    by_protocol: dict[str, list[dict[str, Any]]] = {}
    for row in ok:
        by_protocol.setdefault(row["protocol_name"], []).append(row)
    studies = []
    for protocol, prows in sorted(by_protocol.items()):
        keys = sorted({k for r in prows for k in r["protocol_options"]})
        for key in keys:
            groups: dict[str, tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]] = {}
            for row in prows:
                opts = row["protocol_options"]
                rest = {k: v for k, v in opts.items() if k != key}
                fixed, values, members = groups.setdefault(_canon(rest), (rest, {}, []))
                value = opts.get(key, _MISSING)
                values[_MISSING if value is _MISSING else _canon(value)] = value
                members.append(row)
            for _, (fixed, values, members) in sorted(groups.items()):
                if len(values) < 2:
                    continue
                studies.append(Study(protocol, key, fixed, _sorted_values(list(values.values())), members))
    return studies


def _sorted_values(values: list[Any]) -> list[Any]:
    set_values = [v for v in values if v is not _MISSING]
    if all(_is_number(v) for v in set_values):
        set_values.sort()
    else:
        set_values.sort(key=lambda v: (not _is_number(v), v if _is_number(v) else 0, value_text(v)))
    return set_values + ([_MISSING] if len(set_values) < len(values) else [])


# -- numbers -------------------------------------------------------------------------------------
#: (mean, low, high, n) of one cell: mean over seeds (or datasets) and its 95 % t-interval.
Cell = tuple[float, float, float, int]


def seed_cells(study: Study, dataset: str) -> dict[str, dict[str, list[tuple[Cell, tuple[float, float, int]]]]]:
    """detector -> metric -> per value: ((mean, lo, hi, n), (mean, std, n)) over seeds."""
    out: dict[str, dict[str, list[tuple[Cell, tuple[float, float, int]]]]] = {}
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in study.rows:
        if row["dataset"] == dataset:
            runs.setdefault((row["detector"], _key(study.value_of(row))), []).append(row)
    for detector in study.detectors:
        per = out.setdefault(detector, {})
        for metric in STUDY_METRICS:
            cells = []
            for value in study.values:
                values = [r.get(metric) for r in runs.get((detector, _key(value)), [])]
                mean, std, n = mean_std(values)
                lo, hi = ci95(values)
                cells.append(((mean, lo, hi, n), (mean, std, n)))
            per[metric] = cells
    return out


def dataset_average(study: Study) -> dict[str, dict[str, list[tuple[Cell, tuple[float, float, int]]]]]:
    """detector -> metric -> per value: the mean over datasets of the per-dataset mean over
    seeds, with its 95 % t-interval over datasets (datasets where the cell has an ok run)."""
    per_dataset = {d: seed_cells(study, d) for d in study.datasets}
    out: dict[str, dict[str, list[tuple[Cell, tuple[float, float, int]]]]] = {}
    for detector in study.detectors:
        for metric in STUDY_METRICS:
            cells = []
            for i in range(len(study.values)):
                means = [per_dataset[d][detector][metric][i][0][0] for d in study.datasets]
                mean, std, n = mean_std(means)
                lo, hi = ci95(means)
                cells.append(((mean, lo, hi, n), (mean, std, n)))
            out.setdefault(detector, {})[metric] = cells
    return out


def _key(value: Any) -> str:
    return _MISSING if value is _MISSING else _canon(value)


def study_table(study: Study, cells: dict[str, Any], count: str) -> Table:
    """A row per (detector, value): ``count`` (seeds or datasets) and mean ± std [95 % CI] of
    each metric; the best detector at each value in bold, per metric."""
    columns = ["detector", study.option, count] + [METRIC_LABELS[m] for m in STUDY_METRICS]
    table = Table(columns=columns, rows=[], align="llr" + "r" * len(STUDY_METRICS), split_ci=True)
    for i, value in enumerate(study.values):
        first = len(table.rows)
        for detector in study.detectors:
            per = cells[detector]
            n = per[STUDY_METRICS[0]][i][0][3]
            table.rows.append([detector, value_text(value), str(n)] + [
                _with_ci(per[m][i][1], per[m][i][0][1:3]) for m in STUDY_METRICS])
        for c, metric in enumerate(STUDY_METRICS, start=3):
            for r in best([cells[d][metric][i][0][0] for d in study.detectors]):
                table.bold.add((first + r, c))
    return table


# -- the report section -------------------------------------------------------------------------
def study_blocks(rows: list[dict[str, Any]], palette: dict[str, str], plots: bool,
                 figure: Callable[[tuple[Any, ...], tuple[str, ...], str], FigureBlock]) -> list[Any]:
    """The report's "Studies" section for ``rows`` (labelled), or [] when they hold no study.

    ``figure(job, stem, caption)`` makes a figure block drawn later as ``job``.
    """
    studies = find_studies(rows)
    if not studies:
        return []
    blocks: list[Any] = [Para(
        "A study is a sweep over one protocol option, the others fixed. Per dataset: the mean over "
        "ok seeds with its 95 % Student-t interval (band, or error bar for a categorical option); "
        "averaged over datasets: the mean of the per-dataset means with its 95 % t-interval over "
        "datasets. Tables give mean ± std [95 % CI] and the number of seeds (datasets) behind "
        "each cell; the best detector at each value in bold.", "note")]
    for study in studies:
        blocks.append(Heading(2, f"Study: {study.title}"))
        datasets = study.datasets
        note = (f"{len(study.values)} values of {study.option}: "
                + ", ".join(value_text(v) for v in study.values) + f"; {len(datasets)} dataset(s): "
                + ", ".join(datasets) + f"; detectors: {', '.join(study.detectors)}.")
        if study.numeric and _MISSING in study.values:
            note += (f" Runs that leave {study.option} unset (\"{NOT_SET}\", the protocol's default) "
                     "are in the tables, not on the figures' numeric axis.")
        blocks.append(Para(note, "note"))
        if len(datasets) > 1:
            cells = dataset_average(study)
            blocks.append(Heading(3, f"{study.title}: mean over {len(datasets)} datasets"))
            if plots:
                blocks.append(figure(
                    _job(study, cells, palette, f"{study.title}: mean over {len(datasets)} datasets",
                         "95 % CI over datasets"),
                    ("study", study.title, "mean"),
                    f"{study.title}: ROC AUC, AP and F1 against {study.option}, mean over datasets of "
                    "the per-dataset mean over seeds, 95 % t-interval over datasets."))
            blocks.append(TableBlock(study_table(study, cells, "datasets")))
        for dataset in datasets:
            cells = seed_cells(study, dataset)
            blocks.append(Heading(3, f"{study.title}: {dataset}"))
            if plots:
                blocks.append(figure(
                    _job(study, cells, palette, f"{dataset}: {study.title}", "95 % CI over seeds"),
                    ("study", study.title, dataset),
                    f"{dataset}: ROC AUC, AP and F1 against {study.option} ({study.title}), mean over "
                    "seeds with its 95 % t-interval."))
            blocks.append(TableBlock(study_table(study, cells, "seeds")))
    return blocks


def _job(study: Study, cells: dict[str, Any], palette: dict[str, str], title: str,
         band: str) -> tuple[Any, ...]:
    """Plain, picklable arguments of :func:`study_figure`."""
    xs = [float(v) if _is_number(v) else None for v in study.values] if study.numeric else None
    series = {d: {m: [c[0][:3] for c in cells[d][m]] for m in STUDY_METRICS} for d in study.detectors}
    return (study_figure, (title, study.option, [value_text(v) for v in study.values], xs, series,
                           {d: palette.get(d, "0.3") for d in study.detectors}, band))


# -- the figure ----------------------------------------------------------------------------------
def _plain(text: str) -> str:
    """Text from data as matplotlib draws it literally (a ``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def study_figure(title: str, option: str, labels: list[str], xs: list[float | None] | None,
                 series: dict[str, dict[str, list[tuple[float, float, float]]]],
                 palette: dict[str, str], band: str) -> Figure:
    """One panel per metric of :data:`STUDY_METRICS`: each detector's mean (line and points, in
    its report colour) against the option's values, with its 95 % interval as a band (numeric
    ``xs``) or error bars (categorical: ``labels`` evenly spaced, detectors side by side).

    ``series``: detector -> metric -> per value ``(mean, low, high)`` (NaN where missing).
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    detectors = list(series)
    ncols = min(len(detectors), 5)
    legend_rows = math.ceil(len(detectors) / ncols) if detectors else 1
    height = 3.0 + 0.2 * legend_rows
    fig = new_figure(8.6, height)  # 774 px at the report's 90 dpi: drawn 1:1 on an 800 px page
    bottom = (0.85 + 0.2 * legend_rows) / height
    grid = fig.add_gridspec(1, len(STUDY_METRICS), left=0.075, right=0.99, bottom=bottom,
                            top=1 - 0.45 / height, wspace=0.28)
    with style():
        for i, metric in enumerate(STUDY_METRICS):
            ax = fig.add_subplot(grid[0, i])
            if xs is not None:
                _numeric_panel(ax, option, labels, xs, series, metric, palette)
            else:
                _categorical_panel(ax, option, labels, series, metric, palette)
            ax.set_title(METRIC_TITLE[metric], y=1.0)
            ax.set_ylabel(METRIC_TITLE[metric])
        handles = [Line2D([], [], color=palette[d], lw=1.5, marker="o", ms=3, label=_plain(d))
                   for d in detectors]
        handles.append(Patch(color="0.4", alpha=0.25, label=band) if xs is not None else
                       Line2D([], [], color="0.4", lw=1, marker="|", ms=8, ls="", label=band))
        fig.legend(handles=handles, loc="lower center", ncols=min(len(handles), 6),
                   bbox_to_anchor=(0.5, 0.0), fontsize=7)
        fig.suptitle(_plain(title), fontsize=10, x=0.06, ha="left")
    return fig


def _numeric_panel(ax: Axes, option: str, labels: list[str], xs: list[float | None],
                   series: dict[str, Any], metric: str, palette: dict[str, str]) -> None:
    points = [(x, i) for i, x in enumerate(xs) if x is not None]
    values = np.array([x for x, _ in points])
    positive = values[values > 0]
    scale = "linear"
    if positive.size and values.min() >= 0 and positive.max() / positive.min() > 10:
        scale = "symlog" if (values == 0).any() else "log"
    for detector, per in series.items():
        cells = np.array([per[metric][i] for _, i in points], dtype=np.float64)  # (n_values, 3)
        ok = np.isfinite(cells[:, 0])
        ax.plot(values[ok], cells[ok, 0], color=palette[detector], lw=1.4, marker="o", ms=3)
        band = ok & np.isfinite(cells[:, 1])
        if band.sum() >= 1:
            ax.fill_between(values[band], cells[band, 1], cells[band, 2], color=palette[detector],
                            alpha=0.18, lw=0)
    if scale == "symlog":
        ax.set_xscale("symlog", linthresh=float(positive.min()), linscale=0.5)
        ax.set_xlim(-0.2 * float(positive.min()), float(values.max()) * 1.15)
    elif scale == "log":
        ax.set_xscale("log")
    if len(points) <= 8:
        ax.set_xticks(values, [_plain(labels[i]) for _, i in points],
                      rotation=35 if len(points) > 4 else 0, ha="right" if len(points) > 4 else "center")
        ax.xaxis.set_minor_locator(_null())
    ax.yaxis.set_major_locator(_max_n(4))
    suffix = {"symlog": " (log scale, linear near 0)", "log": " (log scale)"}.get(scale, "")
    ax.set_xlabel(_plain(option) + suffix)


def _categorical_panel(ax: Axes, option: str, labels: list[str], series: dict[str, Any], metric: str,
                       palette: dict[str, str]) -> None:
    k = len(series)
    width = 0.6 / max(k, 1)
    for j, (detector, per) in enumerate(series.items()):
        cells = np.array(per[metric], dtype=np.float64)  # (n_values, 3)
        x = np.arange(len(labels)) + (j - (k - 1) / 2) * width
        ok = np.isfinite(cells[:, 0])
        lo = np.where(np.isfinite(cells[:, 1]), cells[:, 0] - cells[:, 1], 0.0)
        hi = np.where(np.isfinite(cells[:, 2]), cells[:, 2] - cells[:, 0], 0.0)
        ax.errorbar(x[ok], cells[ok, 0], yerr=np.vstack([lo[ok], hi[ok]]), fmt="o", ms=3.5,
                    color=palette[detector], elinewidth=1.1, capsize=2)
    ax.set_xticks(range(len(labels)), [_plain(t) for t in labels],
                  rotation=30 if len(labels) > 3 else 0, ha="right" if len(labels) > 3 else "center")
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.yaxis.set_major_locator(_max_n(4))
    ax.set_xlabel(_plain(option))


def _null() -> Any:
    from matplotlib.ticker import NullLocator

    return NullLocator()


def _max_n(n: int) -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n)


__all__ = ["STUDY_METRICS", "Study", "find_studies", "label_rows", "options_of", "study_blocks",
           "study_figure", "study_table"]
