"""Keeping a run's misbehaviour inside the run.

* :func:`run_isolated`: one run in a killable child process (``--timeout`` on a Dask worker);
* :func:`stdout_to_stderr`: what a detector prints goes to stderr, never into the results that
  ``adb run`` and ``adb export`` write on stdout;
* :func:`user_interrupts` / :func:`user_interrupted`: a ``KeyboardInterrupt`` is the user's only
  when SIGINT arrived; one a plugin raises fails its run (see :func:`~adbench_dagmm.execute.execute`);
* :func:`die_with_parent`: a child process that cannot outlive the driver (``kill -9`` of
  ``adb run`` leaves no run going on);
* :func:`describe_exit`: how a dead process is described in a failed run's message.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from .context import RunContext
    from .execute import Result
    from .plan import PlannedRun

_interrupted = threading.Event()
_watching = False  # True while user_interrupts() has its SIGINT handler installed


@contextlib.contextmanager
def user_interrupts() -> Iterator[None]:
    """Inside the block, remember when SIGINT (Ctrl-C) arrives, so that
    :func:`user_interrupted` tells the user's ``KeyboardInterrupt`` from a plugin's.

    Only the main thread can set signal handlers; elsewhere, and where a program installed a
    SIGINT handler of its own, the block changes nothing.
    """
    global _watching
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        _interrupted.set()
        raise KeyboardInterrupt

    _interrupted.clear()
    signal.signal(signal.SIGINT, on_sigint)
    _watching = True
    try:
        yield
    finally:
        _watching = False
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _interrupted.clear()


def user_interrupted() -> bool:
    """Whether a ``KeyboardInterrupt`` raised now is the user's Ctrl-C.

    Inside :func:`user_interrupts`: only when SIGINT arrived.  In a process that ignores SIGINT
    (a worker: the driver handles Ctrl-C): never.  Anywhere else it is taken to be the user's.
    """
    if _interrupted.is_set():
        return True
    if _watching:
        return False
    return signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what is written to stdout inside the block to stderr: Python's ``print`` and, where
    stdout is a real file descriptor, C extensions writing to fd 1.

    Process-wide state, so only in the main thread (a run in another thread, such as a Dask
    worker thread, is left alone: two threads swapping ``sys.stdout`` would restore it wrongly).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):
        pass
    saved = None
    try:
        if sys.__stdout__ is not None and sys.__stdout__.fileno() == 1:
            saved = os.dup(1)
            os.dup2(2, 1)
    except (OSError, ValueError, AttributeError):
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        try:
            sys.stdout.flush()
        except (OSError, ValueError, AttributeError):
            pass
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid`` (the driver) is gone.

    On Linux the kernel sends SIGKILL when the process that started this one exits
    (``PR_SET_PDEATHSIG``): the driver, or the fork server the driver's workers are forked from,
    which exits with the driver.  Everywhere, a daemon thread also checks every half second
    that ``parent_pid`` is still alive.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def alive() -> bool:
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by someone else (a reused pid): gone for us
            return False
        return True

    if not alive():  # it died before the line above
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if not alive():
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def run_isolated(run: PlannedRun, context: RunContext) -> Result:
    """Run ``execute`` in a fresh process and kill it after ``run.config.timeout`` seconds.

    The child gets the context's locations (data and plugin folders) and builds its own
    registry and caches.  Used where no warm worker is at hand (a Dask worker); the local
    executors keep warm workers instead, so that start-up does not count against the timeout.
    """
    import multiprocessing as mp

    from .execute import failure_row

    timeout = run.config.timeout
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(run, context, child, os.getpid()), daemon=True)
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


def _child(run: PlannedRun, context: RunContext, conn: Any, parent_pid: int) -> None:
    from .execute import execute

    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(execute(run, context))
    conn.close()
