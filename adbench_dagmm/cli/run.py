"""``adb run``: detectors x datasets x seeds, stored, then one mean ± std table.

Runs go in this process (``--jobs 1``), on N local worker processes (``--jobs N``) or on a
Dask cluster (``--executor dask --scheduler tcp://HOST:PORT``); a sweep can come from a TOML
file (``--config sweep.toml``, see :mod:`adbench_dagmm.sweepfile`).  Options given on the
command line win over the file: ``--detector``, ``--dataset``, ``--protocol`` and
``--seeds``/``--seed-start`` replace the file's lists, ``--param`` fixes one parameter or
protocol option (in place of its grid; a key repeated is an axis of its own), and every other
option replaces the file's ``[run]`` value.  The table names a protocol with options
``name[key=value,...]``.
"""

from __future__ import annotations

import math

import dataclasses
import enum
import os
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import UsageError
from . import UNLIMITED, app, err_console, get_registry, handle_errors, out_console, output_width, state

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


def label_protocol_rows(rows: list[dict]) -> list[dict]:
    """Rows whose protocol is its display label (``adbench[labeled_anomalies=0.1]``), so the
    table keeps runs with different protocol options apart."""
    from ..protocols import protocol_label

    return [dict(row, protocol=protocol_label(row["protocol"], row.get("protocol_options")))
            for row in rows]


def render_table(summary, width: int | None = None) -> tuple[list[Any], list[str]]:  # type: ignore[no-untyped-def]
    """The run table (mean ± std over seeds) as renderables, and its footnotes (run notes).

    The cells are the report's overview table, cell for cell
    (:func:`~adbench_dagmm.reporting.tables.overview_table`).  One table with a row per
    (detector, dataset, protocol) when it fits ``width`` (None: no limit); else one block per
    dataset (its name on a line of its own, then a row per detector) with the same column widths
    in every block, so no name is ever cut.  Cells are :class:`~rich.text.Text`: names from
    plugins and files are never read as markup.
    """
    from rich import box
    from rich.measure import Measurement

    from ..reporting.tables import overview_table

    overview = overview_table(summary)
    protocols = sorted({rec["protocol"] for rec in summary})
    one_protocol = len(protocols) == 1
    title = (f"protocol {protocols[0]}, mean ± std over seeds" if one_protocol
             else "mean ± std over seeds")
    footnotes = list(overview.notes)
    rows: list[dict[str, Any]] = []
    for i, (cells, rec) in enumerate(zip(overview.rows, summary)):
        row: dict[str, Any] = {**dict(zip(overview.columns, cells)), "protocol": rec["protocol"]}
        row["ok"] = Text(row["ok"], style="red" if i in overview.flagged else "")
        rows.append(row)
    numbers = [c for c, align in zip(overview.columns, overview.align) if align == "r"]

    def table(columns: list[str], body: list[dict[str, Any]], widths: dict[str, int] | None = None,
              **kwargs: Any) -> Table:
        out = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
                    title_justify="left", **kwargs)
        for name in columns:
            out.add_column(name, justify="right" if name in numbers else "left",
                           no_wrap=name != "detector", overflow="fold",
                           min_width=(widths or {}).get(name))
        for row in body:
            out.add_row(*(row[name] if isinstance(row[name], Text) else Text(row[name])
                          for name in columns))
        return out

    measure = Console(width=UNLIMITED)
    flat_columns = ["detector", "dataset"] + ([] if one_protocol else ["protocol"]) + numbers
    flat = table(flat_columns, rows, title=Text(title))
    if width is None or Measurement.get(measure, measure.options, flat).maximum <= width:
        return [flat], footnotes
    # too wide: a block per (dataset, protocol); the dataset's name heads its block
    columns = ["detector"] + numbers
    widths = {name: max(len(str(row[name])) for row in rows + [{name: name}]) for name in columns}
    dropped = []
    for name in ("time s", "AP"):  # still too wide (under ~70 columns): these go, and it says so
        if sum(widths[c] + 2 for c in columns) - 2 <= width:
            break
        columns.remove(name)
        dropped.append(name)
    if dropped:
        footnotes.append(f"not shown at this width: {', '.join(dropped)} (widen the terminal, or "
                         "set COLUMNS)")
    blocks: list[Any] = [Text(title)]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["protocol"]), []).append(row)
    for (dataset, protocol), body in groups.items():
        heading = dataset if one_protocol else f"{dataset} (protocol {protocol})"
        blocks += [Text(""), Text(heading, style="bold"), table(columns, body, widths)]
    return blocks, footnotes


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


FILE_OPTIONS = {"label_column": "--label-column", "anomaly_label": "--anomaly-label",
                "impute": "--impute"}


def check_file_options(registry, datasets: list[str], options: dict[str, Any],  # type: ignore[no-untyped-def]
                       from_command_line: set[str], config: Path | None) -> None:
    """Refuse a file-dataset option given for a registered dataset (exit 2).

    A registered dataset's loader decides its labels and missing values, so the option would be
    ignored, yet it would still change the run ids.
    """
    from ..params import constructor_params

    for spec in registry.expand("dataset", datasets):
        if spec not in registry.entries["dataset"]:
            continue  # a file: the options are its own
        accepted = constructor_params(registry.dataset(spec))
        for key in options:
            if key in FILE_OPTIONS and key not in accepted:
                given = (FILE_OPTIONS[key] if key in from_command_line
                         else f"{key} in [dataset_options] of {config}")
                raise UsageError(
                    f"{given} applies to dataset files only, and {spec!r} is a registered dataset "
                    "(its plugin decides labels and missing values). Remove it, or run the files "
                    "in a separate command."
                )


def sweep_detectors(registry, given: list[str], sweep) -> list[str]:  # type: ignore[no-untyped-def]
    """The registered detectors a sweep names (``--detector``, else the sweep file's), suites
    expanded; none when a name does not resolve (the sweep's own checks then report it)."""
    names = given or [str(name) for name in (sweep.detectors if sweep is not None else [])]
    try:
        names = registry.expand("detector", names)
        return [name for name in names if registry.detector(name) is not None]
    except Exception:  # noqa: BLE001  (reported, with its file, by the checks that follow)
        return []


def preload_modules(registry, names: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """The modules the named detectors' runs import (their own and what they declare), for the
    workers to import once."""
    modules: list[str] = []
    for name in names:
        cls = registry.detector(name)
        modules += [cls.__module__, *getattr(cls, "preload_modules", ())]
    return list(dict.fromkeys(modules))


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
    detector: List[str] = typer.Option([], "--detector", "-d", metavar="NAME", help="Detector name or detector suite (repeatable). The list: adb list detectors."),
    dataset: List[str] = typer.Option([], "--dataset", "-D", metavar="NAME", help="Dataset name, suite:NAME or data file path (repeatable). The list: adb list datasets."),
    seeds: Optional[int] = typer.Option(None, "--seeds", "-n", metavar="N", help=f"Number of seeds: runs per detector and dataset. Default: {DEFAULT_SEEDS}."),
    seed_start: Optional[int] = typer.Option(None, "--seed-start", metavar="SEED", help="First seed; the seeds are SEED to SEED+N-1. Default: 0."),
    protocol: List[str] = typer.Option([], "--protocol", "-p", metavar="NAME", help="Protocol name (repeatable). The list: adb list protocols. Default: each dataset's own."),
    param: List[str] = typer.Option([], "--param", "-P", metavar="SPEC", help="Detector parameter DETECTOR.KEY=VALUE, e.g. iforest.n_estimators=200, or protocol option protocol.NAME=VALUE, e.g. protocol.labeled_anomalies=0.1 (options: adb list protocols). Repeatable; a key given more than once is a sweep axis: one run per value."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", metavar="FILE", help="Sweep file (TOML): detectors with parameter grids, datasets, protocols, seeds and how to run. Options given here win over the file."),
    results: Optional[Path] = typer.Option(None, "--results", metavar="DIR", help="Results folder holding adb.sqlite. Default: ./results."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", metavar="DIR", help="Folder holding the data files, looked in before $ADB_DATA_DIR and the user cache."),
    force: bool = typer.Option(False, "--force", help="Rerun runs already stored as ok."),
    timeout: Optional[float] = typer.Option(None, "--timeout", metavar="SECONDS", help="Kill a run after this many seconds and store it as timeout. Each run then runs in a worker process."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", metavar="N", help="Worker processes on this machine; each gets cores/N BLAS and torch threads. Default: 1 (runs in this process)."),
    executor: Optional[ExecutorKind] = typer.Option(None, "--executor", help="Where runs happen: local processes, or an existing Dask cluster (needs --scheduler). Default: local."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS", help="Address of the Dask scheduler, e.g. tcp://10.0.0.5:8786; implies --executor dask."),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N, for detectors with a device parameter not set by --param. auto and cuda give each worker its own GPU. Default: auto."),
    label_column: Optional[str] = typer.Option(None, "--label-column", metavar="COLUMN", help="Data files only: the label column. Default: label, else the last column."),
    anomaly_label: Optional[str] = typer.Option(None, "--anomaly-label", metavar="VALUE", help="Data files only: the label value that marks an anomaly. Default: 1."),
    impute: Optional[str] = typer.Option(None, "--impute", metavar="METHOD", help="Data files only: what to do with NaN and inf values: none (an error), mean, median or drop. Default: none."),
    ctx: typer.Context = None,  # type: ignore[assignment]  (typer passes the command's context)
) -> None:
    """Run detectors on datasets over several seeds, store every run, print mean ± std.

    Every finished run is stored at once: after Ctrl-C or a crash, the same command runs only
    what is missing.

    Exit status: 0 when every run is ok, 1 when some run failed (the table is still printed),
    2 for a usage error, 130 when interrupted.
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
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--timeout must be a finite number of seconds > 0, got {timeout}; "
                         "leave it out for no time limit.")
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
    registry = get_registry()
    if detector:  # names from the command line: their errors name no file
        for name in registry.expand("detector", list(detector)):
            registry.get("detector", name)
    if isinstance(run_executor, LocalExecutor):  # the workers import while this process plans
        warm = sweep_detectors(registry, list(detector), sweep)
        run_executor.start(RunContext(str(data_dir) if data_dir else None, state.plugins_dir),
                           preload=preload_modules(registry, warm), warm_up=warm)
        ctx.call_on_close(run_executor.stop)  # when the command ends, also after an error

    names, datasets, protocols, seed_list, start, options = merge_sweep(
        sweep, detector=detector, dataset=dataset, protocol=protocol, seeds=seeds,
        seed_start=seed_start, label_column=label_column, anomaly_label=anomaly_label, impute=impute)
    check_file_options(registry, datasets, options, {k for k, v in {
        "label_column": label_column, "anomaly_label": anomaly_label, "impute": impute}.items()
        if v is not None}, config)
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
                            timeout, options, grids=grids, device=device,
                            protocol_options=sweep.protocol_options if sweep else None)
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
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
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
                        progress.console.print(Text.assemble(
                            ("error", "red"),
                            f" dataset {row['dataset']} (its runs are stored as failed, the rest "
                            f"of the sweep goes on): {row.get('error')}",
                        ), soft_wrap=True)
                else:
                    progress.console.print(Text.assemble(
                        (row["status"], "red"),
                        f" {row['detector']} on {row['dataset']} seed {row['seed']}: {row.get('error')}",
                    ), soft_wrap=True)
            progress.update(task, advance=1, description=(
                f"runs ({counts['ok']} ok, {counts['skipped']} stored, {counts['failed']} failed)"))

        run_ids = run_sweep(configs, store, context=context, force=force, executor=run_executor,
                            on_result=on_result)
        rows = store.rows(run_ids=run_ids)
    summary = summarize(label_protocol_rows(label_grid_rows(rows, grid_labels(configs))))
    blocks, footnotes = render_table(summary, output_width())
    for block in blocks:  # a heading longer than the terminal is wrapped by it, never cut
        out_console.print(block, soft_wrap=isinstance(block, Text))
    for note in footnotes:
        out_console.print(note, soft_wrap=True)
    if counts["skipped"]:
        err_console.print(f"{counts['skipped']} run(s) already stored were skipped (--force reruns them).")
    err_console.print(f"results: {store.path}", soft_wrap=True)  # a path is never wrapped
    if counts["failed"]:  # this sweep's attempts, whether or not they became the stored rows
        err_console.print(Text.assemble((f"{counts['failed']} of {len(configs)} run(s) failed", "red"),
                                        "; adb export --status error lists them."), soft_wrap=True)
        if counts["kept"]:
            err_console.print(Text(f"{counts['kept']} of them had an ok result stored already: the ok "
                                   "results were kept (`adb export --all --status error` lists the "
                                   "failed attempts)."), soft_wrap=True)
        raise typer.Exit(1)
