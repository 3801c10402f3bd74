"""PyOD baselines as detector plugins."""

from __future__ import annotations

from adbench_dagmm.detector import BaseDetector
from adbench_dagmm.hookspecs import hookimpl


class IForestDetector(BaseDetector):
    """Isolation Forest baseline (PyOD ``IForest``). Higher score = more anomalous."""

    name = "iforest"

    def __init__(self, n_estimators: int = 100, max_samples: str | int | float = "auto",
                 max_features: float = 1.0, contamination: float = 0.1,
                 n_jobs: int = 1, random_state: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.contamination = contamination
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y=None):  # type: ignore[no-untyped-def]
        X = self._validate_data(X, reset=True)
        from pyod.models.iforest import IForest

        self.model_ = IForest(
            n_estimators=self.n_estimators, max_samples=self.max_samples,
            max_features=self.max_features, contamination=self.contamination,
            n_jobs=self.n_jobs, random_state=self.random_state,
        ).fit(X)
        self.decision_scores_ = self._check_scores(self.model_.decision_scores_)
        self.threshold_ = float(self.model_.threshold_)
        return self

    def decision_function(self, X):  # type: ignore[no-untyped-def]
        X = self._validate_data(X, reset=False)
        return self._check_scores(self.model_.decision_function(X))


@hookimpl
def adb_register_detectors(register):  # type: ignore[no-untyped-def]
    register(IForestDetector)
