"""Where runs happen: worker processes on this machine (``--jobs N``) or a Dask cluster.

An executor takes the planned runs of a sweep and the driver's
:class:`~adbench_dagmm.context.RunContext`, and yields ``(row, artifacts)`` as runs finish, in
whatever order they finish; the driver (:func:`adbench_dagmm.runner.run_sweep`) alone writes
the store, one run at a time, so an interrupted sweep keeps every finished run.  Executors only
decide *where* :func:`~adbench_dagmm.execute.execute` runs; it is a pure function of the planned
run and its context, so the results do not depend on the executor.  A worker builds its own
context from the driver's locations (data and plugin folders) and keeps it for all its runs.

:class:`LocalExecutor` keeps N spawned worker processes (one run at a time each) instead of a
``concurrent.futures.ProcessPoolExecutor``: that pool cannot kill one run that is past its
timeout, and one worker that dies breaks the whole pool (``BrokenProcessPool``) and every run
queued on it.  Here a worker that dies or times out loses only its own run and is replaced.

Why one module of about 440 lines: the local worker pool and the Dask executor share the worker
protocol (warm-up, timeouts, shutdown) defined here.
"""

from __future__ import annotations

import collections
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from .context import RunContext
from . import devices
from .devices import assign_device
from .environment import environment
from .errors import AdbError, UsageError
from .execute import Result, execute, failure_row
from .isolation import describe_exit, die_with_parent, run_isolated

if TYPE_CHECKING:
    from .plan import PlannedRun

#: Environment variables that size the thread pools of OpenMP, BLAS and numexpr (and torch).
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
#: The variables that tell the fork server (:mod:`adbench_dagmm.preload`) which modules to
#: import and which detectors to warm up, comma separated.
PRELOAD_ENV = "ADB_WORKER_PRELOAD"
WARM_UP_ENV = "ADB_WORKER_WARM_UP"
#: Seconds to wait for a Dask scheduler to answer.
DASK_CONNECT_TIMEOUT = 10.0


# -- threads ----------------------------------------------------------------------
def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_worker(jobs: int, cores: int | None = None) -> int:
    """Threads each of ``jobs`` workers may use so that workers x threads <= cores (at least 1)."""
    return max(1, (cores or available_cores()) // max(1, jobs))


@contextmanager
def _worker_env(threads: int, preload: Sequence[str] = (), warm_up: Sequence[str] = ()
                ) -> Iterator[None]:
    """Set the thread-count variables (and what to preload) while a worker is started.

    A spawned worker, or the fork server the workers are forked from, inherits them at exec:
    they must be in place before it imports numpy or torch, which read them once.
    """
    values = {name: str(threads) for name in THREAD_ENV}
    values[PRELOAD_ENV] = ",".join(preload)
    values[WARM_UP_ENV] = ",".join(warm_up)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def process_context() -> Any:
    """The multiprocessing context of the local workers.

    Where the platform has it, a ``forkserver`` that imports :mod:`adbench_dagmm.preload` once
    (what every run needs, plus the sweep's detector modules): each worker is a fork of it and
    starts with those imports done, instead of importing them again in every worker.  Elsewhere
    (Windows), ``spawn``.  Never a plain ``fork`` of the driver, which may hold threads.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["adbench_dagmm.preload"])
        return ctx
    return multiprocessing.get_context("spawn")


# -- the local worker pool --------------------------------------------------------------------
def _worker_main(conn: Any, threads: int, parent_pid: int, locations: dict[str, str | None]) -> None:
    """A worker: run planned runs received on ``conn`` one at a time and send back their results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    os.environ.update({name: str(threads) for name in THREAD_ENV})  # for what it imports later
    try:
        os.dup2(2, 1)  # stdout carries the driver's results; plugin chatter goes to stderr
    except OSError:
        pass
    die_with_parent(parent_pid)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # libraries already loaded; later ones read THREAD_ENV
    context = RunContext(**locations)  # this worker's registry and caches, for all its runs
    try:  # load plugins and what every run imports now: start-up is not the first run's time
        context.registry
        environment()
        import pandas  # noqa: F401
        import psutil  # noqa: F401
        import sklearn.metrics  # noqa: F401
    except Exception:  # noqa: BLE001  (the run itself will fail and say why)
        pass
    conn.send(("ready", os.getpid()))

    def on_warm_up(phase: str) -> None:  # the driver stops the run's timeout clock meanwhile
        conn.send(("warm", phase))

    while True:
        try:
            run = conn.recv()
        except (EOFError, OSError):
            return
        if run is None:  # done: run the exit handlers, skip the slow module teardown
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        if "torch" in sys.modules:  # torch read OMP_NUM_THREADS at import; keep it in line
            sys.modules["torch"].set_num_threads(threads)
        conn.send(("result", execute(run, context, on_warm_up=on_warm_up)))


def split_key(run: PlannedRun) -> tuple[str, str, str, int]:
    """The (dataset, options, protocol with its options, seed) whose split a run uses."""
    config = run.config
    protocol = f"{config.protocol} {sorted(config.protocol_options.items())!r}"
    return (config.dataset, repr(sorted(config.dataset_options.items())), protocol, config.seed)


@dataclasses.dataclass
class _Task:
    run: PlannedRun
    attempt: int = 1
    deadline: float | None = None
    paused_at: float | None = None  # its worker is warming a detector up: the clock stands still


class _Worker:
    """One spawned worker process and the driver's end of its pipe."""

    def __init__(self, ctx: Any, index: int, threads: int, locations: dict[str, str | None],
                 preload: Sequence[str] = (), warm_up: Sequence[str] = ()) -> None:
        self.index = index
        self.ready = False
        self.task: _Task | None = None
        self.last_key: tuple[str, str, str, int] | None = None  # the split it holds
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child, threads, os.getpid(), locations),
                                name=f"adb-worker-{index}")
        with _worker_env(threads, preload, warm_up):
            self.proc.start()
        child.close()

    def waitables(self) -> list[Any]:
        return [self.conn, self.proc.sentinel]

    def receive(self) -> tuple[str, Any] | None:
        """The next message, or None when there is none yet; raises EOFError if the worker died."""
        if self.conn.poll():
            return self.conn.recv()  # EOFError/OSError when the pipe closed
        if not self.proc.is_alive():
            raise EOFError
        return None

    def ask_to_exit(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass

    def stop(self, graceful: bool, deadline: float = 0.0) -> None:
        """Wait until ``deadline`` (time.monotonic) for a graceful exit, then kill."""
        if graceful:
            self.proc.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


class LocalExecutor:
    """Run planned runs on ``jobs`` spawned worker processes on this machine.

    Each worker runs one config at a time with ``threads`` OpenMP/BLAS/torch threads (default:
    cores // jobs, so workers x threads <= cores).  Results are yielded as they finish.

    * **Start-up is not a run's time.**  :meth:`start` spawns the workers at once (the driver
      calls it before planning, so they import while it plans); a worker keeps its
      :class:`~adbench_dagmm.context.RunContext` (registry, loaded datasets, last split, warmed
      detectors) for all its runs.  A run's ``timeout`` counts from when a ready worker gets
      it, and stands still while that worker warms a detector up (imports, first-call
      compilation; see :meth:`RunContext.warm_up`) for at most the timeout again (so a warm-up
      that hangs still times out).
    * **A split is made once per worker.**  A free worker takes a run of the split it holds;
      failing that, one of a split no other worker is on.
    * **Failures stay local.**  A run past its ``timeout`` is killed with its worker and yielded
      as ``timeout``; a worker that dies loses only its run, which is retried ``retries`` times
      on a fresh worker and then yielded as ``error`` ("worker process died ...").  Workers die
      with the driver (``kill -9`` of ``adb run`` leaves no run going on).

    ``device`` requests ``auto``/``cuda`` are pinned to one GPU per worker (see
    :func:`assign_device`).
    """

    def __init__(self, jobs: int, *, threads: int | None = None, retries: int = 1,
                 device_count: int | None = None) -> None:
        if jobs < 1:
            raise UsageError(f"--jobs must be >= 1, got {jobs}.")
        self.jobs = jobs
        self.threads = threads or threads_per_worker(jobs)
        self.retries = retries
        self.device_count = device_count
        #: worker index -> pids of the processes that served it (for tests and debugging)
        self.pids: dict[int, list[int]] = collections.defaultdict(list)
        #: seconds from :meth:`start` until its workers were all ready
        self.startup_seconds: float | None = None
        self._ctx: Any = None
        self._slots: list[_Worker | None] = []
        self._locations: dict[str, str | None] | None = None
        self._preload: tuple[str, ...] = ()
        self._warm_up: tuple[str, ...] = ()
        self._started = 0.0
        self._starter: threading.Thread | None = None
        self._lock = threading.Lock()  # _slots and _generation, shared with the starting thread
        self._generation = 0  # bumped by stop(): a starting thread of an earlier one adds nothing
        self._start_error: BaseException | None = None

    # -- worker lifecycle -------------------------------------------------------------------------
    def start(self, context: RunContext, preload: Sequence[str] = (),
              warm_up: Sequence[str] = ()) -> None:
        """Start the workers now, in the background (idempotent); they import while the caller
        goes on planning.

        ``preload``: modules the sweep's runs import (its detectors' modules, see
        :attr:`~adbench_dagmm.BaseDetector.preload_modules`), imported once by the fork server
        rather than by each worker; ``warm_up``: the sweep's detectors, warmed up there once
        (see :mod:`adbench_dagmm.preload`).  The first start in a process fixes both.
        """
        if self._starter is not None:
            return
        self._locations = context.locations()
        self._preload = tuple(dict.fromkeys(preload))
        self._warm_up = tuple(dict.fromkeys(warm_up))
        self._started = time.perf_counter()
        self.startup_seconds = None
        self._ctx = process_context()
        # A forkserver answers a start only once it has imported its preload: start from a thread.
        self._starter = threading.Thread(target=self._start_workers, args=(self._generation,),
                                         name="adb-worker-start", daemon=True)
        self._starter.start()

    def _start_workers(self, generation: int) -> None:
        assert self._locations is not None
        try:
            for i in range(self.jobs):
                worker = _Worker(self._ctx, i, self.threads, self._locations, self._preload,
                                 self._warm_up)
                with self._lock:
                    if generation != self._generation:  # stopped meanwhile: not wanted
                        worker.stop(graceful=False)
                        return
                    self._slots.append(worker)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the driver's thread)
            self._start_error = exc

    def _wait_started(self) -> None:
        if self._starter is not None:
            self._starter.join()
        if self._start_error is not None:
            error, self._start_error = self._start_error, None
            raise AdbError(f"could not start the worker processes ({error}); run with --jobs 1 "
                           "to run in this process.") from error

    def stop(self, graceful: bool = False) -> None:
        """End every worker (asking first when ``graceful``).  Never waits for workers still
        starting (a usage error or an all-stored sweep ends at once): they are ended as they
        come up."""
        with self._lock:
            self._generation += 1
            self._starter = None
            live = [w for w in self._slots if w is not None]
            self._slots = []
        if graceful:
            for worker in live:
                worker.ask_to_exit()
        deadline = time.monotonic() + 3.0  # all at once: each interpreter takes a moment
        for worker in live:
            worker.stop(graceful, deadline)

    def _devices(self, runs: list[PlannedRun]) -> int:
        if self.device_count is None:
            needs = any(r.config.device in ("auto", "cuda") for r in runs)
            self.device_count = devices.cuda_device_count() if needs else 0
        return self.device_count

    @staticmethod
    def _pick(worker: _Worker, queue: collections.deque[_Task], busy: set[Any]) -> _Task:
        """The next task for ``worker``: a retry first; else one of the split it holds; else one
        of a split no other worker is on; else the first."""
        if queue[0].attempt == 1:
            for wanted in (worker.last_key, None):
                for task in queue:
                    key = split_key(task.run)
                    if (key == wanted) if wanted is not None else (key not in busy):
                        queue.remove(task)
                        return task
        return queue.popleft()

    def _fill(self, queue: collections.deque[_Task], device_count: int) -> None:
        """(Re)start workers while there is work and hand the next run to each ready, idle one."""
        assert self._locations is not None
        for i, worker in enumerate(self._slots):
            if worker is None and queue:
                self._slots[i] = worker = _Worker(self._ctx, i, self.threads, self._locations,
                                                  self._preload, self._warm_up)
            if worker is None or not worker.ready or worker.task is not None or not queue:
                continue
            busy = {w.last_key for w in self._slots if w is not None and w.task is not None}
            task = worker.task = self._pick(worker, queue, busy)
            worker.last_key = split_key(task.run)
            run = task.run.with_device(assign_device(task.run.config.device, i, device_count))
            timeout = run.config.timeout
            task.deadline = time.monotonic() + timeout if timeout else None
            try:
                worker.conn.send(run)
            except OSError:
                pass  # it died; the next receive() says so

    def _on_message(self, i: int, worker: _Worker, kind: str, payload: Any,
                    finished: list[Result]) -> None:
        task = worker.task
        if kind == "ready":
            worker.ready = True
            self.pids[i].append(payload)
            if self.startup_seconds is None and all(w is not None and w.ready for w in self._slots):
                self.startup_seconds = time.perf_counter() - self._started
        elif kind == "warm" and task is not None and task.deadline is not None:
            now, limit = time.monotonic(), task.run.config.timeout or 0.0
            if payload == "start":  # the clock stops, for at most the timeout again
                task.paused_at = now
                task.deadline += limit
            elif task.paused_at is not None:
                task.deadline += min(now - task.paused_at, limit) - limit
                task.paused_at = None
        elif kind == "result":
            worker.task = None
            finished.append(payload)

    def __call__(self, runs: Iterable[PlannedRun], context: RunContext) -> Iterator[Result]:
        runs = list(runs)
        if not runs:
            self.stop(graceful=True)
            return
        device_count = self._devices(runs)
        self.start(context)
        self._wait_started()
        for worker in self._slots[len(runs):]:  # more workers than runs
            if worker is not None:
                worker.stop(graceful=False)
        slots = self._slots = self._slots[: len(runs)]
        queue = collections.deque(_Task(r) for r in runs)
        startup_deaths = 0
        graceful = False
        try:
            while queue or any(w is not None and w.task is not None for w in slots):
                self._fill(queue, device_count)
                live = [w for w in slots if w is not None]
                deadlines = [w.task.deadline for w in live if w.task and w.task.deadline]
                wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                multiprocessing.connection.wait([x for w in live for x in w.waitables()], wait)

                finished: list[Result] = []
                for i, worker in enumerate(slots):
                    if worker is None:
                        continue
                    try:
                        while (message := worker.receive()) is not None:
                            if message[0] == "ready":
                                startup_deaths = 0
                            self._on_message(i, worker, *message, finished)
                    except (EOFError, OSError):
                        worker.proc.join(timeout=5)
                        how = describe_exit(worker.proc.exitcode)
                        worker.stop(graceful=False)
                        slots[i] = None
                        task = worker.task
                        if task is None:
                            if worker.ready:  # idle and gone: just start another when needed
                                continue
                            startup_deaths += 1  # died before its first run: broken environment?
                            if startup_deaths > 2 * len(slots):
                                raise AdbError(
                                    f"worker processes die at start-up ({how}); run with --jobs 1 "
                                    "to see the error in this process."
                                ) from None
                        elif task.attempt <= self.retries:
                            queue.appendleft(_Task(task.run, task.attempt + 1))
                        else:
                            attempts = f"{task.attempt} attempt{'s' if task.attempt > 1 else ''}"
                            finished.append((failure_row(task.run, "error", (
                                f"worker process died ({how}) while running this run ({attempts}); "
                                "the rest of the sweep went on")), {}))
                        continue
                    task = worker.task
                    if task and task.deadline is not None and time.monotonic() >= task.deadline:
                        worker.stop(graceful=False)
                        slots[i] = None
                        finished.append((failure_row(task.run, "timeout", (
                            f"run exceeded the {task.run.config.timeout:g} s timeout and was killed")), {}))
                # hand out work before the driver writes these, so no worker idles meanwhile
                self._fill(queue, device_count)
                yield from finished
            graceful = True
        finally:
            self.stop(graceful)


# -- Dask distributed ---------------------------------------------------------------------------
def _dask_task(run: PlannedRun, context: RunContext) -> Result:
    """Runs on a Dask worker: ``execute`` (in a killable child process when a timeout is set).

    ``context`` arrives as its locations (see :class:`RunContext` pickling): each task builds
    its own registry and caches, so a task depends on nothing a previous task left behind.
    """
    if not run.config.timeout:
        return execute(run, context)
    if multiprocessing.current_process().daemon:
        return failure_row(run, "error", (
            "--timeout with --executor dask runs each run in a child process of the Dask worker, "
            "and this worker is daemonic; start the workers with "
            "DASK_DISTRIBUTED__WORKER__DAEMON=False, or drop --timeout.")), {}
    return run_isolated(run, context)


class DaskExecutor:
    """Run planned runs as tasks on an existing Dask distributed cluster (``--scheduler tcp://...``).

    Workers need adbench-dagmm and the plugins installed and the context's data and plugin
    folders readable at the same paths.  Results come back to this process, the only one
    that writes the store.  A run whose worker died is rescheduled by Dask (its
    ``distributed.scheduler.allowed-failures``) and stored as ``error`` once Dask gives up.
    """

    def __init__(self, scheduler: str | Any, *, connect_timeout: float | None = None) -> None:
        self.scheduler = scheduler  # an address, or a distributed.LocalCluster / Client (tests)
        self.connect_timeout = connect_timeout

    def _client(self) -> Any:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise UsageError(f"--executor dask needs dask[distributed] ({exc}).") from None
        if type(self.scheduler).__name__ == "Client":
            return self.scheduler
        try:
            timeout = self.connect_timeout or DASK_CONNECT_TIMEOUT
            return Client(self.scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(
                f"cannot connect to the Dask scheduler at {self.scheduler} ({exc}); "
                "start one with `dask scheduler` and workers with `dask worker ADDRESS`."
            ) from None

    def __call__(self, runs: Iterable[PlannedRun], context: RunContext) -> Iterator[Result]:
        runs = list(runs)
        if not runs:
            return
        from distributed import as_completed

        client = self._client()
        owned = client is not self.scheduler
        pending: dict[Any, PlannedRun] = {}
        try:
            for run in runs:
                pending[client.submit(_dask_task, run, context, pure=False)] = run
            for future in as_completed(list(pending), loop=client.loop):
                run = pending.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001  (KilledWorker, lost connection, ...)
                    name = type(exc).__name__
                    why = "its Dask worker died" if name == "KilledWorker" else "the Dask task failed"
                    result = failure_row(run, "error", f"{why}: {name}: {exc}"), {}
                future.release()
                yield result
        finally:
            if pending:
                client.cancel(list(pending))
            if owned:
                client.close()
