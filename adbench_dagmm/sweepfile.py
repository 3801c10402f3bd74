"""Sweeps from a TOML file (``adb run --config sweep.toml``): what to run, and how.

The top level names *what* runs (these decide the run ids); the ``[run]`` table says *how and
where* (never part of a run id)::

    detectors = ["iforest", "baselines"]     # names or detector suites, or one table each:
    [detectors.iforest]
    n_estimators = [50, 100]                 # a list is a grid axis: two runs per seed
    max_samples = 256                        # a scalar is fixed
    [detectors.dagmm]
    hidden = [60, 30]                        # a list-typed parameter takes the list as one value;
                                             # a list of lists ([[60, 30], [120, 60]]) is its grid

    datasets = ["kddcup99", "suite:odds", "data/my.csv"]   # paths as on the command line
    protocols = ["zong2018"]                 # or protocol = "..."; default: each dataset's own
    seeds = 5                                # a count from seed_start (default 0), or [0, 3, 7]

    [protocol_options]                       # options of the protocols (adb list protocols)
    labeled_anomalies = [0.0, 0.1, 1.0]      # a list is a sweep axis, as for detectors
    upsample = false                         # a scalar is fixed

    [dataset_options]                        # for file datasets
    label_column = "label"
    anomaly_label = 1
    impute = "none"

    [run]
    jobs = 2
    executor = "local"                       # or "dask" with scheduler = "tcp://host:8786"
    device = "auto"
    timeout = 600
    results = "results"
    data_dir = "/data/adb"
    force = false

Parameter values are checked and typed against the detector's constructor like ``--param``.
An unknown key anywhere is an error naming the key and the file.  Paths are taken as written,
relative to the current folder (as on the command line), so the same sweep given as a file or
as flags has the same run ids.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import itertools
import json
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AdbError, UsageError

if TYPE_CHECKING:
    from .registry import Registry

TOP_KEYS = ("detectors", "datasets", "protocol", "protocols", "protocol_options", "seeds",
            "seed_start", "dataset_options", "run")
RUN_KEYS = ("jobs", "executor", "scheduler", "device", "timeout", "results", "data_dir", "force")
DATASET_OPTION_KEYS = ("label_column", "anomaly_label", "impute")
_RUN_TYPES: dict[str, tuple[type, ...]] = {
    "jobs": (int,), "executor": (str,), "scheduler": (str,), "device": (str,),
    "timeout": (int, float), "results": (str,), "data_dir": (str,), "force": (bool,),
}
_KIND = {"jobs": "an integer", "timeout": "a number of seconds", "force": "true or false"}


@dataclasses.dataclass
class SweepFile:
    """A parsed sweep file (structure checked; names and parameters are checked by :meth:`grids`)."""

    path: Path
    detectors: dict[str, dict[str, Any]]  # name -> {param: value or grid list}, in file order
    datasets: list[str]
    protocols: list[str]
    seeds: list[int] | None
    dataset_options: dict[str, Any]
    run: dict[str, Any]
    #: option name -> its values (one value, or a sweep axis); checked against each protocol by
    #: :func:`~adbench_dagmm.plan.build_configs`
    protocol_options: dict[str, list[Any]] = dataclasses.field(default_factory=dict)

    def error(self, message: str) -> UsageError:
        return UsageError(f"{self.path}: {message}")

    def grids(self, registry: Registry, names: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
        """Each detector's parameter sets: the file's grid expanded and typed.

        ``names`` (from ``--detector``) replaces the file's detector list; the file's grids still
        apply to the detectors that remain, the others run with their defaults.
        """
        wanted = list(self.detectors) if names is None else names
        out: dict[str, list[dict[str, Any]]] = {}
        for key in wanted:
            try:
                members = registry.expand("detector", [key])
            except AdbError as exc:
                raise self.error(str(exc)) from None
            table = self.detectors.get(key, {})
            if members != [key] and table:
                raise self.error(
                    f"[detectors.{key}] is a suite of {len(members)} detectors; parameters go in "
                    f"one table per detector (e.g. [detectors.{members[0]}])."
                )
            for name in members:
                try:
                    cls = registry.detector(name)
                except AdbError as exc:
                    raise self.error(str(exc)) from None
                grid = self.detectors.get(name, {}) if name != key or table else {}
                if name not in out or grid:
                    out[name] = expand_grid(name, cls, grid, self.path)
        return out


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...], where: str, path: Path) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"{path}: unknown key {key!r} in {where}.{hint} Valid keys: {', '.join(allowed)}."
            )


def _str_list(value: Any, key: str, path: Path) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{path}: {key!r} must be a string or a non-empty list of strings, got {value!r}.")
    return list(value)


def load_sweep(path: str | Path) -> SweepFile:
    """Read and check a sweep file; every problem is a :class:`UsageError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"sweep file {path} not found; check the path given to --config.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML ({exc}).") from None
    _check_keys(data, TOP_KEYS, "the top level", path)
    if "protocol" in data and "protocols" in data:
        raise UsageError(f"{path}: give 'protocol' or 'protocols', not both.")

    detectors: dict[str, dict[str, Any]] = {}
    raw = data.get("detectors", {})
    if isinstance(raw, (str, list)):
        detectors = {name: {} for name in _str_list(raw, "detectors", path)}
    elif isinstance(raw, dict):
        for name, table in raw.items():
            if not isinstance(table, dict):
                raise UsageError(
                    f"{path}: 'detectors.{name}' must be a table of parameters "
                    f"([detectors.{name}]), got {table!r}."
                )
            detectors[name] = dict(table)
    else:
        raise UsageError(f"{path}: 'detectors' must be a list of names or tables of parameters.")

    datasets = _str_list(data["datasets"], "datasets", path) if "datasets" in data else []
    protocols: list[str] = []
    for key in ("protocol", "protocols"):
        if key in data:
            protocols = _str_list(data[key], key, path)

    seeds: list[int] | None = None
    start = data.get("seed_start", 0)
    if not isinstance(start, int) or isinstance(start, bool):
        raise UsageError(f"{path}: 'seed_start' must be an integer, got {start!r}.")
    if "seeds" in data:
        value = data["seeds"]
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise UsageError(f"{path}: 'seeds' must be >= 1, got {value}.")
            seeds = list(range(start, start + value))
        elif isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            if "seed_start" in data:
                raise UsageError(f"{path}: 'seed_start' goes with a seed count, not a list of seeds.")
            seeds = list(dict.fromkeys(value))
        else:
            raise UsageError(f"{path}: 'seeds' must be a count (5) or a list of integers ([0, 3, 7]), got {value!r}.")
    elif "seed_start" in data:
        seeds = list(range(start, start + 5))

    options = data.get("dataset_options", {})
    if not isinstance(options, dict):
        raise UsageError(f"{path}: 'dataset_options' must be a table ([dataset_options]).")
    _check_keys(options, DATASET_OPTION_KEYS, "[dataset_options]", path)

    raw_options = data.get("protocol_options", {})
    if not isinstance(raw_options, dict):
        raise UsageError(f"{path}: 'protocol_options' must be a table ([protocol_options]).")
    protocol_options: dict[str, list[Any]] = {}
    for key, value in raw_options.items():
        values = value if isinstance(value, list) else [value]
        if not values or any(isinstance(v, (list, dict)) for v in values):
            raise UsageError(f"{path}: [protocol_options] {key} must be a value or a non-empty "
                             f"list of values (a sweep axis), got {value!r}.")
        protocol_options[key] = list(values)

    run = data.get("run", {})
    if not isinstance(run, dict):
        raise UsageError(f"{path}: 'run' must be a table ([run]).")
    _check_keys(run, RUN_KEYS, "[run]", path)
    for key, value in run.items():
        if not isinstance(value, _RUN_TYPES[key]) or (isinstance(value, bool) and bool not in _RUN_TYPES[key]):
            raise UsageError(f"{path}: [run] {key} must be {_KIND.get(key, 'a string')}, got {value!r}.")
    return SweepFile(path=path, detectors=detectors, datasets=datasets, protocols=protocols,
                     seeds=seeds, dataset_options=dict(options), run=dict(run),
                     protocol_options=protocol_options)


# -- parameter grids ---------------------------------------------------------------------------
def _typed(owner: str, key: str, value: Any, param: inspect.Parameter) -> Any:
    """One TOML value as the type the constructor expects (the same rules as ``--param``)."""
    from .params import _expected_type, coerce

    expected = _expected_type(param)
    if isinstance(value, str):
        return coerce(owner, key, value, param)
    if expected is None:
        return value
    if expected in (list, tuple) and isinstance(value, list):
        return expected(value)
    if isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool):
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return coerce(owner, key, json.dumps(value), param)  # raises with the usual message


_SEQUENCE_RE = re.compile(r"\b(list|tuple|List|Tuple|Sequence|Iterable)\b")


def _is_list_param(param: inspect.Parameter) -> bool:
    """Whether the parameter takes a list (default, or annotation such as ``Sequence[int] | None``)."""
    if isinstance(param.default, (list, tuple)):
        return True
    ann = param.annotation
    if ann is inspect.Parameter.empty:
        return False
    if isinstance(ann, type):
        return issubclass(ann, (list, tuple))
    return bool(_SEQUENCE_RE.search(ann if isinstance(ann, str) else repr(ann)))


def expand_grid(name: str, cls: type, table: dict[str, Any], path: Path | str) -> list[dict[str, Any]]:
    """The parameter sets of one ``[detectors.NAME]`` table: the product of its list values.

    A list is a grid axis, except for a list-typed parameter (``hidden = [60, 30]``), whose
    grid is a list of lists.  Values are typed and checked against ``cls``'s constructor.
    """
    from .params import constructor_params

    params = constructor_params(cls)
    axes: list[list[tuple[str, Any]]] = []
    for key, value in table.items():
        if key not in params:
            close = difflib.get_close_matches(key, params, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise UsageError(
                f"{path}: unknown parameter {name}.{key} in [detectors.{name}].{hint} "
                f"Valid parameters of {name}: {', '.join(sorted(params)) or '(none)'}."
            )
        param = params[key]
        is_grid = isinstance(value, list) and (
            not _is_list_param(param) or (bool(value) and all(isinstance(v, list) for v in value)))
        values = value if is_grid else [value]
        if not values:
            raise UsageError(f"{path}: [detectors.{name}] {key} is an empty list; give at least one value.")
        try:
            axes.append([(key, _typed(name, key, v, param)) for v in values])
        except AdbError as exc:
            raise UsageError(f"{path}: [detectors.{name}] {exc}") from None
    combos = [dict(combo) for combo in itertools.product(*axes)]
    unique = {json.dumps(c, sort_keys=True, default=str): c for c in combos}
    return list(unique.values())
