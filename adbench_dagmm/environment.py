"""What a run records about where it ran, and how it is measured there: package versions, git
commit and host; the peak resident memory; the global RNGs seeded for third-party code; and
the heap trim after each run."""

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
    """The peak resident memory of a block of code, as its increase over the memory at its start.

    ``peak_mb`` is the highest resident set size seen inside the ``with`` block minus the
    resident set size when the block started (``baseline_mb``): the memory the block itself
    added, not the interpreter, the imported libraries or the data already loaded.  On Linux the
    kernel's high-water mark (``VmHWM``) is reset at the start (``/proc/self/clear_refs``), so a
    peak between two samples is not missed; elsewhere a thread samples the RSS every
    ``interval`` seconds.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak_mb = float("nan")
        self.baseline_mb = float("nan")
        self._stop = threading.Event()
        self._hwm = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakRSS:
        import psutil

        self._proc = psutil.Process()
        self.baseline_mb = self._sampled = self._rss()
        self._hwm = _reset_high_water_mark()
        if not self._hwm:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _rss(self) -> float:
        return float(self._proc.memory_info().rss) / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._sampled = max(self._sampled, self._rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        peak = max(self._sampled, self._rss())
        if self._hwm:
            peak = max(peak, _high_water_mark_mb() or 0.0)
        self.peak_mb = max(0.0, peak - self.baseline_mb)


def _reset_high_water_mark() -> bool:
    """Reset this process's peak RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return _high_water_mark_mb() is not None


def _high_water_mark_mb() -> float | None:
    """``VmHWM`` of /proc/self/status in MiB, or None."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None where the C library is another (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Give the free pages of the C heap back to the OS (glibc's ``malloc_trim``; elsewhere a
    no-op).

    A run allocates and frees hundreds of MB in pieces (split blocks, activations, scores) that
    glibc keeps in its heaps for reuse; without a trim, the resident memory of a process that
    runs seed after seed creeps up by tens of MB (Dask's nanny lowers glibc's trim threshold
    for its workers, and its documentation advises ``malloc_trim``, for the same reason).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


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
