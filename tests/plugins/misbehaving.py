"""Test-only detectors that misbehave on purpose (loaded with --plugins-dir tests/plugins)."""

import time

import numpy as np

from adbench_dagmm import BaseDetector, hookimpl


class MeanDistance(BaseDetector):
    """Distance to the training mean (deterministic, fast)."""

    name = "mean_distance"

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None):
        X = self._validate_data(X, reset=True)
        self.mean_ = X.mean(axis=0)
        return self

    def decision_function(self, X):
        X = self._validate_data(X, reset=False)
        return self._check_scores(np.linalg.norm(X - self.mean_, axis=1))


class Crashing(MeanDistance):
    """Raises in fit for odd seeds."""

    name = "crashing"

    def fit(self, X, y=None):
        if self.random_state % 2:
            raise RuntimeError(f"deliberate crash for seed {self.random_state}")
        return super().fit(X)


class NaNScores(MeanDistance):
    """Returns NaN scores without going through _check_scores."""

    name = "nan_scores"

    def decision_function(self, X):
        scores = np.linalg.norm(X - self.mean_, axis=1)
        scores[::7] = np.nan
        return scores


class Sleepy(MeanDistance):
    """Sleeps ``seconds`` in fit."""

    name = "sleepy"

    def __init__(self, seconds=5.0, random_state=None):
        self.seconds = seconds
        self.random_state = random_state

    def fit(self, X, y=None):
        time.sleep(self.seconds)
        return super().fit(X)


@hookimpl
def adb_register_detectors(register):
    for cls in (MeanDistance, Crashing, NaNScores, Sleepy):
        register(cls)
