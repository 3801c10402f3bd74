"""``adb report``: tables agree with ``adb run``, statistics, paper verdicts, failed runs, formats.

Most tests read a synthetic store written through ``Store.write`` (seeded numbers, real curve
artifacts from ``adbench_dagmm.metrics.curves``); one runs a real tiny sweep with the CLI.  The
browser check of the HTML is in ``test_report_browser.py``.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.errors import UsageError
from adbench_dagmm.results import Store
from adbench_dagmm.summary import fmt, summarize
from conftest import chromium_path

runner = CliRunner()
PLUGINS = str(Path(__file__).parent / "plugins")


def adb_report(results: Path, output: Path, *args: str):  # type: ignore[no-untyped-def]
    """``adb --plugins-dir tests/plugins report``: with the fixture plugins' reference set."""
    return runner.invoke(app, ["--plugins-dir", PLUGINS, "report", "--results", str(results),
                               "-o", str(output), *args])


# -- a synthetic store -----------------------------------------------------------------------------
def _curves(skill: float, seed: int) -> dict:
    """Real ROC/PR/histogram artifacts of synthetic scores (memoised: they are not the point)."""
    return _curves_of(round(skill, 2), seed % 3)


@functools.lru_cache(maxsize=None)  # a pure function of its arguments: nothing a test can change
def _curves_of(skill: float, seed: int) -> dict:
    from adbench_dagmm.metrics import curves

    rng = np.random.default_rng(seed)
    y = (rng.random(600) < 0.15).astype(np.int64)
    scores = rng.normal(size=600) + 3.0 * skill * y
    return curves(y, scores)


def _history(epochs: int = 25) -> dict:
    e = np.arange(1, epochs + 1)
    loss = (2.0 / e + 0.1).round(5).tolist()
    return {"epoch": e.tolist(), "loss": loss, "recon": (1.5 / e + 0.05).round(5).tolist(),
            "energy": (4.0 - np.log(e)).round(5).tolist(), "cov_diag": (1.0 / e ** 2).round(6).tolist(),
            "val_loss": (2.2 / e + 0.15).round(5).tolist(), "seconds": [0.1] * epochs,
            "epochs_run": epochs, "best_epoch": epochs - 3, "stop_reason": "early_stopping",
            "recoveries": []}


def _latent(seed: int, n: int = 300) -> dict:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    z = np.column_stack([rng.normal(size=n) + 2 * y, rng.random(n) * 0.2 + 0.3 * y, 1 - rng.random(n) * 0.1 - 0.3 * y])
    return {"z": z.round(5).tolist(), "y": y.tolist()}


def write_store(path: Path, skills: dict[str, float], datasets: list[str], seeds: int, *,
                failed: int = 0, noise: float = 0.02, protocol: str = "zong2018",
                offsets: dict[str, float] | None = None, rng_seed: int = 0) -> Store:
    """Write ``len(skills) * len(datasets) * seeds`` runs (the last ``failed`` seeds of the first
    detector on the first dataset fail); ``dagmm`` runs get history and latent artifacts."""
    rng = np.random.default_rng(rng_seed)
    store = Store(path)
    store.conn.execute("PRAGMA synchronous=OFF")  # a test store: speed over durability
    offsets = offsets or {}
    for i, dataset in enumerate(datasets):
        base = offsets.get(dataset, rng.uniform(-0.1, 0.1))
        for detector, skill in skills.items():
            for seed in range(seeds):
                run_id = hashlib.sha256(f"{detector}|{dataset}|{protocol}|{seed}".encode()).hexdigest()[:20]
                row = {"run_id": run_id, "detector": detector, "params": {}, "dataset": dataset,
                       "data_sha256": "", "protocol": protocol, "protocol_version": "1", "seed": seed,
                       "notes": [], "versions": {}, "host": "test",
                       "created_at": f"2026-01-01T00:{seed // 60:02d}:{seed % 60:02d}+00:00"}
                if i == 0 and detector == next(iter(skills)) and seed >= seeds - failed:
                    row.update(status="error", error="TrainingError: covariance not positive definite "
                                                     f"at epoch 3 (seed {seed})")
                    store.write(row)
                    continue
                f1 = float(np.clip(skill + base + rng.normal(0, noise), 0, 1))
                row.update(
                    status="ok", precision=float(np.clip(f1 + rng.normal(0, noise), 0, 1)),
                    recall=float(np.clip(f1 + rng.normal(0, noise), 0, 1)), f1=f1,
                    roc_auc=float(np.clip(0.3 + 0.7 * f1 + rng.normal(0, noise), 0, 1)),
                    average_precision=float(np.clip(f1 - 0.05 + rng.normal(0, noise), 0, 1)),
                    precision_at_n=float(np.clip(f1 + rng.normal(0, noise), 0, 1)),
                    fit_seconds=float(rng.uniform(0.1, 2.0)), score_seconds=float(rng.uniform(0.01, 0.1)),
                    peak_rss_mb=float(rng.uniform(200, 400)), n_train=1000, n_test=500, n_features=10,
                    contamination=0.15,
                )
                artifacts = {"curves": _curves(skill, seed)}
                if detector == "dagmm":
                    artifacts.update(history=_history(), latent=_latent(seed))
                store.write(row, artifacts)
    return store


SKILLS = {"dagmm": 0.80, "iforest": 0.65, "lof": 0.50, "ocsvm": 0.35}
DATASETS = ["kddcup99", "thyroid", "arrhythmia", "wbc", "glass", "vowels"]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A 4-detector, 6-dataset, 5-seed store with 2 failed runs, and its report (md, html, tex)."""
    from adbench_dagmm.reporting import ReportOptions, build_report

    root = tmp_path_factory.mktemp("report")
    write_store(root / "res", SKILLS, DATASETS, 5, failed=2,
                offsets={"kddcup99": 0.16, "thyroid": -0.33, "arrhythmia": -0.45}).close()
    report = build_report(root / "res", root / "out", ReportOptions(formats=("md", "html", "tex")))
    return root, report


# -- tables ------------------------------------------------------------------------------------------
def _md_rows(text: str, header_start: str) -> list[list[str]]:
    """Cells of the first Markdown table whose header starts with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().strip("*") for c in line.strip("|").split(" | ")])
    return rows


def test_terminal_table_and_markdown_agree(tmp_path):
    """A real sweep: every number of the `adb run` table is in the report's overview, in order."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4))
    y = (rng.random(240) < 0.1).astype(int)
    X[y == 1] += 3
    lines = ["a,b,c,d,label"] + [",".join(f"{v:.5f}" for v in x) + f",{t}" for x, t in zip(X, y)]
    (tmp_path / "toy.csv").write_text("\n".join(lines) + "\n")
    res = tmp_path / "res"
    run = runner.invoke(app, ["run", "-d", "iforest", "-d", "hbos", "-D", str(tmp_path / "toy.csv"),
                              "--seeds", "3", "--results", str(res)])
    assert run.exit_code == 0, run.output
    rep = runner.invoke(app, ["report", "--results", str(res), "--output", str(tmp_path / "out"),
                              "--format", "md", "--no-plots"])
    assert rep.exit_code == 0, rep.output
    cell = r"(\d+\.\d+±\d+\.\d+)"
    terminal = [re.findall(cell, line) for line in run.stdout.splitlines()
                if re.match(r"\s*(iforest|hbos)\b", line)]
    md = (tmp_path / "out" / "report.md").read_text()
    overview = [row[3:] for row in _md_rows(md, "| detector | dataset | ok |")]
    assert len(terminal) == 2 and all(len(t) == 4 for t in terminal), run.stdout
    assert terminal == overview
    # and both are summarize()'s numbers
    with Store(res, create=False) as store:
        summary = summarize(store.rows())
    assert [fmt(*rec["f1"][:2], sep="±") for rec in summary] == [t[0] for t in terminal]


def test_dataset_table_has_mean_std_and_t_interval(synthetic):
    from scipy import stats

    root, report = synthetic
    with Store(root / "res", create=False) as store:
        f1 = [r["f1"] for r in store.rows(detector="iforest", dataset="wbc")]
    n = len(f1)
    mean, sd = np.mean(f1), np.std(f1, ddof=1)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    md = (root / "out" / "report.md").read_text()
    section = md.split("### wbc", 1)[1]
    row = next(r for r in _md_rows(section, "| detector | ok | seeds |") if r[0] == "iforest")
    assert row[5] == f"{mean:.3f} ± {sd:.3f} [{mean - half:.3f}, {mean + half:.3f}]"
    assert row[1:3] == ["5/5", "0–4"]


def test_failed_runs_are_marked_not_fatal(synthetic):
    root, report = synthetic
    md = (root / "out" / "report.md").read_text()
    assert report.n_failed == 2
    assert "2 of 120 runs did not finish ok" in md
    overview = _md_rows(md, "| detector | dataset | ok |")
    marked = [r for r in overview if r[2] != "5/5"]
    assert [r[:3] for r in marked] == [["dagmm", "kddcup99", "3/5 ⚠"]]
    failed = _md_rows(md.split("## Failed runs", 1)[1], "| detector | dataset | protocol |")
    assert [(r[0], r[1], r[3], r[4]) for r in failed] == [("dagmm", "kddcup99", "3", "error"),
                                                         ("dagmm", "kddcup99", "4", "error")]
    assert "covariance not positive definite" in failed[0][5]
    html = (root / "out" / "report.html").read_text()
    # one row each in the overview, the kddcup99 table and the runtime table, two in the failed list
    assert html.count('<tr class="failed">') == 1 + 1 + 1 + 2
    # failed runs are left out of the means: 3 ok seeds
    with Store(root / "res", create=False) as store:
        ok = [r["f1"] for r in store.rows(detector="dagmm", dataset="kddcup99", status="ok")]
    assert len(ok) == 3 and marked[0][3] == fmt(np.mean(ok), np.std(ok, ddof=1), sep="±")


def test_friedman_significant_with_posthoc_and_cd_diagram(synthetic):
    from scipy import stats

    root, report = synthetic
    md = (root / "out" / "report.md").read_text()
    section = md.split("### Average rank: F1", 1)[1].split("### Average rank", 1)[0]
    ranks = _md_rows(section, "| detector | avg rank |")
    assert [r[0] for r in ranks] == ["dagmm", "iforest", "lof", "ocsvm"]
    assert [r[1] for r in ranks] == ["1.00", "2.00", "3.00", "4.00"]
    summary = summarize([r for r in report.rows])
    means = {(rec["dataset"], rec["detector"]): rec["f1"][0] for rec in summary}
    columns = [[means[(d, det)] for d in sorted(DATASETS)] for det in sorted(SKILLS)]
    expected = stats.friedmanchisquare(*columns)
    assert f"chi² = {expected.statistic:.3f}, p = {expected.pvalue:.3g} over 6 datasets" in section
    assert "significant at α = 0.05. Post-hoc: Wilcoxon signed-rank with Holm correction" in section
    assert "Post-hoc p-values (F1)" in section
    assert "figures/cd_f1.png" in section
    assert (root / "out" / "figures" / "cd_f1.png").stat().st_size > 1000


def test_friedman_not_significant_says_so_and_goes_on(tmp_path):
    from adbench_dagmm.reporting import ReportOptions, build_report

    from scipy import stats

    write_store(tmp_path / "res", {"a": 0.5, "b": 0.5, "c": 0.5}, ["d1", "d2", "d3", "d4"], 3,
                noise=0.05, rng_seed=1).close()
    with Store(tmp_path / "res", create=False) as store:
        means = {(r["detector"], r["dataset"]): r["f1"][0] for r in summarize(store.rows())}
    p = stats.friedmanchisquare(*[[means[(d, s)] for s in ("d1", "d2", "d3", "d4")] for d in "abc"]).pvalue
    assert p > 0.05  # the premise: equal detectors, noise only
    report = build_report(tmp_path / "res", tmp_path / "out", ReportOptions(formats=("md",), metrics=("f1",)))
    md = (tmp_path / "out" / "report.md").read_text()
    assert "not significant at α = 0.05" in md and "no post-hoc test was run" in md
    assert "Post-hoc p-values" not in md
    assert "figures/cd_f1.png" in md  # drawn, every detector joined
    assert "## Runtime" in md and report.n_failed == 0


@pytest.mark.parametrize(("skills", "datasets", "why"), [
    ({"a": 0.6, "b": 0.4}, ["d1", "d2", "d3"], "this report has 2 detector(s) and 3 such dataset(s)"),
    ({"a": 0.6, "b": 0.4, "c": 0.2}, ["d1", "d2"], "this report has 3 detector(s) and 2 such dataset(s)"),
], ids=["two-detectors", "two-datasets"])
def test_friedman_not_run_below_minimums(tmp_path, skills, datasets, why):
    result_dir = tmp_path / "res"
    write_store(result_dir, skills, datasets, 2).close()
    rep = runner.invoke(app, ["report", "--results", str(result_dir), "-o", str(tmp_path / "out"),
                              "-f", "md", "--no-plots", "-m", "f1"])
    assert rep.exit_code == 0, rep.output
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Friedman test not run: it needs at least 3 detectors and 3 datasets" in md
    assert why in md
    assert "# Published results" not in md  # no registered reference names detectors a, b, c


def test_incomplete_detectors_and_datasets_are_left_out_of_ranks(tmp_path):
    from adbench_dagmm.reporting.stats import rank_test

    write_store(tmp_path / "res", {"a": 0.7, "b": 0.5, "c": 0.3}, ["d1", "d2", "d3", "d4"], 2,
                failed=2).close()  # every run of a on d1 fails
    write_store(tmp_path / "res", {"z": 0.9}, ["d2"], 2).close()  # z ran on one dataset only
    with Store(tmp_path / "res", create=False) as store:
        test = rank_test(summarize(store.rows()), "f1")
    assert test.detectors == ["a", "b", "c"] and test.blocks == ["d2", "d3", "d4"]
    assert test.dropped == ["detector z (ok on 1 of 4 datasets)", "d1 (no ok run of a)"]
    assert test.ran and test.ranks.tolist() == [[1, 2, 3]] * 3


def _section(md: str, heading: str) -> str:
    """The Markdown from ``heading`` to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = md.index(heading + "\n")
    ends = [i for i in (md.find(f"\n{'#' * n} ", start + 1) for n in range(1, len(level) + 1)) if i != -1]
    return md[start:min(ends)] if ends else md[start:]


def test_published_verdicts_of_a_fixture_reference(tmp_path):
    """tests/plugins/published.py registers a toy table: ours above, within, below, protocol
    differs, not run; rows of methods with no detector of ours are only named."""
    from adbench_dagmm.registry import build_registry

    TOY = build_registry(load_entrypoints=False, plugins_dir=PLUGINS).get("reference", "toy2026_table1").cls
    result_dir = tmp_path / "res"
    published = {v.dataset: v.metrics["f1"] for v in TOY.values if v.method == "MeanDist"}
    write_store(result_dir, {"mean_distance": 0.0}, ["toy", "toy_hard", "toy_easy"], 4, noise=0.004,
                offsets={"toy": published["Toy"] + 0.1, "toy_hard": published["Toy-hard"],
                         "toy_easy": published["Toy-easy"] - 0.2}).close()
    write_store(result_dir, {"mean_distance": 0.0}, ["toy_other"], 3, protocol="pyod").close()
    rep = adb_report(result_dir, tmp_path / "out", "-f", "md", "--no-plots")
    assert rep.exit_code == 0, rep.output
    md = (tmp_path / "out" / "report.md").read_text()
    section = _section(md, f"## {TOY.citation}")
    rows = {r[0]: r for r in _md_rows(section, "| dataset | method (ours) |")}
    assert rows["toy"][1] == "MeanDist (mean_distance)"
    assert rows["toy"][2:5] == ["0.8000", "0.8100", "0.8000 ± 0.0100"]  # published P, R, F1 ± std
    assert {name: r[-1] for name, r in rows.items()} == {
        "toy": "above", "toy_hard": "within the 95 % CI", "toy_easy": "below",
        "toy_other (pyod)": "protocol differs", "toy_missing": "not run"}
    assert "with no detector of ours: Oracle." in section
    assert "Published values are means over 10 runs" in section


def test_paper_verdicts_of_the_dagmm_plugin(tmp_path):
    """The DAGMM plugin's Table 2 (and GOAD's Table 3) against a store of dagmm runs."""
    from adb_plugins.dagmm.references import TABLE2

    thyroid_f1 = next(f1 for m, d, _, _, f1 in TABLE2 if (m, d) == ("DAGMM", "Thyroid"))
    result_dir = tmp_path / "res"
    # kddcup99 well above the paper, thyroid on it, arrhythmia well below, kddcup99_rev not run
    write_store(result_dir, {"dagmm": 0.0}, ["kddcup99", "thyroid", "arrhythmia"], 4, noise=0.004,
                offsets={"kddcup99": 0.97, "thyroid": thyroid_f1, "arrhythmia": 0.30}).close()
    rep = runner.invoke(app, ["report", "--results", str(result_dir), "-o", str(tmp_path / "out"),
                              "-f", "md", "--no-plots"])
    assert rep.exit_code == 0, rep.output
    md = (tmp_path / "out" / "report.md").read_text()
    zong = _section(md, "## Zong et al., Deep Autoencoding Gaussian Mixture Model for Unsupervised "
                        "Anomaly Detection, ICLR 2018, Table 2")
    rows = {r[0]: r for r in _md_rows(zong, "| dataset | method (ours) |")}
    assert rows["kddcup99"][2:5] == ["0.9297", "0.9442", "0.9369"]
    assert {name: r[-1] for name, r in rows.items()} == {
        "kddcup99": "above", "thyroid": "within the 95 % CI", "arrhythmia": "below", "kddcup99_rev": "not run"}
    goad = _section(md, "## Bergman & Hoshen, Classification-Based Anomaly Detection for General Data, "
                        "ICLR 2020, Table 3")
    assert {r[0]: r[-1] for r in _md_rows(goad, "| dataset | method (ours) |")}["kddcup99"] == "above"
    assert "GOAD" in goad and "FB-AE" in goad  # named, not compared


def test_one_seed_has_no_ci_and_failed_runs_are_named(tmp_path):
    write_store(tmp_path / "res", {"dagmm": 0.9}, ["thyroid"], 2, failed=2).close()
    write_store(tmp_path / "res", {"dagmm": 0.9}, ["kddcup99"], 1).close()
    rep = runner.invoke(app, ["report", "--results", str(tmp_path / "res"), "-o", str(tmp_path / "out"),
                              "-f", "md", "--no-plots"])
    assert rep.exit_code == 0, rep.output
    md = (tmp_path / "out" / "report.md").read_text()
    verdicts = {r[0]: r[-1] for r in _md_rows(md, "| dataset | method (ours) |")}
    assert verdicts["kddcup99"] == "no CI (1 seed)"
    assert verdicts["thyroid"] == "no ok run (2 failed)"


def test_every_figure_kind_is_written(synthetic):
    root, report = synthetic
    names = sorted(p.name.split("_")[0] for p in (root / "out" / "figures").iterdir())
    assert set(names) == {"cd", "dataset", "training"}
    assert names.count("dataset") == len(DATASETS)
    assert names.count("training") == len(DATASETS)  # dagmm (history + latent) on every dataset
    assert names.count("cd") == 2  # f1 and roc_auc
    for block in report.document.figures:
        path = root / "out" / block.path
        assert path.read_bytes() == block.data and block.data[:8] == b"\x89PNG\r\n\x1a\n"
    md = (root / "out" / "report.md").read_text()
    assert all(f"]({b.path})" in md for b in report.document.figures)


def test_html_is_self_contained(synthetic):
    root, report = synthetic
    html = (root / "out" / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(report.document.figures)
    for attr in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert attr.startswith(("data:", "#")), attr
    assert "http://" not in html and "https://" not in html and "@import" not in html


def test_latex_output(synthetic):
    root, _ = synthetic
    tex = (root / "out" / "report.tex").read_text()
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    assert r"\begin{tabular}" in tex and r"$\pm$" in tex and r"\includegraphics" in tex
    assert "kddcup99\\_rev" in tex and "±" not in tex


def test_seed_option_picks_the_drawn_runs(tmp_path):
    write_store(tmp_path / "res", {"dagmm": 0.8, "iforest": 0.6}, ["thyroid"], 3).close()
    rep = runner.invoke(app, ["report", "--results", str(tmp_path / "res"), "-o", str(tmp_path / "out"),
                              "-f", "md", "--seed", "2", "-m", "f1", "--image-format", "svg"])
    assert rep.exit_code == 0, rep.output
    md = (tmp_path / "out" / "report.md").read_text()
    assert "thyroid: ROC, precision–recall and score histograms (seed 2)" in md
    assert "### dagmm on thyroid (seed 2)" in md
    assert (tmp_path / "out" / "figures" / "dataset_thyroid.svg").read_text().lstrip().startswith("<?xml")


def test_filters(synthetic, tmp_path):
    root, _ = synthetic
    rep = runner.invoke(app, ["report", "--results", str(root / "res"), "-o", str(tmp_path / "out"),
                              "-f", "md", "--no-plots", "-d", "iforest", "-d", "lof", "-D", "wbc"])
    assert rep.exit_code == 0, rep.output
    md = (tmp_path / "out" / "report.md").read_text()
    overview = _md_rows(md, "| detector | dataset | ok |")
    assert [(r[0], r[1]) for r in overview] == [("iforest", "wbc"), ("lof", "wbc")]
    assert "Filtered to detectors iforest, lof; datasets wbc." in md


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "pdf"], "unknown report format 'pdf'; choose from md, html, tex"),
    (["--metric", "speed"], "cannot rank on metric 'speed'"),
    (["--alpha", "1.5"], "--alpha must be between 0 and 1, got 1.5"),
    (["-d", "nosuch"], r"no stored run matches --detector nosuch \(the store has: dagmm, iforest, lof, ocsvm\)"),
], ids=["format", "metric", "alpha", "filter"])
def test_usage_errors_exit_2(synthetic, tmp_path, args, message):
    root, _ = synthetic
    rep = runner.invoke(app, ["report", "--results", str(root / "res"), "-o", str(tmp_path / "o"), *args])
    assert rep.exit_code == 2, rep.output
    assert re.search(message, " ".join(rep.output.split())), rep.output


def test_missing_store_exit_2(tmp_path):
    rep = runner.invoke(app, ["report", "--results", str(tmp_path / "none")])
    assert rep.exit_code == 2
    assert "no results store at" in rep.output
    assert not (tmp_path / "none").exists()


def test_build_report_api_errors(tmp_path):
    from adbench_dagmm.reporting import ReportOptions, build_report

    with pytest.raises(UsageError, match="unknown post-hoc test 'tukey'"):
        build_report(tmp_path, tmp_path / "out", ReportOptions(posthoc="tukey"))


def test_three_thousand_runs_render_quickly(tmp_path):
    """3,000 runs (10 detectors x 10 datasets x 30 seeds): md + html with every figure.

    benchmarks/bench_report.py measures other shapes (30 datasets x 10 seeds by default)."""
    from adbench_dagmm.reporting import ReportOptions, build_report

    skills = {name: 0.3 + 0.05 * i for i, name in enumerate(
        ["dagmm", "iforest", "lof", "ocsvm", "hbos", "pca", "knn", "copod", "ecod", "cblof"])}
    write_store(tmp_path / "res", skills, [f"set{i:02d}" for i in range(10)], 30, failed=1).close()
    start = time.perf_counter()
    report = build_report(tmp_path / "res", tmp_path / "out", ReportOptions(formats=("md", "html")))
    seconds = time.perf_counter() - start
    print(f"\n3000-run report: {len(report.rows)} runs, {len(report.document.figures)} figures, {seconds:.1f} s")
    assert len(report.rows) == 3000 and report.n_failed == 1
    assert seconds < 120  # generous: the machine is shared; benchmarks/bench_report.py measures


# -- the HTML in a real browser --------------------------------------------------------------------
def _chromium() -> str:
    return chromium_path("THE HTML REPORT")


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_html_report_in_headless_chromium(synthetic, tmp_path):
    """No console error, no request leaving the file, every image decoded, tables name every
    detector and dataset; a full-page screenshot is kept next to the report."""
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    root, report = synthetic
    html_path = root / "out" / "report.html"
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900}, offline=True)
        try:
            page = context.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html_path.as_uri(), wait_until="load")
            images = page.evaluate("""() => [...document.images].map(i => ({
                alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}))""")
            tables = page.evaluate("() => [...document.querySelectorAll('table')].map(t => t.innerText)")
            failed_rows = page.locator("tr.failed").count()
            headings = page.locator("h2").all_inner_texts()
            page.screenshot(path=str(root / "out" / "screenshot.png"), full_page=False)
        finally:
            context.close()
    assert problems == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert len(images) == len(report.document.figures) > 0
    assert [i["alt"] for i in images if not (i["complete"] and i["w"] > 0 and i["h"] > 0)] == []
    text = "\n".join(tables)
    for name in [*SKILLS, *DATASETS]:
        assert name in text, name
    assert failed_rows == 5
    assert headings[:3] == ["Overview", "Per-dataset results", "Ranks and significance"]
    assert (root / "out" / "screenshot.png").stat().st_size > 10_000
