"""``adb run``: detectors x datasets x seeds, stored, then one mean ± std table."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..errors import UsageError
from . import app, err_console, get_registry, handle_errors, out_console, state


def build_configs(registry, detectors, datasets, seeds, seed_start, protocol, param_specs,  # type: ignore[no-untyped-def]
                  data_dir, timeout, dataset_options):
    """Validate the command line up front (exit 2) and expand it into run configs."""
    from ..params import build_params, parse_param_specs
    from ..runner import RunConfig, make_dataset

    if not detectors:
        raise UsageError("give at least one --detector (see `adb list detectors`).")
    if not datasets:
        raise UsageError("give at least one --dataset (see `adb list datasets`).")
    if seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {seeds}.")
    names = registry.expand("detector", list(detectors))
    datasets = registry.expand("dataset", list(datasets))
    for name in names:
        registry.get("detector", name)
    raw = parse_param_specs(param_specs)
    for owner in raw:
        if owner not in names:
            raise UsageError(
                f"--param given for {owner!r}, which is not among the detectors of this run "
                f"({', '.join(names)})."
            )
    typed = {name: build_params(name, registry.detector(name), raw.get(name, {})) for name in names}
    if protocol is not None:
        registry.get("protocol", protocol)
    configs = []
    for spec in dict.fromkeys(datasets):
        plugin = make_dataset(registry, spec, dataset_options)
        card = getattr(plugin, "card", None)
        proto = protocol or (card.default_protocol if card else "zong2018")
        registry.get("protocol", proto)
        for seed in range(seed_start, seed_start + seeds):
            for name in names:
                configs.append(RunConfig(
                    detector=name, params=typed[name], dataset=spec, protocol=proto, seed=seed,
                    dataset_options=dataset_options, data_dir=data_dir,
                    plugins_dir=state.plugins_dir, timeout=timeout,
                ))
    return configs


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


@app.command("run")
@handle_errors
def run_command(
    detector: List[str] = typer.Option([], "--detector", "-d", help="Detector name (repeatable); see `adb list detectors`."),
    dataset: List[str] = typer.Option([], "--dataset", "-D", help="Dataset name or file path (repeatable); see `adb list datasets`."),
    seeds: int = typer.Option(5, "--seeds", "-n", help="Number of seeds (runs per detector and dataset)."),
    seed_start: int = typer.Option(0, "--seed-start", help="First seed; seeds are seed_start .. seed_start+seeds-1."),
    protocol: Optional[str] = typer.Option(None, "--protocol", "-p", help="Protocol name (default: each dataset's own); see `adb list protocols`."),
    param: List[str] = typer.Option([], "--param", "-P", help="Detector parameter DETECTOR.KEY=VALUE (repeatable), e.g. iforest.n_estimators=200."),
    results: Path = typer.Option(Path("results"), "--results", help="Results folder holding adb.sqlite."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the data files (before $ADB_DATA_DIR and the user cache)."),
    force: bool = typer.Option(False, "--force", help="Rerun runs already stored as ok."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Kill a run after this many seconds (each run then runs in its own process)."),
    label_column: Optional[str] = typer.Option(None, "--label-column", help="For file datasets: the label column (default 'label', else the last column)."),
    anomaly_label: Optional[str] = typer.Option(None, "--anomaly-label", help="For file datasets: the label value that marks an anomaly (default 1)."),
    impute: str = typer.Option("none", "--impute", help="For file datasets with NaN/inf: none (error), mean, median or drop."),
) -> None:
    """Run detectors on datasets over several seeds, store every run, print mean ± std.

    Exit status: 0 when every run is ok, 1 when some run failed (the table is still printed),
    2 for a usage error.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..results import Store
    from ..runner import run_sweep
    from ..summary import summarize

    if timeout is not None and timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {timeout}.")
    registry = get_registry()
    options = {k: v for k, v in {"label_column": label_column, "anomaly_label": anomaly_label,
                                 "impute": impute if impute != "none" else None}.items() if v is not None}
    configs = build_configs(registry, detector, dataset, seeds, seed_start, protocol, param,
                            str(data_dir) if data_dir else None, timeout, options)
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    with Store(results) as store, Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err_console, transient=False,
    ) as progress:
        task = progress.add_task("runs", total=len(configs))

        def on_result(row, skipped):  # type: ignore[no-untyped-def]
            if skipped:
                counts["skipped"] += 1
            elif row["status"] == "ok":
                counts["ok"] += 1
            else:
                counts["failed"] += 1
                progress.console.print(
                    f"[red]{row['status']}[/] {row['detector']} on {row['dataset']} seed {row['seed']}: "
                    f"{row.get('error')}", highlight=False, soft_wrap=True,
                )
            progress.update(task, advance=1, description=(
                f"runs ({counts['ok']} ok, {counts['skipped']} stored, {counts['failed']} failed)"))

        run_ids = run_sweep(configs, store, registry=registry, force=force, on_result=on_result)
        rows = store.rows(run_ids=run_ids)
    summary = summarize(rows)
    table, footnotes = render_table(summary)
    out_console.print(table)
    for note in footnotes:
        out_console.print(note, highlight=False, markup=False, soft_wrap=True)
    failed = [r for r in rows if r["status"] != "ok"]
    if counts["skipped"]:
        err_console.print(f"{counts['skipped']} run(s) already stored were skipped (--force reruns them).")
    err_console.print(f"results: {store.path}")
    if failed:
        err_console.print(f"[red]{len(failed)} of {len(rows)} run(s) failed[/]; `adb export --status error` lists them.")
        raise typer.Exit(1)
