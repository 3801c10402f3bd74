"""OCSVM scoring: libsvm row by row (PyOD) vs the wrapper's BLAS blocks, on synthetic data.

    python benchmarks/bench_pyod.py [--train 5000] [--test 20000] [--features 118]

Prints both timings and the largest relative difference between the two score vectors.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=5_000)
    parser.add_argument("--test", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=118)
    args = parser.parse_args()

    from adb_plugins.pyod_baselines import DETECTORS

    rng = np.random.default_rng(0)
    X = rng.random((args.train, args.features))
    T = rng.random((args.test, args.features)) * 1.2
    start = time.perf_counter()
    detector = DETECTORS["ocsvm"](max_train_rows=0).fit(X)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    ours = detector.decision_function(T)
    blocks = time.perf_counter() - start
    start = time.perf_counter()
    theirs = detector.model_.decision_function(T)
    libsvm = time.perf_counter() - start
    diff = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
    n_sv = detector.model_.detector_.support_vectors_.shape[0]
    print(f"OCSVM: {args.train} train rows ({n_sv} support vectors), {args.test} test rows, "
          f"{args.features} features")
    print(f"fit {fit:.1f} s | score: libsvm {libsvm:.1f} s, BLAS blocks {blocks:.1f} s "
          f"({libsvm / blocks:.1f}x) | max relative difference {diff:.1e}")


if __name__ == "__main__":
    main()
