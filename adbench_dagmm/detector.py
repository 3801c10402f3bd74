"""The detector contract (sklearn rules, PyOD sign) and its shared validation helpers.

A detector is a class with a registry ``name`` whose ``__init__`` only stores keyword arguments,
``fit(X)`` returns ``self`` (``fit(X, y)`` for a semi-/supervised detector, see
``supervision``) and ``decision_function(X)`` returns float64 scores, higher = more anomalous.  Every public method validates its input through ``_validate_data`` and every score
leaves through ``check_scores``: a NaN never reaches a metric, a rank or the store.  What a run
keeps besides its scores (a training history, a latent sample, notes) a detector hands back
through :meth:`BaseDetector.run_artifacts`; the runner reads nothing else of it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .errors import DataError, NotFittedError, ParameterError
from .params import constructor_params

#: The values of :attr:`BaseDetector.supervision`.
SUPERVISIONS = ("unsupervised", "semi-supervised", "supervised")


class BaseDetector:
    """Base class of all detectors.

    Subclasses set ``name`` (registry key, ``[a-z][a-z0-9_]*``), store their constructor
    arguments unchanged and implement ``fit`` and ``decision_function``.  ``predict`` flags the
    top ``contamination`` fraction of training scores, as PyOD does.
    """

    name: ClassVar[str] = ""
    #: What labels ``fit`` uses: "unsupervised" (none: the runner calls ``fit(X)`` and the
    #: detector never sees a label), "semi-supervised" or "supervised" (the runner calls
    #: ``fit(X, y)`` with ``y`` the protocol's revealed labels, ``Split.y_known``: 1 = a training
    #: anomaly whose label is revealed, 0 = unlabeled; a run without revealed labels fails).
    supervision: ClassVar[str] = "unsupervised"
    #: Parameters the runner fills in itself (not through ``--param``) when the detector has them.
    runner_params: ClassVar[tuple[str, ...]] = ("random_state", "contamination")
    #: Heavy modules ``fit`` imports (e.g. ``"torch"``): local worker processes import them
    #: once, before their first run, in the process they are forked from.  A hint only.
    preload_modules: ClassVar[tuple[str, ...]] = ()

    # -- sklearn-style parameter handling ---------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        return sorted(constructor_params(cls))

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """Constructor parameters and their defaults (``inspect.Parameter.empty`` if none)."""
        return {name: p.default for name, p in constructor_params(cls).items()}

    @classmethod
    def check_available(cls) -> str | None:
        """Return ``None`` if the detector can run here, else why not (missing extra, ...)."""
        return None

    def check_params(self) -> None:
        """Check the parameters without data; raise :class:`ParameterError` naming a bad one.

        The runner calls it once per parameter set before any run, so a bad value stops a sweep
        with exit status 2 instead of failing each of its runs in ``fit``.  ``__init__`` stays a
        plain store of its arguments (sklearn's rule); ``fit`` checks again.  Default: nothing to
        check here (the checks need the data).
        """

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._get_param_names()}

    def effective_params(self) -> dict[str, Any]:
        """Every parameter this detector runs with, its defaults included; the runner stores it
        on the run's row (``effective_params``) after ``fit``.

        Default: :meth:`get_params`.  A detector that resolves parameters in ``fit`` (a preset
        filling the ones left at ``None``) returns the resolved values.
        """
        return self.get_params()

    def set_params(self, **params: Any) -> BaseDetector:
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key not in valid:
                raise ParameterError(
                    f"Unknown parameter {key!r} for {type(self).__name__}; "
                    f"valid parameters: {', '.join(sorted(valid))}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- the contract ------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> BaseDetector:
        raise NotImplementedError

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit_scores(self, X: np.ndarray) -> None:
        """Compute ``decision_scores_`` and ``threshold_`` on the training data (PyOD style)."""
        scores = self.decision_function(X)
        self.decision_scores_ = scores
        contamination = getattr(self, "contamination", None) or 0.1
        self.threshold_ = float(np.quantile(scores, 1.0 - contamination))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Binary labels (1 = anomaly): score above the training-score threshold ``threshold_``."""
        if not hasattr(self, "threshold_"):
            raise NotFittedError(
                f"{type(self).__name__} has no threshold_; call fit(X) before predict(X)."
            )
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    # -- helpers every subclass uses ---------------------------------------------------------
    def _validate_data(self, X: Any, *, reset: bool) -> np.ndarray:
        """Check X is 2-D, floating and finite; on ``reset`` record ``n_features_in_``.

        float32 input stays float32 (no copy of a large matrix); anything else becomes float64.
        """
        from sklearn.utils import check_array

        if not reset and not hasattr(self, "n_features_in_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X) first."
            )
        try:
            X = check_array(X, dtype=[np.float64, np.float32], ensure_all_finite=True)
        except ValueError as exc:
            raise DataError(f"{type(self).__name__}: invalid input X: {exc}") from None
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise DataError(
                f"{type(self).__name__}: X has {X.shape[1]} features, but the detector was "
                f"fitted with {self.n_features_in_} features."
            )
        return X

    def run_artifacts(self, X_test: np.ndarray) -> dict[str, Any]:
        """Per-run artifacts the runner stores with the run.

        Called once after scoring, with the (preprocessed) test rows.  Returns JSON-serialisable
        values under their keys (e.g. ``"history"``, ``"latent"``); report sections for them
        come from the plugin that produces them (``adb_register_report_sections``).  The reserved
        key ``"notes"`` (a list of str) is not stored as an artifact: its strings are appended to
        the run's notes, which tables print as footnotes.  An artifact that samples test rows
        (a dict with ``"rows"``, indices into ``X_test``) gets the labels of those rows added by
        the runner as ``"y"``: detectors never see labels.

        Default: the detector's ``notes_`` (a list of str set in ``fit``, e.g. "fitted on a
        subsample") as ``{"notes": notes_}`` when it has any, else ``{}``.
        """
        notes = getattr(self, "notes_", None)
        return {"notes": [str(n) for n in notes]} if notes else {}

    def check_scores(self, scores: Any) -> np.ndarray:
        """Return scores as a float64 1-D array; raise if any is NaN or infinite."""
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        bad = ~np.isfinite(scores)
        if bad.any():
            raise DataError(
                f"detector {self.name or type(self).__name__!r} returned {int(bad.sum())} "
                f"non-finite scores out of {scores.size}; refusing to use them."
            )
        return scores

    _check_scores = check_scores  # the name before check_scores was public
