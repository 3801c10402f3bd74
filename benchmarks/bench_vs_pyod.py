"""The same sweep through ``adb run --jobs 2`` and through a plain PyOD loop, side by side.

    python benchmarks/bench_vs_pyod.py [--seeds 10] [--jobs 2] [--detectors iforest,knn,...]

The sweep: 7 PyOD detectors x every ODDS file in the data folder (``$ADB_DATA_DIR/odds``) x 10
seeds, under the ``pyod`` protocol.  The plain loop is what PyOD's own benchmark notebook
(``notebooks/benchmark.py``) does: load each ``.mat`` file, split it, standardize with
``pyod.utils.utility.standardizer``, then for every detector ``fit`` and ``decision_function``
and ``roc_auc_score``, one run after the other in one process, storing nothing.  It uses the
``pyod`` protocol's split (a seeded 60/40 permutation) instead of ``train_test_split``, so both
sides score the same rows and their ROC AUCs can be compared run by run.  ``adb run`` goes
through the CLI in a child process into a fresh results folder, start-up included.

Prints both wall times and the largest ROC AUC difference (per detector and overall); writes
them to RESULTS.md.  Needs the ODDS files.
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

DETECTORS = ("iforest", "knn", "lof", "hbos", "ocsvm", "pca", "ecod")


def pyod_classifiers(names: tuple[str, ...], seed: int, contamination: float) -> dict[str, object]:
    """The detectors as PyOD's benchmark notebook builds them (its defaults, seeded IForest)."""
    from pyod.models.copod import COPOD
    from pyod.models.ecod import ECOD
    from pyod.models.hbos import HBOS
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.lof import LOF
    from pyod.models.ocsvm import OCSVM
    from pyod.models.pca import PCA

    make = {
        "iforest": lambda: IForest(contamination=contamination, random_state=seed),
        "knn": lambda: KNN(contamination=contamination),
        "lof": lambda: LOF(contamination=contamination),
        "hbos": lambda: HBOS(contamination=contamination),
        "ocsvm": lambda: OCSVM(contamination=contamination),
        "pca": lambda: PCA(contamination=contamination, random_state=seed),
        "ecod": lambda: ECOD(contamination=contamination),
        "copod": lambda: COPOD(contamination=contamination),
    }
    return {name: make[name]() for name in names}


def plain_loop(files: list[Path], names: tuple[str, ...], seeds: int) -> dict[tuple, float]:
    """PyOD's benchmark loop; ROC AUC per (dataset, seed, detector), NaN where PyOD fails."""
    import warnings

    from pyod.utils.utility import standardizer
    from scipy.io import loadmat
    from sklearn.metrics import roc_auc_score

    out: dict[tuple, float] = {}
    for path in files:
        mat = loadmat(path)
        X, y = mat["X"].astype(np.float64), mat["y"].ravel().astype(int)
        outliers_fraction = np.count_nonzero(y) / len(y)
        for seed in range(seeds):
            perm = np.random.default_rng(seed).permutation(X.shape[0])
            n_train = int(round(0.6 * X.shape[0]))
            train, test = np.sort(perm[:n_train]), np.sort(perm[n_train:])
            X_train_norm, X_test_norm = standardizer(X[train], X[test])
            for name, clf in pyod_classifiers(names, seed, outliers_fraction).items():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        clf.fit(X_train_norm)
                        scores = clf.decision_function(X_test_norm)
                    roc = roc_auc_score(y[test], scores)
                except ValueError:  # e.g. PCA's non-finite scores on constant columns
                    roc = float("nan")
                out[(f"odds:{path.stem}", seed, name)] = roc
    return out


def adb_sweep(names: tuple[str, ...], datasets: list[str], seeds: int, jobs: int,
              results: Path) -> dict[tuple, float]:
    """``adb run`` through the CLI; ROC AUC per (dataset, seed, detector), NaN for failed runs."""
    adb = Path(sys.executable).with_name("adb")  # the console script of this environment
    command = [str(adb), "run", "--protocol", "pyod",
               "--seeds", str(seeds), "--jobs", str(jobs), "--results", str(results)]
    for name in names:
        command += ["--detector", name]
    for dataset in datasets:
        command += ["--dataset", dataset]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"adb run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    from adbench_dagmm.results import Store

    with Store(results, create=False) as store:
        return {(r["dataset"], r["seed"], r["detector"]):
                (r["roc_auc"] if r["status"] == "ok" else float("nan")) for r in store.rows()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    args = parser.parse_args()
    names = tuple(args.detectors.split(","))

    folder = Path(os.environ.get("ADB_DATA_DIR", "../shared/data")) / "odds"
    files = sorted(folder.glob("*.mat"))
    if not files:
        raise SystemExit(f"no ODDS .mat files in {folder}; set ADB_DATA_DIR")
    datasets = [f"odds:{p.stem}" for p in files]
    n_runs = len(names) * len(files) * args.seeds
    print(f"{len(names)} detectors x {len(files)} ODDS files x {args.seeds} seeds = {n_runs} runs")

    start = time.perf_counter()
    plain = plain_loop(files, names, args.seeds)
    plain_s = time.perf_counter() - start
    print(f"plain PyOD loop (1 process, nothing stored): {plain_s:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        ours = adb_sweep(names, datasets, args.seeds, args.jobs, Path(tmp) / "results")
        adb_s = time.perf_counter() - start
    print(f"adb run --jobs {args.jobs} (stored): {adb_s:.1f} s ({plain_s / adb_s:.2f}x the plain loop)")

    lines = ["| detector | runs compared | failed (plain / adb) | largest ROC AUC difference |",
             "| --- | ---: | ---: | ---: |"]
    overall = 0.0
    for name in names:
        keys = [k for k in plain if k[2] == name]
        both = [k for k in keys if np.isfinite(plain[k]) and np.isfinite(ours.get(k, np.nan))]
        failed_plain = sum(not np.isfinite(plain[k]) for k in keys)
        failed_adb = sum(not np.isfinite(ours.get(k, np.nan)) for k in keys)
        diff = max((abs(plain[k] - ours[k]) for k in both), default=float("nan"))
        overall = max(overall, diff) if np.isfinite(diff) else overall
        lines.append(f"| {name} | {len(both)} | {failed_plain} / {failed_adb} | {diff:.1e} |")
        print(f"{name}: {len(both)} runs compared, failed {failed_plain} (plain) / {failed_adb} "
              f"(adb), largest ROC AUC difference {diff:.1e}")
    print(f"largest ROC AUC difference overall: {overall:.1e}")
    write_section("bench_vs_pyod", "\n".join([
        "## adb run vs a plain PyOD loop (PyOD's benchmark notebook)",
        "",
        f"{len(names)} detectors ({', '.join(names)}) x {len(files)} ODDS files x {args.seeds} "
        f"seeds = {n_runs} runs, `pyod` protocol (same split on both sides).",
        "",
        "| sweep | wall time (s) |",
        "| --- | ---: |",
        f"| plain PyOD loop, 1 process, nothing stored | {plain_s:.1f} |",
        f"| `adb run --jobs {args.jobs}`, every run stored, start-up included | {adb_s:.1f} |",
        "",
        *lines,
        "",
        f"Largest ROC AUC difference overall: {overall:.1e}.",
    ]))


if __name__ == "__main__":
    main()
