"""The sweep driver: plan every run once, skip the stored ones, execute the rest, store each.

The data flow, one direction (STYLE §9): :mod:`~adbench_dagmm.plan` expands a sweep into
planned runs (parameters and run ids computed once), an executor decides *where* each runs
(:func:`serial_executor` here, :mod:`~adbench_dagmm.executors` for worker processes and Dask),
:func:`~adbench_dagmm.execute.execute` runs one in a :class:`~adbench_dagmm.context.RunContext`,
and this driver alone writes the store, one finished run at a time, so an interrupted sweep
keeps every finished run.

``RunConfig``, ``PlannedRun``, ``plan``, ``resolved_params``, ``run_id``, ``execute``,
``failure_row``, ``run_isolated``, ``describe_exit``, ``environment``, ``seed_everything`` and
``PeakRSS`` are re-exported from their modules for code written against this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

from .context import RunContext
from .environment import PeakRSS, environment, seed_everything
from .execute import STATUSES, Result, base_row, execute, failure_row
from .isolation import describe_exit, run_isolated, user_interrupts
from .plan import PlannedRun, RunConfig, plan, resolved_params, run_id

if TYPE_CHECKING:
    from .results import Store

__all__ = [
    "OUTCOMES", "STATUSES", "Executor", "PeakRSS", "PlannedRun", "Result", "RunConfig", "RunContext",
    "base_row", "describe_exit", "environment", "execute", "failure_row", "plan",
    "resolved_params", "run_id", "run_isolated", "run_sweep", "seed_everything", "serial_executor",
]

#: Where runs happen: takes the planned runs still to do and the driver's context, yields
#: ``(row, artifacts)`` as runs finish, in any order.
Executor = Callable[[list[PlannedRun], RunContext], Iterator[Result]]

#: What happened to a run of a sweep, as ``on_result(row, outcome)`` reports it:
#: ``skipped`` (already stored as ok), ``stored`` (its row is now the run's row), ``kept``
#: (this attempt failed and the stored ok result was kept; the attempt is in the history),
#: ``unavailable`` (its dataset could not be found or downloaded; stored as failed, not run).
OUTCOMES = ("skipped", "stored", "kept", "unavailable")


def serial_executor(runs: list[PlannedRun], context: RunContext) -> Iterator[Result]:
    """Run in this process; runs with a timeout go to one warm worker process instead (see
    :class:`~adbench_dagmm.executors.LocalExecutor`), so that its start-up is not their time.

    A ``KeyboardInterrupt`` raised by a plugin fails its run; the user's Ctrl-C stops the sweep.
    """
    with user_interrupts():
        timed = [r for r in runs if r.config.timeout]
        if timed:
            from .executors import LocalExecutor

            yield from LocalExecutor(1)(timed, context)
        for run in runs:
            if not run.config.timeout:
                yield execute(run, context)


def run_sweep(
    configs: list[RunConfig],
    store: Store,
    *,
    context: RunContext,
    force: bool = False,
    executor: Executor = serial_executor,
    on_result: Callable[[dict[str, Any], str], None] | None = None,
) -> list[str]:
    """Run every config not already stored as ``ok`` (all of them with ``force``).

    Planning comes first (:func:`~adbench_dagmm.plan.plan`): a bad parameter raises before any
    run, and the runs of a dataset that cannot be found or downloaded are stored as failed at
    once, with that one message, and not executed.  Each finished run is written to ``store``
    before the next result is taken, so an interrupted sweep keeps all finished runs.
    ``on_result(row, outcome)`` is called once per run (see :data:`OUTCOMES`).  Returns the
    run ids of the whole sweep, in plan order.
    """
    start = getattr(executor, "start", None)
    if callable(start):  # workers start importing while the driver plans
        start(context)
    try:
        planned = plan(configs, context)
        done = set() if force else store.ok_ids(p.run_id for p in planned)
        todo: list[PlannedRun] = []
        seen: set[str] = set()
        for p in planned:
            if p.run_id in done or p.run_id in seen:
                if on_result:
                    on_result({"run_id": p.run_id, "status": "skipped"}, "skipped")
                continue
            seen.add(p.run_id)
            if p.data_error is not None:  # stored as failed with its one message, not run
                row = failure_row(p, "error", p.data_error)
                written = store.write(row, {})
                if on_result:
                    on_result(row, "unavailable" if written else "kept")
                continue
            todo.append(p)
        results = iter(executor(todo, context))
        try:
            for row, artifacts in results:
                written = store.write(row, artifacts)
                if on_result:
                    on_result(row, "stored" if written else "kept")
        finally:  # stop the executor's workers at once on Ctrl-C or a failing write
            close = getattr(results, "close", None)
            if close is not None:
                close()
    finally:
        stop = getattr(executor, "stop", None)
        if callable(stop):
            stop()
    return list(dict.fromkeys(p.run_id for p in planned))
