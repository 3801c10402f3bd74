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


@hookspec(firstresult=True)
def adb_resolve_dataset(spec, options):  # type: ignore[no-untyped-def]
    """Return a dataset instance for ``spec`` when it is not a registered name, else ``None``.

    ``spec`` is what the user passed to ``--dataset`` (e.g. a file path) and ``options`` the
    dataset options (``label_column``, ``anomaly_label``, ``impute``).  The first plugin that
    returns an instance wins; raise :class:`~adbench_dagmm.UsageError` for a spec the plugin
    recognises but cannot accept.
    """


@hookspec
def adb_register_references(register):  # type: ignore[no-untyped-def]
    """Register published results: ``register(ReferenceSet(...))`` once per table.

    ``adb report`` shows every reference set next to the stored runs it matches, with a
    verdict; ``adb list references`` lists them.
    """


@hookspec
def adb_register_report_sections(register):  # type: ignore[no-untyped-def]
    """Register report sections: ``register(ReportSection(name=..., title=..., build=...))``.

    ``build(view)`` receives a :class:`~adbench_dagmm.reporting.sections.ReportView` (the
    report's runs, their stored artifacts, a figure factory) and returns the section's blocks;
    sections for a detector's own artifacts (``BaseDetector.run_artifacts``) belong to the
    plugin that produces them.
    """
