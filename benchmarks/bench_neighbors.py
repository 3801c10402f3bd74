"""KNN on all of KDD99's training rows: the exact fast path (``knn``) vs PyOD's own KNN.

    python benchmarks/bench_neighbors.py [--dataset kddcup99] [--protocol zong2018] [--seed 0]
                                         [--method largest] [--no-pyod]

Both fit on every training row of one seed's split and score every test row (KDD99, zong2018:
198,300 and 247,011 rows, 118 features); PyOD's KNN takes several minutes.  Prints both
timings, the speed-up, both ROC AUCs and the largest difference between the two score vectors,
and writes them to RESULTS.md (``--no-pyod`` times the fast path alone and writes nothing).
Needs the data (``ADB_DATA_DIR``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from results_md import write_section


def load_split(dataset: str, protocol: str, seed: int):  # type: ignore[no-untyped-def]
    """The split ``adb run`` fits and scores for (dataset, protocol, seed)."""
    try:  # the public data API (adbench_dagmm.load_dataset / get_protocol)
        from adbench_dagmm import get_protocol, load_dataset
    except ImportError:  # a tree from before that API: the registry directly
        from adbench_dagmm.registry import build_registry
        from adbench_dagmm.runner import make_dataset

        registry = build_registry(load_entrypoints=False)
        data = make_dataset(registry, dataset).load().validate()
        return registry.protocol(protocol)().split(data, seed)
    return get_protocol(protocol).split(load_dataset(dataset), seed)


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="kddcup99")
    parser.add_argument("--protocol", default="zong2018")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-neighbors", type=int, default=5)
    parser.add_argument("--method", default="largest", choices=["largest", "mean", "median"])
    parser.add_argument("--no-pyod", action="store_true", help="time the fast path only")
    args = parser.parse_args()

    from sklearn.metrics import roc_auc_score

    from adb_plugins.pyod_baselines import DETECTORS

    split = load_split(args.dataset, args.protocol, args.seed)
    X, T, y = split.X_train, split.X_test, split.y_test
    print(f"{args.dataset} ({args.protocol}, seed {args.seed}): {X.shape[0]:,} training rows, "
          f"{T.shape[0]:,} test rows, {X.shape[1]} features")
    knn = dict(n_neighbors=args.n_neighbors, method=args.method)
    ours = DETECTORS["knn"](max_train_rows=0, **knn)
    _, fit = timed(lambda: ours.fit(X))
    scores, score = timed(lambda: ours.decision_function(T))
    index = ours.model_.neighbors_
    print(f"fast path: fit {fit:.1f} s, score {score:.1f} s, total {fit + score:.1f} s "
          f"({index.rows_.shape[0]:,} distinct training rows); ROC AUC {roc_auc_score(y, scores):.4f}")
    if args.no_pyod:
        return

    from pyod.models.knn import KNN

    pyod = KNN(**knn)
    _, pyod_fit = timed(lambda: pyod.fit(X))
    theirs, pyod_score = timed(lambda: pyod.decision_function(T))
    total, pyod_total = fit + score, pyod_fit + pyod_score
    diff = np.abs(scores - theirs)
    # relative where PyOD's distance is not tiny; its brute-force search computes squared
    # distances as |x|^2 + |y|^2 - 2 x.y, so a tiny distance carries its absolute rounding error
    big = np.abs(theirs) > 1e-3
    rel = float((diff[big] / np.abs(theirs[big])).max()) if big.any() else 0.0
    train_diff = float(np.abs(ours.decision_scores_ - pyod.decision_scores_).max())
    lines = [
        f"PyOD KNN ({pyod.neigh_._fit_method}): fit {pyod_fit:.1f} s, score {pyod_score:.1f} s, "
        f"total {pyod_total:.1f} s; ROC AUC {roc_auc_score(y, theirs):.4f}",
        f"speed-up (fit + score): {pyod_total / total:.1f}x",
        f"test scores: max relative difference {rel:.1e} (PyOD score > 1e-3), max absolute "
        f"difference {diff.max():.1e}; training scores: max absolute difference {train_diff:.1e}",
    ]
    print("\n".join(lines))
    write_section("bench_neighbors", "\n".join([
        "## KNN on all training rows: exact fast path vs PyOD",
        "",
        f"{args.dataset}, protocol {args.protocol}, seed {args.seed}: {X.shape[0]:,} training rows "
        f"({index.rows_.shape[0]:,} distinct), {T.shape[0]:,} test rows, {X.shape[1]} features; "
        f"KNN(n_neighbors={args.n_neighbors}, method={args.method!r}), fitted on every training row.",
        "",
        "| implementation | fit (s) | score (s) | total (s) | ROC AUC |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| PyOD `KNN` (scikit-learn {pyod.neigh_._fit_method}) | {pyod_fit:.1f} | {pyod_score:.1f} | "
        f"{pyod_total:.1f} | {roc_auc_score(y, theirs):.4f} |",
        f"| adb `knn` (fast=True) | {fit:.1f} | {score:.1f} | {total:.1f} | "
        f"{roc_auc_score(y, scores):.4f} |",
        "",
        f"Speed-up {pyod_total / total:.1f}x. Test scores: max relative difference {rel:.1e} "
        f"where PyOD's score exceeds 1e-3, max absolute difference {diff.max():.1e}; training "
        f"scores: max absolute difference {train_diff:.1e}.",
    ]))


if __name__ == "__main__":
    main()
