"""Running detectors x datasets x seeds: one pure function per run, executors decide where.

``execute(config)`` is a pure function of its :class:`RunConfig` and the data files: it loads
the dataset, splits it with the protocol, fits, scores, thresholds and measures, and returns a
result row (it never raises for a failing run: the failure is the row's ``status``).  The sweep
driver plans the runs, skips those already stored as ``ok``, hands the rest to an executor and
alone writes the store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import platform
import random
import subprocess
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .dataset import BaseDataset, Dataset, set_data_dir
from .errors import AdbError, UsageError
from .metrics import compute_metrics, curves
from .registry import Registry, build_registry

STATUSES = ("ok", "error", "timeout")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that defines one run (and, hashed, its run id)."""

    detector: str
    params: dict[str, Any]  # user parameters (typed), before dataset recommendations
    dataset: str  # registered name or file path
    protocol: str
    seed: int
    dataset_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    # where to look, not what to compute: not part of the run id
    data_dir: str | None = None
    plugins_dir: str | None = None
    timeout: float | None = None
    #: "cpu", "cuda", "cuda:N" or "auto", passed to detectors with a ``device`` parameter the user
    #: did not set; where a run happens, not what it computes, so not part of the run id
    device: str | None = None


# -- plumbing shared by the driver and the workers ---------------------------------------------
_registries: dict[str | None, Registry] = {}


def registry_for(plugins_dir: str | None) -> Registry:
    if plugins_dir not in _registries:
        _registries[plugins_dir] = build_registry(plugins_dir=plugins_dir)
    return _registries[plugins_dir]


def looks_like_path(spec: str) -> bool:
    return os.sep in spec or "/" in spec or Path(spec).suffix != "" or Path(spec).exists()


def make_dataset(registry: Registry, spec: str, options: dict[str, Any] | None = None) -> BaseDataset:
    """The dataset plugin instance for a registered name or a file path."""
    options = dict(options or {})
    if spec in registry.entries["dataset"]:
        cls = registry.dataset(spec)
        accepted = inspect.signature(cls.__init__).parameters
        return cls(**{k: v for k, v in options.items() if k in accepted})
    if looks_like_path(spec):
        from adb_datasets.files import FileDataset

        return FileDataset(spec, **options)
    registry.get("dataset", spec)  # raises with the closest names
    raise AssertionError("unreachable")


@lru_cache(maxsize=2)
def _load(spec: str, options_json: str, plugins_dir: str | None, data_dir: str | None) -> Dataset:
    set_data_dir(data_dir)
    dataset = make_dataset(registry_for(plugins_dir), spec, json.loads(options_json))
    dataset = dataset.load().validate()
    dataset.release_pages()  # validation touched every page; splits fault back what they need
    return dataset


class _LastSplit:
    """The split of the last (dataset, protocol, seed), reused by every detector of that seed.

    Unlike ``lru_cache(maxsize=1)``, the previous split is dropped *before* the next one is
    made, so two splits of a large dataset (~210 MB each for KDD99) never coexist.
    """

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._value: Any = None

    def __call__(self, spec: str, options_json: str, plugins_dir: str | None,
                 data_dir: str | None, protocol: str, seed: int) -> Any:
        key = (spec, options_json, plugins_dir, data_dir, protocol, seed)
        if key != self._key:
            self.cache_clear()
            dataset = _load(spec, options_json, plugins_dir, data_dir)
            self._value = registry_for(plugins_dir).protocol(protocol)().split(dataset, seed)
            self._key = key
        return self._value

    def cache_clear(self) -> None:
        self._key = self._value = None


_split = _LastSplit()


def load_dataset(config: RunConfig) -> Dataset:
    return _load(config.dataset, json.dumps(config.dataset_options, sort_keys=True),
                 config.plugins_dir, config.data_dir)


def resolved_params(registry: Registry, config: RunConfig, dataset: BaseDataset | None) -> dict[str, Any]:
    """User parameters over the dataset's recommendations, plus the seed as ``random_state``."""
    cls = registry.detector(config.detector)
    accepted = inspect.signature(cls.__init__).parameters
    params: dict[str, Any] = {}
    card = getattr(dataset, "card", None)
    if card is not None:
        recommended = card.detector_params.get(config.detector, {})
        params.update({k: v for k, v in recommended.items() if k in accepted})
    params.update(config.params)
    if "random_state" in accepted:
        params["random_state"] = config.seed
    return params


def run_id(config: RunConfig, params: dict[str, Any], data_sha256: str, protocol_version: str) -> str:
    """A stable hash of what determines the result of a run."""
    key = {
        "detector": config.detector,
        "params": {k: v for k, v in params.items() if k != "contamination"},
        "dataset": config.dataset,
        "dataset_options": config.dataset_options,
        "data_sha256": data_sha256,
        "protocol": config.protocol,
        "protocol_version": protocol_version,
        "seed": config.seed,
    }
    blob = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak_mb`` is the maximum seen."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak_mb = float("nan")
        self._stop = threading.Event()

    def __enter__(self) -> PeakRSS:
        import psutil

        self._proc = psutil.Process()
        self.peak_mb = self._proc.memory_info().rss / 2**20
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)


def seed_everything(seed: int) -> None:
    """Seed the global RNGs that third-party detectors use behind our back."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


@lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Package versions, git commit and host, recorded on every row."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for dist in ("adbench-dagmm", "numpy", "scikit-learn", "pyod", "torch", "pandas"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    commit = None
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        commit = out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"versions": versions, "git_commit": commit, "host": platform.node()}


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, AdbError):
        return str(exc)
    tb = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {Path(tb[0].filename).name}:{tb[0].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def base_row(config: RunConfig, params: dict[str, Any], data_sha256: str, protocol_version: str) -> dict[str, Any]:
    env = environment()
    return {
        "run_id": run_id(config, params, data_sha256, protocol_version),
        "detector": config.detector, "params": params, "dataset": config.dataset,
        "data_sha256": data_sha256, "protocol": config.protocol,
        "protocol_version": protocol_version, "seed": config.seed,
        "versions": env["versions"], "git_commit": env["git_commit"], "host": env["host"],
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "notes": [],
    }


def execute(config: RunConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one configuration; return ``(row, artifacts)``.  Never raises for a failing run."""
    registry = registry_for(config.plugins_dir)
    set_data_dir(config.data_dir)
    protocol_cls = registry.protocol(config.protocol)
    params: dict[str, Any] = dict(config.params)
    row: dict[str, Any] = {}
    artifacts: dict[str, Any] = {}
    try:
        plugin = make_dataset(registry, config.dataset, config.dataset_options)
        params = resolved_params(registry, config, plugin)
        row = base_row(config, params, plugin.sha256(), protocol_cls.version)
        dataset = load_dataset(config)
        row["data_sha256"] = dataset.sha256 or row["data_sha256"]
        row["notes"] = list(dataset.notes)
        split = _split(config.dataset, json.dumps(config.dataset_options, sort_keys=True),
                       config.plugins_dir, config.data_dir, config.protocol, config.seed)
        cls = registry.detector(config.detector)
        reason = cls.check_available()
        if reason:
            raise UsageError(f"detector {config.detector!r} is unavailable: {reason}")
        accepted = inspect.signature(cls.__init__).parameters
        if "contamination" in accepted and "contamination" not in config.params:
            params["contamination"] = float(min(max(split.contamination, 1e-3), 0.5))
        if config.device and "device" in accepted and "device" not in config.params:
            params["device"] = config.device  # after the run id: where, not what
        row["params"] = params
        row.update(n_train=int(split.X_train.shape[0]), n_test=int(split.X_test.shape[0]),
                   n_features=int(split.X_train.shape[1]), contamination=split.contamination)
        seed_everything(config.seed)
        with PeakRSS() as mem:
            detector = cls(**params)
            start = time.perf_counter()
            fitted = detector.fit(split.X_train)
            row["fit_seconds"] = time.perf_counter() - start
            if fitted is not detector:
                raise AdbError(f"detector {config.detector!r}: fit() must return self.")
            start = time.perf_counter()
            scores = detector._check_scores(detector.decision_function(split.X_test))
            row["score_seconds"] = time.perf_counter() - start
        row["peak_rss_mb"] = mem.peak_mb
        if scores.shape[0] != split.X_test.shape[0]:
            raise AdbError(
                f"detector {config.detector!r} returned {scores.shape[0]} scores for "
                f"{split.X_test.shape[0]} test rows."
            )
        protocol = protocol_cls()
        predictions = protocol.threshold(scores, split.contamination)
        row.update(compute_metrics(split.y_test, scores, predictions))
        row["notes"] = row["notes"] + list(getattr(detector, "notes_", []) or [])
        row.update(status="ok", error=None)
        artifacts["curves"] = curves(split.y_test, scores)
        history = getattr(detector, "history_", None)
        if history is not None:
            artifacts["history"] = history
        if callable(getattr(detector, "latent", None)):  # e.g. DAGMM's (z_c, rel. distance, cosine)
            artifacts["latent"] = _latent_sample(detector, split, config.seed)
    except Exception as exc:  # a failing plugin fails its run, not the sweep
        if not row:
            row = base_row(config, params, "", getattr(protocol_cls, "version", "?"))
        row.update(status="error", error=_error_text(exc))
    return row, artifacts


def _latent_sample(detector: Any, split: Any, seed: int, n: int = 2000) -> dict[str, Any]:
    """Latent coordinates of a seeded sample of test rows, with their labels, for reports."""
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(split.X_test.shape[0], size=min(n, split.X_test.shape[0]), replace=False))
    z = np.asarray(detector.latent(split.X_test[take]), dtype=np.float64)
    return {"z": np.round(z, 6).tolist(), "y": np.asarray(split.y_test[take]).astype(int).tolist()}


def run_isolated(config: RunConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``execute`` in a fresh process and kill it after ``config.timeout`` seconds."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(config, child), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(config.timeout):
            return parent.recv()
        proc.kill()
        return failure_row(config, "timeout", f"run exceeded the {config.timeout:g} s timeout and was killed"), {}
    except EOFError:
        proc.join()
        return failure_row(config, "error", f"worker process died ({describe_exit(proc.exitcode)})"), {}
    finally:
        proc.join(timeout=5)
        parent.close()


def failure_row(config: RunConfig, status: str, error: str) -> dict[str, Any]:
    """The row of a run that produced no result of its own (timeout, dead worker).

    Its run id is the planned one, so the store, the report and a rerun all find it.
    """
    try:
        planned = plan(registry_for(config.plugins_dir), [config])[0]
        row = base_row(config, planned.params, planned.data_sha256, planned.protocol_version)
    except Exception:  # noqa: BLE001  (the dataset vanished meanwhile: still record the failure)
        row = base_row(config, dict(config.params), "", "?")
    row.update(status=status, error=error)
    return row


def describe_exit(exitcode: int | None) -> str:
    """'exit code 1' or 'killed by signal SIGKILL' for a process's exit code."""
    import signal

    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def _child(config: RunConfig, conn) -> None:  # type: ignore[no-untyped-def]
    conn.send(execute(config))
    conn.close()


# -- the driver ----------------------------------------------------------------------------------
@dataclasses.dataclass
class PlannedRun:
    config: RunConfig
    run_id: str
    params: dict[str, Any]
    data_sha256: str
    protocol_version: str


def plan(registry: Registry, configs: Iterable[RunConfig]) -> list[PlannedRun]:
    """Compute the id of every run (without loading data) so stored ones can be skipped."""
    planned: list[PlannedRun] = []
    sha_cache: dict[tuple[str, str], str] = {}
    for config in configs:
        set_data_dir(config.data_dir)
        key = (config.dataset, json.dumps(config.dataset_options, sort_keys=True))
        plugin = make_dataset(registry, config.dataset, config.dataset_options)
        if key not in sha_cache:
            try:
                sha_cache[key] = plugin.sha256()
            except AdbError:
                sha_cache[key] = ""  # the run itself will fail and say why
        params = resolved_params(registry, config, plugin)
        version = registry.protocol(config.protocol).version
        planned.append(PlannedRun(config, run_id(config, params, sha_cache[key], version),
                                  params, sha_cache[key], version))
    return planned


Executor = Callable[[list[RunConfig]], Iterator[tuple[dict[str, Any], dict[str, Any]]]]


def serial_executor(configs: list[RunConfig]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Run in this process (or in a killable child process when a timeout is set)."""
    for config in configs:
        yield run_isolated(config) if config.timeout else execute(config)


def run_sweep(
    configs: list[RunConfig],
    store,  # type: ignore[no-untyped-def]
    *,
    registry: Registry,
    force: bool = False,
    executor: Executor = serial_executor,
    on_result: Callable[[dict[str, Any], bool], None] | None = None,
) -> list[str]:
    """Run every config not already stored as ``ok`` (all of them with ``force``).

    Each finished run is written to ``store`` before the next result is taken, so an interrupted
    sweep keeps all finished runs.  ``on_result(row, skipped)`` is called once per run (progress).
    Returns the run ids of the whole sweep, in plan order.
    """
    planned = plan(registry, configs)
    done = set() if force else store.ok_ids(p.run_id for p in planned)
    todo: list[RunConfig] = []
    seen: set[str] = set()
    for p in planned:
        if p.run_id in done or p.run_id in seen:
            if on_result:
                on_result({"run_id": p.run_id, "status": "skipped"}, True)
            continue
        seen.add(p.run_id)
        todo.append(p.config)
    results = iter(executor(todo))
    try:
        for row, artifacts in results:
            store.write(row, artifacts)
            if on_result:
                on_result(row, False)
    finally:  # stop the executor's workers at once on Ctrl-C or a failing write
        close = getattr(results, "close", None)
        if close is not None:
            close()
    return list(dict.fromkeys(p.run_id for p in planned))
