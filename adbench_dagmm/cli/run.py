"""``adb run``: detectors x datasets x seeds, stored, then one mean ± std table.

Runs go in this process (``--jobs 1``), on N local worker processes (``--jobs N``) or on a
Dask cluster (``--executor dask --scheduler tcp://HOST:PORT``); a sweep can come from a TOML
file (``--config sweep.toml``, see :mod:`adbench_dagmm.sweepfile`).  Options given on the
command line win over the file: ``--detector``, ``--dataset``, ``--protocol`` and
``--seeds``/``--seed-start`` replace the file's lists, ``--param`` fixes one parameter (in
place of its grid), and every other option replaces the file's ``[run]`` value.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import UsageError
from . import app, err_console, get_registry, handle_errors, out_console, state

DEFAULT_SEEDS = 5


class ExecutorKind(str, enum.Enum):
    local = "local"
    dask = "dask"


def label_grid_rows(rows: list[dict], axes: dict[str, list[str]]) -> list[dict]:
    """Rows whose detector name carries its grid values, so the table keeps grid points apart."""
    out = []
    for row in rows:
        keys = axes.get(row["detector"])
        if keys:
            params = row.get("params") or {}
            row = dict(row, detector=f"{row['detector']}(" + ", ".join(
                f"{k}={params.get(k)}" for k in keys) + ")")
        out.append(row)
    return out


def render_table(summary) -> tuple[Table, list[str]]:  # type: ignore[no-untyped-def]
    """The run table (mean ± std over seeds) and its footnotes (run notes such as caps)."""
    from rich import box

    from ..summary import fmt

    protocols = sorted({rec["protocol"] for rec in summary})
    one_protocol = len(protocols) == 1
    title = f"protocol {protocols[0]}, mean ± std over seeds" if one_protocol else "mean ± std over seeds"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    table.add_column("detector", no_wrap=True)
    table.add_column("dataset", overflow="fold", min_width=8, max_width=24)
    if not one_protocol:
        table.add_column("protocol", no_wrap=True)
    table.add_column("ok", justify="right", no_wrap=True)
    for label in ("F1", "ROC AUC", "AP"):
        table.add_column(label, justify="right", no_wrap=True)
    table.add_column("time s", justify="right", no_wrap=True)
    footnotes: list[str] = []
    for rec in summary:
        ok = f"{rec['ok']}/{rec['runs']}"
        if rec["ok"] < rec["runs"]:
            ok = f"[red]{ok}[/]"
        mean, std, _ = rec["seconds"]
        detector = rec["detector"]
        if rec["notes"]:
            footnotes.append(f"[{len(footnotes) + 1}] {rec['detector']} on {rec['dataset']}: " + "; ".join(rec["notes"]))
            detector += f" [{len(footnotes)}]"
        cells = [detector, rec["dataset"]] + ([] if one_protocol else [rec["protocol"]]) + [
            ok, fmt(*rec["f1"][:2], sep="±"), fmt(*rec["roc_auc"][:2], sep="±"),
            fmt(*rec["average_precision"][:2], sep="±"), fmt(mean, std, 1, sep="±"),
        ]
        table.add_row(*cells)
    return table, footnotes


def merge_sweep(sweep, *, detector, dataset, protocol, seeds, seed_start, label_column,  # type: ignore[no-untyped-def]
                anomaly_label, impute):
    """What to run: the command line over the sweep file (see the module docstring)."""
    detectors = list(detector) or (list(sweep.detectors) if sweep else [])
    datasets = list(dataset) or (list(sweep.datasets) if sweep else [])
    protocols = list(protocol) or (list(sweep.protocols) if sweep else [])
    if seeds is not None or seed_start is not None:
        count = seeds if seeds is not None else (
            len(sweep.seeds) if sweep and sweep.seeds else DEFAULT_SEEDS)
        seed_list: Any = count  # a count: build_configs checks it is >= 1
        start = seed_start or 0
    else:
        seed_list = list(sweep.seeds) if sweep and sweep.seeds else DEFAULT_SEEDS
        start = 0
    options: dict[str, Any] = dict(sweep.dataset_options) if sweep else {}
    if "anomaly_label" in options:  # the command line passes text; same value, same run id
        options["anomaly_label"] = str(options["anomaly_label"])
    options.update({k: v for k, v in {"label_column": label_column, "anomaly_label": anomaly_label,
                                      "impute": impute}.items() if v is not None})
    if options.get("impute") == "none":
        options.pop("impute")
    return detectors, datasets, protocols, seed_list, start, options


def make_executor(kind: ExecutorKind, jobs: int, scheduler: str | None,  # type: ignore[no-untyped-def]
                  timeout: float | None = None):
    """The executor for ``--executor``/``--jobs``/``--scheduler`` (usage errors exit 2).

    ``--jobs 1`` runs in this process, unless there is a ``--timeout``: then the runs go to one
    warm worker process, which can be killed (its start-up is not the runs' time).
    """
    from ..executors import DaskExecutor, LocalExecutor
    from ..runner import serial_executor

    if jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {jobs}.")
    if kind is ExecutorKind.dask:
        if not scheduler:
            raise UsageError("--executor dask needs --scheduler tcp://HOST:PORT (a running `dask scheduler`).")
        if jobs > 1:
            err_console.print("--jobs is ignored with --executor dask: the cluster's workers run the runs.")
        return DaskExecutor(scheduler)
    if scheduler:
        raise UsageError("--scheduler goes with --executor dask.")
    return LocalExecutor(jobs) if jobs > 1 or timeout else serial_executor


@app.command("run")
@handle_errors
def run_command(
    detector: List[str] = typer.Option([], "--detector", "-d", help="Detector name or suite (repeatable); see `adb list detectors`."),
    dataset: List[str] = typer.Option([], "--dataset", "-D", help="Dataset name, suite:NAME or file path (repeatable); see `adb list datasets`."),
    seeds: Optional[int] = typer.Option(None, "--seeds", "-n", help=f"Number of seeds (runs per detector and dataset; default {DEFAULT_SEEDS})."),
    seed_start: Optional[int] = typer.Option(None, "--seed-start", help="First seed; seeds are seed_start .. seed_start+seeds-1 (default 0)."),
    protocol: List[str] = typer.Option([], "--protocol", "-p", help="Protocol name (repeatable; default: each dataset's own); see `adb list protocols`."),
    param: List[str] = typer.Option([], "--param", "-P", help="Detector parameter DETECTOR.KEY=VALUE (repeatable), e.g. iforest.n_estimators=200."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Sweep file (TOML): detectors with parameter grids, datasets, protocols, seeds and how to run; options given here win over the file."),
    results: Optional[Path] = typer.Option(None, "--results", help="Results folder holding adb.sqlite (default ./results)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the data files (before $ADB_DATA_DIR and the user cache)."),
    force: bool = typer.Option(False, "--force", help="Rerun runs already stored as ok."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Kill a run after this many seconds and store it as timeout (each run then runs in a worker process)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes on this machine; each gets cores/jobs BLAS/torch threads (default 1: runs in this process)."),
    executor: Optional[ExecutorKind] = typer.Option(None, "--executor", help="Where runs happen: local processes, or an existing Dask cluster (needs --scheduler); default local."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of the Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies --executor dask)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N for detectors with a device parameter (unless set by --param); auto (the default) and cuda give each worker its own GPU."),
    label_column: Optional[str] = typer.Option(None, "--label-column", help="For file datasets: the label column (default 'label', else the last column)."),
    anomaly_label: Optional[str] = typer.Option(None, "--anomaly-label", help="For file datasets: the label value that marks an anomaly (default 1)."),
    impute: Optional[str] = typer.Option(None, "--impute", help="For file datasets with NaN/inf: none (error), mean, median or drop (default none)."),
    ctx: typer.Context = None,  # type: ignore[assignment]  (typer passes the command's context)
) -> None:
    """Run detectors on datasets over several seeds, store every run, print mean ± std.

    Every finished run is stored at once: after Ctrl-C or a crash,
    the same command runs only what is missing.
    Exit status: 0 when every run is ok, 1 when some run failed
    (the table is still printed), 2 for a usage error, 130 when interrupted.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..context import RunContext
    from ..devices import assign_device, check_device, cuda_device_count, validate_device
    from ..executors import LocalExecutor
    from ..plan import build_configs, grid_labels
    from ..results import Store
    from ..runner import run_sweep
    from ..summary import summarize
    from ..sweepfile import load_sweep

    sweep = load_sweep(config) if config is not None else None
    run_opts = sweep.run if sweep else {}
    timeout = timeout if timeout is not None else run_opts.get("timeout")
    if timeout is not None and timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {timeout}.")
    jobs = jobs if jobs is not None else run_opts.get("jobs", 1)
    in_file = run_opts.get("executor")
    if in_file not in (None, "local", "dask"):
        raise UsageError(f"{config}: [run] executor must be 'local' or 'dask', got {in_file!r}.")
    if executor is None:  # --scheduler implies dask; then the file; then local
        executor = ExecutorKind.dask if scheduler else ExecutorKind(in_file or (
            "dask" if run_opts.get("scheduler") else "local"))
    scheduler = scheduler or run_opts.get("scheduler")
    device = check_device(device or run_opts.get("device") or "auto")
    results = results or Path(run_opts.get("results", "results"))
    data_dir = data_dir or (Path(run_opts["data_dir"]) if "data_dir" in run_opts else None)
    force = force or bool(run_opts.get("force", False))
    run_executor = make_executor(executor, jobs, scheduler, timeout)
    if isinstance(run_executor, LocalExecutor):  # the workers import while this process plans
        run_executor.start(RunContext(str(data_dir) if data_dir else None, state.plugins_dir))
        ctx.call_on_close(run_executor.stop)  # when the command ends, also after an error

    registry = get_registry()
    if detector:  # names from the command line: their errors name no file
        for name in registry.expand("detector", list(detector)):
            registry.get("detector", name)
    names, datasets, protocols, seed_list, start, options = merge_sweep(
        sweep, detector=detector, dataset=dataset, protocol=protocol, seeds=seeds,
        seed_start=seed_start, label_column=label_column, anomaly_label=anomaly_label, impute=impute)
    grids = sweep.grids(registry, list(detector) or None) if sweep else None
    if grids is not None:
        names = list(grids)
    if executor is ExecutorKind.dask:
        # the workers must find the data and the plugin files themselves: ship absolute paths
        shared = data_dir or os.environ.get("ADB_DATA_DIR")
        data = str(Path(shared).resolve()) if shared else None
        if state.plugins_dir:
            state.plugins_dir = str(Path(state.plugins_dir).resolve())
    else:
        data = str(data_dir) if data_dir else None
    configs = build_configs(registry, names, datasets, seed_list, start, protocols or None, param,
                            timeout, options, grids=grids, device=device)
    context = RunContext(data, state.plugins_dir, registry=registry)
    if executor is ExecutorKind.local and device != "cpu" and any(c.device for c in configs):
        count = cuda_device_count()
        validate_device(device, count)
        if isinstance(run_executor, LocalExecutor):
            run_executor.device_count = count  # it pins one GPU per worker
        else:  # one worker: this process, worker index 0
            resolved = assign_device(device, 0, count)
            configs = [dataclasses.replace(c, device=resolved) if c.device else c for c in configs]
    counts = {"ok": 0, "skipped": 0, "failed": 0, "kept": 0}
    unavailable: set[str] = set()
    with Store(results) as store, Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err_console, transient=False,
    ) as progress:
        task = progress.add_task("runs", total=len(configs))

        def on_result(row, outcome):  # type: ignore[no-untyped-def]
            if outcome == "skipped":
                counts["skipped"] += 1
            elif row["status"] == "ok":
                counts["ok"] += 1
            else:
                counts["failed"] += 1
                counts["kept"] += outcome == "kept"
                if outcome == "unavailable" or row["dataset"] in unavailable:
                    if row["dataset"] not in unavailable:  # one message per dataset, not per run
                        unavailable.add(row["dataset"])
                        progress.console.print(
                            f"[red]error[/] dataset {escape(row['dataset'])} (its runs are stored "
                            f"as failed, the rest of the sweep goes on): {escape(str(row.get('error')))}",
                            highlight=False, soft_wrap=True)
                else:
                    progress.console.print(
                        f"[red]{row['status']}[/] {escape(row['detector'])} on {escape(row['dataset'])} "
                        f"seed {row['seed']}: {escape(str(row.get('error')))}", highlight=False,
                        soft_wrap=True,
                    )
            progress.update(task, advance=1, description=(
                f"runs ({counts['ok']} ok, {counts['skipped']} stored, {counts['failed']} failed)"))

        run_ids = run_sweep(configs, store, context=context, force=force, executor=run_executor,
                            on_result=on_result)
        rows = store.rows(run_ids=run_ids)
    summary = summarize(label_grid_rows(rows, grid_labels(configs)))
    table, footnotes = render_table(summary)
    out_console.print(table)
    for note in footnotes:
        out_console.print(note, highlight=False, markup=False, soft_wrap=True)
    if counts["skipped"]:
        err_console.print(f"{counts['skipped']} run(s) already stored were skipped (--force reruns them).")
    err_console.print(f"results: {escape(str(store.path))}")
    if counts["failed"]:  # this sweep's attempts, whether or not they became the stored rows
        err_console.print(f"[red]{counts['failed']} of {len(configs)} run(s) failed[/]; "
                          "`adb export --status error` lists them.", soft_wrap=True)
        if counts["kept"]:
            err_console.print(f"{counts['kept']} of them had an ok result stored already: the ok "
                              "results were kept (`adb export --all --status error` lists the "
                              "failed attempts).", soft_wrap=True)
        raise typer.Exit(1)
