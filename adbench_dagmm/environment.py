"""What a run records about where it ran, and how it is measured there: package versions, git
commit and host; the peak resident memory; the global RNGs seeded for third-party code."""

from __future__ import annotations

import platform
import random
import re
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DISTRIBUTION = "adbench-dagmm"


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak_mb`` is the maximum seen."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak_mb = float("nan")
        self._stop = threading.Event()

    def __enter__(self) -> PeakRSS:
        import psutil

        self._proc = psutil.Process()
        self.peak_mb = self._proc.memory_info().rss / 2**20
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)


def seed_everything(seed: int) -> None:
    """Seed the global RNGs that third-party detectors use behind our back."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


@lru_cache(maxsize=1)  # a fact about this process (its packages and checkout), not run state
def environment() -> dict[str, Any]:
    """Package versions, git commit and host, recorded on every row."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    try:  # this distribution and every one it requires (the built-in plugins' libraries too)
        requires = md.requires(DISTRIBUTION) or []
    except md.PackageNotFoundError:  # a source tree that is not installed
        requires = []
    names = [DISTRIBUTION] + [m.group(0) for r in requires if "extra ==" not in r
                              for m in [re.match(r"[A-Za-z0-9_.-]+", r)] if m]
    for dist in names:
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    commit = None
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        commit = out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"versions": versions, "git_commit": commit, "host": platform.node()}
