"""Evaluation protocols: how a dataset is split, scaled and thresholded for one seed.

Each protocol is a named, versioned plugin; the name and version go on every result row, so a
change of protocol semantics must bump ``version``.  Scaling statistics come from the rows the
detector is fitted on, never from test rows.  The built-in protocols register through the same
``adb_register_protocols`` hook as third-party ones.

A protocol may take *options* (:class:`Option`: name, type, default, valid range), declared on
the class and given as ``Protocol(**options)`` (``--param protocol.NAME=VALUE`` on the command
line).  The options a run gives are part of its run id and of its row, and tables name the
protocol ``name[key=value,...]`` (:func:`protocol_label`).  Labels of training anomalies reach a
detector only through :attr:`Split.y_known`, and the runner passes them only to detectors whose
``supervision`` is not ``"unsupervised"``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar

import numpy as np

from .dataset import Dataset
from .errors import DataError, ParameterError
from .hookspecs import hookimpl

#: Registry owner of protocol options on the command line: ``--param protocol.NAME=VALUE``.
OPTION_OWNER = "protocol"


@dataclasses.dataclass
class Split:
    """One seed's train/test split, already preprocessed with training statistics."""

    X_train: np.ndarray
    y_train: np.ndarray  # labels of the rows fitted on (never shown to the detector)
    X_test: np.ndarray
    y_test: np.ndarray
    contamination: float  # rho: the fraction of test scores flagged as anomalies
    #: the dataset row each training/test row came from (repeated when rows are drawn with
    #: replacement or duplicated; -1 for a row the protocol synthesized)
    train_index: np.ndarray
    test_index: np.ndarray
    #: 1 for a training row whose anomaly label the protocol reveals, else 0 (int8, aligned with
    #: X_train); None when the protocol reveals no labels.  Only label-using detectors get it.
    y_known: np.ndarray | None = None

    @property
    def n_labeled(self) -> int:
        """How many training rows the protocol reveals as anomalies (0 when none)."""
        return 0 if self.y_known is None else int(np.count_nonzero(self.y_known))


def protocol_label(name: str, options: dict[str, Any] | None = None) -> str:
    """How tables and reports name a protocol with options: ``name[key=value,...]``, keys sorted.

    Without options it is the bare name, so sweeps without protocol options read as before.
    """
    if not options:
        return name
    inner = ",".join(f"{key}={protocol_text(options[key])}" for key in sorted(options))
    return f"{name}[{inner}]"


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "text"}


@dataclasses.dataclass(frozen=True)
class Option:
    """One option a protocol takes: its name, type, default and valid values.

    ``low``/``high`` bound a number (inclusive; ``high_open`` excludes ``high``); ``choices``
    lists the valid texts.  :meth:`check` types a value (an int where a float is declared
    becomes a float, so ``1`` and ``1.0`` give one run id) and raises :class:`ParameterError`
    naming the option and what to do.
    """

    name: str
    type: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """``name=default (type, range): help`` for listings and messages."""
        if self.choices:
            kind = "|".join(self.choices)
        else:
            kind = {bool: "bool", int: "int", float: "float", str: "text"}.get(self.type, "value")
            if self.low is not None or self.high is not None:
                kind += f" in {self.range_text()}"
        return f"{self.name}={protocol_text(self.default)} ({kind}): {self.help}"

    def range_text(self) -> str:
        """``[0, 1]``, ``[1, inf]`` or ``[0, 1)``."""
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"[{lo}, {hi}{')' if self.high_open else ']'}"

    def parse(self, protocol: str, text: str) -> Any:
        """The typed value of command-line text (``--param protocol.NAME=TEXT``), checked."""
        lowered = text.strip().lower()
        value: Any = text.strip()
        if self.type is bool:
            value = {"true": True, "1": True, "yes": True, "on": True,
                     "false": False, "0": False, "no": False, "off": False}.get(lowered, text)
        elif self.type in (int, float):
            try:
                value = float(lowered)
            except ValueError:
                pass
        return self.check(protocol, value)

    def check(self, protocol: str, value: Any) -> Any:
        """The typed value, or a ParameterError naming ``protocol.name``."""
        where = f"protocol option {protocol}.{self.name}"
        if self.type is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise ParameterError(f"{where} must be true or false, got {value!r}.")
            return bool(value)
        if self.type in (int, float):
            number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                value, (bool, np.bool_))
            if not number or (self.type is int and float(value) != int(value)):
                raise ParameterError(f"{where} must be {_TYPE_NAMES[self.type]}, got {value!r}.")
            value = self.type(value)
            if not np.isfinite(value):
                raise ParameterError(f"{where} must be finite, got {value!r}.")
            too_low = self.low is not None and value < self.low
            too_high = self.high is not None and (value >= self.high if self.high_open
                                                  else value > self.high)
            if too_low or too_high:
                raise ParameterError(f"{where} must be in {self.range_text()}, got {value!r} "
                                     f"({self.help}).")
            return value
        if not isinstance(value, str):
            raise ParameterError(f"{where} must be {_TYPE_NAMES.get(self.type, 'text')}, got {value!r}.")
        if self.choices and value not in self.choices:
            raise ParameterError(f"{where} must be one of {', '.join(self.choices)}, got {value!r}.")
        return value


def protocol_text(value: Any) -> str:
    """How an option value is written in labels and listings (text bare, else JSON)."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


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


#: Rows per block when a split's columns are scaled: ``X[:, columns]`` of a whole KDD99 split
#: would be a temporary copy of tens of MB at the run's memory peak.
SCALE_BLOCK = 32768


def _row_blocks(X: np.ndarray) -> list[np.ndarray]:
    """Views of ``X``'s rows, ``SCALE_BLOCK`` at a time."""
    return [X[start : start + SCALE_BLOCK] for start in range(0, X.shape[0], SCALE_BLOCK)]


def _min_max(X_fit: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift and scale of min-max scaling (``(x - min) / (max - min)``) over ``X_fit``'s rows."""
    lows, highs = [], []
    for part in _row_blocks(X_fit):
        block = part[:, columns]
        lows.append(block.min(axis=0))
        highs.append(block.max(axis=0))
    lo = np.min(lows, axis=0)
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        span = np.max(highs, axis=0) - lo
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


#: Random streams of one seed (``default_rng((seed, STREAM))``): each step draws from its own,
#: so turning one option on never changes what another step draws.
STREAM_SIZE, STREAM_SYNTHETIC, STREAM_CORRUPT, STREAM_LABEL_NOISE, STREAM_LABELS = 1, 2, 3, 4, 5


@dataclasses.dataclass
class Parts:
    """A split's rows before scaling, as :meth:`Protocol.transform` sees and returns them."""

    X_train: np.ndarray
    y_train: np.ndarray
    train_index: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    test_index: np.ndarray
    #: ρ when the transform changed the class balance; None: the protocol's ``contamination``
    contamination: float | None = None


def reveal_anomalies(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Reveal ``ceil(fraction * n_anomalies)`` of the anomalies of ``y``, drawn with ``rng``.

    ADBench's rule with ``at_least_one_labeled=True`` (its default in ``RunPipeline``): any
    fraction > 0 reveals at least one anomaly.  Returns int8, 1 = a revealed anomaly, 0 =
    unlabeled (a normal row or an anomaly whose label stays hidden).
    """
    import math

    anomalies = np.flatnonzero(np.asarray(y) == 1)
    known = np.zeros(len(y), dtype=np.int8)
    # less a rounding hair: 0.1 * 30 is 3.0000000000000004 in floats, which is 3 labels, not 4
    count = min(anomalies.size, math.ceil(fraction * anomalies.size - 1e-9))
    if count:
        known[rng.choice(anomalies, size=count, replace=False)] = 1
    return known


class Protocol:
    """Base class: ``split(dataset, seed)`` and the top-ρ threshold rule.

    ``Protocol(**options)`` takes the options the class declares in ``options`` (each checked
    by its :class:`Option`); an unknown name is a :class:`ParameterError` listing the valid
    ones, and a name in ``refused`` one saying why this protocol cannot take it.  ``given``
    holds the options as given (what the run id and the label name), ``settings`` every
    declared option with its default filled in.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    #: the options this protocol takes
    options: ClassVar[tuple[Option, ...]] = ()
    #: option names another protocol takes and this one cannot, with the reason
    refused: ClassVar[dict[str, str]] = {}
    #: "minmax" or "standard"; which columns get scaled is ``scale_columns``.
    scaling: ClassVar[str] = "minmax"
    #: "continuous" scales only the dataset's continuous columns, "all" scales every column.
    scale_columns: ClassVar[str] = "all"
    min_train_rows: ClassVar[int] = 10

    def __init__(self, **options: Any) -> None:
        declared = {option.name: option for option in self.options}
        given: dict[str, Any] = {}
        for key, value in options.items():
            if key in self.refused:
                raise ParameterError(f"protocol {self.name!r} does not take option {key!r}: "
                                     f"{self.refused[key]}")
            if key not in declared:
                import difflib

                close = difflib.get_close_matches(key, declared, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                valid = ", ".join(declared) or "none"
                raise ParameterError(
                    f"unknown option {key!r} of protocol {self.name!r}.{hint} Its options: {valid} "
                    "(see `adb list protocols`)."
                )
            given[key] = declared[key].check(self.name, value)
        self.given = given
        self.settings = {name: given.get(name, option.default) for name, option in declared.items()}
        self.check_settings()

    def check_settings(self) -> None:
        """Check options against each other (after each was checked alone); default: nothing."""

    @property
    def label(self) -> str:
        """The display name: ``name[key=value,...]`` of the options given (:func:`protocol_label`)."""
        return protocol_label(self.name, getattr(self, "given", {}))

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
            split.train_index, split.test_index = (np.where(i >= 0, keep[np.maximum(i, 0)], -1)
                                                   for i in (split.train_index, split.test_index))
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
        parts = Parts(dataset.take(fit_index), y[fit_index], fit_index,
                      dataset.take(test_index), y[test_index], test_index)
        parts = self.transform(parts, dataset, seed)
        X_train, X_test = parts.X_train, parts.X_test
        columns = (
            np.flatnonzero(dataset.continuous)
            if self.scale_columns == "continuous"
            else np.arange(X_train.shape[1])
        )
        if columns.size:
            fit = _min_max if self.scaling == "minmax" else _standard
            shift, scale = fit(X_train, columns)
            for X in (X_train, X_test):
                for part in _row_blocks(X):  # views: the scaled values land in X
                    part[:, columns] = (part[:, columns] - shift) / scale
        return Split(
            X_train=X_train, y_train=parts.y_train, X_test=X_test, y_test=parts.y_test,
            contamination=float(self.contamination(dataset) if parts.contamination is None
                                else parts.contamination),
            train_index=parts.train_index, test_index=parts.test_index,
            y_known=self.reveal(parts.y_train, seed),
        )

    def transform(self, parts: Parts, dataset: Dataset, seed: int) -> Parts:
        """Change the split's rows before scaling (synthetic rows, corruptions); default: none."""
        return parts

    def reveal(self, y_train: np.ndarray, seed: int) -> np.ndarray | None:
        """``Split.y_known``: the training labels this protocol reveals (default: none).

        A protocol that declares the ``labeled_anomalies`` option reveals that fraction of the
        training anomalies (:func:`reveal_anomalies`), ``label_noise`` first flipping that
        share of the training labels (ADBench's annotation errors).
        """
        settings = getattr(self, "settings", {})  # a subclass __init__ may skip ours
        fraction = settings.get("labeled_anomalies", 0.0)
        if not fraction:
            return None
        y = np.asarray(y_train)
        noise = settings.get("label_noise", 0.0)
        if noise:
            from .synthetic import flip_labels

            y = flip_labels(y, noise, np.random.default_rng((seed, STREAM_LABEL_NOISE)))
        return reveal_anomalies(y, fraction, np.random.default_rng((seed, STREAM_LABELS)))


#: The label-budget option (ADBench's ``la``), shared by the protocols that keep anomalies in
#: the training rows.
LABELED_ANOMALIES = Option(
    "labeled_anomalies", float, 0.0,
    "fraction of the training anomalies whose labels semi-/supervised detectors get (ADBench's "
    "la; at least one when > 0)", low=0.0, high=1.0)


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
    refused = {
        "labeled_anomalies": "zong2018 fits on normal training rows only, so there are no training "
        "anomalies whose labels it could reveal. Use --protocol adbench (or pyod) for label budgets.",
    }

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
    scores are flagged.  Option ``labeled_anomalies`` reveals that fraction of the training
    anomalies to semi-/supervised detectors, as the ``adbench`` protocol does.
    """

    name = "pyod"
    version = "2"  # 2: scaling statistics from scikit-learn's StandardScaler
    scaling = "standard"
    scale_columns = "all"
    options = (LABELED_ANOMALIES,)

    def split_indices(self, dataset: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
        perm = np.random.default_rng(seed).permutation(dataset.n_samples)
        n_train = int(round(0.6 * dataset.n_samples))
        return perm[:n_train], perm[n_train:]


class ADBenchProtocol(Protocol):
    """ADBench's protocol (Han et al., NeurIPS 2022): size rules, stratified 70/30 split, min-max.

    As ADBench's ``DataGenerator.generator`` (``adbench/datasets/data_generator.py``) prepares a
    dataset ("ADBench: Anomaly Detection Benchmark", §3 and §4.3-4.4).

    Per seed, in this order (each random step draws from its own stream of the run seed):

    1. **Size rules** (options ``upsample``, ``subsample``, both on): a dataset with fewer than
       1,000 rows is up-sampled to 1,000 rows drawn *with replacement*; one with more than
       10,000 rows is sub-sampled to 10,000 rows drawn without replacement.  Up-sampling makes
       the rows of train and test dependent: the same original row can be drawn several times
       and land both in the training rows and in the test rows, so a detector is partly scored
       on rows it was fitted on, and the scores of small datasets are optimistic next to a split
       of distinct rows.  This is what ADBench's published tables measure; ``upsample=false``
       gives a split of distinct rows.
    2. A stratified 70/30 train/test split; the training rows keep their anomalies.
    3. **Synthetic anomalies** (``anomaly_type`` local, global, dependency or clustered, with
       ``anomaly_alpha``): the real rows are replaced by rows generated as ADBench §4.3 describes
       (:func:`adbench_dagmm.synthetic.synthesize`), with the split's class counts.  Unlike
       ADBench, which fits the generator on all normal rows before splitting, the generative model
       is fitted on the *training* normal rows only, so no test row informs it; train and test are
       drawn from it in one call, normals included (global: uniform anomalies over the widened
       range of the training normals, normals from the mixture, as ADBench does).
    4. **Irrelevant features** (``irrelevant_features``: share of noise columns after adding),
       on train and test together so they get the same columns, as ADBench adds them before its
       split; the noise carries no label information.
    5. **Duplicated anomalies** (``duplicate_anomalies``: each anomaly appears that many times),
       in train and in test separately, as ADBench does after its split.  ρ becomes the anomaly
       ratio of the duplicated rows.
    6. Min-max scaling of every column with training statistics.
    7. **Labels** (``labeled_anomalies``): that fraction of the training anomalies is revealed as
       ``Split.y_known`` (at least one when > 0), only to semi-/supervised detectors;
       ``label_noise`` first flips that share of all training labels (ADBench's annotation
       errors), so a revealed "anomaly" may be a normal row.  Needs ``labeled_anomalies > 0``.

    The top ρ of test scores are flagged, with ρ the anomaly ratio of the rows the size rules
    drew (of the duplicated rows under ``duplicate_anomalies``).
    """

    name = "adbench"
    version = "2"  # 2: ADBench's size rules (up-sample to 1,000, sub-sample to 10,000), options
    scaling = "minmax"
    scale_columns = "all"
    #: ADBench's ``n_samples_threshold`` and its sub-sampling size.
    MIN_ROWS, MAX_ROWS = 1_000, 10_000
    options = (
        Option("upsample", bool, True,
               f"draw a dataset of fewer than {MIN_ROWS:,} rows up to {MIN_ROWS:,} rows with "
               "replacement (duplicates can sit in train and test)"),
        Option("subsample", bool, True,
               f"draw {MAX_ROWS:,} rows without replacement from a larger dataset"),
        LABELED_ANOMALIES,
        Option("anomaly_type", str, "none",
               "replace the anomalies (and normals) by synthetic ones generated from the "
               "training normals", choices=("none", "local", "global", "dependency", "clustered")),
        Option("anomaly_alpha", float, 0.0,
               "the generator's scale (local/clustered: 5, global: 1.1 in ADBench); 0: "
               "ADBench's default for the type", low=0.0),
        Option("duplicate_anomalies", float, 1.0,
               "each anomaly appears this many times in train and in test (1: none)", low=1.0),
        Option("irrelevant_features", float, 0.0,
               "share of the columns that are uniform noise after adding them", low=0.0,
               high=1.0, high_open=True),
        Option("label_noise", float, 0.0,
               "share of the training labels flipped before labels are revealed (needs "
               "labeled_anomalies > 0)", low=0.0, high=1.0),
    )

    def check_settings(self) -> None:
        s = self.settings
        if s["label_noise"] and not s["labeled_anomalies"]:
            raise ParameterError(
                f"protocol option {self.name}.label_noise flips the training labels that "
                "semi-/supervised detectors get, and labeled_anomalies=0 reveals none; also set "
                "--param protocol.labeled_anomalies (ADBench uses 1.0 for its label-noise study)."
            )
        if s["anomaly_alpha"] and s["anomaly_type"] in ("none", "dependency"):
            raise ParameterError(
                f"protocol option {self.name}.anomaly_alpha applies to anomaly_type local, "
                f"global or clustered; anomaly_type is {s['anomaly_type']!r}."
            )

    def split(self, dataset: Dataset, seed: int) -> Split:
        if dataset.class_subsample is None:
            self.check_classes(dataset)  # distinct rows: before up-sampling repeats them
        rows = self.size_rows(dataset.n_samples, seed)
        if rows is None or dataset.class_subsample is not None:
            return super().split(dataset, seed)  # a class subsample is drawn first, then this
        subset = dataclasses.replace(dataset, X=dataset.take(rows), y=np.asarray(dataset.y)[rows])
        split = super().split(subset, seed)
        for name in ("train_index", "test_index"):  # rows of the subset -> rows of the dataset
            index = getattr(split, name)
            setattr(split, name, np.where(index >= 0, rows[np.maximum(index, 0)], -1))
        return split

    def size_rows(self, n: int, seed: int) -> np.ndarray | None:
        """The dataset rows this seed uses under the size rules (sorted), or None for all."""
        rng = np.random.default_rng((seed, STREAM_SIZE))
        if n < self.MIN_ROWS and self.settings["upsample"]:
            return np.sort(rng.choice(n, size=self.MIN_ROWS, replace=True))
        if n > self.MAX_ROWS and self.settings["subsample"]:
            return np.sort(rng.choice(n, size=self.MAX_ROWS, replace=False))
        return None

    def check_classes(self, dataset: Dataset) -> None:
        """Two rows of each class at least (sklearn's stratified split needs them), counted
        before up-sampling: one anomaly drawn 30 times is still one anomaly."""
        y = np.asarray(dataset.y)
        if int(min(y.sum(), (y == 0).sum())) < 2:
            raise DataError(
                f"dataset {dataset.name!r}: protocol {self.name!r} splits each class 70/30 and "
                f"needs at least 2 anomalies and 2 normal rows; the dataset has {int(y.sum())} "
                f"anomalies and {int((y == 0).sum())} normal rows. Add rows of the smaller class "
                "or use another protocol."
            )

    def split_indices(self, dataset: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.model_selection import train_test_split

        self.check_classes(dataset)
        index = np.arange(dataset.n_samples)
        train, test = train_test_split(
            index, test_size=0.3, stratify=np.asarray(dataset.y), random_state=seed, shuffle=True
        )
        return train, test

    def transform(self, parts: Parts, dataset: Dataset, seed: int) -> Parts:
        s = self.settings
        if s["anomaly_type"] != "none":
            parts = self._synthesize(parts, seed)
        corrupt = np.random.default_rng((seed, STREAM_CORRUPT))
        if s["irrelevant_features"]:
            from .synthetic import add_irrelevant_features

            n_train = parts.X_train.shape[0]
            X = add_irrelevant_features(np.vstack([parts.X_train, parts.X_test]),
                                        s["irrelevant_features"], corrupt)
            parts.X_train, parts.X_test = X[:n_train], X[n_train:]
        if s["duplicate_anomalies"] != 1.0:
            parts = self._duplicate(parts, s["duplicate_anomalies"], corrupt)
        return parts

    def _synthesize(self, parts: Parts, seed: int) -> Parts:
        """Step 3: synthetic rows from a model of the training normals, the split's class counts."""
        from .synthetic import synthesize

        kind, alpha = self.settings["anomaly_type"], self.settings["anomaly_alpha"] or None
        rng = np.random.default_rng((seed, STREAM_SYNTHETIC))
        normal_train = parts.X_train[parts.y_train == 0].astype(np.float64)
        n_tr = (int((parts.y_train == 0).sum()), int((parts.y_train == 1).sum()))
        n_te = (int((parts.y_test == 0).sum()), int((parts.y_test == 1).sum()))
        normals, anomalies = synthesize(normal_train, kind, n_tr[0] + n_te[0], n_tr[1] + n_te[1],
                                        rng, alpha=alpha)
        train_normals, test_normals = normals[: n_tr[0]], normals[n_tr[0]:]
        train_rows, test_rows = np.full(n_tr[0], -1), np.full(n_te[0], -1)
        dtype = parts.X_train.dtype

        def rows(normal: np.ndarray, anomaly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            X = np.vstack([normal, anomaly]).astype(dtype, copy=False)
            return X, np.r_[np.zeros(len(normal)), np.ones(len(anomaly))].astype(parts.y_train.dtype)

        X_train, y_train = rows(train_normals, anomalies[: n_tr[1]])
        X_test, y_test = rows(test_normals, anomalies[n_tr[1]:])
        return Parts(X_train, y_train, np.r_[train_rows, np.full(n_tr[1], -1)].astype(np.int64),
                     X_test, y_test, np.r_[test_rows, np.full(n_te[1], -1)].astype(np.int64))

    @staticmethod
    def _duplicate(parts: Parts, factor: float, rng: np.random.Generator) -> Parts:
        """Step 5: each anomaly ``factor`` times, in train and test separately.

        The index of each duplicated row is carried along by duplicating a column of row
        positions with the rows (the contract function returns rows, not indices).
        """
        from .synthetic import duplicate_anomalies

        out = []
        for X, y, index in ((parts.X_train, parts.y_train, parts.train_index),
                            (parts.X_test, parts.y_test, parts.test_index)):
            position = np.arange(len(y), dtype=np.float64)[:, None]
            X_dup, y_dup = duplicate_anomalies(np.hstack([X, position]), y, factor, rng)
            where = X_dup[:, -1].astype(np.int64)
            out.append((np.ascontiguousarray(X_dup[:, :-1], dtype=X.dtype), np.asarray(y_dup),
                        index[where]))
        (X_tr, y_tr, i_tr), (X_te, y_te, i_te) = out
        rho = float(np.r_[y_tr, y_te].mean())
        return Parts(X_tr, y_tr.astype(parts.y_train.dtype), i_tr, X_te,
                     y_te.astype(parts.y_test.dtype), i_te, contamination=rho)


@hookimpl
def adb_register_protocols(register):  # type: ignore[no-untyped-def]
    register(Zong2018Protocol)
    register(PyODProtocol)
    register(ADBenchProtocol)
