"""Evaluation protocols: how a dataset is split, scaled and thresholded for one seed.

Each protocol is a named, versioned plugin; the name and version go on every result row, so a
change of protocol semantics must bump ``version``.  Scaling statistics come from the rows the
detector is fitted on, never from test rows.  The built-in protocols register through the same
``adb_register_protocols`` hook as third-party ones.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar

import numpy as np

from .dataset import Dataset
from .errors import DataError
from .hookspecs import hookimpl


@dataclasses.dataclass
class Split:
    """One seed's train/test split, already preprocessed with training statistics."""

    X_train: np.ndarray
    y_train: np.ndarray  # labels of the rows fitted on (never shown to the detector)
    X_test: np.ndarray
    y_test: np.ndarray
    contamination: float  # rho: the fraction of test scores flagged as anomalies
    train_index: np.ndarray
    test_index: np.ndarray


def protocol_label(name: str, options: dict[str, Any] | None = None) -> str:
    """How tables and reports name a protocol with options: ``name[key=value,...]``, keys sorted.

    Without options it is the bare name, so sweeps without protocol options read as before.
    """
    if not options:
        return name
    def text(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value, default=str)

    inner = ",".join(f"{key}={text(options[key])}" for key in sorted(options))
    return f"{name}[{inner}]"


def top_fraction(scores: np.ndarray, rho: float) -> np.ndarray:
    """Flag the ``rho`` fraction of highest scores (1 = anomaly).

    The threshold is the ``round(rho * n)``-th largest score; scores tied with it are flagged too,
    so equal scores always get equal labels.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[0]
    k = int(round(rho * n))
    if k <= 0:
        return np.zeros(n, dtype=np.int64)
    k = min(k, n)
    threshold = np.partition(scores, n - k)[n - k]
    return (scores >= threshold).astype(np.int64)


def _check_statistics(kind: str, columns: np.ndarray, shift: np.ndarray, scale: np.ndarray) -> None:
    """Raise when scaling statistics overflowed: a column would become inf/NaN or all zeros.

    ``Dataset.validate`` rejects values beyond +-1e150 by column name before any split, so this
    only fires for a dataset that skipped validation; it names the columns by position.
    """
    bad = ~(np.isfinite(shift) & np.isfinite(scale))
    if bad.any():
        where = ", ".join(str(int(c)) for c in columns[bad][:10])
        raise DataError(
            f"the {kind} scaling statistics of the training rows overflow float64 in the column(s) "
            f"at position(s) {where}: their values are too large to scale. Rescale those columns "
            "(another unit, or a log), or drop them."
        )


def _min_max(X_fit: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift and scale of min-max scaling (``(x - min) / (max - min)``) over ``X_fit``'s rows."""
    lo = X_fit[:, columns].min(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        span = X_fit[:, columns].max(axis=0) - lo
    _check_statistics("min-max", columns, lo, span)
    span[span == 0] = 1.0  # a constant training column is shifted, not divided by zero
    return lo, span


def _standard(X_fit: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift and scale of standard scaling (``(x - mean) / std``) over ``X_fit``'s rows.

    Computed by scikit-learn's ``StandardScaler`` (what PyOD's ``standardizer`` uses), so that
    scaled values match PyOD's bit for bit: a 1e-13 difference moves values across HBOS's bin
    edges.  A (near-)constant column gets scale 1, as there.
    """
    from sklearn.preprocessing import StandardScaler

    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        # C order, as PyOD passes its rows: the summation order decides the last bit
        scaler = StandardScaler().fit(np.ascontiguousarray(X_fit[:, columns], dtype=np.float64))
    mean, std = scaler.mean_, scaler.scale_.copy()
    _check_statistics("standard", columns, mean, std)
    return mean.astype(X_fit.dtype), std.astype(X_fit.dtype)


class Protocol:
    """Base class: ``split(dataset, seed)`` and the top-ρ threshold rule."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    #: "minmax" or "standard"; which columns get scaled is ``scale_columns``.
    scaling: ClassVar[str] = "minmax"
    #: "continuous" scales only the dataset's continuous columns, "all" scales every column.
    scale_columns: ClassVar[str] = "all"
    min_train_rows: ClassVar[int] = 10

    def split_indices(self, dataset: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit_rows(self, dataset: Dataset, train_index: np.ndarray) -> np.ndarray:
        """Which training rows the detector is fitted on (default: all of them)."""
        return train_index

    def contamination(self, dataset: Dataset) -> float:
        """The fraction ρ of test scores to flag: the dataset's anomaly ratio."""
        return dataset.anomaly_ratio

    def threshold(self, scores: np.ndarray, rho: float) -> np.ndarray:
        return top_fraction(scores, rho)

    def split(self, dataset: Dataset, seed: int) -> Split:
        if dataset.class_subsample is not None:
            # Draw this seed's rows first, split them, and report indices into the full dataset.
            keep = dataset.class_subsample.rows(dataset.y, seed)
            subset = dataclasses.replace(dataset, X=dataset.take(keep), class_subsample=None,
                                         y=np.asarray(dataset.y)[keep])
            split = self.split(subset, seed)
            split.train_index, split.test_index = keep[split.train_index], keep[split.test_index]
            return split
        train_index, test_index = self.split_indices(dataset, seed)
        fit_index = np.sort(self.fit_rows(dataset, train_index))
        test_index = np.sort(test_index)
        y = np.asarray(dataset.y)
        if fit_index.size < self.min_train_rows:
            raise DataError(
                f"dataset {dataset.name!r}: protocol {self.name!r} leaves only {fit_index.size} "
                f"training rows (needs at least {self.min_train_rows}); use a larger dataset."
            )
        if test_index.size == 0 or y[test_index].min() == y[test_index].max():
            raise DataError(
                f"dataset {dataset.name!r}: the {self.name!r} test set of seed {seed} does not hold "
                "both classes; the dataset has too few rows or anomalies for this protocol."
            )
        # copies (block by block), so the in-place scaling below never touches dataset.X
        X_train = dataset.take(fit_index)
        X_test = dataset.take(test_index)
        columns = (
            np.flatnonzero(dataset.continuous)
            if self.scale_columns == "continuous"
            else np.arange(dataset.n_features)
        )
        if columns.size:
            fit = _min_max if self.scaling == "minmax" else _standard
            shift, scale = fit(X_train, columns)
            for X in (X_train, X_test):
                X[:, columns] -= shift
                X[:, columns] /= scale
        return Split(
            X_train=X_train, y_train=y[fit_index], X_test=X_test, y_test=y[test_index],
            contamination=float(self.contamination(dataset)),
            train_index=fit_index, test_index=test_index,
        )


class Zong2018Protocol(Protocol):
    """The DAGMM paper's protocol (Zong et al., ICLR 2018, §4 "Experimental Setup").

    Per seed, a random 50 % of all rows is the training half and only its normal rows (y = 0) are
    fitted on; the other 50 % is the test set.  The threshold flags the top ρ of test scores with
    ρ the dataset's anomaly ratio.  Continuous columns are min-max scaled with the statistics of
    the rows fitted on; one-hot columns are left as they are.
    """

    name = "zong2018"
    version = "1"
    scaling = "minmax"
    scale_columns = "continuous"

    def split_indices(self, dataset: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
        perm = np.random.default_rng(seed).permutation(dataset.n_samples)
        half = dataset.n_samples // 2
        return perm[:half], perm[half:]

    def fit_rows(self, dataset: Dataset, train_index: np.ndarray) -> np.ndarray:
        return train_index[np.asarray(dataset.y)[train_index] == 0]


class PyODProtocol(Protocol):
    """PyOD's benchmark protocol (Zhao et al., JMLR 2019; pyod ``benchmark.py`` / ``benchmark.ipynb``).

    A random 60/40 train/test split; the training set keeps its anomalies (contaminated); every
    feature is standardized with training statistics (PyOD's ``standardizer``); the top ρ of test
    scores are flagged.
    """

    name = "pyod"
    version = "2"  # 2: scaling statistics from scikit-learn's StandardScaler
    scaling = "standard"
    scale_columns = "all"

    def split_indices(self, dataset: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
        perm = np.random.default_rng(seed).permutation(dataset.n_samples)
        n_train = int(round(0.6 * dataset.n_samples))
        return perm[:n_train], perm[n_train:]


class ADBenchProtocol(Protocol):
    """ADBench's unsupervised protocol (Han et al., "ADBench", NeurIPS 2022, §3 / ``data_generator.py``).

    A stratified 70/30 train/test split; the training set keeps its anomalies; every feature is
    min-max scaled with training statistics; the top ρ of test scores are flagged.
    """

    name = "adbench"
    version = "1"
    scaling = "minmax"
    scale_columns = "all"

    def split_indices(self, dataset: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.model_selection import train_test_split

        y = np.asarray(dataset.y)
        smallest = int(min(y.sum(), (y == 0).sum()))
        if smallest < 2:  # sklearn's stratified split needs two rows of each class
            raise DataError(
                f"dataset {dataset.name!r}: protocol {self.name!r} splits each class 70/30 and "
                f"needs at least 2 anomalies and 2 normal rows; the dataset has {int(y.sum())} "
                f"anomalies and {int((y == 0).sum())} normal rows. Add rows of the smaller class "
                "or use another protocol."
            )
        index = np.arange(dataset.n_samples)
        train, test = train_test_split(
            index, test_size=0.3, stratify=y, random_state=seed, shuffle=True
        )
        return train, test


@hookimpl
def adb_register_protocols(register):  # type: ignore[no-untyped-def]
    register(Zong2018Protocol)
    register(PyODProtocol)
    register(ADBenchProtocol)
