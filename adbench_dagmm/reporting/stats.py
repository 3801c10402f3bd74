"""Statistics of a report: confidence intervals over seeds, ranks across datasets, the Friedman
test with its post-hoc tests, and our runs beside registered published results (verdicts).

Nothing here is hand-rolled: the t quantile, ranks and the Friedman test come from SciPy, the
post-hoc tests (Wilcoxon signed-rank with Holm's correction, or Nemenyi) from scikit-posthocs.
Means and standard deviations come from :func:`adbench_dagmm.summary.mean_std`, the numbers the
terminal table of ``adb run`` shows.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Iterable

import numpy as np

from ..references import PublishedValue, ReferenceSet
from ..summary import group_runs, mean_std

#: Metrics a report can rank detectors on (higher is better for every one of them).
RANK_METRICS = ("f1", "roc_auc", "average_precision", "precision", "recall", "precision_at_n")
METRIC_LABELS = {
    "precision": "Precision", "recall": "Recall", "f1": "F1", "roc_auc": "ROC AUC",
    "average_precision": "AP", "precision_at_n": "P@n",
}
POSTHOCS = ("wilcoxon", "nemenyi")

#: Friedman needs this many detectors and complete datasets (blocks).  Below three datasets the
#: chi-square approximation of the statistic is meaningless (with two, the smallest p-value that
#: three detectors can reach is 0.14), so the report says the test was not run and why.
MIN_DETECTORS = 3
MIN_DATASETS = 3

def ci95(values: Iterable[float | None], bounds: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float]:
    """Two-sided 95 % Student-t confidence interval of the mean over the finite values.

    Clipped to ``bounds`` (every metric lies in [0, 1]; the t interval of a few seeds near 0
    would otherwise reach below it).  NaN bounds for fewer than two values (one seed has no
    spread to estimate).
    """
    from scipy import stats

    mean, std, n = mean_std(values)
    if n < 2:
        return float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return max(mean - half, bounds[0]), min(mean + half, bounds[1])


@dataclasses.dataclass
class RankTest:
    """Average ranks of detectors over datasets for one metric and the tests run on them."""

    metric: str
    detectors: list[str]
    blocks: list[str]  # the datasets (complete blocks) the ranks are taken over
    means: np.ndarray  # (n_blocks, n_detectors) mean metric over seeds
    ranks: np.ndarray  # (n_blocks, n_detectors) 1 = best, ties averaged
    dropped: list[str]  # detectors and datasets left out, with why
    alpha: float
    posthoc: str
    ran: bool = False
    statistic: float = float("nan")
    pvalue: float = float("nan")
    significant: bool = False
    pairwise: Any = None  # pandas.DataFrame of post-hoc p-values (detectors x detectors) or None
    message: str = ""

    @property
    def average_ranks(self) -> dict[str, float]:
        if self.ranks.size == 0:
            return {}
        return dict(zip(self.detectors, self.ranks.mean(axis=0).tolist()))


def short_names(datasets: Iterable[str]) -> dict[str, str]:
    """Display names: a file dataset's file name (``wbc.mat``) when no other dataset has it."""
    from pathlib import PurePath

    datasets = sorted(set(datasets))
    short = {d: PurePath(d).name if ("/" in d or "\\" in d) else d for d in datasets}
    taken: dict[str, int] = {}
    for name in short.values():
        taken[name] = taken.get(name, 0) + 1
    return {d: name if taken[name] == 1 else d for d, name in short.items()}


def block_label(dataset: str, protocol: str, many_protocols: bool,
                names: dict[str, str] | None = None) -> str:
    name = (names or {}).get(dataset, dataset)
    return f"{name} ({protocol})" if many_protocols else name


def rank_test(summary: list[dict[str, Any]], metric: str, *, alpha: float = 0.05,
              posthoc: str = "wilcoxon", names: dict[str, str] | None = None) -> RankTest:
    """Rank detectors on every dataset where all of them have an ok run; test the ranks.

    ``summary`` is :func:`adbench_dagmm.summary.summarize` output.  The Friedman test needs
    complete blocks: a detector with ok runs on fewer than half of the datasets is left out
    first, then every dataset on which some remaining detector has no ok run; both are listed
    in ``dropped``.  The Friedman test runs with at least :data:`MIN_DETECTORS` detectors and
    :data:`MIN_DATASETS` datasets; the post-hoc test only when Friedman rejects at ``alpha``.
    """
    from scipy import stats

    detectors = sorted({rec["detector"] for rec in summary})
    many_protocols = len({rec["protocol"] for rec in summary}) > 1
    cells: dict[str, dict[str, float]] = {}
    for rec in summary:
        label = block_label(rec["dataset"], rec["protocol"], many_protocols, names)
        mean = rec[metric][0] if metric in rec else mean_std([])[0]
        cells.setdefault(label, {})[rec["detector"]] = mean
    blocks, dropped, rows = [], [], []
    # a detector run on few datasets would empty the comparison: leave it out instead
    present = {d: sum(math.isfinite(c.get(d, float("nan"))) for c in cells.values()) for d in detectors}
    sparse = [d for d in detectors if present[d] * 2 < len(cells)]
    if sparse and len(sparse) < len(detectors):
        detectors = [d for d in detectors if d not in sparse]
        dropped += [f"detector {d} (ok on {present[d]} of {len(cells)} datasets)" for d in sparse]
    for label in sorted(cells):
        missing = [d for d in detectors if not math.isfinite(cells[label].get(d, float("nan")))]
        if missing:
            dropped.append(f"{label} (no ok run of {', '.join(missing)})")
            continue
        blocks.append(label)
        rows.append([cells[label][d] for d in detectors])
    means = np.array(rows, dtype=np.float64).reshape(len(blocks), len(detectors))
    # rank 1 = best: rank the negated metric, ties get their average rank
    ranks = stats.rankdata(-means, axis=1, method="average") if means.size else means.copy()
    test = RankTest(metric=metric, detectors=detectors, blocks=blocks, means=means, ranks=ranks,
                    dropped=dropped, alpha=alpha, posthoc=posthoc)
    k, n = len(detectors), len(blocks)
    if k < MIN_DETECTORS or n < MIN_DATASETS:
        test.message = (
            f"Friedman test not run: it needs at least {MIN_DETECTORS} detectors and "
            f"{MIN_DATASETS} datasets on which every detector has an ok run; this report has "
            f"{k} detector(s) and {n} such dataset(s)."
        )
        return test
    if np.all(np.ptp(means, axis=1) == 0):
        test.message = "Friedman test not run: every detector ties on every dataset."
        return test
    result = stats.friedmanchisquare(*means.T)
    test.ran = True
    test.statistic, test.pvalue = float(result.statistic), float(result.pvalue)
    test.significant = bool(test.pvalue < alpha)
    if not test.significant:
        test.message = (
            f"Friedman test: chi² = {test.statistic:.3f}, p = {test.pvalue:.3g} over {n} datasets "
            f"and {k} detectors — not significant at α = {alpha:g}: the data do not show that any "
            "detector differs from the others, so no post-hoc test was run."
        )
        return test
    test.pairwise = pairwise_pvalues(means, detectors, posthoc)
    name = "Wilcoxon signed-rank with Holm correction" if posthoc == "wilcoxon" else "Nemenyi"
    n_sig = int((test.pairwise.to_numpy()[np.triu_indices(k, 1)] < alpha).sum())
    test.message = (
        f"Friedman test: chi² = {test.statistic:.3f}, p = {test.pvalue:.3g} over {n} datasets and "
        f"{k} detectors — significant at α = {alpha:g}. Post-hoc: {name}; {n_sig} of "
        f"{k * (k - 1) // 2} pairs differ significantly."
    )
    return test


def pairwise_pvalues(means: np.ndarray, detectors: list[str], posthoc: str):  # type: ignore[no-untyped-def]
    """Post-hoc p-values (detectors x detectors DataFrame) from scikit-posthocs."""
    import pandas as pd
    import scikit_posthocs as sp

    wide = pd.DataFrame(means, columns=detectors)
    if posthoc == "nemenyi":
        # scikit-posthocs ranks ascending; the p-values are symmetric in the direction
        return sp.posthoc_nemenyi_friedman(wide)
    long = wide.melt(var_name="detector", value_name="value")  # paired by dataset order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exact/normal approximation notes on tiny samples
        pvals = sp.posthoc_wilcoxon(long, val_col="value", group_col="detector", p_adjust="holm",
                                    zero_method="zsplit")
    # identical paired samples give NaN: no evidence of a difference
    return pvals.fillna(1.0).loc[detectors, detectors]


@dataclasses.dataclass
class Comparison:
    """One published value beside our runs of its counterpart, with a verdict."""

    value: PublishedValue
    detector: str  # ours
    dataset: str  # ours
    protocol: str | None  # of our runs shown (None: not run)
    ours: dict[str, tuple[float, float, int]] | None  # metric -> mean, std, n (None: no ok run)
    ci: tuple[float, float]  # 95 % CI of our mean of the verdict metric
    verdict: str


#: The verdicts, for readers and tests.
VERDICTS = ("above", "within the 95 % CI", "below", "protocol differs")


def compare_reference(reference: ReferenceSet, summary: list[dict[str, Any]]) -> list[Comparison]:
    """Our runs beside every published value of ``reference`` whose detector we ran.

    The verdict compares the published mean of ``reference.metric`` with the 95 % CI of our
    mean over seeds: ``above`` (our whole CI is above it), ``within the 95 % CI`` or ``below``;
    ``protocol differs`` when we ran the pair only under another protocol than the reference's.
    Values of a detector absent from ``summary`` are left out; those of a dataset we did not run
    it on say ``not run``.
    """
    metric = reference.metric
    records: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in summary:
        records.setdefault((rec["detector"], rec["dataset"]), []).append(rec)
    ran = {rec["detector"] for rec in summary}
    out = []
    for value, detector, dataset in reference.matched():
        if detector not in ran:
            continue
        recs = records.get((detector, dataset), [])
        nan = (float("nan"), float("nan"))
        ok = [r for r in recs if r["ok"] > 0]
        if not ok:
            failed = sum(r["runs"] for r in recs)
            verdict = f"no ok run ({failed} failed)" if failed else "not run"
            out.append(Comparison(value, detector, dataset, None, None, nan, verdict))
            continue
        # the reference's protocol first, then the others by name
        rec = sorted(ok, key=lambda r: (r["protocol"] != reference.protocol, r["protocol"]))[0]
        ours = {m: rec[m] for m in reference.metrics if m in rec}
        lo, hi = rec.get(f"{metric}_ci", nan)
        published = value.metrics.get(metric)
        if rec["protocol"] != reference.protocol:
            verdict = "protocol differs"
        elif published is None:
            verdict = f"no published {metric}"
        elif rec["ok"] < 2 or not math.isfinite(lo):
            verdict = "no CI (1 seed)"
        elif published > hi:
            verdict = "below"
        elif published < lo:
            verdict = "above"
        else:
            verdict = "within the 95 % CI"
        out.append(Comparison(value, detector, dataset, rec["protocol"], ours, (lo, hi), verdict))
    return out


def add_intervals(summary: list[dict[str, Any]], rows: list[dict[str, Any]],
                  metrics: Iterable[str]) -> None:
    """Add ``<metric>_ci`` (95 % CI) and missing metrics (e.g. precision_at_n) to each record."""
    groups = group_runs(rows, ok_only=True)
    for rec in summary:
        ok = groups.get((rec["detector"], rec["dataset"], rec["protocol"]), [])
        for metric in metrics:
            if metric not in rec:
                rec[metric] = mean_std(r.get(metric) for r in ok)
            rec[f"{metric}_ci"] = ci95(r.get(metric) for r in ok)
