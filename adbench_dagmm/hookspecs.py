"""The hookspecs: what a plugin may implement.  Hooks only ever gain arguments."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("adbench_dagmm")
hookimpl = pluggy.HookimplMarker("adbench_dagmm")


@hookspec
def adb_register_detectors(register):  # type: ignore[no-untyped-def]
    """Register detector classes: call ``register(DetectorClass)`` once per detector.

    The class needs a unique ``name`` (``[a-z][a-z0-9_]*``) and must follow the
    :class:`adbench_dagmm.BaseDetector` contract.
    """


@hookspec
def adb_register_datasets(register):  # type: ignore[no-untyped-def]
    """Register dataset classes: call ``register(DatasetClass)`` once per dataset."""


@hookspec
def adb_register_protocols(register):  # type: ignore[no-untyped-def]
    """Register evaluation protocols: call ``register(ProtocolClass)`` once per protocol."""


@hookspec
def adb_register_suites(register):  # type: ignore[no-untyped-def]
    """Register named groups: ``register(Suite(kind="detector", name="baselines", members=...))``.

    ``members`` is a sequence of names, or a callable returning one (evaluated when the suite is
    used, e.g. "the datasets whose files are present").  Detector suites are used as
    ``--detector NAME``, dataset suites as ``--dataset suite:NAME``.
    """
