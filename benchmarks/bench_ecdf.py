"""ECOD and COPOD on KDD99: peak memory and time of PyOD's code vs the column-by-column fast path.

    python benchmarks/bench_ecdf.py [--dataset kddcup99] [--protocol zong2018] [--seed 0]

The split ``adb run`` uses is computed once and saved to a temporary folder; each of the four
(detector, implementation) pairs then runs in its own child process, which loads the split,
fits on the training rows and scores the test rows.  The child's peak resident memory
(``getrusage``'s ``ru_maxrss``: everything the process ever held, the split included) is what
a run costs.  Prints, and writes to RESULTS.md, peak RSS, time and the largest relative
difference between the two implementations' scores.  Needs the data (``ADB_DATA_DIR``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from results_md import write_section

CHILD = """
import json, resource, sys, time
import numpy as np
from adb_plugins.pyod_baselines import DETECTORS
folder, name, fast = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
X = np.load(f"{folder}/X_train.npy"); T = np.load(f"{folder}/X_test.npy")
start = time.perf_counter()
detector = DETECTORS[name](fast=fast).fit(X)
scores = detector.decision_function(T)
seconds = time.perf_counter() - start
np.save(f"{folder}/{name}_{int(fast)}.npy", scores)
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="kddcup99")
    parser.add_argument("--protocol", default="zong2018")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from bench_neighbors import load_split

    split = load_split(args.dataset, args.protocol, args.seed)
    shape = (f"{split.X_train.shape[0]:,} training rows, {split.X_test.shape[0]:,} test rows, "
             f"{split.X_train.shape[1]} features ({split.X_train.dtype})")
    print(f"{args.dataset} ({args.protocol}, seed {args.seed}): {shape}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "X_train.npy", split.X_train)
        np.save(Path(folder) / "X_test.npy", split.X_test)
        split_mb = (split.X_train.nbytes + split.X_test.nbytes) / 2**20
        del split
        for name in ("ecod", "copod"):
            result = {}
            for fast in (False, True):
                out = subprocess.run([sys.executable, "-c", CHILD, folder, name, str(int(fast))],
                                     capture_output=True, text=True, check=True)
                result[fast] = json.loads(out.stdout.strip().splitlines()[-1])
                label = "fast path" if fast else "PyOD"
                print(f"{name} {label}: {result[fast]['seconds']:.1f} s, peak RSS "
                      f"{result[fast]['peak_mb']:,.0f} MB")
            a = np.load(Path(folder) / f"{name}_0.npy")
            b = np.load(Path(folder) / f"{name}_1.npy")
            rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.finfo(float).tiny)))
            print(f"{name}: max relative difference of the scores {rel:.1e}")
            rows.append((name, result, rel))
    table = ["| detector | implementation | fit + score (s) | peak RSS (MB) | max rel. score difference |",
             "| --- | --- | ---: | ---: | ---: |"]
    for name, result, rel in rows:
        table.append(f"| {name} | PyOD | {result[False]['seconds']:.1f} | "
                     f"{result[False]['peak_mb']:,.0f} | |")
        table.append(f"| {name} | adb fast path | {result[True]['seconds']:.1f} | "
                     f"{result[True]['peak_mb']:,.0f} | {rel:.1e} |")
    write_section("bench_ecdf", "\n".join([
        "## ECOD / COPOD: peak memory, PyOD vs the column-by-column fast path",
        "",
        f"{args.dataset}, protocol {args.protocol}, seed {args.seed}: {shape}. Each run is a "
        f"child process that loads the split ({split_mb:,.0f} MB of arrays), fits on the "
        "training rows and scores the test rows; peak RSS is the child's `ru_maxrss`.",
        "",
        *table,
    ]))


if __name__ == "__main__":
    main()
