"""Test-only detectors, all distance to the training mean, some misbehaving on purpose.

Loaded with ``--plugins-dir tests/plugins`` (or ``RunContext(plugins_dir=...)``); the tests also
import :class:`MeanDistance` from here (``tests/plugins`` is on ``sys.path``, see conftest) to
derive one-off plugins from it.
"""

import os
import signal
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
        return self.check_scores(np.linalg.norm(X - self.mean_, axis=1))


class Probe(MeanDistance):
    """Hands back, as run notes, the process it ran in, its thread limits and its device."""

    name = "probe"

    def __init__(self, device="auto", random_state=None):
        self.device = device
        self.random_state = random_state

    def fit(self, X, y=None):
        from threadpoolctl import threadpool_info

        blas = max((lib["num_threads"] for lib in threadpool_info()), default=0)
        self.where_ = [f"pid={os.getpid()}", f"omp={os.environ.get('OMP_NUM_THREADS')}",
                       f"blas={blas}", f"device={self.device}"]
        return super().fit(X)

    def run_artifacts(self, X_test):
        return {"notes": self.where_}


class Sleepy(MeanDistance):
    """Sleeps ``seconds`` in fit: for every seed, or only for seed ``slow_seed``."""

    name = "sleepy"

    def __init__(self, seconds=5.0, slow_seed=None, random_state=None):
        self.seconds = seconds
        self.slow_seed = slow_seed
        self.random_state = random_state

    def fit(self, X, y=None):
        if self.slow_seed is None or self.random_state == self.slow_seed:
            time.sleep(self.seconds)
        return super().fit(X)


class Crashing(MeanDistance):
    """Raises in fit for odd seeds."""

    name = "crashing"

    def fit(self, X, y=None):
        if self.random_state % 2:
            raise RuntimeError(f"deliberate crash for seed {self.random_state}")
        return super().fit(X)


class NaNScores(MeanDistance):
    """Returns NaN scores without going through check_scores."""

    name = "nan_scores"

    def decision_function(self, X):
        scores = np.linalg.norm(X - self.mean_, axis=1)
        scores[::7] = np.nan
        return scores


class CrashExit(MeanDistance):
    """Ends its process with exit code 1 in fit for seed 1 (a segfaulting extension, say)."""

    name = "crash_exit"

    def fit(self, X, y=None):
        if self.random_state == 1:
            os._exit(1)
        return super().fit(X)


class CrashKill(MeanDistance):
    """Is killed with SIGKILL in fit for seed 1 (the kernel's OOM killer, say)."""

    name = "crash_kill"

    def fit(self, X, y=None):
        if self.random_state == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().fit(X)


class Flaky(MeanDistance):
    """Fails while the environment variable FLAKY_FAIL is set (a run that fails, then succeeds)."""

    name = "flaky"

    def fit(self, X, y=None):
        if os.environ.get("FLAKY_FAIL"):
            raise RuntimeError("flaky failure")
        return super().fit(X)


class GridProbe(MeanDistance):
    """Parameters of every kind, for sweep-file grid tests."""

    name = "gridprobe"

    def __init__(self, k=3, scale=1.0, hidden=(8, 4), mode="l2", center=False,
                 widths: "Sequence[int] | None" = None, random_state=None):  # noqa: F821
        self.widths = widths
        self.k = k
        self.scale = scale
        self.hidden = hidden
        self.mode = mode
        self.center = center
        self.random_state = random_state

    def decision_function(self, X):
        return self.scale * super().decision_function(X)


class OtherProbe(GridProbe):
    name = "otherprobe"


@hookimpl
def adb_register_detectors(register):
    for cls in (MeanDistance, Probe, Sleepy, Crashing, NaNScores, CrashExit, CrashKill, Flaky,
                GridProbe, OtherProbe):
        register(cls)
