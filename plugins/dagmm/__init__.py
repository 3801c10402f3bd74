"""DAGMM (Zong et al., ICLR 2018): the framework's reference detector plugin (``dagmm``).

It registers the detector, the published results of its benchmark (:mod:`.references`) and
the report section for its training curves and latent space (:mod:`.report`).  Importing this
package is cheap: the detector module imports torch only inside ``fit``/``load``, the report
module matplotlib only when a figure is drawn.
"""

from __future__ import annotations

from adbench_dagmm.hookspecs import hookimpl

from . import references, report
from .detector import DAGMMDetector

__all__ = ["DAGMMDetector", "adb_register_detectors", "adb_register_references",
           "adb_register_report_sections"]


@hookimpl
def adb_register_detectors(register):  # type: ignore[no-untyped-def]
    register(DAGMMDetector)


@hookimpl
def adb_register_references(register):  # type: ignore[no-untyped-def]
    register(references.zong2018_table2())
    register(references.goad2020_table3())


@hookimpl
def adb_register_report_sections(register):  # type: ignore[no-untyped-def]
    register(report.SECTION)
