"""Any user file as a dataset: ``--dataset path/to/data.csv`` (csv, tsv, parquet, npz, mat).

A plugin like any other: it resolves every ``--dataset`` spec that looks like a path (the
``adb_resolve_dataset`` hook) to a :class:`FileDataset`.

Also the array readers the ODDS/ADBench plugins share (:func:`read_arrays`, :func:`binary_labels`).

Rules for a user file:

- Labels come from ``label_column`` (default ``label``, else the last column) for tables, from
  the ``y`` array for ``.npz``/``.mat``.  Without ``anomaly_label`` they must be 0/1 (1 = anomaly);
  with it, rows whose label equals that value are the anomalies and every other value is normal.
- Text columns with few distinct values are one-hot encoded; text columns that look like
  identifiers or free text, and numeric columns with stray text (``?``), are rejected.
- NaN, inf and missing values are an error naming each column and its count, unless ``impute``
  (``drop``, ``mean``, ``median``) is given; what was imputed is recorded as a note on every run.
- Constant columns are dropped, with a note on every run.

The options and the file type are checked when the dataset is made (so ``adb run`` stops with
exit status 2 before any run); the file itself (missing, empty, corrupt, bad values) is checked
by ``sha256()``/``load()``, so a bad file fails its own runs (exit status 1) and no others.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from adbench_dagmm.dataset import BaseDataset, Dataset, DatasetCard, file_sha256
from adbench_dagmm.errors import DataError, UsageError
from adbench_dagmm.hookspecs import hookimpl

TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet")
ARRAY_SUFFIXES = (".npz", ".mat")
SUFFIXES = TABLE_SUFFIXES + ARRAY_SUFFIXES
#: A text column with at most this many distinct values is treated as categorical (one-hot).
MAX_CATEGORIES = 100
IMPUTE = ("none", "mean", "median", "drop")


def file_suffix(path: Path) -> str:
    """The data-format suffix of ``path`` (``.csv.gz`` counts as one suffix)."""
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _preview(values: Any, n: int = 5) -> str:
    items = [repr(v) for v in list(values)[:n]]
    return ", ".join(items) + (", ..." if len(list(values)) > n else "")


# -- arrays (.npz / .mat): shared with the ODDS and ADBench plugins -------------------------------
def read_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``X`` and ``y`` from a ``.npz`` or ``.mat`` file.

    Raises
    ------
    DataError
        Naming the file, when it is empty, truncated, corrupt, or lacks ``X``/``y``.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes); replace it with a complete copy.")
    suffix = file_suffix(path)
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                found = list(archive.files)
                X = np.asarray(archive["X"]) if "X" in found else None
                y = np.asarray(archive["y"]) if "y" in found else None
        else:
            from scipy.io import loadmat

            data = loadmat(path)
            found = [k for k in data if not k.startswith("__")]
            X = data.get("X")
            y = data.get("y")
            X = X.toarray() if hasattr(X, "toarray") else X
            y = y.toarray() if hasattr(y, "toarray") else y
    except NotImplementedError:  # scipy: "Please use HDF reader for matlab v7.3 files"
        raise DataError(
            f"{path}: a MATLAB v7.3 (HDF5) file, which scipy cannot read; re-save it with "
            "save(..., '-v7') or convert it to .npz with arrays X and y."
        ) from None
    except Exception as exc:  # zipfile, zlib, scipy and numpy all raise their own types
        raise DataError(
            f"{path}: cannot read the file ({type(exc).__name__}: {exc}); it is truncated or "
            "corrupt. Replace it with a complete copy."
        ) from None
    if X is None or y is None:
        missing = " and ".join(k for k, v in (("X", X), ("y", y)) if v is None)
        raise DataError(
            f"{path}: no {missing} array (found: {', '.join(found) or 'nothing'}); the file must "
            "hold the features as X (rows x features) and the labels as y."
        )
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise DataError(f"{path}: X must be 2-D (rows x features), got shape {X.shape}.")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataError(f"{path}: X must be numeric, got dtype {X.dtype}.")
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(
            f"{path}: y must hold one label per row of X ({X.shape[0]} rows), got shape {y.shape}."
        )
    return X, y


def binary_labels(labels: Any, anomaly_label: Any, where: str, column: str = "y") -> np.ndarray:
    """Labels as int8 0/1 (1 = anomaly), with a clear error for anything else.

    ``anomaly_label=None`` accepts only 0/1 (or booleans); otherwise rows equal to
    ``anomaly_label`` (compared as numbers when both are numeric, else as text) are anomalies.
    """
    import pandas as pd

    labels = pd.Series(np.asarray(labels).reshape(-1) if not isinstance(labels, pd.Series) else labels)
    missing = int(labels.isna().sum())
    if missing:
        raise DataError(
            f"{where}: label column {column!r} has {missing} missing values; every row needs a label."
        )
    values = pd.unique(labels)
    if anomaly_label is None:
        if pd.api.types.is_bool_dtype(labels):
            y = labels.to_numpy(np.int8)
        else:
            numeric = pd.to_numeric(labels, errors="coerce")
            if numeric.isna().any() or not set(numeric.unique().tolist()) <= {0, 1}:
                raise DataError(
                    f"{where}: label column {column!r} holds {len(values)} distinct values "
                    f"({_preview(sorted(map(str, values)))}), not 0/1 (1 = anomaly). Pass "
                    "--anomaly-label VALUE to say which value marks an anomaly (every other "
                    "value is then normal), or --label-column NAME if this is not the label."
                )
            y = (numeric == 1).to_numpy(np.int8)
        described = "1"
    else:
        numeric = pd.to_numeric(labels, errors="coerce")
        try:
            target = float(anomaly_label)
        except (TypeError, ValueError):
            target = None
        if target is not None and not numeric.isna().any():
            y = (numeric == target).to_numpy(np.int8)
        else:
            y = (labels.astype(str).str.strip() == str(anomaly_label).strip()).to_numpy(np.int8)
        described = repr(anomaly_label)
    n_anomalies = int(y.sum())
    if n_anomalies == 0:
        raise DataError(
            f"{where}: no anomalies: no row of label column {column!r} equals {described} "
            f"(values: {_preview(sorted(map(str, values)))}). Pass --anomaly-label VALUE to say "
            "which value marks an anomaly."
        )
    if n_anomalies == len(y):
        raise DataError(
            f"{where}: every row of label column {column!r} equals {described}, so every row is "
            "an anomaly and there is no normal class. Check --anomaly-label and --label-column."
        )
    return y


# -- the user-file dataset -----------------------------------------------------------------------
class FileDataset(BaseDataset):
    """A dataset read from a user file; see the module docstring for the rules."""

    name = "file"

    def __init__(self, path: str, label_column: str | None = None, anomaly_label: Any = None,
                 impute: str | None = None) -> None:
        self.spec = str(path)
        self.path = Path(path).expanduser()
        self.label_column = label_column
        self.anomaly_label = anomaly_label
        self.impute = impute or "none"
        # a bad option or file type is a usage error, found before any run starts; the
        # label column of .npz/.mat files is always y (--label-column is for tables, and one
        # sweep may mix both)
        if self.impute not in IMPUTE:
            raise UsageError(f"--impute {self.impute!r} is not one of: {', '.join(IMPUTE)}.")
        if file_suffix(self.path) not in SUFFIXES:
            raise UsageError(
                f"{self.spec}: not a registered dataset (`adb list datasets`), and "
                f"{self.path.suffix!r} is not a supported file type ({', '.join(SUFFIXES)})."
            )
        anomaly = anomaly_label if anomaly_label is not None else 1
        self.card = DatasetCard(
            name=self.spec, description=f"user file {self.path}",
            anomaly_definition=f"rows whose label equals {anomaly!r}",
        )

    def _require_file(self) -> None:
        # a missing file fails this dataset's runs (exit status 1), not the whole sweep
        if not self.path.is_file():
            what = "is a folder, not a file" if self.path.is_dir() else "file not found"
            raise DataError(
                f"{self.path}: {what}. Check the path given to --dataset (registered datasets "
                "are listed by `adb list datasets`)."
            )

    def sha256(self) -> str:
        self._require_file()
        try:
            return file_sha256(self.path)
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read the file ({exc}).") from None

    def is_present(self) -> bool:
        return self.path.is_file()

    def describe(self) -> dict[str, Any]:
        return {}

    # -- readers ---------------------------------------------------------------------------------
    def _read_table(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        suffix = file_suffix(self.path)
        try:
            if suffix == ".parquet":
                return pd.read_parquet(self.path)
            return pd.read_csv(self.path, sep="\t" if suffix.startswith(".tsv") else ",",
                               skipinitialspace=True, low_memory=False)
        except pd.errors.EmptyDataError:
            raise DataError(
                f"{self.path}: the file holds no data (no header, no rows); replace it with a "
                "complete copy."
            ) from None
        except Exception as exc:  # gzip, zlib, pyarrow and the csv parser all raise their own types
            raise DataError(
                f"{self.path}: cannot read the file ({type(exc).__name__}: {exc}); it is "
                "truncated or corrupt. Replace it with a complete copy."
            ) from None

    # -- load ------------------------------------------------------------------------------------
    def load(self) -> Dataset:
        import pandas as pd

        self._require_file()
        if self.path.stat().st_size == 0:
            raise DataError(f"{self.path}: the file is empty (0 bytes); replace it with a complete copy.")
        notes: list[str] = []
        if file_suffix(self.path) in ARRAY_SUFFIXES:
            X, y = read_arrays(self.path)
            frame = pd.DataFrame(X.astype(np.float64), columns=[f"x{i}" for i in range(X.shape[1])])
            labels = pd.Series(y, name="y")
            label_name = "y"
        else:
            frame = self._read_table()
            frame.columns = [str(c) for c in frame.columns]
            if frame.shape[0] == 0:
                raise DataError(f"{self.path}: the file holds a header but no rows.")
            if self.label_column is not None:
                label_name = self.label_column
            elif "label" in frame.columns:
                label_name = "label"
            else:
                label_name = frame.columns[-1]
                notes.append(f"labels taken from the last column {label_name!r} (no 'label' column)")
            if label_name not in frame.columns:
                raise DataError(
                    f"{self.path}: no label column {label_name!r}; the columns are "
                    f"{_preview(frame.columns, 20)}. Pass --label-column NAME."
                )
            if frame.shape[1] < 2:
                raise DataError(
                    f"{self.path}: only the label column {label_name!r}; there are no feature columns."
                )
            labels = frame.pop(label_name)
            index_column = frame.columns[0]
            if (index_column == "" or index_column.startswith("Unnamed: ")) and np.array_equal(
                    pd.to_numeric(frame[index_column], errors="coerce"), np.arange(len(frame))):
                frame = frame.drop(columns=index_column)  # pandas' to_csv() wrote its row index
                notes.append(f"dropped column {index_column!r}: a saved row index (0, 1, 2, ...)")
        y = binary_labels(labels, self.anomaly_label, str(self.path), str(label_name))
        X, names, categorical, y, more = self._encode(frame, y)
        return Dataset(
            X=X, y=y, name=self.spec, feature_names=names, categorical=categorical,
            card=self.card, sha256=self.sha256(), notes=notes + more,
        )

    def _encode(self, frame, y: np.ndarray):  # type: ignore[no-untyped-def]
        """Features as float64: numbers kept, categories one-hot, bad values reported."""
        import pandas as pd

        notes: list[str] = []
        n_rows = len(frame)
        categorical_cols: list[str] = []
        for column in list(frame.columns):
            series = frame[column]
            if pd.api.types.is_bool_dtype(series):
                frame[column] = series.astype(np.float64)
                continue
            if pd.api.types.is_numeric_dtype(series):
                continue
            present = series.dropna()
            as_number = pd.to_numeric(present, errors="coerce")
            stray = present[as_number.isna()]
            if stray.empty:  # numbers stored as text
                frame[column] = pd.to_numeric(series, errors="coerce")
                continue
            if len(stray) <= len(present) / 2:
                raise DataError(
                    f"{self.path}: column {column!r} is numeric except for {len(stray)} text "
                    f"value(s) ({_preview(pd.unique(stray))}). Fix them, or leave those cells empty "
                    "so they count as missing (then --impute decides)."
                )
            distinct = present.nunique()
            if distinct <= MAX_CATEGORIES and distinct <= max(2, n_rows // 2):
                categorical_cols.append(column)
                continue
            raise DataError(
                f"{self.path}: column {column!r} holds text with {distinct} distinct values in "
                f"{n_rows} rows, so it is neither numeric nor categorical (at most "
                f"{MAX_CATEGORIES} values, each repeated); it looks like an identifier or free "
                "text. Drop the column from the file, or encode it as numbers."
            )
        numeric_cols = [c for c in frame.columns if c not in categorical_cols]
        numeric = frame[numeric_cols].astype(np.float64)
        cats = frame[categorical_cols]

        # missing / NaN / inf values: an error unless --impute says what to do
        bad_numeric = ~np.isfinite(numeric.to_numpy())
        bad_cats = cats.isna().to_numpy()
        counts = {c: int(n) for c, n in zip(numeric_cols, bad_numeric.sum(axis=0)) if n}
        counts.update({c: int(n) for c, n in zip(categorical_cols, bad_cats.sum(axis=0)) if n})
        if counts:
            listing = ", ".join(f"{c!r} ({n})" for c, n in counts.items())
            total = sum(counts.values())
            if self.impute == "none":
                raise DataError(
                    f"{self.path}: {total} NaN/inf/missing value(s) in column(s) {listing}. "
                    "Clean the file, or pass --impute drop (drop those rows) or --impute "
                    "mean|median (fill each numeric column with its mean/median over all rows, "
                    "a categorical one with its most frequent value)."
                )
            if self.impute == "drop":
                keep = ~(bad_numeric.any(axis=1) | bad_cats.any(axis=1))
                numeric, cats, y = numeric[keep], cats[keep], y[keep]
                notes.append(f"--impute drop: dropped {int((~keep).sum())} of {n_rows} rows with "
                             f"NaN/inf/missing values in {listing}")
                if len(y) == 0 or y.min() == y.max():
                    raise DataError(
                        f"{self.path}: after dropping the {int((~keep).sum())} rows with missing "
                        f"values only {len(y)} rows of {'one class' if len(y) else 'no class'} "
                        "remain; use --impute mean|median instead."
                    )
            else:
                numeric = numeric.mask(~np.isfinite(numeric))
                fill = numeric.mean() if self.impute == "mean" else numeric.median()
                numeric = numeric.fillna(fill)
                if categorical_cols:
                    cats = cats.fillna(cats.mode().iloc[0])
                notes.append(f"--impute {self.impute}: filled {total} NaN/inf/missing value(s) in "
                             f"{listing} with the column {self.impute} (most frequent value for "
                             "text) over all rows, before the train/test split")
        parts = [numeric]
        if categorical_cols:
            dummies = pd.get_dummies(cats.astype(str), prefix_sep="=").astype(np.float64)
            parts.append(dummies.reindex(sorted(dummies.columns), axis=1))
            notes.append(f"one-hot encoded {len(categorical_cols)} text column(s): "
                         f"{', '.join(categorical_cols[:10])}")
        table = pd.concat(parts, axis=1)
        is_cat = np.array([c not in numeric.columns for c in table.columns], dtype=bool)
        constant = [c for c in table.columns if table[c].nunique(dropna=False) <= 1]
        if constant:
            is_cat = is_cat[[c not in constant for c in table.columns]]
            table = table.drop(columns=constant)
            notes.append(f"dropped {len(constant)} constant column(s): "
                         f"{', '.join(map(str, constant[:10]))}{', ...' if len(constant) > 10 else ''}")
        if table.shape[1] == 0:
            raise DataError(
                f"{self.path}: no usable feature column remains (every feature column is "
                "constant); the file carries no information to detect anomalies with."
            )
        return (table.to_numpy(np.float64), [str(c) for c in table.columns], is_cat,
                np.asarray(y, dtype=np.int8), notes)


def looks_like_path(spec: str) -> bool:
    """Whether a ``--dataset`` spec names a file (a separator, a suffix, or an existing path)."""
    return os.sep in spec or "/" in spec or Path(spec).suffix != "" or Path(spec).exists()


@hookimpl
def adb_resolve_dataset(spec: str, options: dict[str, Any]) -> FileDataset | None:
    return FileDataset(spec, **options) if looks_like_path(spec) else None
