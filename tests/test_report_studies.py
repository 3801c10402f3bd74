"""Reports of studies (contract 8): runs grouped by protocol label, sweeps over one protocol option
found and drawn as the metric against the option per detector (mean, 95 % band over seeds), with
a table of the same numbers, readable at 800 px in headless Chromium.

The rows are synthetic: seeded metric values written into a Store with ``protocol_options``
(the store of this branch may not keep that column yet; the report is then built from the rows
with their options, which is what it reads from a store that keeps it).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from adbench_dagmm.registry import build_registry
from adbench_dagmm.reporting import ReportOptions, plots
from adbench_dagmm.reporting.build import build_document
from adbench_dagmm.reporting.document import FigureBlock, Heading, TableBlock, to_markdown
from adbench_dagmm.reporting.html import to_html
from adbench_dagmm.reporting.studies import (
    NOT_SET,
    find_studies,
    label_rows,
    seed_cells,
    study_figure,
)
from adbench_dagmm.results import COLUMNS, Store
from adbench_dagmm.summary import summarize
from conftest import chromium_path

BUDGETS = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0]
TYPES = ["local", "global", "dependency", "clustered"]
SKILL = {"iforest": 0.70, "ecod": 0.65, "xgbod": 0.55}


def make_rows(configs: list[dict], datasets: list[str], seeds: int, *, detectors=SKILL,
              protocol: str = "adbench", rng_seed: int = 0, failed: int = 0) -> list[dict]:
    """One row per detector x dataset x configuration (protocol options) x seed; the metric
    rises with a numeric ``labeled_anomalies`` for xgbod only, so the study has a shape."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for dataset in datasets:
        for options in configs:
            for detector, skill in detectors.items():
                for seed in range(seeds):
                    key = f"{detector}|{dataset}|{protocol}|{json.dumps(options, sort_keys=True)}|{seed}"
                    run_id = hashlib.sha256(key.encode()).hexdigest()[:20]
                    row = {"run_id": run_id, "detector": detector, "params": {}, "dataset": dataset,
                           "data_sha256": "", "protocol": protocol, "protocol_version": "2",
                           "protocol_options": dict(options), "seed": seed, "notes": [],
                           "versions": {}, "host": "test",
                           "created_at": f"2026-01-01T00:00:{seed:02d}+00:00"}
                    if failed and seed >= seeds - failed and detector == "ecod":
                        row.update(status="error", error="boom")
                        rows.append(row)
                        continue
                    budget = options.get("labeled_anomalies", 0.0)
                    boost = 0.4 * budget if detector == "xgbod" and isinstance(budget, float) else 0.0
                    auc = float(np.clip(skill + boost + rng.normal(0, 0.02), 0, 1))
                    row.update(status="ok", roc_auc=auc,
                               average_precision=float(np.clip(auc - 0.2 + rng.normal(0, 0.02), 0, 1)),
                               f1=float(np.clip(auc - 0.3 + rng.normal(0, 0.02), 0, 1)),
                               precision=0.5, recall=0.5, precision_at_n=0.5, fit_seconds=0.1,
                               score_seconds=0.01, peak_rss_mb=100.0, n_train=700, n_test=300,
                               n_features=5, contamination=0.1)
                    rows.append(row)
    return rows


def store_with(path: Path, rows: list[dict]) -> Store:
    store = Store(path)
    store.conn.execute("PRAGMA synchronous=OFF")
    for row in rows:
        store.write(row)
    return store


def document(tmp_path: Path, rows: list[dict], plots_on: bool = True):  # type: ignore[no-untyped-def]
    store = store_with(tmp_path / "res", rows)
    try:
        doc, summary = build_document(store, rows, ReportOptions(plots=plots_on), build_registry())
    finally:
        store.close()
    return doc, summary


# -- grouping by protocol label -------------------------------------------------------------------
def test_rows_are_grouped_by_protocol_label_never_averaged_across_options():
    rows = make_rows([{"labeled_anomalies": b} for b in (0.0, 1.0)], ["wbc"], 3)
    rows += make_rows([{}], ["wbc"], 3)
    for row in rows[-9:]:
        del row["protocol_options"]  # a row of an older store: no key at all
    labelled = label_rows(rows)
    assert {r["protocol"] for r in labelled} == {
        "adbench", "adbench[labeled_anomalies=0.0]", "adbench[labeled_anomalies=1.0]"}
    assert all(r["protocol_name"] == "adbench" for r in labelled)
    summary = summarize(labelled)
    xgbod = {rec["protocol"]: rec["roc_auc"][0] for rec in summary if rec["detector"] == "xgbod"}
    assert len(xgbod) == 3
    assert xgbod["adbench[labeled_anomalies=1.0]"] - xgbod["adbench[labeled_anomalies=0.0]"] > 0.3
    # options stored as JSON text (a store that does not decode them) read the same
    as_text = label_rows([{**rows[0], "protocol_options": json.dumps(rows[0]["protocol_options"])}])
    assert as_text[0]["protocol"] == "adbench[labeled_anomalies=0.0]"


def test_a_report_without_protocol_options_has_no_studies_section(tmp_path):
    doc, _ = document(tmp_path, make_rows([{}], ["wbc", "glass"], 3), plots_on=False)
    assert "Studies" not in [b.text for b in doc.blocks if isinstance(b, Heading)]
    assert "adbench[" not in to_markdown(doc)


# -- finding studies ------------------------------------------------------------------------------
def test_find_studies_one_option_at_a_time():
    grid = [{"anomaly_type": t, "labeled_anomalies": b} for t in ("local", "global") for b in (0.1, 0.5)]
    rows = label_rows(make_rows(grid, ["wbc"], 2))
    found = {(s.option, json.dumps(s.fixed, sort_keys=True)): s.values for s in find_studies(rows)}
    assert found == {
        ("anomaly_type", '{"labeled_anomalies": 0.1}'): ["global", "local"],
        ("anomaly_type", '{"labeled_anomalies": 0.5}'): ["global", "local"],
        ("labeled_anomalies", '{"anomaly_type": "global"}'): [0.1, 0.5],
        ("labeled_anomalies", '{"anomaly_type": "local"}'): [0.1, 0.5],
    }
    # two options changing together is no one-option study; one configuration is none either
    diagonal = [{"anomaly_type": "local", "labeled_anomalies": 0.1},
                {"anomaly_type": "global", "labeled_anomalies": 0.5}]
    assert find_studies(label_rows(make_rows(diagonal, ["wbc"], 2))) == []
    assert find_studies(label_rows(make_rows([{"duplicate_factor": 2.0}], ["wbc"], 2))) == []
    # another protocol's runs are another study, never merged
    both = make_rows([{"labeled_anomalies": b} for b in (0.1, 0.5)], ["wbc"], 2)
    both += make_rows([{"labeled_anomalies": b} for b in (0.1, 0.5)], ["wbc"], 2, protocol="pyod")
    assert sorted(s.protocol for s in find_studies(label_rows(both))) == ["adbench", "pyod"]


def test_unset_option_is_its_own_value_and_numeric_axis_is_kept():
    rows = label_rows(make_rows([{}] + [{"labeled_anomalies": b} for b in (0.1, 0.5)], ["wbc"], 2))
    (study,) = find_studies(rows)
    assert study.numeric and study.values[:2] == [0.1, 0.5] and len(study.values) == 3
    categorical = label_rows(make_rows([{}] + [{"anomaly_type": t} for t in TYPES], ["wbc"], 2))
    (study,) = find_studies(categorical)
    assert not study.numeric
    assert [str(v) for v in study.values[:4]] == sorted(TYPES)


def test_cells_are_mean_and_student_t_interval_over_seeds():
    from scipy import stats

    rows = label_rows(make_rows([{"labeled_anomalies": b} for b in BUDGETS], ["wbc", "glass"], 5,
                                failed=1))
    (study,) = find_studies(rows)
    cells = seed_cells(study, "wbc")
    values = [r["roc_auc"] for r in rows if r["dataset"] == "wbc" and r["detector"] == "ecod"
              and r["status"] == "ok" and r["protocol_options"]["labeled_anomalies"] == 0.25]
    assert len(values) == 4  # the failed seed is left out
    (mean, lo, hi, n), (_, std, _) = cells["ecod"]["roc_auc"][BUDGETS.index(0.25)]
    t_lo, t_hi = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert n == 4 and mean == pytest.approx(np.mean(values)) and std == pytest.approx(np.std(values, ddof=1))
    assert (lo, hi) == (pytest.approx(t_lo), pytest.approx(t_hi))


# -- the section and its figures ------------------------------------------------------------------
def _section(doc):  # type: ignore[no-untyped-def]
    start = next(i for i, b in enumerate(doc.blocks) if isinstance(b, Heading) and b.text == "Studies")
    end = next(i for i, b in enumerate(doc.blocks[start + 1:], start + 1)
               if isinstance(b, Heading) and b.level == 1)
    return doc.blocks[start:end]


def test_studies_section_has_a_figure_and_table_per_dataset_and_the_mean(tmp_path):
    rows = make_rows([{"labeled_anomalies": b} for b in BUDGETS], ["wbc", "glass", "thyroid"], 3)
    doc, _ = document(tmp_path, rows)
    section = _section(doc)
    titles = [b.text for b in section if isinstance(b, Heading)]
    assert titles == ["Studies", "Study: labeled_anomalies under adbench",
                      "labeled_anomalies under adbench: mean over 3 datasets",
                      "labeled_anomalies under adbench: glass", "labeled_anomalies under adbench: thyroid",
                      "labeled_anomalies under adbench: wbc"]
    figures = [b for b in section if isinstance(b, FigureBlock)]
    tables = [b.table for b in section if isinstance(b, TableBlock)]
    assert len(figures) == len(tables) == 4
    mean_table = tables[0]
    assert mean_table.columns == ["detector", "labeled_anomalies", "datasets", "ROC AUC", "AP", "F1"]
    assert len(mean_table.rows) == len(BUDGETS) * len(SKILL)
    xgbod = [r for r in mean_table.rows if r[0] == "xgbod"]
    first, last = (float(r[3].split(" ")[0]) for r in (xgbod[0], xgbod[-1]))
    assert last - first > 0.3  # the shape made in make_rows
    assert tables[1].columns[2] == "seeds" and {r[2] for r in tables[1].rows} == {"3"}
    # the usual per-dataset tables: one per configuration, in the options' natural order
    per_dataset = [b.text for b in doc.blocks if isinstance(b, Heading) and b.text.startswith("wbc (")]
    assert per_dataset == [f"wbc (adbench[labeled_anomalies={json.dumps(b)}])" for b in BUDGETS]
    runtime = next(b.table for i, b in enumerate(doc.blocks) if isinstance(b, TableBlock)
                   and doc.blocks[i - 1] == Heading(1, "Runtime"))
    assert runtime.columns[:3] == ["detector", "dataset", "protocol"]
    assert len({tuple(r[:3]) for r in runtime.rows}) == len(runtime.rows) == 3 * 3 * len(BUDGETS)


def _draw(figure_block):  # type: ignore[no-untyped-def]
    func, args = figure_block.job
    return func(*args), args


def test_study_figure_numeric_axis_colours_and_bands(tmp_path):
    from matplotlib.colors import to_hex

    rows = make_rows([{"labeled_anomalies": b} for b in BUDGETS], ["wbc"], 3)
    doc, _ = document(tmp_path, rows)
    (block,) = [b for b in _section(doc) if isinstance(b, FigureBlock)]
    fig, args = _draw(block)
    palette = plots.colors(SKILL)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["ROC AUC", "AP", "F1"]
    for ax in panels:
        assert ax.get_xscale() == "symlog" and "log scale, linear near 0" in ax.get_xlabel()
        assert [t.get_text() for t in ax.get_xticklabels()] == [json.dumps(b) for b in BUDGETS]
        assert [to_hex(line.get_color()) for line in ax.lines] == [palette[d] for d in sorted(SKILL)]
        assert len(ax.collections) == len(SKILL)  # one band per detector
        xs = ax.lines[0].get_xdata()
        assert list(xs) == BUDGETS
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [*sorted(SKILL), "95 % CI over seeds"]
    assert plots.render(fig)[:4] == b"\x89PNG"


def test_study_figure_categorical_points_with_error_bars_and_literal_text():
    series = {"a$b$": {m: [(0.6, 0.5, 0.7), (0.8, float("nan"), float("nan"))]
                       for m in ("roc_auc", "average_precision", "f1")}}
    fig = study_figure("$x$ <b>", "anomaly_type", ["local", NOT_SET], None, series, {"a$b$": "#123456"},
                       "95 % CI over seeds")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["local", NOT_SET]
    assert fig._suptitle.get_text() == r"\$x\$ <b>"  # drawn literally, not as mathtext
    assert fig.legends[0].get_texts()[0].get_text() == r"a\$b\$"
    plots.render(fig)  # draws without a mathtext error
    # one error bar (the single-seed value has none); the points are where the means are
    (container,) = ax.containers
    assert list(container.lines[0].get_ydata()) == [0.6, 0.8]
    assert len(container.lines[2][0].get_segments()) == 2


# -- the whole report at 800 px -------------------------------------------------------------------
def test_study_report_fits_800_px_in_chromium_and_escapes_text(tmp_path):
    executable = chromium_path("THE STUDIES SECTION AT 800 PX")
    from playwright.sync_api import sync_playwright

    evil = "<img src=x onerror=alert(1)>&$1$"
    detectors = {f"detector_{i}": 0.5 + 0.04 * i for i in range(7)}
    rows = make_rows([{"labeled_anomalies": b} for b in BUDGETS], ["wbc", evil], 3, detectors=detectors)
    rows += make_rows([{"anomaly_type": t} for t in TYPES], ["wbc", evil], 3, detectors=detectors)
    doc, _ = document(tmp_path, rows)
    # only the studies' figures are drawn (the per-dataset ones are checked elsewhere)
    doc.blocks = [b for b in doc.blocks if not isinstance(b, FigureBlock) or b.name.startswith("study")]
    plots.render_figures(doc.figures, jobs=1)
    html_path = tmp_path / "report.html"
    html_path.write_text(to_html(doc), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900})
            page.goto(html_path.as_uri(), wait_until="load")
            page_width = page.evaluate("document.documentElement.scrollWidth")
            images = page.evaluate("""() => [...document.querySelectorAll('figure[id^="fig-study"] img')]
                .map(i => ({natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
                            right: i.getBoundingClientRect().right}))""")
            study_tables = page.evaluate("""() => [...document.querySelectorAll('div.wrap')]
                .filter(w => [...w.querySelectorAll('th')].some(t => t.innerText.trim() === 'labeled_anomalies'
                                                               || t.innerText.trim() === 'anomaly_type'))
                .map(w => ({scroll: w.scrollWidth, client: w.clientWidth}))""")
            injected = page.evaluate("document.querySelectorAll('img[src=x]').length")
            headings = page.evaluate("[...document.querySelectorAll('h4')].map(h => h.innerText)")
        finally:
            browser.close()
    assert page_width <= 800
    assert len(images) == 2 * 3  # two studies: the mean and two datasets each
    assert all(i["natural"] > 0 and i["shown"] <= 800 and i["right"] <= 800 for i in images)
    assert len(study_tables) == 6 and all(t["scroll"] <= t["client"] for t in study_tables)
    assert injected == 0
    assert any(evil in h for h in headings)


def test_report_from_a_store_that_keeps_protocol_options(tmp_path):
    """End to end through the store, which keeps each run's ``protocol_options``."""
    assert "protocol_options" in COLUMNS
    from adbench_dagmm.reporting import build_report

    rows = make_rows([{"labeled_anomalies": b} for b in BUDGETS], ["wbc", "glass"], 3)
    store_with(tmp_path / "res", rows).close()
    report = build_report(tmp_path / "res", tmp_path / "out", ReportOptions(formats=("md",)),
                          registry=build_registry())
    text = (tmp_path / "out" / "report.md").read_text()
    assert "## Studies" in text and "### Study: labeled_anomalies under adbench" in text
    assert len(list((tmp_path / "out" / "figures").glob("study_*"))) == 3
    assert math.isfinite(report.seconds)


class _RowsOnly:
    """A store's reading side (``rows`` filtered on columns, ``path``) over rows with options."""

    path = Path("results/adb.sqlite")

    def __init__(self, rows: list[dict]) -> None:
        self._rows = rows

    def rows(self, **filters):  # type: ignore[no-untyped-def]
        return [r for r in self._rows if all(v is None or r[c] in v for c, v in filters.items())]


def test_protocol_filter_takes_a_name_or_a_label():
    from adbench_dagmm.errors import UsageError
    from adbench_dagmm.reporting.build import load_rows

    rows = make_rows([{"labeled_anomalies": b} for b in (0.1, 0.5)], ["wbc"], 2)
    rows += make_rows([{}], ["wbc"], 2, protocol="pyod")
    store = _RowsOnly(rows)
    assert len(load_rows(store, ReportOptions(protocols=["adbench"]))) == 12
    picked = load_rows(store, ReportOptions(protocols=["adbench[labeled_anomalies=0.5]", "pyod"]))
    assert {(r["protocol"], r["protocol_options"].get("labeled_anomalies")) for r in picked} == {
        ("adbench", 0.5), ("pyod", None)}
    with pytest.raises(UsageError, match=r"adbench\[labeled_anomalies=0.1\], adbench\[labeled_anomalies=0.5\]"):
        load_rows(store, ReportOptions(protocols=["adbench[labeled_anomalies=0.2]"]))
