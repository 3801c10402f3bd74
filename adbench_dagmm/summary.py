"""Aggregation of stored runs over seeds, shared by the terminal table and the reports."""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

SUMMARY_METRICS = ("precision", "recall", "f1", "roc_auc", "average_precision")


def mean_std(values: Iterable[float | None]) -> tuple[float, float, int]:
    """Mean and sample standard deviation (ddof=1; 0 for one value) of the finite values."""
    arr = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return float("nan"), float("nan"), 0
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return float(arr.mean()), std, int(arr.size)


def fmt(mean: float, std: float, digits: int = 3, sep: str = " ± ") -> str:
    if not math.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f}{sep}{std:.{digits}f}"


def group_runs(rows: Iterable[dict[str, Any]], *, ok_only: bool = False
               ) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Runs by (detector, dataset, protocol), groups in first-seen order; ``ok_only`` keeps the
    runs whose status is ``ok``."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        if not ok_only or row["status"] == "ok":
            groups.setdefault((row["detector"], row["dataset"], row["protocol"]), []).append(row)
    return groups


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (detector, dataset, protocol): run counts and mean/std of each metric."""
    out = []
    for (detector, dataset, protocol), runs in group_runs(rows).items():
        ok = [r for r in runs if r["status"] == "ok"]
        record: dict[str, Any] = {
            "detector": detector, "dataset": dataset, "protocol": protocol,
            "runs": len(runs), "ok": len(ok),
            "failed": [r for r in runs if r["status"] != "ok"],
            "seeds": sorted(r["seed"] for r in ok),
        }
        for metric in SUMMARY_METRICS:
            record[metric] = mean_std(r.get(metric) for r in ok)
        record["seconds"] = mean_std(
            (r.get("fit_seconds") or 0.0) + (r.get("score_seconds") or 0.0) for r in ok
        )
        record["peak_rss_mb"] = mean_std(r.get("peak_rss_mb") for r in ok)
        notes = sorted({n for r in ok for n in (r.get("notes") or []) if isinstance(n, str)})
        record["notes"] = notes
        out.append(record)
    return out
