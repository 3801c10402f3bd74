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
from .isolation import describe_exit, run_isolated
from .plan import PlannedRun, RunConfig, plan, resolved_params, run_id

if TYPE_CHECKING:
    from .results import Store

__all__ = [
    "STATUSES", "Executor", "PeakRSS", "PlannedRun", "Result", "RunConfig", "RunContext",
    "base_row", "describe_exit", "environment", "execute", "failure_row", "plan",
    "resolved_params", "run_id", "run_isolated", "run_sweep", "seed_everything", "serial_executor",
]

#: Where runs happen: takes the planned runs still to do and the driver's context, yields
#: ``(row, artifacts)`` as runs finish, in any order.
Executor = Callable[[list[PlannedRun], RunContext], Iterator[Result]]


def serial_executor(runs: list[PlannedRun], context: RunContext) -> Iterator[Result]:
    """Run in this process (or in a killable child process when a timeout is set)."""
    for run in runs:
        yield run_isolated(run, context) if run.config.timeout else execute(run, context)


def run_sweep(
    configs: list[RunConfig],
    store: Store,
    *,
    context: RunContext,
    force: bool = False,
    executor: Executor = serial_executor,
    on_result: Callable[[dict[str, Any], bool], None] | None = None,
) -> list[str]:
    """Run every config not already stored as ``ok`` (all of them with ``force``).

    Each finished run is written to ``store`` before the next result is taken, so an interrupted
    sweep keeps all finished runs.  ``on_result(row, skipped)`` is called once per run (progress).
    Returns the run ids of the whole sweep, in plan order.
    """
    planned = plan(configs, context)
    done = set() if force else store.ok_ids(p.run_id for p in planned)
    todo: list[PlannedRun] = []
    seen: set[str] = set()
    for p in planned:
        if p.run_id in done or p.run_id in seen:
            if on_result:
                on_result({"run_id": p.run_id, "status": "skipped"}, True)
            continue
        seen.add(p.run_id)
        todo.append(p)
    results = iter(executor(todo, context))
    try:
        for row, artifacts in results:
            store.write(row, artifacts)
            if on_result:
                on_result(row, False)
    finally:  # stop the executor's workers at once on Ctrl-C or a failing write
        close = getattr(results, "close", None)
        if close is not None:
            close()
    return list(dict.fromkeys(p.run_id for p in planned))
