"""Imported once by the fork server that local worker processes are forked from.

:class:`~adbench_dagmm.executors.LocalExecutor` starts its workers from a ``forkserver``
whose only preloaded module is this one.  It imports what every run needs (the runner, NumPy,
pandas, scikit-learn's metrics) and the modules named in ``$ADB_WORKER_PRELOAD`` (comma
separated: the modules of the sweep's detectors and the heavy libraries they declare), so
each worker starts with them already imported instead of importing them itself.  A module that
fails to import is skipped: the run that needs it then fails in its worker and says why.

When the workers run one thread each (``OMP_NUM_THREADS=1``, the usual ``--jobs`` = cores), it
also warms up the detectors named in ``$ADB_WORKER_WARM_UP`` once, as each worker would
(:meth:`~adbench_dagmm.context.RunContext.warm_up` on a few random rows): what a first fit
compiles (PyOD's numba kernels take seconds) is then compiled once, not once per worker.  With
more threads it does not: a fork after an OpenMP pool has started its threads can hang the child.
"""

from __future__ import annotations

import gc
import importlib
import os

from .executors import PRELOAD_ENV, WARM_UP_ENV

#: What every run imports.
COMMON = ("adbench_dagmm.execute", "numpy", "pandas", "psutil", "sklearn.metrics", "threadpoolctl")


def _import_all() -> None:
    extra = [m for m in os.environ.get(PRELOAD_ENV, "").split(",") if m]
    for name in (*COMMON, *extra):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (never break the fork server; the run reports it)
            pass


def _warm_up() -> None:
    names = [n for n in os.environ.get(WARM_UP_ENV, "").split(",") if n]
    if not names or os.environ.get("OMP_NUM_THREADS") != "1":
        return
    try:
        import numpy as np

        from .context import RunContext

        context = RunContext()  # built-in and installed plugins (a file plugin warms up in its worker)
        rows = np.random.default_rng(0).normal(size=(RunContext.WARM_UP_ROWS, 8))
        with context.activate():
            for name in names:
                try:
                    context.warm_up(name, context.registry.detector(name), {}, rows)
                except Exception:  # noqa: BLE001  (its workers warm it up for themselves)
                    pass
    except Exception:  # noqa: BLE001  (each worker still warms up for itself)
        pass


_import_all()
_warm_up()
# What it imported lives as long as the fork server: keep it out of every later garbage
# collection, the workers' and the server's last one at exit, which a caller reading the
# command's output waits for (Python's advice for a process that forks workers, too).
gc.freeze()
