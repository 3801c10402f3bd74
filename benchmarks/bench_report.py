"""How long ``adb report`` takes on a large store: a synthetic store of about 3,000 runs
(10 detectors x 30 datasets x 10 seeds, one failed run, curve artifacts on every ok run, DAGMM
history and latent sample on every dagmm run) rendered as Markdown + HTML with every figure.

    python benchmarks/bench_report.py [--detectors 10] [--datasets 30] [--seeds 10] [--jobs N] [--profile]

Prints the time to write the store (not measured) and the time of the report, split into
building (tables, tests, figures) and writing.  The store is written by the same helper the
tests use (tests/test_report.py ``write_store``).
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_write_store():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("_report_tests", HERE.parent / "tests" / "test_report.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.write_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", type=int, default=10)
    parser.add_argument("--datasets", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--formats", default="md,html")
    parser.add_argument("--image-format", default="png", choices=("png", "svg"))
    parser.add_argument("--jobs", type=int, default=None, help="figure-drawing processes (default: auto)")
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions")
    args = parser.parse_args()

    from adbench_dagmm.reporting import ReportOptions, build_report

    names = ["dagmm", "iforest", "lof", "ocsvm", "hbos", "pca", "knn", "copod", "ecod", "cblof",
             "loda", "sod", "cof", "mcd", "gmm", "kde"][: args.detectors]
    skills = {name: 0.3 + 0.04 * i for i, name in enumerate(names)}
    with tempfile.TemporaryDirectory(prefix="adb-bench-report-") as tmp:
        start = time.perf_counter()
        load_write_store()(Path(tmp) / "res", skills, [f"set{i:02d}" for i in range(args.datasets)],
                           args.seeds, failed=1).close()
        print(f"store: {len(names) * args.datasets * args.seeds} runs written in "
              f"{time.perf_counter() - start:.1f} s (not part of the measure)")
        options = ReportOptions(formats=tuple(args.formats.split(",")), jobs=args.jobs,
                                image_format=args.image_format)
        import resource

        def cpu() -> float:
            return sum(getattr(resource.getrusage(who), f) for who in
                       (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))

        cpu0 = cpu()
        start = time.perf_counter()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            report = profiler.runcall(build_report, Path(tmp) / "res", Path(tmp) / "out", options)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        else:
            report = build_report(Path(tmp) / "res", Path(tmp) / "out", options)
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (Path(tmp) / "out").rglob("*") if p.is_file())
        print(f"report ({args.image_format}, jobs {args.jobs or 'auto'}): {len(report.rows)} runs ({report.n_failed} failed), "
              f"{len(report.document.figures)} figures, {args.formats}, {size / 2**20:.1f} MiB "
              f"in {seconds:.2f} s wall; CPU {cpu() - cpu0:.1f} s in this process"
              + (" (figures drawn by worker processes are not counted)" if args.jobs != 1 else ""))


if __name__ == "__main__":
    main()
