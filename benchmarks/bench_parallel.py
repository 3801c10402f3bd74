"""How much ``adb run --jobs 2`` gains over ``--jobs 1``, and what the framework costs per run.

    ADB_DATA_DIR=../shared/data python benchmarks/bench_parallel.py [--jobs 2] [--repeat 1]

Every sweep is a real ``adb run`` command in a fresh process, timed from its start to its exit:
interpreter start-up, imports, the registry, planning, the workers' start-up, the runs and the
store writes all count, as a user feels them.  ``--jobs 1`` and ``--jobs N`` run the same sweep
side by side (alternating, ``--repeat`` times; the best of each is kept), each into a fresh
store, so a busy machine slows both alike, after one untimed sweep that fills the caches.

* ``spin``: 12 runs of a test detector that burns 1 s of CPU (one thread, pure Python) in fit on
  a 2000 x 10 table: the ideal speed-up is the number of free cores.
* ``pyod``: the 27-run sweep iforest, hbos, pca x odds:wbc, odds:glass, thyroid x 3 seeds
  (needs the ODDS files: ``$ADB_DATA_DIR`` or ``--data-dir``).
* ``overhead``: the wall time per run of a test detector whose fit takes exactly 1 s (sleep),
  from the difference of a 10-run and a 2-run sweep (so start-up cancels), minus 1 s: what the
  framework adds to each run (dataset, split, scoring, metrics, the store write).

Beside each speed-up it prints the runs-only ceiling, ``T1 / (T1 - W + W / N)``: ``T1`` is the
``--jobs 1`` wall time and ``W`` the runs' own fit + score seconds stored by that sweep, so the
ceiling is what splitting the runs alone over N workers could give (Amdahl's law); a sweep whose
wall time is mostly start-up cannot gain much from ``--jobs``, however the workers are run.

The test detectors burn their time only for fits on >= 500 rows, as real detectors' cost grows
with the data: the workers' warm-up fit (a few rows, see ``RunContext.warm_up``) is instant.
The figures go to this script's section of ``benchmarks/RESULTS.md``.

Measure on an idle machine: with Linux's autogroup scheduling
(``/proc/sys/kernel/sched_autogroup_enabled``), a machine busy with other sessions' work gives
this session a fixed share of the CPU however many processes it runs, so ``--jobs`` cannot gain
there (each of two workers then fits at half the speed of a lone process).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import write_section  # noqa: E402

from adbench_dagmm.executors import available_cores, threads_per_worker  # noqa: E402
from adbench_dagmm.results import Store  # noqa: E402

PLUGIN = textwrap.dedent('''
    import time

    import numpy as np

    from adbench_dagmm import BaseDetector, hookimpl


    class Spin(BaseDetector):
        """Burns ``seconds`` of CPU time in a fit on >= 500 rows (one thread)."""

        name = "spin"

        def __init__(self, seconds=1.0, random_state=None):
            self.seconds = seconds
            self.random_state = random_state

        def burn(self):
            end, x = time.process_time() + self.seconds, 0
            while time.process_time() < end:
                for i in range(10_000):
                    x += i * i

        def fit(self, X, y=None):
            X = self._validate_data(X, reset=True)
            if X.shape[0] >= 500:
                self.burn()
            self.mean_ = X.mean(axis=0)
            return self

        def decision_function(self, X):
            X = self._validate_data(X, reset=False)
            return self.check_scores(np.linalg.norm(X - self.mean_, axis=1))


    class Sleep(Spin):
        """Takes exactly ``seconds`` of wall time in a fit on >= 500 rows (no CPU)."""

        name = "sleep"

        def burn(self):
            time.sleep(self.seconds)


    @hookimpl
    def adb_register_detectors(register):
        register(Spin)
        register(Sleep)
''')

PYOD_SWEEP = ["-d", "iforest", "-d", "hbos", "-d", "pca", "-D", "odds:wbc", "-D", "odds:glass",
              "-D", "thyroid", "--seeds", "3"]


def adb_command() -> list[str]:
    script = Path(sys.executable).parent / "adb"
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from adbench_dagmm.cli import main; main()"]


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


def timed(args: list[str], plugins: str, results: Path) -> float:
    """Wall seconds of one ``adb run`` command, from process start to exit (it must succeed)."""
    command = [*adb_command(), "--plugins-dir", plugins, "run", *args, "--results", str(results), "--force"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"benchmark sweep failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return wall


def run_seconds(results: Path) -> float:
    """The runs' own time in a store: the sum of their fit and score seconds."""
    with Store(results, create=False) as store:
        return sum(row["fit_seconds"] + row["score_seconds"] for row in store.rows())


def side_by_side(args: list[str], plugins: str, folder: Path, jobs: int, repeat: int
                 ) -> tuple[float, float, float]:
    """Best wall time of ``--jobs 1`` and of ``--jobs N`` over ``repeat`` alternating rounds, and
    the runs' own fit + score seconds in the fastest ``--jobs 1`` round."""
    best = {1: float("inf"), jobs: float("inf")}
    work = 0.0
    for r in range(repeat):
        for j in (1, jobs):
            results = folder / f"res-{j}-{r}-{time.time_ns()}"
            wall = timed([*args, "--jobs", str(j)], plugins, results)
            if j == 1 and wall < best[1]:
                work = run_seconds(results)
            best[j] = min(best[j], wall)
    return best[1], best[jobs], work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes to compare with 1 (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="alternating rounds per sweep; best kept (default 1)")
    parser.add_argument("--skip-pyod", action="store_true", help="skip the 27-run PyOD sweep (no ODDS files)")
    args = parser.parse_args()

    lines = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory(prefix="adb-bench-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("ADB_CACHE_DIR", str(folder / "cache"))
        (folder / "plugins").mkdir()
        (folder / "plugins" / "bench_plugin.py").write_text(PLUGIN)
        plugins = str(folder / "plugins")
        table = make_data(folder, 2_000, 10)
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())

        say(f"cores: {available_cores()}; --jobs {args.jobs} gives {threads_per_worker(args.jobs)} thread(s) "
            f"per worker; load average before: {load_before}")
        say("")
        say(f"| sweep | runs | --jobs 1 s | of it fit + score s | --jobs {args.jobs} s | speed-up "
            "| runs-only ceiling | target |")
        say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        sweeps = [("spin: 1 s CPU per fit, 2000 x 10", ["-d", "spin", "-D", table, "--seeds", "12"], 12, 1.7)]
        if not args.skip_pyod:
            sweeps.append(("iforest, hbos, pca x odds:wbc, odds:glass, thyroid x 3 seeds", PYOD_SWEEP, 27, 1.3))
        for label, sweep_args, runs, target in sweeps:
            # untimed: fills the dataset cache and numba's kernel cache, as any earlier sweep would
            timed([*sweep_args, "--jobs", "1"], plugins, folder / f"warm-{time.time_ns()}")
            serial, parallel, work = side_by_side(sweep_args, plugins, folder, args.jobs, args.repeat)
            ceiling = serial / (serial - work + work / args.jobs)
            say(f"| {label} | {runs} | {serial:.2f} | {work:.2f} | {parallel:.2f} | "
                f"{serial / parallel:.2f}x | {ceiling:.2f}x | {target}x |")
        say("")
        say(f"Runs-only ceiling: the speed-up if the runs' own fit and score time (from the `--jobs 1` "
            f"store) were split over {args.jobs} workers and everything else (interpreter start, "
            "imports, planning, warm-up, loading, the store) stayed as long as in `--jobs 1`. The "
            "workers' imports overlap the driver's planning, so a measured speed-up can pass it "
            "a little, not by much.")

        say("")
        say("Overhead per run of a run whose fit takes 1 s (wall time per run per worker, from a "
            "10-run minus a 2-run sweep, minus 1 s; target < 5 %):")
        say("")
        say("| jobs | 2 runs s | 10 runs s | per run s | overhead |")
        say("| ---: | ---: | ---: | ---: | ---: |")
        for jobs in (1, args.jobs):
            wall = {}
            for n in (2, 10):
                wall[n] = min(timed(["-d", "sleep", "-D", table, "--seeds", str(n), "--jobs", str(jobs)],
                                    plugins, folder / f"sleep-{jobs}-{n}-{r}") for r in range(args.repeat))
            per_run = (wall[10] - wall[2]) * jobs / 8
            say(f"| {jobs} | {wall[2]:.2f} | {wall[10]:.2f} | {per_run:.3f} | {100 * (per_run - 1.0):+.1f} % |")
        say("")
        say(f"Load average before: {load_before}; after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
            "(on a shared machine other work slows --jobs most).")

    write_section("bench_parallel", "## Parallel sweeps (`bench_parallel.py`)\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
