"""PyOD baselines: every tabular PyOD detector as a detector plugin, plus the ``baselines`` suite.

One wrapper class per detector in :func:`adb_plugins.pyod_catalog.catalog` (``KNNDetector`` for
``knn``, ...), generated at import and bound to this module under its ``__qualname__``, so
instances pickle.  Each wrapper's ``__init__`` has the PyOD constructor's parameters and defaults
(so the runner's ρ → ``contamination`` and seed → ``random_state`` and the CLI's ``--param``
typing work), except ``verbose``, which defaults to 0, and ``n_features``, taken from the data.

What the wrappers add to PyOD, each visible on the run as a note:

* ``max_train_rows`` (detectors quadratic in training rows: OCSVM, LOF, KNN, ABOD, COF, SOD, LOCI, SOS,
  LMDD, KDE, ...): fit on a seeded random subsample of at most this many rows (default 20,000,
  KNN 200,000 thanks to its fast path; 0 or None lifts the cap).  Detectors that do not take
  ``random_state`` get one for the sample.
* ``fast`` (KNN, ECOD, COPOD; default True): PyOD's class with an exact fast path, the same
  parameters and the same scores (:mod:`adb_plugins.neighbors`: exact Euclidean neighbours from
  BLAS blocks over distinct rows; :mod:`adb_plugins.ecdf`: the ECDFs column by column, without
  PyOD's dense copies).  ``fast=False`` runs PyOD's own code, for comparisons.
* OCSVM scores in blocks of 4,096 rows with BLAS (the same kernel expansion as libsvm, checked
  equal in the tests), because libsvm's per-row scoring took 354 s on KDD99's test half.
* PCA drops numerically zero-variance components before fitting: PyOD divides by each
  component's explained variance, so on KDD99 (constant and one-hot columns) every score was
  non-finite.
* ``batch_size`` above the number of training rows becomes that number (PyOD's torch models
  drop the last incomplete batch, so they would not train at all).
* Laptop defaults (``pyod_catalog.DETECTOR_DEFAULTS``: AutoEncoder's and DeepSVDD's batch size,
  DeepSVDD's epochs) instead of PyOD's, noted on each run that uses them.
* ``device="auto"`` (the runner's default) is resolved to a torch device in ``fit``; PyOD's
  ``print`` calls go to stderr, as stdout carries results; detectors that PyOD scores
  transductively (COF, LOCI, LMDD, SOD, SOS) say so in a note.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import sys
import warnings
from typing import Any, ClassVar

import numpy as np

from adbench_dagmm.detector import BaseDetector
from adbench_dagmm.errors import DataError, ParameterError, PluginError
from adbench_dagmm.hookspecs import hookimpl
from adbench_dagmm.registry import Suite

from . import pyod_catalog as catalog
from .pyod_catalog import Spec

#: Default training cap of the quadratic detectors (see the module docstring).
MAX_TRAIN_ROWS = 20_000
#: Caps that differ from MAX_TRAIN_ROWS, by PyOD class: KNN's exact fast path (distinct rows
#: only, BLAS blocks) makes all the training rows of a KDD99-sized data set affordable.
MAX_TRAIN_ROWS_BY_CLASS = {"KNN": 200_000}
#: PyOD classes with an exact fast path (``fast=True``, the default): same parameters and scores.
FAST_CLASSES = {"KNN": "adb_plugins.neighbors", "LOF": "adb_plugins.neighbors",
                "ECOD": "adb_plugins.ecdf",
                "COPOD": "adb_plugins.ecdf"}
#: Rows per block when scoring OCSVM with BLAS, at most; fewer when there are so many support
#: vectors that a block's kernel matrix would exceed OCSVM_BLOCK_VALUES float64s (256 MiB).
OCSVM_BLOCK_ROWS = 4_096
OCSVM_BLOCK_VALUES = 2**25

#: The curated suite, ``--detector baselines``.
BASELINES = ("iforest", "ocsvm", "lof", "knn", "ecod", "copod", "hbos", "pca", "gmm",
             "autoencoder", "deepsvdd")


class PyODDetector(BaseDetector):
    """Base of the generated wrappers: validation, the training cap, and PyOD-specific fixes."""

    spec: ClassVar[Spec]
    #: Wrapper parameters that PyOD's constructor does not take.
    own_params: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def check_available(cls) -> str | None:
        return catalog.unavailable_reason(cls.spec)

    # -- fit ---------------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> PyODDetector:
        """Fit on ``X``; a semi-/supervised detector (``supervision``) also needs ``y``, the
        revealed labels (1 = labelled anomaly, 0 = unlabeled); an unsupervised one ignores it."""
        X = self._validate_data(X, reset=True)
        reason = self.check_available()
        if reason:
            raise PluginError(f"detector {self.name!r} is unavailable: {reason}")
        labels = self._check_labels(X, y)
        pyod_cls = self._pyod_class()
        params = {k: v for k, v in self.get_params().items() if k not in self.own_params}
        params.update({k: fill(X) for k, fill in catalog.FROM_DATA.items()
                       if any(p.name == k for p in catalog.pyod_parameters(self.spec))})
        if params.get("device") == "auto":  # the runner's default; PyOD wants a torch device
            params["device"] = _auto_device()
        self.device_ = params.get("device")
        self.notes_: list[str] = []
        X_fit, labels = self._subsample(X, labels)
        if self.spec.pyod_name in catalog.KNOWN_DEFECTS:
            self.notes_.append(f"{self.name}: {catalog.KNOWN_DEFECTS[self.spec.pyod_name]}")
        self._note_changed_defaults()
        if self.spec.pyod_name in catalog.TRANSDUCTIVE:
            self.notes_.append(
                f"{self.name}: PyOD scores test rows among themselves (training data unused at "
                "scoring), so scoring cost grows quadratically with test rows"
            )
        if self.spec.pyod_name == "PCA":
            params = self._pca_params(X_fit, params)
        batch = params.get("batch_size")
        if isinstance(batch, (int, np.integer)) and not isinstance(batch, bool) \
                and batch > X_fit.shape[0] > 0:
            # PyOD's torch models drop the last incomplete batch: with fewer rows than one
            # batch they would train on nothing (AutoEncoder crashes); one batch of all rows is
            # what a loader that keeps it would give
            params = {**params, "batch_size": int(X_fit.shape[0])}
        with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
            # SO_GAAL & co. print epochs (stdout is for results); some warn on every fit
            for pattern in catalog.QUIET_WARNINGS.get(self.spec.pyod_name, ()):
                warnings.filterwarnings("ignore", message=pattern)
            model = pyod_cls(**params)
            self.model_ = model.fit(X_fit) if labels is None else model.fit(X_fit, labels)
        self.n_train_rows_ = int(X_fit.shape[0])
        train_scores = getattr(self.model_, "decision_scores_", None)
        if train_scores is not None:
            self.decision_scores_ = self._check_scores(train_scores)
            threshold = getattr(self.model_, "threshold_", None)  # XGBOD sets none
            self.threshold_ = float(threshold) if threshold is not None else float(np.quantile(
                self.decision_scores_, 1.0 - (getattr(self, "contamination", None) or 0.1)))
        return self

    def check_params(self) -> None:
        """Text parameters, checked without the data: PyOD checks them only when it fits.

        A parameter set whose text values differ from the defaults is fitted on a 64 x 4 toy
        sample, once with those values and once with the defaults in their place; when only the
        former fails, the values are bad and the error names them (before any run).  Numbers and
        flags are left to ``fit``: on a toy sample, a valid ``n_neighbors=50`` would fail too.
        """
        if self.check_available() is not None:
            return  # its runs say why it cannot run
        defaults = type(self).param_defaults()
        params = self.get_params()
        text = {k: v for k, v in params.items() if isinstance(v, str) and v != defaults.get(k)
                and k not in self.own_params and k != "device"}
        if not text:
            return
        X = np.random.default_rng(0).normal(size=(64, 4))

        def fits(values: dict[str, Any]) -> Exception | None:
            try:
                with contextlib.redirect_stdout(sys.stderr):
                    type(self)(**{**params, **values}).fit(X)
            except Exception as exc:  # noqa: BLE001  (what PyOD raises for a bad value varies)
                return exc
            return None

        if fits({k: defaults[k] for k in text}) is not None:
            return  # the toy sample does not suit this detector: leave the check to fit
        error = fits({})
        if error is not None:
            shown = ", ".join(f"{k}={v!r}" for k, v in text.items())
            raise ParameterError(
                f"{type(self).__name__} rejects {shown}: {type(error).__name__}: "
                f"{str(error).rstrip('.')}. "
                f"See PyOD's {self.spec.pyod_name} for the accepted values."
            )

    def _note_changed_defaults(self) -> None:
        """A note when a run uses one of DETECTOR_DEFAULTS (our default, not PyOD's)."""
        ours = catalog.DETECTOR_DEFAULTS.get(self.spec.pyod_name, {})
        pyod = {p.name: p.default for p in catalog.pyod_parameters(self.spec)}
        used = [f"{k}={v!r} (PyOD: {pyod[k]!r})" for k, v in ours.items()
                if k in pyod and getattr(self, k) == v != pyod[k]]
        if used:
            self.notes_.append(f"{self.name}: adb's defaults, not PyOD's: {', '.join(used)}")

    def _pyod_class(self) -> type:
        """PyOD's class, or its exact fast path (FAST_CLASSES) unless ``fast=False``."""
        if "fast" not in self.own_params:
            return catalog.import_class(self.spec)
        fast = self.fast  # type: ignore[attr-defined]
        if not isinstance(fast, (bool, np.bool_)):
            raise ParameterError(
                f"The 'fast' parameter of {type(self).__name__} must be True or False "
                f"(False: PyOD's own code). Got {fast!r} instead."
            )
        if not fast:
            return catalog.import_class(self.spec)
        import importlib

        module = importlib.import_module(FAST_CLASSES[self.spec.pyod_name])
        return getattr(module, self.spec.pyod_name)  # type: ignore[no-any-return]

    def _check_labels(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray | None:
        """The labels ``fit`` passes on: None for an unsupervised detector, else ``y`` checked."""
        if self.supervision == "unsupervised":
            return None
        if y is None:
            raise ParameterError(
                f"{type(self).__name__} is {self.supervision}: fit(X, y) needs labels y (1 = a "
                "known anomaly, 0 = unlabeled). In `adb run`, give a label budget, e.g. "
                "--protocol adbench --param protocol.labeled_anomalies=0.1."
            )
        y = np.asarray(y).reshape(-1)
        if y.shape[0] != X.shape[0] or not np.isin(y, (0, 1)).all():
            raise DataError(f"{type(self).__name__}: y must hold one 0/1 label per row of X "
                            f"({X.shape[0]}); got shape {y.shape}.")
        if not y.any():
            raise DataError(f"{type(self).__name__} is {self.supervision} and y labels no "
                            "anomaly; it needs at least one labelled anomaly.")
        return y.astype(np.int64)

    def _subsample(self, X: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        if "max_train_rows" not in self.own_params:
            return X, y
        cap = self.max_train_rows  # type: ignore[attr-defined]
        is_int = isinstance(cap, (int, np.integer)) and not isinstance(cap, bool)
        if cap is not None and not (is_int and cap >= 0):
            raise ParameterError(
                f"The 'max_train_rows' parameter of {type(self).__name__} must be an int >= 0 or "
                f"None (0 and None: no cap). Got {cap!r} instead."
            )
        if not cap or X.shape[0] <= cap:
            return X, y
        rng = np.random.default_rng(self._seed())
        take = np.sort(rng.choice(X.shape[0], size=int(cap), replace=False))
        # rounded, so that the seeds of a sweep (a few rows apart) share one footnote
        n = X.shape[0]
        total = f"~{float(f'{n:.2g}') / 1000:,.0f}k" if n >= 10_000 else f"{n:,}"  # 2 digits
        self.notes_.append(
            f"max_train_rows={cap}: fitted on {int(cap):,} of {total} training rows "
            f"(set {self.name}.max_train_rows=0 to fit on all)"
        )
        return X[take], (None if y is None else y[take])

    def _seed(self) -> Any:
        seed = getattr(self, "random_state", None)
        return seed if seed is None or isinstance(seed, (int, np.integer)) else None

    def _pca_params(self, X: np.ndarray, params: dict[str, Any]) -> dict[str, Any]:
        """Keep only PCA components with non-zero variance (PyOD divides scores by it).

        Only when ``n_components`` is left at None: the components whose singular value is below
        numpy's ``matrix_rank`` tolerance (``S.max() * max(n, d) * eps``) are dropped by fitting
        ``n_components = rank``.  Columns are standardized first, as PyOD does.
        """
        if params.get("n_components") is not None:
            return params
        Z = X.astype(np.float64)
        if params.get("standardization", True):
            std = Z.std(axis=0)
            Z = (Z - Z.mean(axis=0)) / np.where(std > 0, std, 1.0)
        else:
            Z = Z - Z.mean(axis=0)
        singular = np.linalg.svd(Z, compute_uv=False)  # (min(n, d),)
        rank = int((singular > singular.max() * max(Z.shape) * np.finfo(np.float64).eps).sum())
        if rank < min(Z.shape):
            # the rank (in n_components_) varies by seed; one wording keeps one footnote per sweep
            self.notes_.append(
                "pca: zero-variance components dropped (n_components = rank of the training "
                "rows) because PyOD divides by each component's variance"
            )
            params = {**params, "n_components": max(rank, 1)}
            selected = params.get("n_selected_components")
            if selected is not None and selected > rank:
                raise ParameterError(
                    f"The 'n_selected_components' parameter of {type(self).__name__} must be <= "
                    f"{rank}, the number of non-zero-variance components of X. Got {selected}."
                )
        return params

    # -- scoring -----------------------------------------------------------------------------------
    def decision_function(self, X: np.ndarray) -> np.ndarray:
        X = self._validate_data(X, reset=False)
        if self.spec.pyod_name == "OCSVM":
            fast = _ocsvm_scores(self.model_, X)
            if fast is not None:
                return self._check_scores(fast)
        with contextlib.redirect_stdout(sys.stderr):
            return self._check_scores(self.model_.decision_function(X))


def _auto_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _ocsvm_scores(model: Any, X: np.ndarray) -> np.ndarray | None:
    """PyOD OCSVM's scores, ``-(K(X, SV) @ dual_coef + intercept)``, in BLAS blocks.

    The same sum libsvm computes one row at a time; None for a kernel we do not expand
    (precomputed or callable), which then goes through PyOD.
    """
    from sklearn.metrics.pairwise import pairwise_kernels

    svm = model.detector_
    if svm.kernel not in ("rbf", "linear", "poly", "sigmoid"):
        return None
    sv = np.asarray(svm.support_vectors_, dtype=np.float64)
    coef = np.asarray(svm.dual_coef_, dtype=np.float64).ravel()  # (n_sv,)
    kw: dict[str, Any] = {"rbf": {"gamma": svm._gamma},
                          "linear": {},
                          "poly": {"gamma": svm._gamma, "degree": svm.degree, "coef0": svm.coef0},
                          "sigmoid": {"gamma": svm._gamma, "coef0": svm.coef0}}[svm.kernel]
    rows = max(1, min(OCSVM_BLOCK_ROWS, OCSVM_BLOCK_VALUES // max(sv.shape[0], 1)))
    out = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], rows):
        block = np.asarray(X[start:start + rows], dtype=np.float64)
        K = pairwise_kernels(block, sv, metric=svm.kernel, **kw)  # (block, n_sv)
        out[start:start + block.shape[0]] = K @ coef
    return -(out + float(svm.intercept_[0]))


# -- class generation ----------------------------------------------------------------------------
def _signature(spec: Spec) -> tuple[inspect.Signature, tuple[str, ...]]:
    params = []
    names = set()
    empty = inspect.Parameter.empty
    for p in catalog.pyod_parameters(spec):
        if p.name in catalog.FROM_DATA:
            continue
        if p.default is empty:  # required (LSCP's detector_list): positional, listed first
            params.append(p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD))
        else:
            default = catalog.DETECTOR_DEFAULTS.get(spec.pyod_name, {}).get(
                p.name, catalog.DEFAULT_OVERRIDES.get(p.name, p.default))
            params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY, default=default))
        names.add(p.name)
    own: list[str] = []
    if spec.pyod_name in FAST_CLASSES:
        params.append(inspect.Parameter("fast", inspect.Parameter.KEYWORD_ONLY,
                                        default=True, annotation=bool))
        own.append("fast")
    if spec.quadratic:
        params.append(inspect.Parameter("max_train_rows", inspect.Parameter.KEYWORD_ONLY,
                                        default=default_cap(spec), annotation=int | None))
        own.append("max_train_rows")
        if "random_state" not in names:  # seeds the subsample only
            params.append(inspect.Parameter("random_state", inspect.Parameter.KEYWORD_ONLY,
                                            default=None, annotation=int | None))
            own.append("random_state")
    # required parameters (no default) first, as Python requires
    params.sort(key=lambda p: p.default is not inspect.Parameter.empty)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return inspect.Signature([self_param, *params]), tuple(own)


def default_cap(spec: Spec) -> int:
    """The default ``max_train_rows`` of a quadratic detector."""
    return MAX_TRAIN_ROWS_BY_CLASS.get(spec.pyod_name, MAX_TRAIN_ROWS)


def _make_detector(spec: Spec) -> type[PyODDetector]:
    sig, own = _signature(spec)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound = sig.bind(self, *args, **kwargs)
        for name, param in sig.parameters.items():
            if name == "self":
                continue
            value = bound.arguments[name] if name in bound.arguments else copy.deepcopy(param.default)
            setattr(self, name, value)

    qualname = f"{spec.pyod_name.replace('_', '')}Detector"
    __init__.__signature__ = sig  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{qualname}.__init__"
    cap = ""
    if spec.quadratic:
        cap = (f"\n\n    Quadratic in training rows: fitted on at most ``max_train_rows`` (default "
               f"{default_cap(spec):,}) seeded random rows; 0 or None lifts the cap.")
    if spec.pyod_name in FAST_CLASSES:
        cap += (f"\n\n    ``fast=True`` (default): the exact fast path of "
                f"``{FAST_CLASSES[spec.pyod_name]}``, same scores; False: PyOD's own code.")
    supervision = catalog.SUPERVISION.get(spec.pyod_name)
    kind = (f"{supervision.capitalize()}: needs a protocol label budget "
            "(protocol.labeled_anomalies). " if supervision else "")
    doc = (f"{spec.full_name or spec.pyod_name} (PyOD ``{spec.pyod_name}``). {kind}"
           f"Higher score = more anomalous.{cap}")
    cls = type(qualname, (PyODDetector,), {
        "__init__": __init__, "__doc__": doc, "__module__": __name__, "__qualname__": qualname,
        "name": spec.name, "spec": spec, "own_params": own,
        "preload_modules": (spec.module, *([FAST_CLASSES[spec.pyod_name]]
                                           if spec.pyod_name in FAST_CLASSES else [])),
        "supervision": catalog.SUPERVISION.get(spec.pyod_name, "unsupervised"),
    })
    return cls  # type: ignore[return-value]


def _build() -> dict[str, type[PyODDetector]]:
    module = sys.modules[__name__]
    out: dict[str, type[PyODDetector]] = {}
    for spec in catalog.catalog():
        cls = _make_detector(spec)
        setattr(module, cls.__qualname__, cls)  # importable by qualified name: instances pickle
        out[spec.name] = cls
    return out


DETECTORS: dict[str, type[PyODDetector]] = _build()


@hookimpl
def adb_register_detectors(register):  # type: ignore[no-untyped-def]
    for cls in DETECTORS.values():
        register(cls)


@hookimpl
def adb_register_suites(register):  # type: ignore[no-untyped-def]
    register(Suite(
        kind="detector", name="baselines", members=BASELINES,
        description="Curated PyOD baselines: " + ", ".join(BASELINES) + ".",
    ))
