"""Which PyOD detectors exist here, under which names, with which constructor parameters.

The list comes from PyOD itself: its knowledge base (``pyod/utils/knowledge/algorithms.json``,
PyOD >= 3) names every shipped detector, its class path, data types, complexity and extras.  We
keep the ``tabular`` ones.  Constructor signatures are read from the PyOD source with ``ast``
(literal defaults only), so listing detectors imports neither torch nor any PyOD model; a class
whose signature cannot be read that way is imported instead.  This module holds no plugin hooks:
``pyod_baselines`` turns each :class:`Spec` into a detector class.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Registry names that are not simply the lowercased PyOD class name (kept stable on purpose).
NAME_OVERRIDES = {"FeatureBagging": "feature_bagging"}

#: Quadratic in training rows although PyOD's knowledge base does not say ``n^2``: LMDD is on
#: issue #4's list of detectors a KDD99 sweep cannot afford uncapped.
EXTRA_QUADRATIC = frozenset({"LMDD"})

#: PyOD scores new rows of these among themselves, ignoring the training data (read from their
#: ``decision_function``): cost is quadratic (LOCI: cubic) in *scored* rows, which no training
#: cap bounds, and a row's score depends on the batch it is scored with.
TRANSDUCTIVE = frozenset({"COF", "LOCI", "LMDD", "SOD", "SOS"})

#: Detectors whose ``fit`` needs labels, and which: the wrapper's ``supervision``.  The runner
#: passes them the labels a protocol reveals (``--param protocol.labeled_anomalies=...``):
#: DevNet learns from the few labelled anomalies and treats the other rows as unlabeled;
#: XGBOD is a classifier (XGBoost on the scores of unsupervised detectors) that takes every
#: unrevealed row as normal, as ADBench feeds it.
SUPERVISION = {"DevNet": "semi-supervised", "XGBOD": "supervised"}

#: PyOD defects that make a detector's scores not those of its paper, noted on every run of it.
KNOWN_DEFECTS = {
    "DevNet": "PyOD's DevNet calls deviation_loss(outputs, labels) with its arguments swapped "
    "(the signature is deviation_loss(y_true, y_pred)), so it does not train Pang et al.'s "
    "deviation loss; its scores are not DevNet's (checked for PyOD 3.6)",
}

#: Warnings a detector's PyOD code raises on every fit that say nothing about the run, by class:
#: XGBOD fits PyOD's unsupervised detectors with the labels (PyOD warns) and passes XGBoost a
#: ``silent`` parameter XGBoost >= 1 ignores (XGBoost warns).  Regular expressions, matched
#: against the start of the message.
QUIET_WARNINGS = {
    "XGBOD": (r"y should not be presented in unsupervised learning",
              r"(?s).*Parameters: \{ \"silent\" \} are not used"),
}

#: Detectors that can never run here, and why (none at present; kept for PyOD releases that
#: ship a detector we cannot feed).
STATIC_UNAVAILABLE: dict[str, str] = {}

#: Required constructor arguments the wrapper fills in from the training data.
FROM_DATA = {"n_features": lambda X: int(X.shape[1])}

#: Defaults we change, and why: PyOD's deep models print per-epoch progress to stdout/stderr by
#: default (``verbose=1``), which would interleave with ``adb run``'s own output.
DEFAULT_OVERRIDES: dict[str, Any] = {"verbose": 0}

#: Defaults changed for one detector so that the curated ``baselines`` suite runs on a laptop:
#: with PyOD's batches of 32, DeepSVDD's 100 epochs on KDD99's training half are ~620k optimizer
#: steps and AutoEncoder's 10 epochs ~62k, most of a KDD99 sweep's time.  Larger batches (and
#: fewer DeepSVDD epochs) cut the steps ~10-40x.  Each run that uses one of these says so in a
#: note, and the README lists them next to PyOD's values; ``--param`` restores PyOD's.
DETECTOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "AutoEncoder": {"batch_size": 256},
    "DeepSVDD": {"batch_size": 256, "epochs": 20},
}

#: Used when PyOD ships no knowledge base (PyOD 2.x): the classic tabular detectors.
FALLBACK_CLASS_PATHS = (
    "pyod.models.abod.ABOD", "pyod.models.cblof.CBLOF", "pyod.models.cof.COF",
    "pyod.models.copod.COPOD", "pyod.models.ecod.ECOD", "pyod.models.gmm.GMM",
    "pyod.models.hbos.HBOS", "pyod.models.iforest.IForest", "pyod.models.inne.INNE",
    "pyod.models.kde.KDE", "pyod.models.knn.KNN", "pyod.models.loda.LODA", "pyod.models.lof.LOF",
    "pyod.models.mcd.MCD", "pyod.models.ocsvm.OCSVM", "pyod.models.pca.PCA",
    "pyod.models.sod.SOD", "pyod.models.sos.SOS", "pyod.models.lmdd.LMDD",
    "pyod.models.loci.LOCI", "pyod.models.feature_bagging.FeatureBagging",
    "pyod.models.auto_encoder.AutoEncoder", "pyod.models.vae.VAE",
    "pyod.models.deep_svdd.DeepSVDD",
)
_FALLBACK_QUADRATIC = frozenset(
    {"ABOD", "COF", "KDE", "KNN", "LOF", "OCSVM", "SOD", "SOS", "LMDD", "LOCI"})
_QUADRATIC_RE = re.compile(r"n\s*\^\s*[23]|n\*\*[23]")


@dataclasses.dataclass(frozen=True)
class Spec:
    """One PyOD detector class as the catalog sees it (nothing imported yet)."""

    pyod_name: str  # "KNN"
    class_path: str  # "pyod.models.knn.KNN"
    name: str  # registry key, "knn"
    full_name: str = ""
    quadratic: bool = False  # cost quadratic (or worse) in training rows: gets max_train_rows
    requires: tuple[str, ...] = ()  # PyOD's list of extras (torch, combo, xgboost, ...)
    complexity: str = ""

    @property
    def module(self) -> str:
        return self.class_path.rsplit(".", 1)[0]


def registry_name(pyod_name: str) -> str:
    return NAME_OVERRIDES.get(pyod_name, pyod_name.lower())


@lru_cache(maxsize=1)
def catalog() -> tuple[Spec, ...]:
    """Every tabular detector PyOD ships, in PyOD's order (its knowledge base), else a fallback."""
    package = module_source("pyod")  # pyod/__init__.py, found without importing PyOD
    if package is None:
        return ()
    return read_catalog(package.parent / "utils" / "knowledge" / "algorithms.json")


def read_catalog(kb: Path) -> tuple[Spec, ...]:
    """The tabular, shipped detectors of knowledge-base file ``kb`` (the fallback list if absent)."""
    if not kb.is_file():
        return tuple(Spec(path.rsplit(".", 1)[1], path, registry_name(path.rsplit(".", 1)[1]),
                          quadratic=path.rsplit(".", 1)[1] in _FALLBACK_QUADRATIC)
                     for path in FALLBACK_CLASS_PATHS)
    out = []
    for pyod_name, entry in json.loads(kb.read_text(encoding="utf-8")).items():
        if "tabular" not in entry.get("data_types", ()) or entry.get("status") != "shipped":
            continue
        path = entry.get("class_path", "")
        if not path.startswith("pyod.models.") or path.rsplit(".", 1)[1] != pyod_name:
            continue
        time = str(entry.get("complexity", {}).get("time", ""))
        out.append(Spec(
            pyod_name=pyod_name, class_path=path, name=registry_name(pyod_name),
            full_name=str(entry.get("full_name", "")),
            quadratic=bool(_QUADRATIC_RE.search(time)) or pyod_name in EXTRA_QUADRATIC,
            requires=tuple(entry.get("requires", ())), complexity=time,
        ))
    return tuple(out)


# -- constructor signatures ----------------------------------------------------------------------
@lru_cache(maxsize=None)
def pyod_parameters(spec: Spec) -> tuple[inspect.Parameter, ...]:
    """The PyOD class's ``__init__`` parameters (without ``self``), defaults included.

    Read from the source with ``ast`` when every default is a literal (no import: no torch); a
    class defined elsewhere or with a computed default is imported and inspected instead,
    except one that can never run here (:data:`STATIC_UNAVAILABLE`): importing PyOD for it would
    cost every ``adb`` command ~200 MB.
    """
    params = _parameters_from_source(spec)
    if params is None and spec.pyod_name in STATIC_UNAVAILABLE:
        return ()
    if params is None:
        try:
            init = import_class(spec).__init__
        except Exception:  # unavailable here; unavailable_reason() says why
            return ()
        params = tuple(p for p in inspect.signature(init).parameters.values()
                       if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
    return params


def module_source(module: str) -> Path | None:
    """The ``.py`` file of a dotted module name, found without importing anything.

    ``importlib.util.find_spec("pyod.models.knn")`` would import ``pyod`` and ``pyod.models``
    (and with them scikit-learn, pandas, scipy and numba: ~200 MB and a second of start-up),
    so only the top-level package is located and the rest of the path is walked on disk.
    """
    top, *rest = module.split(".")
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    if not rest:
        return Path(found.origin) if found.origin and found.origin.endswith(".py") else None
    for location in found.submodule_search_locations or ():
        base = Path(location).joinpath(*rest)
        for candidate in (base.parent / f"{base.name}.py", base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _parameters_from_source(spec: Spec) -> tuple[inspect.Parameter, ...] | None:
    source = module_source(spec.module)
    if source is None:
        return None
    tree = ast.parse(source.read_text(encoding="utf-8"))
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == spec.pyod_name), None)
    init = cls and next(
        (n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return None
    args = init.args
    if args.vararg or args.posonlyargs:
        return None  # (a ``**kwargs`` is dropped, as inspect-based reading drops it too)
    positional = args.args[1:]  # drop self
    defaults: list[Any] = [inspect.Parameter.empty] * (len(positional) - len(args.defaults))
    try:
        defaults += [ast.literal_eval(d) for d in args.defaults]
        kw_defaults = [inspect.Parameter.empty if d is None else ast.literal_eval(d)
                       for d in args.kw_defaults]
    except ValueError:  # a computed default: ask Python instead
        return None
    out = [inspect.Parameter(a.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
           for a, d in zip(positional, defaults)]
    out += [inspect.Parameter(a.arg, inspect.Parameter.KEYWORD_ONLY, default=d)
            for a, d in zip(args.kwonlyargs, kw_defaults)]
    return tuple(out)


# -- availability --------------------------------------------------------------------------------
def import_class(spec: Spec) -> type:
    import contextlib
    import io

    # some PyOD modules print "please install X" before raising; stdout is for results
    with contextlib.redirect_stdout(io.StringIO()):
        module = importlib.import_module(spec.module)
    cache_numba_kernels(module.__name__)
    return getattr(module, spec.pyod_name)  # type: ignore[no-any-return]


@lru_cache(maxsize=None)
def cache_numba_kernels(module_name: str) -> int:
    """Turn numba's on-disk cache on for the kernels that PyOD module ``module_name`` defines.

    PyOD's ``@njit`` kernels (HBOS, SOS, LMDD, ROD, ...) are declared without ``cache=True``, so
    every new process compiles them again, which for HBOS takes longer than a whole run on a
    small file.  ``enable_caching()`` is what ``@njit(cache=True)`` itself calls on the new
    dispatcher; numba then keeps the machine code next to the module (or in its user cache
    directory, or ``$NUMBA_CACHE_DIR``) and recompiles when the module's source changes.  The
    compiled code and so the scores are the same.  Where no cache directory is writable, the
    kernels are compiled per process as before.  Returns how many kernels cache.
    """
    module = importlib.import_module(module_name)
    if "numba" not in sys.modules:  # nothing imported numba, so the module defines no kernels
        return 0
    from numba.core.dispatcher import Dispatcher

    kernels = [v for v in vars(module).values() if isinstance(v, Dispatcher)
               and getattr(v.py_func, "__module__", None) == module_name]
    cached = 0
    for kernel in kernels:
        try:
            kernel.enable_caching()
            cached += 1
        except RuntimeError:  # numba: "no locator available" (nowhere writable to cache)
            pass
    return cached


@lru_cache(maxsize=None)
def unavailable_reason(spec: Spec) -> str | None:
    """Why ``spec`` cannot run here (import error, missing extra, required argument), or None."""
    try:
        import_class(spec)
    except Exception as exc:  # ImportError, but also whatever a broken extra raises
        missing = getattr(exc, "name", None)
        hint = ""
        if isinstance(exc, ImportError) and missing:
            hint = f"; install it with `pip install {missing}`"
        return f"PyOD's {spec.pyod_name} cannot be imported: {type(exc).__name__}: {exc}{hint}"
    if spec.pyod_name in STATIC_UNAVAILABLE:
        return STATIC_UNAVAILABLE[spec.pyod_name]
    required = [p.name for p in pyod_parameters(spec)
                if p.default is inspect.Parameter.empty and p.name not in FROM_DATA]
    if required:
        return (f"PyOD's {spec.pyod_name} requires {', '.join(required)} (no default; "
                "e.g. a list of detector objects), which --param cannot express")
    return None
