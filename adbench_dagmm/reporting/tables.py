"""The report's tables: one format-neutral :class:`Table` per table, rendered to Markdown, HTML
or LaTeX, and the builders that fill them from the store's summary.

Every mean ± std is formatted by :func:`adbench_dagmm.summary.fmt` from
:func:`adbench_dagmm.summary.summarize` records, so the overview table shows, cell for cell, the
numbers of the terminal table of ``adb run``.
"""

from __future__ import annotations

import dataclasses
import html
import math
from typing import Any

from ..summary import fmt
from ..references import ReferenceSet
from .stats import METRIC_LABELS, Comparison, RankTest

DETAIL_METRICS = ("precision", "recall", "f1", "roc_auc", "average_precision", "precision_at_n")


@dataclasses.dataclass
class Table:
    """Header, string cells and a few marks; no format-specific markup inside the cells."""

    columns: list[str]
    rows: list[list[str]]
    align: str = ""  # one 'l'/'r' per column; default: first column left, the rest right
    bold: set[tuple[int, int]] = dataclasses.field(default_factory=set)  # (row, column)
    flagged: set[int] = dataclasses.field(default_factory=set)  # rows with failed runs
    notes: list[str] = dataclasses.field(default_factory=list)
    split_ci: bool = False  # HTML: put a trailing " [lo, hi]" on its own line, smaller

    def __post_init__(self) -> None:
        if not self.align:
            self.align = "l" + "r" * (len(self.columns) - 1)

    def to_markdown(self) -> str:
        def cell(text: str, r: int, c: int) -> str:
            text = text.replace("|", "\\|")
            return f"**{text}**" if (r, c) in self.bold and text not in ("", "–") else text

        lines = ["| " + " | ".join(c.replace("|", "\\|") for c in self.columns) + " |",
                 "|" + "|".join(":---" if a == "l" else "---:" for a in self.align) + "|"]
        for r, row in enumerate(self.rows):
            lines.append("| " + " | ".join(cell(t, r, c) for c, t in enumerate(row)) + " |")
        lines.extend(f"\n{note}" for note in self.notes)
        return "\n".join(lines)

    def to_html(self) -> str:
        out = ["<table>", "<thead><tr>"]
        out += [f'<th class="{"l" if a == "l" else "r"}">{html.escape(c)}</th>'
                for c, a in zip(self.columns, self.align)]
        out.append("</tr></thead><tbody>")
        for r, row in enumerate(self.rows):
            out.append('<tr class="failed">' if r in self.flagged else "<tr>")
            for c, (text, a) in enumerate(zip(row, self.align)):
                body = html.escape(text)
                if (r, c) in self.bold and text not in ("", "–"):
                    body = f"<strong>{body}</strong>"
                if self.split_ci and text.endswith("]") and " [" in text:
                    head, ci = text.rsplit(" [", 1)
                    body = html.escape(head)
                    if (r, c) in self.bold:
                        body = f"<strong>{body}</strong>"
                    body += f'<br><span class="ci">[{html.escape(ci)}</span>'

                out.append(f'<td class="{a}">{body}</td>')
            out.append("</tr>")
        out.append("</tbody></table>")
        out += [f'<p class="note">{html.escape(note)}</p>' for note in self.notes]
        return "".join(out)

    def to_latex(self) -> str:
        lines = [r"\begin{tabular}{" + self.align + "}", r"\toprule",
                 " & ".join(latex_escape(c) for c in self.columns) + r" \\", r"\midrule"]
        for r, row in enumerate(self.rows):
            cells = []
            for c, text in enumerate(row):
                body = latex_escape(text)
                cells.append(rf"\textbf{{{body}}}" if (r, c) in self.bold and text not in ("", "–") else body)
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        lines += [r"\par\smallskip{\footnotesize " + latex_escape(n) + "}" for n in self.notes]
        return "\n".join(lines)


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
          "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
          "±": r"$\pm$", "–": "--", "—": "---", "α": r"$\alpha$", "χ²": r"$\chi^2$", "≥": r"$\geq$",
          "×": r"$\times$", "⚠": "(!)", "[": "{[}", "]": "{]}"}


def latex_escape(text: str) -> str:
    """LaTeX-safe text; Markdown's `code` spans become \\texttt."""
    parts = text.split("`")
    if len(parts) > 1 and len(parts) % 2:
        return "".join(rf"\texttt{{{_escape(p)}}}" if i % 2 else _escape(p) for i, p in enumerate(parts))
    return _escape(text)


def _escape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i:i + 2] in _LATEX:
            out.append(_LATEX[text[i:i + 2]])
            i += 2
            continue
        out.append(_LATEX.get(text[i], text[i]))
        i += 1
    return "".join(out)


def _ok_cell(rec: dict[str, Any]) -> str:
    ok = f"{rec['ok']}/{rec['runs']}"
    return ok if rec["ok"] == rec["runs"] else f"{ok} ⚠"


def best(values: list[float], digits: int = 3, lowest: bool = False) -> set[int]:
    """Indices of the best value and of every value tied with it *as printed* (rounded to
    ``digits`` decimals): two detectors whose cells read the same are both bold.  The highest
    value is best, or the lowest with ``lowest``.  Empty when fewer than two values are finite
    (nothing to compare)."""
    shown = [round(v, digits) if math.isfinite(v) else None for v in values]
    finite = [v for v in shown if v is not None]
    if len(finite) < 2:
        return set()
    top = min(finite) if lowest else max(finite)
    return {i for i, v in enumerate(shown) if v == top}


def overview_table(summary: list[dict[str, Any]]) -> Table:
    """The terminal table of ``adb run``, cell for cell (see cli/run.py ``render_table``)."""
    protocols = sorted({rec["protocol"] for rec in summary})
    one_protocol = len(protocols) == 1
    columns = ["detector", "dataset"] + ([] if one_protocol else ["protocol"]) + [
        "ok", "F1", "ROC AUC", "AP", "time s"]
    table = Table(columns=columns, rows=[], align="ll" + ("" if one_protocol else "l") + "rrrrr")
    for rec in summary:
        detector = rec["detector"]
        if rec["notes"]:
            table.notes.append(f"[{len(table.notes) + 1}] {rec['detector']} on {rec['dataset']}: "
                               + "; ".join(rec["notes"]))
            detector += f" [{len(table.notes)}]"
        mean, std, _ = rec["seconds"]
        if rec["ok"] < rec["runs"]:
            table.flagged.add(len(table.rows))
        table.rows.append([detector, rec["dataset"]] + ([] if one_protocol else [rec["protocol"]]) + [
            _ok_cell(rec), fmt(*rec["f1"][:2], sep="±"), fmt(*rec["roc_auc"][:2], sep="±"),
            fmt(*rec["average_precision"][:2], sep="±"), fmt(mean, std, 1, sep="±"),
        ])
    return table


def _with_ci(stat: tuple[float, float, int], ci: tuple[float, float]) -> str:
    text = fmt(stat[0], stat[1])
    if math.isfinite(ci[0]):
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


def dataset_table(records: list[dict[str, Any]]) -> Table:
    """One dataset: a row per detector, mean ± std [95 % CI] over seeds for every metric."""
    columns = ["detector", "ok", "seeds"] + [METRIC_LABELS[m] for m in DETAIL_METRICS]
    table = Table(columns=columns, rows=[], align="lrl" + "r" * len(DETAIL_METRICS), split_ci=True)
    for r, rec in enumerate(records):
        if rec["ok"] < rec["runs"]:
            table.flagged.add(r)
        seeds = _seed_span(rec["seeds"])
        table.rows.append([rec["detector"], _ok_cell(rec), seeds] + [
            _with_ci(rec[m], rec[f"{m}_ci"]) for m in DETAIL_METRICS])
    for c, metric in enumerate(DETAIL_METRICS, start=3):
        for r in best([rec[metric][0] for rec in records]):
            table.bold.add((r, c))
    return table


def _seed_span(seeds: list[int]) -> str:
    if not seeds:
        return "–"
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ",".join(str(s) for s in seeds)


def rank_table(test: RankTest) -> Table:
    """Detectors by average rank (1 = best) with their rank on every dataset; the best average
    rank and the best rank on each dataset in bold, for every detector tied there."""
    columns = ["detector", "avg rank"] + test.blocks
    table = Table(columns=columns, rows=[])
    averages = test.average_ranks
    order = sorted(test.detectors, key=lambda d: (averages.get(d, math.inf), d))
    for detector in order:
        j = test.detectors.index(detector)
        per_block = [f"{test.ranks[i, j]:g} ({test.means[i, j]:.3f})" for i in range(len(test.blocks))]
        table.rows.append([detector, f"{averages[detector]:.2f}" if averages else "–"] + per_block)
    if averages:
        for r in best([averages[d] for d in order], digits=2, lowest=True):
            table.bold.add((r, 1))
    for i in range(len(test.blocks)):
        for r in best([float(test.ranks[i, test.detectors.index(d)]) for d in order], lowest=True):
            table.bold.add((r, 2 + i))
    if test.dropped:
        table.notes.append("Left out (no ok run on every dataset, or of every detector): "
                           + "; ".join(test.dropped) + ".")
    return table


def pairwise_table(test: RankTest) -> Table:
    """Post-hoc p-values, detectors in average-rank order; significant pairs in bold."""
    averages = test.average_ranks
    order = sorted(test.detectors, key=lambda d: (averages[d], d))
    table = Table(columns=["p-value"] + order, rows=[])
    pv = test.pairwise
    for r, a in enumerate(order):
        row = [a]
        for c, b in enumerate(order, start=1):
            if a == b:
                row.append("–")
                continue
            p = float(pv.loc[a, b])
            row.append(f"{p:.3g}")
            if p < test.alpha:
                table.bold.add((r, c))
        table.rows.append(row)
    return table


def runtime_table(summary: list[dict[str, Any]]) -> Table:
    """Fit and score seconds, peak memory and data sizes, mean over ok runs (with a protocol
    column when the runs have more than one protocol or protocol options)."""
    many = len({rec["protocol"] for rec in summary}) > 1
    columns = ["detector", "dataset"] + (["protocol"] if many else []) + [
        "ok", "fit s", "score s", "total s", "peak RSS MB", "n_train", "n_test", "features"]
    table = Table(columns=columns, rows=[], align="ll" + ("l" if many else "") + "rrrrrrrr")
    for r, rec in enumerate(summary):
        if rec["ok"] < rec["runs"]:
            table.flagged.add(r)

        def size(key: str) -> str:
            value = rec.get(key)
            return "–" if value is None or not math.isfinite(value[0]) else f"{value[0]:.0f}"

        table.rows.append([
            rec["detector"], rec["dataset"], *([rec["protocol"]] if many else []), _ok_cell(rec),
            fmt(*rec["fit_seconds"][:2], digits=2, sep="±"),
            fmt(*rec["score_seconds"][:2], digits=2, sep="±"),
            fmt(*rec["seconds"][:2], digits=2, sep="±"),
            fmt(*rec["peak_rss_mb"][:2], digits=0, sep="±"),
            size("n_train"), size("n_test"), size("n_features"),
        ])
    return table


def reference_table(reference: ReferenceSet, comparisons: list[Comparison]) -> Table:
    """Published values beside ours (mean ± std over seeds), one verdict per row."""
    metrics = reference.metrics
    labels = [METRIC_LABELS[m] for m in metrics]
    columns = (["dataset", "method (ours)"] + [f"published {x}" for x in labels]
               + [f"ours {x}" for x in labels] + [f"{METRIC_LABELS[reference.metric]} 95 % CI", "verdict"])
    table = Table(columns=columns, rows=[], align="ll" + "r" * (2 * len(metrics) + 1) + "l")
    for c in comparisons:
        v = c.value
        published = []
        for m in metrics:
            mean = v.metrics.get(m)
            text = "–" if mean is None else f"{mean:.4f}"
            if mean is not None and m in v.std:
                text += f" ± {v.std[m]:.4f}"
            published.append(text)
        ours = ["–"] * len(metrics) if c.ours is None else [
            fmt(*c.ours[m][:2]) if m in c.ours else "–" for m in metrics]
        ci = "–" if not math.isfinite(c.ci[0]) else f"[{c.ci[0]:.3f}, {c.ci[1]:.3f}]"
        method = v.method if v.method == c.detector else f"{v.method} ({c.detector})"
        dataset = c.dataset + (f" ({c.protocol})" if c.protocol and c.protocol != reference.protocol else "")
        table.rows.append([dataset, method, *published, *ours, ci, c.verdict])
    runs = sorted({v.n_runs for v, _, _ in reference.matched() if v.n_runs})
    if runs:
        table.notes.append("Published values are means over "
                           + " or ".join(str(n) for n in runs) + " runs" + (
                               "; ± is the published standard deviation." if any(
                                   v.std for v in reference.values) else "."))
    return table


def failed_table(rows: list[dict[str, Any]], limit: int = 200) -> Table:
    """Runs that did not finish ok: what failed, where, and the stored message."""
    failed = [r for r in rows if r["status"] != "ok"]
    table = Table(columns=["detector", "dataset", "protocol", "seed", "status", "error"], rows=[],
                  align="lllrll", flagged=set(range(min(len(failed), limit))))
    for row in failed[:limit]:
        error = " ".join(str(row.get("error") or "").split())
        table.rows.append([row["detector"], row["dataset"], row["protocol"], str(row["seed"]),
                           row["status"], error[:300] + ("…" if len(error) > 300 else "")])
    if len(failed) > limit:
        table.notes.append(f"… and {len(failed) - limit} more; `adb export --status error` lists all.")
    return table
