"""The curated ``baselines`` suite on KDD99 with its own defaults: wall time and per-detector cost.

    python benchmarks/bench_baselines.py [--seeds 5] [--jobs 2] [--dataset kddcup99]

Runs ``adb run --detector baselines --dataset kddcup99 --seeds N --jobs J`` through the CLI into
a fresh results folder (start-up included), then reads the store: wall time of the whole
command, and per detector the mean fit and score seconds, peak RSS and F1 / ROC AUC.  The
target is 5 seeds in at most 10 minutes on 2 idle cores; on a busy machine measure fewer seeds
and say so (the load average is printed).  Writes the figures to RESULTS.md.  Needs the data
(``ADB_DATA_DIR``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results_md import write_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dataset", default="kddcup99")
    args = parser.parse_args()

    from adbench_dagmm.results import Store

    adb = Path(sys.executable).with_name("adb")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        command = [str(adb), "run", "--detector", "baselines", "--dataset", args.dataset,
                   "--seeds", str(args.seeds), "--jobs", str(args.jobs), "--results", str(results)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"adb run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        with Store(results, create=False) as store:
            rows = store.rows()
    load_after = os.getloadavg()
    shown = " ".join(["adb", *command[1:-2]])  # without --results TMP
    print(done.stdout)
    print(f"`{shown}`: {wall:.0f} s wall ({wall / 60:.1f} min); load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after")

    table = ["| detector | runs ok | fit (s) | score (s) | peak RSS (MB) | F1 | ROC AUC |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    by_name: dict[str, list[dict]] = {}
    for row in rows:
        by_name.setdefault(row["detector"], []).append(row)
    for name, runs in by_name.items():
        ok = [r for r in runs if r["status"] == "ok"]
        if not ok:
            table.append(f"| {name} | 0 of {len(runs)} ({runs[0]['error']}) | | | | | |")
            continue
        mean = {k: float(np.mean([r[k] for r in ok])) for k in
                ("fit_seconds", "score_seconds", "peak_rss_mb", "f1", "roc_auc")}
        table.append(f"| {name} | {len(ok)} of {len(runs)} | {mean['fit_seconds']:.1f} | "
                     f"{mean['score_seconds']:.1f} | {mean['peak_rss_mb']:,.0f} | {mean['f1']:.3f} | "
                     f"{mean['roc_auc']:.3f} |")
    print("\n".join(table))
    write_section("bench_baselines", "\n".join([
        f"## The curated baselines suite on {args.dataset}",
        "",
        f"`{shown}`: **{wall:.0f} s** wall ({wall / 60:.1f} min), start-up included; load average "
        f"{load_before[0]:.1f} before and {load_after[0]:.1f} after (2 cores: above ~0.5 the "
        "machine was not idle). Per detector, means over seeds:",
        "",
        *table,
    ]))


if __name__ == "__main__":
    main()
