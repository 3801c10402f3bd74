"""One run: load, split, fit, score, threshold, measure; a result row and the run's artifacts.

:func:`execute` is a pure function of a planned run and the :class:`~adbench_dagmm.context.RunContext`
it runs in (data and plugin folders, registry, caches): the same run gives the same result in
this process, a worker process or on a Dask worker.  It never raises for a failing run: the
failure is the row's ``status``.  What a detector keeps besides its scores comes through
:meth:`~adbench_dagmm.BaseDetector.run_artifacts`.
"""

from __future__ import annotations

import json
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .context import RunContext
from .environment import PeakRSS, environment, release_free_memory, seed_everything
from .errors import AdbError, UsageError
from .isolation import stdout_to_stderr, user_interrupted
from .metrics import compute_metrics, curves
from .params import constructor_params
from .plan import PlannedRun, RunConfig, plan

#: A run's result: its row (the store's columns) and its artifacts (name -> JSON value).
Result = tuple[dict[str, Any], dict[str, Any]]
STATUSES = ("ok", "error", "timeout")
#: Artifacts the runner stores itself; a detector's ``run_artifacts`` may not use these keys.
RESERVED_ARTIFACTS = ("curves",)


def base_row(run: PlannedRun) -> dict[str, Any]:
    """The identifying columns of a run's row, as planned (status still to be set)."""
    config, env = run.config, environment()
    versions = {**env["versions"], **{f"plugin {k}": v for k, v in run.plugins.items()}}
    return {
        "run_id": run.run_id,
        "detector": config.detector, "params": dict(run.params), "dataset": config.dataset,
        "data_sha256": run.data_sha256, "protocol": config.protocol,
        "protocol_version": run.protocol_version, "seed": config.seed,
        "dataset_options": dict(config.dataset_options),
        "protocol_options": dict(config.protocol_options),
        "versions": versions, "git_commit": env["git_commit"], "host": env["host"],
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "notes": [],
    }


def failure_row(run: PlannedRun, status: str, error: str) -> dict[str, Any]:
    """The row of a run that produced no result of its own (timeout, dead worker).

    Its run id is the planned one, so the store, the report and a rerun all find it.
    """
    row = base_row(run)
    row.update(status=status, error=error)
    return row


def error_text(exc: BaseException) -> str:
    """A failed run's message: an AdbError's own text, else the exception and where it arose."""
    if isinstance(exc, AdbError):
        return str(exc)
    tb = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {Path(tb[0].filename).name}:{tb[0].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def execute(run: PlannedRun | RunConfig, context: RunContext | None = None, *,
            on_warm_up: Callable[[str], None] | None = None) -> Result:
    """Run one planned run in ``context``; return ``(row, artifacts)``.  Never raises for a
    failing run.

    A bare :class:`RunConfig` is planned first; ``context`` defaults to a fresh one with no
    data folder of its own (``$ADB_DATA_DIR`` and the user cache).

    What the run measures is its own: before the first run of a detector in a context, the
    detector is warmed up on a few training rows (:meth:`RunContext.warm_up`: imports,
    first-call compilation), so ``fit_seconds``/``score_seconds`` exclude those one-off costs;
    ``peak_rss_mb`` is the increase of resident memory during fit and score over the memory
    before them (see :class:`~adbench_dagmm.environment.PeakRSS`).  ``on_warm_up("start")``
    and ``on_warm_up("end")`` bracket a warm-up (a worker pauses the run's timeout meanwhile).

    Whatever the detector raises fails the run: an exception, ``SystemExit`` and a
    ``KeyboardInterrupt`` that is not the user's Ctrl-C (see
    :func:`~adbench_dagmm.isolation.user_interrupts`).  What it prints goes to stderr, never
    into the results on stdout.
    """
    context = context if context is not None else RunContext()
    if isinstance(run, RunConfig):
        run = plan([run], context)[0]
    if run.data_error is not None:  # planning could not find or download the data
        return failure_row(run, "error", run.data_error), {}
    config = run.config
    row = base_row(run)
    artifacts: dict[str, Any] = {}
    try:
        registry = context.registry
        dataset = context.load(config.dataset, config.dataset_options)
        row["data_sha256"] = dataset.sha256 or row["data_sha256"]
        row["notes"] = list(dataset.notes)
        split = context.split(config.dataset, config.dataset_options, config.protocol, config.seed,
                              config.protocol_options)
        cls = registry.detector(config.detector)
        reason = cls.check_available()
        if reason:
            raise UsageError(f"detector {config.detector!r} is unavailable: {reason}")
        fit_labels = labels_for(config, cls, split)
        params = dict(run.params)
        accepted = constructor_params(cls)
        if "contamination" in accepted and "contamination" not in config.params:
            params["contamination"] = float(min(max(split.contamination, 1e-3), 0.5))
        if config.device and "device" in accepted and "device" not in config.params:
            params["device"] = config.device  # after the run id: where, not what
        row["params"] = params
        row.update(n_train=int(split.X_train.shape[0]), n_test=int(split.X_test.shape[0]),
                   n_features=int(split.X_train.shape[1]), contamination=split.contamination,
                   n_labeled=0 if fit_labels is None else int(fit_labels.sum()))
        with context.activate():
            context.warm_up(config.detector, cls, params, split.X_train, on_warm_up=on_warm_up,
                            y=fit_labels)
        seed_everything(config.seed)
        with PeakRSS() as mem, context.activate(), stdout_to_stderr():
            detector = cls(**params)
            start = time.perf_counter()
            fitted = (detector.fit(split.X_train) if fit_labels is None
                      else detector.fit(split.X_train, fit_labels))
            row["fit_seconds"] = time.perf_counter() - start
            if fitted is not detector:
                raise AdbError(f"detector {config.detector!r}: fit() must return self.")
            row["effective_params"] = json_values(detector.effective_params())
            start = time.perf_counter()
            scores = detector.check_scores(detector.decision_function(split.X_test))
            row["score_seconds"] = time.perf_counter() - start
        row["peak_rss_mb"] = mem.peak_mb
        if scores.shape[0] != split.X_test.shape[0]:
            raise AdbError(
                f"detector {config.detector!r} returned {scores.shape[0]} scores for "
                f"{split.X_test.shape[0]} test rows."
            )
        predictions = registry.protocol(config.protocol)(**config.protocol_options).threshold(
            scores, split.contamination)
        row.update(compute_metrics(split.y_test, scores, predictions))
        with stdout_to_stderr():
            extra = _detector_artifacts(config.detector, detector, split.X_test)
        row["notes"] = row["notes"] + extra.pop("notes", [])
        _label_row_samples(extra, split.y_test)
        row.update(status="ok", error=None)
        artifacts["curves"] = curves(split.y_test, scores)
        artifacts.update(extra)
    except KeyboardInterrupt as exc:
        if user_interrupted():  # Ctrl-C: the sweep stops, finished runs are kept
            raise
        row.update(status="error", error=f"the run raised KeyboardInterrupt, not the user "
                   f"({error_text(exc)})")
        artifacts = {}
    except SystemExit as exc:  # a plugin's sys.exit() ends its run, not the sweep
        row.update(status="error", error=f"the run called sys.exit({exc.code!r}) "
                   f"({error_text(exc)})")
        artifacts = {}
    except Exception as exc:  # a failing plugin fails its run, not the sweep
        row.update(status="error", error=error_text(exc))
        artifacts = {}
    release_free_memory()  # what the run freed, before the next run allocates again
    return row, artifacts


def labels_for(config: RunConfig, cls: Any, split: Any) -> Any:
    """The training labels a detector's ``fit`` gets: ``split.y_known`` for a semi-/supervised
    detector, None for an unsupervised one (it never sees a label, whatever the protocol
    reveals).  A label-using detector under a protocol that reveals no labels fails its run."""
    from .detector import SUPERVISIONS

    supervision = getattr(cls, "supervision", "unsupervised")
    if supervision not in SUPERVISIONS:
        raise AdbError(f"detector {config.detector!r}: supervision must be one of "
                       f"{', '.join(SUPERVISIONS)}, got {supervision!r}.")
    if supervision == "unsupervised":
        return None
    if split.y_known is None or not split.y_known.any():
        raise UsageError(
            f"detector {config.detector!r} is {supervision} and needs labelled training anomalies, "
            f"but protocol {config.protocol!r} with options {config.protocol_options or '{}'} "
            "reveals none; give a label budget, e.g. --protocol adbench --param "
            "protocol.labeled_anomalies=0.1."
        )
    return split.y_known


def json_values(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every value the store cannot write as JSON replaced by its ``repr``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            value = repr(value)
        out[str(key)] = value
    return out


def _label_row_samples(artifacts: dict[str, Any], y_test: Any) -> None:
    """Give every artifact that samples test rows (a dict with ``"rows"``) their labels, ``"y"``.

    Detectors never see labels, so a sample of test rows (e.g. a latent-space sample that a
    report colours by label) names its rows and the runner, which holds the labels, adds them.
    """
    for value in artifacts.values():
        if isinstance(value, dict) and isinstance(value.get("rows"), list) and "y" not in value:
            rows = [int(r) for r in value["rows"]]
            value["y"] = [int(y_test[r]) for r in rows]


def _detector_artifacts(name: str, detector: Any, X_test: Any) -> dict[str, Any]:
    """The detector's ``run_artifacts``, checked against the contract."""
    extra = detector.run_artifacts(X_test)
    if not isinstance(extra, dict) or not all(isinstance(k, str) for k in extra):
        raise AdbError(f"detector {name!r}: run_artifacts() must return a dict with str keys, "
                       f"got {type(extra).__name__}.")
    clash = [k for k in RESERVED_ARTIFACTS if k in extra]
    if clash:
        raise AdbError(f"detector {name!r}: run_artifacts() uses the reserved key(s) "
                       f"{', '.join(clash)}; rename them.")
    notes = extra.get("notes", [])
    if isinstance(notes, str) or not all(isinstance(n, str) for n in notes):
        raise AdbError(f"detector {name!r}: run_artifacts()['notes'] must be a list of str.")
    extra["notes"] = list(notes)
    return extra
