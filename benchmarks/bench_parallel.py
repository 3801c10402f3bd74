"""How much ``--jobs 2`` gains over ``--jobs 1``, and what the framework costs per run.

    python benchmarks/bench_parallel.py [--runs 12] [--jobs 2] [--seconds 1.0]

Three sweeps go through :func:`adbench_dagmm.runner.run_sweep`, as ``adb run`` does, each into
a fresh store:

* ``spin``: a test detector that burns ``--seconds`` / 2 of CPU time in fit (pure Python, one
  thread), so the ideal speed-up is the number of free cores;
* ``iforest``: the real PyOD baseline (300 trees) on a seeded 20 000 x 20 table;
* ``sleep``: a test detector whose fit takes exactly ``--seconds`` of wall time; the wall time
  per run minus ``--seconds`` is the framework's overhead (plan, dataset load and split,
  scoring, metrics, the store write and, for ``--jobs``, the workers' start-up).

Timings include starting the worker processes (a fixed cost, paid once per sweep).  The machine
load is printed before and after: on a shared machine other people's work slows ``--jobs``
most, so read the figures with it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from adbench_dagmm.executors import LocalExecutor, available_cores, threads_per_worker
from adbench_dagmm.results import Store
from adbench_dagmm.context import RunContext
from adbench_dagmm.plan import RunConfig
from adbench_dagmm.runner import run_sweep, serial_executor

PLUGIN = textwrap.dedent('''
    import time

    import numpy as np

    from adbench_dagmm import BaseDetector, hookimpl


    class Spin(BaseDetector):
        """Burns ``seconds`` of CPU time in fit (one thread), then scores by distance to the mean."""

        name = "spin"

        def __init__(self, seconds=0.5, random_state=None):
            self.seconds = seconds
            self.random_state = random_state

        def fit(self, X, y=None):
            X = self._validate_data(X, reset=True)
            end, x = time.process_time() + self.seconds, 0
            while time.process_time() < end:
                for i in range(10_000):
                    x += i * i
            self.mean_ = X.mean(axis=0)
            return self

        def decision_function(self, X):
            X = self._validate_data(X, reset=False)
            return self.check_scores(np.linalg.norm(X - self.mean_, axis=1))


    class Sleep(Spin):
        """Takes exactly ``seconds`` of wall time in fit (no CPU)."""

        name = "sleep"

        def fit(self, X, y=None):
            X = self._validate_data(X, reset=True)
            time.sleep(self.seconds)
            self.mean_ = X.mean(axis=0)
            return self


    @hookimpl
    def adb_register_detectors(register):
        register(Spin)
        register(Sleep)
''')


def make_data(folder: Path, n: int, d: int) -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    y = np.zeros(n, dtype=int)
    y[: n // 20] = 1
    X[y == 1] += rng.uniform(2, 4, size=(int(y.sum()), d))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(d)])
    frame["label"] = y
    path = folder / f"bench_{n}x{d}.csv"
    frame.to_csv(path, index=False)
    return str(path)


def sweep_seconds(configs: list[RunConfig], plugins: str, executor, store_dir: Path) -> tuple[float, float, list[dict]]:  # type: ignore[no-untyped-def]
    """Wall seconds of the sweep, of which start-up of its workers, and its rows."""
    context = RunContext(plugins_dir=plugins)
    context.registry  # built once per `adb run` as well: not part of a run
    with Store(store_dir) as store:
        start = time.perf_counter()
        ids = run_sweep(configs, store, context=context, executor=executor, force=True)
        wall = time.perf_counter() - start
        rows = store.rows(run_ids=ids)
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        raise SystemExit(f"benchmark run failed: {bad[0]['error']}")
    return wall, getattr(executor, "startup_seconds", None) or 0.0, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=12, help="runs per sweep (default 12)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes to compare with 1 (default 2)")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one sleep run (default 1.0)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="adb-bench-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("ADB_CACHE_DIR", str(folder / "cache"))
        (folder / "plugins").mkdir()
        (folder / "plugins" / "bench_plugin.py").write_text(PLUGIN)
        plugins = str(folder / "plugins")
        small = make_data(folder, 2_000, 10)
        large = make_data(folder, 20_000, 20)

        def configs(detector: str, params: dict, data: str, runs: int) -> list[RunConfig]:
            return [RunConfig(detector, params, data, "zong2018", seed) for seed in range(runs)]

        print(f"cores: {available_cores()}, --jobs {args.jobs} gives {threads_per_worker(args.jobs)} "
              f"thread(s) per worker; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        sweeps = [
            ("spin 0.5 s CPU", configs("spin", {"seconds": 0.5}, small, args.runs)),
            ("iforest 300 trees, 20000x20", configs("iforest", {"n_estimators": 300}, large, args.runs)),
        ]
        print(f"\n{'sweep':28} {'runs':>4} {'jobs 1 s':>9} {f'jobs {args.jobs} s':>9} {'start-up s':>10} "
              f"{'speed-up':>9} {'w/o start-up':>12}")
        for label, cfgs in sweeps:
            serial, _, _ = sweep_seconds(cfgs, plugins, serial_executor, folder / f"s-{label[:4]}")
            parallel, startup, _ = sweep_seconds(cfgs, plugins, LocalExecutor(args.jobs), folder / f"p-{label[:4]}")
            print(f"{label:28} {len(cfgs):4d} {serial:9.2f} {parallel:9.2f} {startup:10.2f} "
                  f"{serial / parallel:8.2f}x {serial / (parallel - startup):11.2f}x")

        n_sleep = max(4, args.runs // 2)
        cfgs = configs("sleep", {"seconds": args.seconds}, small, n_sleep)
        print(f"\noverhead per run of a {args.seconds:g} s run ({n_sleep} runs; wall per run - {args.seconds:g} s):")
        for jobs in (1, args.jobs):
            executor = serial_executor if jobs == 1 else LocalExecutor(jobs)
            wall, startup, rows = sweep_seconds(cfgs, plugins, executor, folder / f"sleep-{jobs}")
            per_run = (wall - startup) * jobs / n_sleep
            inside = np.mean([r["fit_seconds"] + r["score_seconds"] for r in rows])
            print(f"  jobs {jobs}: {wall:6.2f} s for {n_sleep} runs, {startup:.2f} s of it starting workers -> "
                  f"{per_run:.3f} s per run per worker, overhead {per_run - args.seconds:+.3f} s = "
                  f"{100 * (per_run - args.seconds) / args.seconds:.1f} % (fit+score {inside:.3f} s)")
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
