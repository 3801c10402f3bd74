"""DAGMM (Zong et al., ICLR 2018): the framework's reference detector plugin (``dagmm``).

Importing this package is cheap: the detector module imports torch only inside ``fit``/``load``.
"""

from __future__ import annotations

from adbench_dagmm.hookspecs import hookimpl

from .detector import DAGMMDetector

__all__ = ["DAGMMDetector", "adb_register_detectors"]


@hookimpl
def adb_register_detectors(register):  # type: ignore[no-untyped-def]
    register(DAGMMDetector)
