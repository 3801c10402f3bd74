"""One run in a killable child process (``--timeout``), and how a dead process is described."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

from .execute import Result, execute, failure_row

if TYPE_CHECKING:
    from .context import RunContext
    from .plan import PlannedRun


def run_isolated(run: PlannedRun, context: RunContext) -> Result:
    """Run ``execute`` in a fresh process and kill it after ``run.config.timeout`` seconds.

    The child gets the context's locations (data and plugin folders) and builds its own
    registry and caches.
    """
    import multiprocessing as mp

    timeout = run.config.timeout
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(run, context, child), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(timeout):
            return parent.recv()
        proc.kill()
        return failure_row(run, "timeout", f"run exceeded the {timeout:g} s timeout and was killed"), {}
    except EOFError:
        proc.join()
        return failure_row(run, "error", f"worker process died ({describe_exit(proc.exitcode)})"), {}
    finally:
        proc.join(timeout=5)
        parent.close()


def describe_exit(exitcode: int | None) -> str:
    """'exit code 1' or 'killed by signal SIGKILL' for a process's exit code."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def _child(run: PlannedRun, context: RunContext, conn: Any) -> None:
    conn.send(execute(run, context))
    conn.close()
