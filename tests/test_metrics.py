"""Every metric agrees with scikit-learn (and PyOD's precision@n)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

from adbench_dagmm.metrics import compute_metrics, curves, precision_at_n
from adbench_dagmm.protocols import top_fraction


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(2000) < 0.2).astype(int)
    scores = rng.normal(size=2000) + 1.5 * y
    pred = top_fraction(scores, y.mean())
    m = compute_metrics(y, scores, pred)
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, scores))
    assert m["average_precision"] == pytest.approx(average_precision_score(y, scores))
    assert 0.5 < m["roc_auc"] < 1.0


def test_precision_at_n_matches_pyod() -> None:
    from pyod.utils.utility import precision_n_scores

    rng = np.random.default_rng(4)
    y = (rng.random(500) < 0.1).astype(int)
    scores = rng.normal(size=500) + y
    assert precision_at_n(y, scores) == pytest.approx(precision_n_scores(y, scores))


def test_curves_are_consistent() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(5000) < 0.3).astype(int)
    scores = rng.normal(size=5000) + y
    c = curves(y, scores, max_points=100)
    assert len(c["roc"]["fpr"]) <= 100 and c["roc"]["fpr"][0] == 0 and c["roc"]["tpr"][-1] == 1
    assert np.trapezoid(c["roc"]["tpr"], c["roc"]["fpr"]) == pytest.approx(roc_auc_score(y, scores), abs=5e-3)
    assert sum(c["hist"]["normal"]) == (y == 0).sum() and sum(c["hist"]["anomaly"]) == y.sum()
