"""What a sweep runs: run configurations, expanded from the command line or a sweep file, and
planned once each (parameters resolved, run id computed) before anything executes.

A :class:`RunConfig` says what one run computes; :func:`plan` turns each into a
:class:`PlannedRun` carrying the parameters the detector gets (the user's over the dataset's
recommendations, plus the seed), the data checksum, the identity of the plugins involved and the
run id.  Planning resolves every dataset of the sweep once (finding or downloading its file): a
dataset that cannot be had is one message on its runs (``data_error``), not one download per
run.  It also checks every parameter set a detector will get (its ``check_params()``, if it
has one) before any run starts.  The driver skips stored
runs by that id, executors ship planned runs, and a run that never produced a row of its own
(timeout, dead worker) is recorded under the same id: nothing is recomputed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .detector import BaseDetector
from .errors import AdbError, ParameterError, UsageError
from .params import build_params, constructor_params, parse_param_axes

if TYPE_CHECKING:
    from .context import RunContext
    from .dataset import BaseDataset
    from .registry import Registry


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that defines one run (and, hashed, its run id), and how it is run."""

    detector: str
    params: dict[str, Any]  # user parameters (typed), before dataset recommendations
    dataset: str  # registered name or a spec a resolver accepts (a file path)
    protocol: str
    seed: int
    dataset_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: kill the run after this many seconds (it then runs in a child process); not in the run id
    timeout: float | None = None
    #: "cpu", "cuda", "cuda:N" or "auto", passed to detectors with a ``device`` parameter the user
    #: did not set; where a run happens, not what it computes, so not part of the run id
    device: str | None = None
    #: the protocol's options as given (typed), e.g. ``{"labeled_anomalies": 0.1}``; part of the
    #: run id only when non-empty, so runs without options keep their ids
    protocol_options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class PlannedRun:
    """A run config with its resolved parameters, data checksum and run id."""

    config: RunConfig
    run_id: str
    params: dict[str, Any]
    data_sha256: str
    protocol_version: str
    #: why the dataset cannot be had (not found, download failed); the run is then not executed
    data_error: str | None = None
    #: plugin name -> identity (version, and a one-file plugin's source sha256) of the plugins
    #: that registered the detector and the dataset; part of the run id
    plugins: dict[str, str] = dataclasses.field(default_factory=dict)
    #: what a detector that resolves its own parameters (a preset) says it runs with
    #: (:func:`recipe`); part of the run id when not None
    recipe: dict[str, Any] | None = None

    def with_device(self, device: str | None) -> PlannedRun:
        """The same run on another device (the run id does not change)."""
        return dataclasses.replace(self, config=dataclasses.replace(self.config, device=device))


def resolved_params(registry: Registry, config: RunConfig, dataset: BaseDataset | None) -> dict[str, Any]:
    """User parameters over the dataset's recommendations, plus the seed as ``random_state``."""
    accepted = constructor_params(registry.detector(config.detector))
    params: dict[str, Any] = {}
    card = getattr(dataset, "card", None)
    if card is not None:
        recommended = card.detector_params.get(config.detector, {})
        params.update({k: v for k, v in recommended.items() if k in accepted})
    params.update(config.params)
    if "random_state" in accepted:
        params["random_state"] = config.seed
    return params


def run_id(config: RunConfig, params: dict[str, Any], data_sha256: str, protocol_version: str,
           plugins: dict[str, str] | None = None, recipe: dict[str, Any] | None = None) -> str:
    """A stable hash of what determines the result of a run (``plugins``, ``recipe``: see
    :class:`PlannedRun`)."""
    key = {
        "plugins": plugins or {},
        "detector": config.detector,
        "params": {k: v for k, v in params.items() if k != "contamination"},
        "dataset": config.dataset,
        "dataset_options": config.dataset_options,
        "data_sha256": data_sha256,
        "protocol": config.protocol,
        "protocol_version": protocol_version,
        "seed": config.seed,
    }
    if config.protocol_options:  # absent when empty: the ids of runs without options never change
        key["protocol_options"] = config.protocol_options
    if recipe is not None:  # absent for detectors without presets: their ids never change
        key["recipe"] = {k: v for k, v in recipe.items() if k != "contamination"}
    blob = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def plan(configs: Iterable[RunConfig], context: RunContext) -> list[PlannedRun]:
    """Resolve parameters and compute the id of every run, without loading any data.

    Each dataset's file is found (or downloaded) once: its checksum goes into the run id, and
    a dataset that cannot be had gives its runs ``data_error``.  Every distinct parameter set
    of a detector is checked (:func:`check_params`); a bad one raises
    :class:`~adbench_dagmm.errors.ParameterError` (a usage error) before anything runs.
    """
    registry = context.registry
    planned: list[PlannedRun] = []
    resolved: dict[tuple[str, str], tuple[str, str | None]] = {}
    recipes: dict[tuple[str, str], dict[str, Any] | None] = {}
    with context.activate():
        for config in configs:
            key = (config.dataset, json.dumps(config.dataset_options, sort_keys=True))
            plugin = context.dataset_plugin(config.dataset, config.dataset_options)
            if key not in resolved:
                try:
                    resolved[key] = (plugin.sha256(), None)
                except AdbError as exc:
                    resolved[key] = ("", str(exc))  # its runs fail with this message, once
            sha, data_error = resolved[key]
            params = resolved_params(registry, config, plugin)
            blob = json.dumps(params, sort_keys=True, default=str)
            if (config.detector, blob) not in recipes:
                cls = registry.detector(config.detector)
                check_params(config.detector, cls, params)
                recipes[config.detector, blob] = recipe(cls, params)
            detector_recipe = recipes[config.detector, blob]
            version = registry.protocol(config.protocol).version
            if config.protocol_options:  # checked here too for configs not built by build_configs
                registry.protocol(config.protocol)(**config.protocol_options)
            plugins = {**registry.plugin_identity("detector", config.detector),
                       **registry.plugin_identity("dataset", config.dataset)}
            planned.append(PlannedRun(
                config, run_id(config, params, sha, version, plugins, detector_recipe), params,
                sha, version, data_error, plugins, detector_recipe))
    return planned


def recipe(cls: type, params: dict[str, Any]) -> dict[str, Any] | None:
    """What a detector that resolves parameters itself says it runs with, else None.

    A detector whose ``effective_params()`` differs from :class:`~adbench_dagmm.BaseDetector`'s
    fills parameters in (a preset's recipe); the recipe goes into the run id, so that a run of
    a changed recipe is a new run that supersedes the stored one instead of being skipped as
    done.  None when the detector does not override it or cannot resolve these parameters
    (its runs then say why).
    """
    if getattr(cls, "effective_params", None) in (None, BaseDetector.effective_params):
        return None
    try:
        return dict(cls(**params).effective_params())
    except Exception:  # noqa: BLE001  (not an identity problem: the runs report it)
        return None


def check_params(name: str, cls: type, params: dict[str, Any]) -> None:
    """Check a detector's parameters before any run: its ``check_params()`` method, if it has one.

    The detector contract keeps ``__init__`` a plain store of its arguments and checks them in
    ``fit``; a detector that can check them without data says so with ``check_params()``
    (raising :class:`~adbench_dagmm.errors.ParameterError`), and a bad value then stops the
    sweep with exit status 2 instead of failing each of its runs.
    """
    check = getattr(cls, "check_params", None)
    if not callable(check):
        return
    try:
        cls(**params).check_params()
    except ParameterError as exc:
        raise ParameterError(f"detector {name!r}: {exc}") from None
    except Exception:  # noqa: BLE001  (not a parameter problem: the runs say what it is)
        pass


#: Most seeds one sweep may name (a larger one plans for minutes before its first run).
MAX_SEEDS = 100_000
#: Largest seed: a run's seed is stored as a signed 64-bit SQLite integer.
MAX_SEED = 2**63 - 1


def build_configs(registry: Registry, detectors: Sequence[str], datasets: Sequence[str],
                  seeds: int | Sequence[int], seed_start: int, protocol: str | Sequence[str] | None,
                  param_specs: Sequence[str], timeout: float | None,
                  dataset_options: dict[str, Any], *,
                  grids: dict[str, list[dict[str, Any]]] | None = None,
                  device: str | None = None,
                  protocol_options: dict[str, list[Any]] | None = None) -> list[RunConfig]:
    """Validate a sweep up front (usage errors) and expand it into run configs.

    ``seeds`` is a count (from ``seed_start``) or a list of seeds; ``protocol`` is None (each
    dataset's own), a name or a list of names.  ``grids`` maps a detector to its parameter
    sets (from a sweep file); ``param_specs`` (``--param`` values) are set on every one of
    them.  A ``--param`` key given more than once is a sweep axis: one run per value.
    ``--param protocol.NAME=VALUE`` sets an option of every protocol of the sweep, and
    ``protocol_options`` (a sweep file's ``[protocol_options]``: name -> list of values) adds
    option axes; the command line wins for a name given in both.  ``device`` goes to the
    detectors that have a ``device`` parameter.
    """
    if not detectors:
        raise UsageError("give at least one --detector (see `adb list detectors`).")
    if not datasets:
        raise UsageError("give at least one --dataset (see `adb list datasets`).")
    if isinstance(seeds, int):
        if not 1 <= seeds <= MAX_SEEDS:
            raise UsageError(f"--seeds must be from 1 to {MAX_SEEDS:,}, got {seeds:,}; split a "
                             "larger sweep with --seed-start.")
        seed_list = list(range(seed_start, seed_start + seeds))
    else:
        seed_list = list(dict.fromkeys(seeds))
    bad = [s for s in seed_list if not 0 <= s <= MAX_SEED]
    if bad:
        raise UsageError(f"seeds must be from 0 to 2**63 - 1 (the store's integer range); "
                         f"{'--seed-start and --seeds give' if isinstance(seeds, int) else 'got'} "
                         f"{bad[0]}.")
    names = registry.expand("detector", list(detectors))
    datasets = registry.expand("dataset", list(datasets))
    for name in names:
        registry.get("detector", name)
    from .protocols import OPTION_OWNER

    raw = parse_param_axes(list(param_specs))
    option_texts = raw.pop(OPTION_OWNER, {})
    for owner in raw:
        if owner not in names:
            raise UsageError(
                f"--param given for {owner!r}, which is not among the detectors of this run "
                f"({', '.join(names)}); protocol options are --param protocol.NAME=VALUE."
            )
    variants: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        axes = [[(key, text) for text in texts] for key, texts in raw.get(name, {}).items()]
        fixed_sets = [build_params(name, registry.detector(name), dict(combo))
                      for combo in itertools.product(*axes)]
        sets = [{**grid, **fixed} for grid in (grids or {}).get(name, [{}]) for fixed in fixed_sets]
        variants[name] = list({json.dumps(v, sort_keys=True, default=str): v for v in sets}.values())
    takes_device = {name: "device" in constructor_params(registry.detector(name)) for name in names}
    protocols = [protocol] if isinstance(protocol, str) else list(protocol or [])
    for proto in protocols:
        registry.get("protocol", proto)
    configs = []
    option_sets: dict[str, list[dict[str, Any]]] = {}
    for spec in dict.fromkeys(datasets):
        plugin = registry.make_dataset(spec, dataset_options)
        card = getattr(plugin, "card", None)
        for proto in protocols or [card.default_protocol if card else "zong2018"]:
            registry.get("protocol", proto)
            if proto not in option_sets:
                option_sets[proto] = protocol_option_sets(registry, proto, option_texts,
                                                          protocol_options or {})
            for options in option_sets[proto]:
                for seed in seed_list:
                    for name in names:
                        for params in variants[name]:
                            configs.append(RunConfig(
                                detector=name, params=params, dataset=spec, protocol=proto,
                                seed=seed, dataset_options=dataset_options, timeout=timeout,
                                device=device if takes_device[name] else None,
                                protocol_options=options,
                            ))
    return configs


def protocol_option_sets(registry: Registry, protocol: str, texts: dict[str, list[str]],
                         values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The option sets of ``protocol`` in a sweep: the product of its option axes, typed.

    ``texts`` come from ``--param protocol.NAME=TEXT`` (typed by the option's declaration),
    ``values`` from a sweep file (already typed by TOML); a name in both takes the command
    line's values.  Each set is checked by instantiating the protocol (a bad value or
    combination is a :class:`ParameterError`, exit status 2).
    """
    cls = registry.protocol(protocol)
    declared = {option.name: option for option in cls.options}
    axes = []
    for key in dict.fromkeys([*values, *texts]):
        option = declared.get(key)
        if option is None:
            sample = texts[key][0] if key in texts else values[key][0]
            cls(**{key: sample})  # raises: unknown option, or one this protocol refuses
            raise ParameterError(f"protocol {protocol!r} has no declared option {key!r}.")
        typed = ([option.parse(protocol, t) for t in texts[key]] if key in texts
                 else [option.check(protocol, v) for v in values[key]])
        axes.append([(key, value) for value in dict.fromkeys(typed)])
    sets = [dict(combo) for combo in itertools.product(*axes)]
    for options in sets:
        cls(**options)  # options checked against each other
    return sets


def grid_labels(configs: Iterable[RunConfig]) -> dict[str, list[str]]:
    """Per detector, the parameters that vary between its runs of this sweep (its grid axes)."""
    values: dict[str, dict[str, set[str]]] = {}
    for config in configs:
        keys = values.setdefault(config.detector, {})
        for key in set(config.params) | set(keys):
            keys.setdefault(key, set()).add(json.dumps(config.params.get(key), default=str))
    return {name: sorted(k for k, seen in keys.items() if len(seen) > 1)
            for name, keys in values.items() if any(len(seen) > 1 for seen in keys.values())}
