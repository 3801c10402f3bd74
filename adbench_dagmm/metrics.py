"""Metrics of one run, all computed by scikit-learn, plus small curves for reports.

Precision, recall and F1 are taken at the protocol's threshold (binary labels); ROC AUC and
average precision from the raw scores; precision@n with n the number of true anomalies (PyOD's
``precision_n_scores``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

METRIC_NAMES = ("precision", "recall", "f1", "roc_auc", "average_precision", "precision_at_n")


def compute_metrics(y_true: np.ndarray, scores: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """All score metrics of one run; ``scores`` must be finite (checked upstream)."""
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    y_true = np.asarray(y_true).astype(np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", pos_label=1, zero_division=0
    )
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(roc_auc_score(y_true, scores)),
        "average_precision": float(average_precision_score(y_true, scores)),
        "precision_at_n": precision_at_n(y_true, scores),
    }


def precision_at_n(y_true: np.ndarray, scores: np.ndarray, n: int | None = None) -> float:
    """Precision among the ``n`` highest scores (``n`` = number of true anomalies by default).

    Equals PyOD's ``precision_n_scores``: the threshold is the n-th largest score and ties with
    it count as flagged, as in :func:`adbench_dagmm.protocols.top_fraction`.
    """
    from sklearn.metrics import precision_score

    y_true = np.asarray(y_true).astype(np.int64)
    n = int(y_true.sum()) if n is None else int(n)
    if n <= 0:
        return float("nan")
    threshold = np.partition(np.asarray(scores, dtype=np.float64), -n)[-n]
    return float(precision_score(y_true, (scores >= threshold).astype(np.int64), zero_division=0))


def _thin(*arrays: np.ndarray, max_points: int) -> list[list[float]]:
    n = len(arrays[0])
    if n > max_points:
        keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
        arrays = tuple(a[keep] for a in arrays)
    return [np.round(a.astype(np.float64), 6).tolist() for a in arrays]


def curves(y_true: np.ndarray, scores: np.ndarray, max_points: int = 400, bins: int = 40) -> dict[str, Any]:
    """ROC and PR curves (thinned to ``max_points``) and per-label score histograms."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    y_true = np.asarray(y_true).astype(np.int64)
    fpr, tpr, _ = roc_curve(y_true, scores)
    prec, rec, _ = precision_recall_curve(y_true, scores)
    edges = np.histogram_bin_edges(scores, bins=bins)
    return {
        "roc": dict(zip(("fpr", "tpr"), _thin(fpr, tpr, max_points=max_points))),
        "pr": dict(zip(("recall", "precision"), _thin(rec[::-1], prec[::-1], max_points=max_points))),
        "hist": {
            "edges": np.round(edges, 8).tolist(),
            "normal": np.histogram(scores[y_true == 0], bins=edges)[0].tolist(),
            "anomaly": np.histogram(scores[y_true == 1], bins=edges)[0].tolist(),
        },
    }
