"""Imported once by the fork server that local worker processes are forked from.

:class:`~adbench_dagmm.executors.LocalExecutor` starts its workers from a ``forkserver``
whose only preloaded module is this one.  It imports what every run needs (the runner, NumPy,
pandas, scikit-learn's metrics) and the modules named in ``$ADB_WORKER_PRELOAD`` (comma
separated: the modules of the sweep's detectors and the heavy libraries they declare), so
each worker starts with them already imported instead of importing them itself.  A module that
fails to import is skipped: the run that needs it then fails in its worker and says why.
"""

from __future__ import annotations

import importlib
import os

#: The environment variable that names the extra modules to import.
ENV = "ADB_WORKER_PRELOAD"
#: What every run imports.
COMMON = ("adbench_dagmm.execute", "numpy", "pandas", "psutil", "sklearn.metrics", "threadpoolctl")


def _import_all() -> None:
    extra = [m for m in os.environ.get(ENV, "").split(",") if m]
    for name in (*COMMON, *extra):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (never break the fork server; the run reports it)
            pass


_import_all()
