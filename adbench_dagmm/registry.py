"""The plugin registry: built-ins, entry points and one-file plugins, all through pluggy hooks.

Built-in plugins (:func:`builtin_modules`) register through the very hooks third-party plugins use:
detectors, datasets, protocols, suites, published reference results and report sections.  A
dataset spec that is no registered name (a file path) goes to the ``adb_resolve_dataset`` hook.
Third-party distributions are found through the ``adbench_dagmm`` entry-point group; one-file
plugins through ``--plugins-dir`` / ``$ADB_PLUGINS_DIR``.  A plugin that fails to import or to
register is listed as unavailable with its reason and the rest keeps working; a name registered
twice is an error naming both plugins.

Why one module of about 420 lines: loading plugins (built-ins, entry points, files) and looking
up what they registered share the ``PluginInfo`` bookkeeping that ``adb plugins`` shows.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError, UsageError

PROJECT = "adbench_dagmm"
ENTRY_POINT_GROUP = "adbench_dagmm"
PLUGINS_DIR_ENV = "ADB_PLUGINS_DIR"
DISABLE_ENV = "ADB_DISABLE_PLUGINS"

#: Always registered (llm/datasette ``DEFAULT_PLUGINS``): the built-in protocols and the two
#: packages that ship with adbench-dagmm.  A package lists its plugin modules in ``PLUGINS``, so
#: the core names no detector or dataset module.
BUILTIN_PLUGINS: tuple[str, ...] = ("adbench_dagmm.protocols", "adb_plugins", "adb_datasets")


def builtin_modules() -> list[str]:
    """The built-in plugin modules: each of ``BUILTIN_PLUGINS``, a package expanded to the
    modules its ``PLUGINS`` names."""
    modules: list[str] = []
    for name in BUILTIN_PLUGINS:
        listed = getattr(importlib.import_module(name), "PLUGINS", None)
        modules += [f"{name}.{m}" for m in listed] if listed else [name]
    return modules


KINDS = ("detector", "dataset", "protocol", "suite", "reference", "report_section")
_HOOK_OF_KIND = {
    "detector": "adb_register_detectors",
    "dataset": "adb_register_datasets",
    "protocol": "adb_register_protocols",
    "suite": "adb_register_suites",
    "reference": "adb_register_references",
    "report_section": "adb_register_report_sections",
}
#: Kinds whose registrations are values (dataclass instances with a ``name``), not classes.
_VALUE_KINDS = ("reference", "report_section")
#: A registry key: ``kddcup99``, or namespaced for collections: ``odds:wbc``, ``adbench:38_thyroid``.
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(:[a-z0-9][a-z0-9_.-]*)?$")


@dataclasses.dataclass
class PluginInfo:
    """One plugin as ``adb plugins`` shows it."""

    name: str
    version: str
    source: str  # "builtin", "entry point <dist>", "file <path>"
    hooks: list[str] = dataclasses.field(default_factory=list)
    registered: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    error: str | None = None
    #: sha256 of a one-file plugin's source ("" for installed plugins)
    sha256: str = ""

    @property
    def available(self) -> bool:
        return self.error is None

    @property
    def identity(self) -> str:
        """What identifies this plugin's code in a run's configuration: its distribution's
        version, and for a one-file plugin the sha256 of its source as well (a one-file plugin
        has no distribution; editing it changes its identity)."""
        if not self.sha256:
            return self.version
        return " ".join(filter(None, (self.version, f"sha256:{self.sha256[:16]}")))


@dataclasses.dataclass(frozen=True)
class Suite:
    """A named group of detectors or datasets (``--detector baselines``, ``--dataset suite:odds``)."""

    kind: str  # "detector" or "dataset"
    name: str
    members: Any  # sequence of names, or a callable returning one
    description: str = ""

    def resolve(self) -> list[str]:
        members = self.members() if callable(self.members) else self.members
        return list(members)


@dataclasses.dataclass
class Entry:
    """A registered class and the plugin that registered it."""

    kind: str
    name: str
    cls: type
    plugin: str

    def unavailable_reason(self) -> str | None:
        check = getattr(self.cls, "check_available", None)
        return check() if callable(check) else None


class Registry:
    """Everything the plugins registered, by kind and name."""

    def __init__(self, pm: pluggy.PluginManager, plugins: list[PluginInfo]) -> None:
        self.pm = pm
        self.plugins = plugins
        self.entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}

    # -- lookups -------------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def get(self, kind: str, name: str) -> Entry:
        table = self.entries[kind]
        if name in table:
            return table[name]
        close = difflib.get_close_matches(name, table, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UsageError(
            f"unknown {kind} {name!r}.{hint} `adb list {kind}s` shows all {len(table)}."
        )

    def detector(self, name: str) -> type:
        return self.get("detector", name).cls

    def plugin_identity(self, kind: str, name: str) -> dict[str, str]:
        """``{plugin: identity}`` of the plugin that registered ``name`` (see
        :attr:`PluginInfo.identity`); empty for a name no plugin registered (a file dataset)."""
        entry = self.entries[kind].get(name)
        info = next((p for p in self.plugins if entry and p.name == entry.plugin), None)
        return {info.name: info.identity} if info is not None else {}

    def dataset(self, name: str) -> type:
        return self.get("dataset", name).cls

    def protocol(self, name: str) -> type:
        return self.get("protocol", name).cls

    def make_dataset(self, spec: str, options: dict[str, Any] | None = None) -> Any:
        """The dataset instance for a registered name, or for a spec a plugin resolves (a file).

        A registered dataset gets the options as constructor arguments (one it does not take is
        a :class:`UsageError` naming the ones it does); any other spec goes to the
        ``adb_resolve_dataset`` hook; a spec nobody resolves is an unknown dataset.
        """
        from .params import constructor_params

        options = dict(options or {})
        if spec in self.entries["dataset"]:
            cls = self.dataset(spec)
            accepted = constructor_params(cls)
            unknown = sorted(k for k in options if k not in accepted)
            if unknown:
                takes = ", ".join(sorted(accepted)) or "none"
                raise UsageError(f"dataset {spec!r} does not take the option(s) "
                                 f"{', '.join(unknown)} (it takes: {takes}); leave them out.")
            return cls(**options)
        found = self.pm.hook.adb_resolve_dataset(spec=spec, options=options)
        if found is not None:
            return found
        self.get("dataset", spec)  # raises with the closest names
        raise AssertionError("unreachable")

    # -- registration --------------------------------------------------------------------------
    def suite(self, kind: str, name: str) -> Suite | None:
        entry = self.entries["suite"].get(f"{kind}:{name}")
        return entry.cls if entry else None  # type: ignore[return-value]

    def expand(self, kind: str, names: list[str]) -> list[str]:
        """Replace suite names by their members (detector suites by name, datasets by suite:NAME)."""
        out: list[str] = []
        for name in names:
            key = name.split(":", 1)[1] if kind == "dataset" and name.startswith("suite:") else name
            suite = self.suite(kind, key) if (kind == "detector" or name.startswith("suite:")) else None
            if suite is not None:
                out.extend(suite.resolve())
            elif kind == "dataset" and name.startswith("suite:"):
                known = [e.cls.name for e in self.entries["suite"].values() if e.cls.kind == "dataset"]
                raise UsageError(f"unknown dataset suite {name!r}; known: {', '.join(f'suite:{k}' for k in known) or 'none'}.")
            else:  # an alias (adbench:thyroid) runs, and is stored, under its canonical name
                entry = self.entries[kind].get(name)
                out.append((getattr(entry.cls, "alias_of", None) or name) if entry else name)
        return list(dict.fromkeys(out))

    def _register(self, kind: str, plugin: str, cls: Any) -> None:
        if kind in _VALUE_KINDS:
            self._register_value(kind, plugin, cls)
            return
        if kind == "suite":
            if not isinstance(cls, Suite) or cls.kind not in ("detector", "dataset"):
                raise PluginError(f"plugin {plugin!r} registered {cls!r} as a suite; use adbench_dagmm.Suite.")
            key = f"{cls.kind}:{cls.name}"
            if key in self.entries["suite"]:
                raise PluginError(
                    f"{cls.kind} suite {cls.name!r} registered by both "
                    f"{self.entries['suite'][key].plugin!r} and {plugin!r}."
                )
            self.entries["suite"][key] = Entry("suite", key, cls, plugin)  # type: ignore[arg-type]
            return
        name = getattr(cls, "name", None)
        if not isinstance(cls, type) or not isinstance(name, str) or not _NAME_RE.match(name):
            raise PluginError(
                f"plugin {plugin!r} registered {cls!r} as a {kind}, which needs a class with a "
                f"`name` matching [a-z][a-z0-9_]* (got {name!r})."
            )
        self._add(kind, name, cls, plugin)

    def _register_value(self, kind: str, plugin: str, value: Any) -> None:
        from .references import ReferenceSet
        from .reporting.sections import ReportSection

        expected = {"reference": ReferenceSet, "report_section": ReportSection}[kind]
        name = getattr(value, "name", None)
        if not isinstance(value, expected) or not isinstance(name, str) or not _NAME_RE.match(name):
            raise PluginError(
                f"plugin {plugin!r} registered {value!r} as a {kind.replace('_', ' ')}, which needs "
                f"an adbench_dagmm {expected.__name__} with a `name` matching [a-z][a-z0-9_]*."
            )
        self._add(kind, name, value, plugin)

    def _add(self, kind: str, name: str, value: Any, plugin: str) -> None:
        """Enter a checked registration; a name registered twice names both plugins."""
        table = self.entries[kind]
        if name in table:
            raise PluginError(
                f"{kind.replace('_', ' ')} {name!r} registered by both {table[name].plugin!r} and "
                f"{plugin!r}; rename one, or block one with {DISABLE_ENV}=<plugin>."
            )
        table[name] = Entry(kind, name, value, plugin)  # type: ignore[arg-type]


def _module_version(module: object, default: str | None = None) -> str:
    """``module.__version__``, else ``default``, else this distribution's version (built-ins)."""
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    if default is not None:
        return default
    try:
        return importlib.metadata.version("adbench-dagmm")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def _reason(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _file_sha256(path: Path) -> str:
    import hashlib

    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _load_file_plugin(path: Path) -> ModuleType:
    mod_name = f"adb_local_plugin_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot import plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(mod_name, None)
        raise
    return module


def get_plugin_manager(
    *,
    load_entrypoints: bool = True,
    plugins_dir: str | os.PathLike[str] | None = None,
) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """A fresh plugin manager with built-ins, entry points and plugin-folder files registered.

    Nothing is loaded at import time; every call builds a new manager (tests get a clean one).
    Plugins named in ``$ADB_DISABLE_PLUGINS`` (comma separated) are blocked.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for blocked in filter(None, (s.strip() for s in os.environ.get(DISABLE_ENV, "").split(","))):
        pm.set_blocked(blocked)
    infos: list[PluginInfo] = []

    def add(name: str, version: str, source: str, load, sha256: str = "") -> None:  # type: ignore[no-untyped-def]
        if pm.is_blocked(name):
            return
        info = PluginInfo(name=name, version=version, source=source, sha256=sha256)
        infos.append(info)
        try:
            module = load()
            pm.register(module, name=name)
            if version == "":
                info.version = _module_version(module, default="" if sha256 else None)
        except Exception as exc:  # the plugin is broken, the framework is not
            info.error = _reason(exc)

    for mod in builtin_modules():
        add(mod, "", "builtin", lambda mod=mod: importlib.import_module(mod))

    if load_entrypoints:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            version = dist.version if dist is not None else "?"
            source = f"entry point of {dist.name}" if dist is not None else "entry point"
            add(ep.name, version, source, ep.load)

    folder = plugins_dir or os.environ.get(PLUGINS_DIR_ENV)
    if folder:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise UsageError(
                f"plugins folder {folder} does not exist; pass an existing folder to "
                f"--plugins-dir or {PLUGINS_DIR_ENV}."
            )
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            # an installed plugin of the same name keeps its name; the file is `file:<stem>`,
            # so both load (and a name either registers twice is an error naming both)
            if pm.is_blocked(path.stem):  # ADB_DISABLE_PLUGINS=<stem>; `file:<stem>` blocks the file only
                continue
            taken = any(info.name == path.stem for info in infos)
            name = f"file:{path.stem}" if taken else path.stem
            add(name, "", f"file {path}", lambda path=path: _load_file_plugin(path),
                sha256=_file_sha256(path))

    pm.check_pending()
    return pm, infos


def build_registry(
    *,
    load_entrypoints: bool = True,
    plugins_dir: str | os.PathLike[str] | None = None,
) -> Registry:
    """Load every plugin and collect what each registers (see :func:`get_plugin_manager`)."""
    pm, infos = get_plugin_manager(load_entrypoints=load_entrypoints, plugins_dir=plugins_dir)
    registry = Registry(pm, infos)
    by_name = {info.name: info for info in infos}
    for kind in KINDS:
        hook = getattr(pm.hook, _HOOK_OF_KIND[kind])
        # get_hookimpls() is in registration order: built-ins first, so a duplicate blames the newcomer
        for impl in hook.get_hookimpls():
            info = by_name.get(impl.plugin_name)
            if info is None or info.error:
                continue
            staged: list[type] = []
            try:
                impl.function(register=staged.append)
            except Exception as exc:
                info.error = f"{_HOOK_OF_KIND[kind]} failed: {_reason(exc)}"
                continue
            for cls in staged:
                registry._register(kind, impl.plugin_name, cls)  # a duplicate is fatal
                info.registered.setdefault(kind, []).append(
                    f"{cls.kind}:{cls.name}" if kind == "suite" else cls.name
                )
            if _HOOK_OF_KIND[kind] not in info.hooks:
                info.hooks.append(_HOOK_OF_KIND[kind])
    for impl in pm.hook.adb_resolve_dataset.get_hookimpls():  # hooks that register nothing
        info = by_name.get(impl.plugin_name)
        if info is not None and "adb_resolve_dataset" not in info.hooks:
            info.hooks.append("adb_resolve_dataset")
    # a plugin whose hooks failed must not leave half its entries behind
    for info in infos:
        if info.error:
            for kind, names in info.registered.items():
                for name in names:
                    registry.entries[kind].pop(name, None)
    return registry


def get_registry(*, plugins_dir: str | os.PathLike[str] | None = None) -> Registry:
    """A registry of every installed plugin (and those in ``plugins_dir``), built anew.

    Nothing is cached at module level: a caller that needs it twice keeps the value (the CLI
    builds one per command, a :class:`~adbench_dagmm.context.RunContext` one per context).
    """
    return build_registry(plugins_dir=plugins_dir)


def get_detectors() -> dict[str, type]:
    return {name: e.cls for name, e in get_registry().entries["detector"].items()}


def get_datasets() -> dict[str, type]:
    return {name: e.cls for name, e in get_registry().entries["dataset"].items()}


def get_protocols() -> dict[str, type]:
    return {name: e.cls for name, e in get_registry().entries["protocol"].items()}
