"""Report figures and tables a reader can trust at a glance (issue 13, item 8).

One colour per detector across every figure of a report, a critical-difference axis spanning
ranks 1..k, whole-number epoch ticks and labelled y axes on training curves, score histograms
that stay readable for heavy-tailed scores, bold for every tied best value, and HTML tables
that fit or scroll at 800 px.  The stores are synthetic (``tests/test_report.py``'s
``write_store``, real curve artifacts from ``adbench_dagmm.metrics.curves``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from adbench_dagmm.reporting import plots
from adbench_dagmm.reporting.stats import RankTest
from adbench_dagmm.reporting.tables import DETAIL_METRICS, best, dataset_table, rank_table

from test_report import write_store  # noqa: E402  (tests/ is on sys.path under pytest)
from conftest import chromium_path


def _hex(color) -> str:  # type: ignore[no-untyped-def]
    from matplotlib.colors import to_hex

    return to_hex(color, keep_alpha=False)


# -- one colour per detector -------------------------------------------------------------------------
def test_colors_depend_on_the_set_of_names_only():
    a = plots.colors(["pca", "dagmm", "iforest"])
    assert a == plots.colors(["iforest", "pca", "dagmm", "pca"])
    assert list(a) == ["dagmm", "iforest", "pca"]


@pytest.mark.parametrize("n", [1, 4, 10, 11, 20, 21, 35], ids=lambda n: f"{n}-detectors")
def test_colors_are_distinct_and_stable_when_detectors_are_added(n):
    from matplotlib import colormaps

    names = [f"d{i:02d}" for i in range(n)]
    palette = plots.colors(names)
    assert len(set(palette.values())) == n
    if n <= 10:
        assert list(palette.values()) == [_hex(colormaps["tab10"](i)) for i in range(n)]
    if 10 < n <= 20:  # the first ten keep their tab10 colour when an 11th detector arrives
        assert [palette[d] for d in names[:10]] == list(plots.colors(names[:10]).values())


def _figure_colours(job) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    """Detector -> the colours it is drawn in, in one figure built from a report's job."""
    func, args = job
    func = getattr(plots, func) if isinstance(func, str) else func
    fig = func(*args)
    seen: dict[str, set[str]] = {}
    if func is plots.dataset_figure:
        _title, runs, values, _palette = args
        roc_ax, pr_ax, hist_ax, f1_ax, auc_ax, _legend = fig.axes
        drawn = [d for d, _s, _c in runs]
        for ax in (roc_ax, pr_ax):
            for detector, colour in zip(drawn, ax.collections[0].get_colors()):
                seen.setdefault(detector, set()).add(_hex(colour))
        stairs = list(hist_ax.patches)
        assert len(stairs) == 2 * len(drawn)  # normal and anomaly, per detector
        for i, patch in enumerate(stairs):
            seen.setdefault(drawn[i // 2], set()).add(_hex(patch.get_facecolor()))
        for tick in hist_ax.get_yticklabels():
            seen.setdefault(tick.get_text(), set()).add(_hex(tick.get_color()))
        boxed = sorted(d for d in values if values[d]["f1"])
        for ax in (f1_ax, auc_ax):
            for detector, colour in zip(boxed, ax.collections[0].get_facecolors()):
                seen.setdefault(detector, set()).add(_hex(colour))
    elif func is plots.cd_figure:
        ax = fig.axes[0]
        for text in ax.texts:
            label = text.get_text()
            detector = label.split(" (")[0] if label.endswith(")") else label.split(") ", 1)[1]
            seen.setdefault(detector, set()).add(_hex(text.get_color()))
    return seen


def test_a_detector_has_one_colour_in_every_figure_of_a_report(tmp_path):
    """ROC, precision-recall, histograms, box plots and critical-difference diagrams of a real
    report (built by ``build_report``) give each detector one colour, and detectors differ."""
    from adbench_dagmm.reporting import ReportOptions, build_report

    skills = {"dagmm": 0.8, "iforest": 0.65, "lof": 0.5, "ocsvm": 0.35, "hbos": 0.55}
    write_store(tmp_path / "res", skills, ["d1", "d2", "d3", "d4"], 3).close()
    report = build_report(tmp_path / "res", tmp_path / "out", ReportOptions(formats=("md",)))
    colours: dict[str, set[str]] = {}
    kinds = set()
    for block in report.document.figures:
        func = block.job[0] if isinstance(block.job[0], str) else block.job[0].__name__
        if func not in ("dataset_figure", "cd_figure"):
            continue
        kinds.add(func)
        for detector, cs in _figure_colours(block.job).items():
            colours.setdefault(detector, set()).update(cs)
    assert kinds == {"dataset_figure", "cd_figure"}
    assert set(colours) == set(skills)
    assert {d: len(cs) for d, cs in colours.items()} == {d: 1 for d in skills}
    assert len({next(iter(cs)) for cs in colours.values()}) == len(skills)
    assert {d: next(iter(cs)) for d, cs in colours.items()} == plots.colors(skills)


def _rank_test(ranks: list[list[float]], detectors: list[str]) -> RankTest:
    arr = np.asarray(ranks, dtype=np.float64)
    return RankTest(metric="f1", detectors=detectors, blocks=[f"set{i}" for i in range(len(arr))],
                    means=1 - arr / 10, ranks=arr, dropped=[], alpha=0.05, posthoc="wilcoxon",
                    ran=True)


def test_cd_figure_takes_the_reports_palette():
    """A detector left out of the ranks must not shift the others' colours: with the report's
    palette each ranked detector keeps the colour it has in the other figures."""
    report_palette = plots.colors(["a", "b", "c", "d", "sparse"])
    test = _rank_test([[1, 2, 3, 4], [2, 1, 3, 4], [1, 3, 2, 4]], ["a", "b", "c", "d"])
    fig = plots.cd_figure(test, report_palette)
    drawn = {t.get_text().split(" (")[0] if t.get_ha() == "right" else t.get_text().split(") ")[1]:
             _hex(t.get_color()) for t in fig.axes[0].texts}
    assert drawn == {d: report_palette[d] for d in "abcd"}
    # without one it falls back to the colours of the ranked detectors alone
    fallback = plots.cd_figure(test)
    assert {_hex(t.get_color()) for t in fallback.axes[0].texts} == set(plots.colors("abcd").values())


# -- critical-difference axis -------------------------------------------------------------------------
@pytest.mark.parametrize("ranks", [
    [[2, 1, 3, 4], [1, 2, 3, 4], [2, 1, 4, 3]],            # best average 1.33, worst 3.67
    [[2.5, 2.5, 1, 4, 5], [3, 2, 1, 5, 4], [2, 3, 4, 1, 5]],  # k = 5, best 2.0, worst 4.67
], ids=["k4", "k5"])
def test_cd_axis_spans_ranks_one_to_k(ranks):
    k = len(ranks[0])
    test = _rank_test(ranks, [f"det{i}" for i in range(k)])
    assert min(test.average_ranks.values()) > 1 and max(test.average_ranks.values()) < k
    ax = plots.cd_figure(test).axes[0]
    assert ax.get_xlim() == (1.0, float(k))
    assert list(ax.get_xticks()) == list(range(1, k + 1))
    assert ax.spines["top"].get_visible()
    left = [t.get_position()[0] for t in ax.texts if t.get_ha() == "right"]
    right = [t.get_position()[0] for t in ax.texts if t.get_ha() == "left"]
    assert left and max(left) < 1 and right and min(right) > k  # labels beyond the axis ends


# -- training curves ---------------------------------------------------------------------------------
@pytest.mark.parametrize("epochs", [1, 3, 7, 250], ids=lambda n: f"{n}-epochs")
def test_training_panels_have_whole_epoch_ticks_and_labelled_y_axes(epochs):
    e = list(range(1, epochs + 1))
    fig = plots.new_figure(6, 3)
    with plots.style():
        loss_ax, energy_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        plots.training_panel(loss_ax, "loss", [("loss", [2.0 / i for i in e]), ("val_loss", [2.5 / i for i in e])],
                             e, best=max(1, epochs - 1), legend=True)
        plots.training_panel(energy_ax, "energy", [("energy", [float(10 ** (i % 4)) for i in e])])
        fig.canvas.draw()
    for ax in (loss_ax, energy_ax):
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo - 1e-9 <= t <= hi + 1e-9]
        assert ticks, ax.get_ylabel()
        assert all(float(t).is_integer() for t in ticks), ticks
        assert lo <= 1 and hi >= epochs
        assert ax.get_xlabel() == "epoch"
    assert loss_ax.get_ylabel() in ("loss", "loss (log scale)")  # 2/epoch spans > 50x at 250 epochs
    # 10, 100, 1000 span more than 50x: a log axis, and the label says so
    assert energy_ax.get_ylabel() == ("energy (log scale)" if epochs >= 3 else "energy")
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["train", "validation", "best epoch"]


# -- histograms of heavy-tailed scores ----------------------------------------------------------------
def _heavy_tailed(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.05).astype(np.int64)
    scores = rng.lognormal(0.0, 3.0, size=n) * np.where(y == 1, 30.0, 1.0)  # tail over ~6 decades
    return y, scores


def _brute_force(y: np.ndarray, scores: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts per bin of the rows whose top share (rows scoring at least as high / n) falls
    in each bin, straight from the scores (no ties in a continuous sample)."""
    n = len(scores)
    top_share = (n - np.argsort(np.argsort(scores))) / n  # highest score: 1/n
    bounds = edges.copy()
    bounds[0] = 0.0
    idx = np.clip(np.searchsorted(bounds, top_share, side="left") - 1, 0, len(edges) - 2)
    return (np.bincount(idx[y == 0], minlength=len(edges) - 1),
            np.bincount(idx[y == 1], minlength=len(edges) - 1))


def test_rank_histogram_of_a_heavy_tailed_sample():
    """Linear bins put almost every row in the first bin; the rank histogram's log-spaced bins
    of top share give the top few per cent (where the anomalies are) bins of their own, and its
    counts, rebuilt from the stored ROC, are the counts of the scores themselves."""
    from adbench_dagmm.metrics import curves

    y, scores = _heavy_tailed(600)
    stored = curves(y, scores)
    linear = np.asarray(stored["hist"]["normal"]) + np.asarray(stored["hist"]["anomaly"])
    assert linear[0] / linear.sum() > 0.9  # the problem: one bin holds > 90 % of the rows
    edges, normal, anomaly = plots.rank_histogram(stored)
    assert np.all(np.diff(edges) > 0) and edges[-1] == 1.0
    widths = np.diff(edges) * len(y)
    ratios = edges[1:] / edges[:-1]
    # log-spaced (8 bins a decade) where that leaves at least 5 rows a bin, else 5 rows wide
    assert np.all((np.isclose(ratios[:-1], 10 ** (1 / 8))) | np.isclose(widths[:-1], 5.0))
    assert np.all(widths >= 2.5 - 1e-9)
    assert edges[0] <= y.mean() / 4 + 1e-12  # reaches past the anomalies' share
    assert (edges < 0.1).sum() >= 6  # the top 10 % of rows (60) span about half of the bins
    assert normal.sum() == pytest.approx((y == 0).sum()) and anomaly.sum() == pytest.approx(y.sum())
    exact_normal, exact_anomaly = _brute_force(y, scores, edges)
    assert np.abs(normal - exact_normal).max() <= 1.0 + 1e-9
    assert np.abs(anomaly - exact_anomaly).max() <= 1.0 + 1e-9


def test_rank_histogram_stays_close_when_the_roc_is_thinned():
    """50,000 rows: the stored ROC keeps 400 of its points; bins still hold the right rows to
    within 1 % of the test rows."""
    from adbench_dagmm.metrics import curves

    y, scores = _heavy_tailed(50_000, seed=1)
    stored = curves(y, scores)
    assert len(stored["roc"]["fpr"]) == 400
    edges, normal, anomaly = plots.rank_histogram(stored)
    exact_normal, exact_anomaly = _brute_force(y, scores, edges)
    assert np.abs(normal - exact_normal).max() <= 0.01 * len(y)
    assert np.abs(anomaly - exact_anomaly).max() <= 0.01 * len(y)


def test_rank_histogram_refuses_unusable_artifacts():
    assert plots.rank_histogram({}) is None
    no_anomaly = {"roc": {"fpr": [0, 1], "tpr": [0, 1]}, "hist": {"normal": [3], "anomaly": [0]}}
    assert plots.rank_histogram(no_anomaly) is None
    assert plots.rank_histogram({"roc": {"fpr": [0, math.nan], "tpr": [0, 1]},
                                 "hist": {"normal": [3], "anomaly": [1]}}) is None


def test_histograms_of_a_heavy_tailed_detector_are_drawn_in_its_colour():
    from adbench_dagmm.metrics import curves

    y, scores = _heavy_tailed(600)
    palette = plots.colors(["heavy", "plain"])
    runs = [("heavy", 0, curves(y, scores)), ("plain", 0, curves(y, np.log(scores)))]
    fig = plots.dataset_figure("t", runs, {"heavy": {"f1": [0.5], "roc_auc": [0.9]}}, palette)
    hist_ax = fig.axes[2]
    assert hist_ax.get_xscale() == "log"
    assert [_hex(p.get_facecolor()) for p in hist_ax.patches] == [palette["heavy"]] * 2 + [palette["plain"]] * 2
    # ranks ignore a monotone transform of the scores: the two rows are the same histogram
    heights = [p.get_data().values for p in hist_ax.patches]
    assert np.allclose(heights[0], heights[2] + 1.2) and np.allclose(heights[1], heights[3] + 1.2)


# -- ties in bold -------------------------------------------------------------------------------------
def test_best_counts_ties_as_printed():
    assert best([0.8123, 0.8124, 0.7]) == {0, 1}  # both read 0.812
    assert best([0.8123, 0.8126, 0.7]) == {1}
    assert best([1.5, 1.5, 3.0], digits=2, lowest=True) == {0, 1}
    assert best([0.5, math.nan]) == set()  # nothing to compare


def _record(detector: str, mean: float) -> dict:
    rec = {"detector": detector, "ok": 3, "runs": 3, "seeds": [0, 1, 2]}
    for m in DETAIL_METRICS:
        rec[m] = (mean, 0.01, 3)
        rec[f"{m}_ci"] = (mean - 0.02, mean + 0.02)
    return rec


def test_every_tied_best_cell_is_bold():
    table = dataset_table([_record("a", 0.9001), _record("b", 0.8999), _record("c", 0.7)])
    metric_columns = range(3, 3 + len(DETAIL_METRICS))
    assert table.bold == {(r, c) for r in (0, 1) for c in metric_columns}
    html = table.to_html()
    assert html.count("<strong>0.900 ± 0.010</strong>") == 2 * len(DETAIL_METRICS)
    assert "**0.900 ± 0.010 [0.880, 0.920]**" in table.to_markdown()


def test_rank_table_bolds_every_detector_tied_best():
    test = _rank_test([[1.5, 1.5, 3], [1, 2, 3], [2, 1, 3]], ["a", "b", "c"])
    table = rank_table(test)
    assert [row[0] for row in table.rows] == ["a", "b", "c"]
    assert {(r, c) for r, c in table.bold if c == 1} == {(0, 1), (1, 1)}  # both average 1.50
    assert {(r, c) for r, c in table.bold if c == 2} == {(0, 2), (1, 2)}  # tied on set0 (1.5)
    assert {(r, c) for r, c in table.bold if c == 3} == {(0, 3)}
    assert {(r, c) for r, c in table.bold if c == 4} == {(1, 4)}


# -- HTML tables at 800 px ----------------------------------------------------------------------------
def _chromium() -> str:
    return chromium_path("THE REPORT'S TABLES AT 800 PX")


def test_tables_fit_or_scroll_at_800_px(tmp_path: Path):
    """At 800 px the page never scrolls sideways; per-dataset tables (six metrics with their
    CIs) fit; a rank table over 14 datasets scrolls inside its own box with the detector
    column held in view."""
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    from adbench_dagmm.reporting import ReportOptions, build_report

    skills = {"dagmm": 0.8, "iforest": 0.65, "lof": 0.5, "ocsvm": 0.35}
    write_store(tmp_path / "res", skills, [f"dataset_{i:02d}" for i in range(14)], 3).close()
    build_report(tmp_path / "res", tmp_path / "out", ReportOptions(formats=("html",), plots=False))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900})
            page.goto((tmp_path / "out" / "report.html").as_uri(), wait_until="load")
            page_width = page.evaluate("document.documentElement.scrollWidth")
            boxes = page.evaluate("""() => [...document.querySelectorAll('div.wrap')].map(w => ({
                head: [...w.querySelectorAll('th')].map(t => t.innerText.trim()),
                scroll: w.scrollWidth, client: w.clientWidth,
                overflow: getComputedStyle(w).overflowX,
                sticky: getComputedStyle(w.querySelector('td')).position}))""")
            page.screenshot(path=str(tmp_path / "out" / "800px.png"))
        finally:
            browser.close()
    assert page_width <= 800
    per_dataset = [b for b in boxes if "ROC AUC" in b["head"] and "seeds" in b["head"]]
    assert len(per_dataset) == 14
    assert [b for b in per_dataset if b["scroll"] > b["client"]] == []
    ranks = [b for b in boxes if "avg rank" in b["head"]]
    assert ranks and all(b["scroll"] > b["client"] for b in ranks)  # 14 datasets: too wide
    assert {b["overflow"] for b in boxes} == {"auto"}
    assert {b["sticky"] for b in boxes} == {"sticky"}
