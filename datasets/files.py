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
- Columns are what they say: a name used twice (a repeated label column would be a label leak),
  a one-hot column whose name collides with another column, nested Parquet values (lists,
  structs), dates, complex numbers and integers that float64 cannot keep apart are errors naming
  the column; a text file must be UTF-8.  ``sha256`` on every run is the hash of the bytes parsed.
- A parse is cached (:func:`~adbench_dagmm.dataset.cached_parse`) under the file's sha256, its
  suffix (which decides how it is parsed) and the options, so the workers of a sweep and later
  sweeps map one parse; a changed file, suffix, option or :data:`PARSER_VERSION` parses afresh.

The options and the file type are checked when the dataset is made (so ``adb run`` stops with
exit status 2 before any run); the file itself (missing, empty, corrupt, bad values) is checked
by ``sha256()``/``load()``, so a bad file fails its own runs (exit status 1) and no others.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import numbers
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from adbench_dagmm.dataset import BaseDataset, Dataset, DatasetCard, cached_parse, file_sha256
from adbench_dagmm.errors import DataError, UsageError
from adbench_dagmm.hookspecs import hookimpl

TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet")
ARRAY_SUFFIXES = (".npz", ".mat")
SUFFIXES = TABLE_SUFFIXES + ARRAY_SUFFIXES
#: A text column with at most this many distinct values is treated as categorical (one-hot).
MAX_CATEGORIES = 100
IMPUTE = ("none", "mean", "median", "drop")
#: The parsed-dataset cache is keyed on it: bump it with any change to what a file parses to.
PARSER_VERSION = 1


def file_suffix(path: Path) -> str:
    """The data-format suffix of ``path`` (``.csv.gz`` counts as one suffix)."""
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _reason(exc: BaseException) -> str:
    """``Type: message`` of a library's exception, on one line (pyarrow's span several)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _exact_number(text: Any) -> Any:
    """A CSV cell as a Python int when it is one (no float rounding), else a float; NaN stays."""
    if not isinstance(text, str):
        return text
    try:
        return int(text)
    except ValueError:
        return float(text)


def _preview(values: Any, n: int = 5) -> str:
    items = [repr(v) for v in list(values)[:n]]
    return ", ".join(items) + (", ..." if len(list(values)) > n else "")


# -- arrays (.npz / .mat): shared with the ODDS and ADBench plugins -------------------------------
def read_arrays(path: Path, data: bytes | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read ``X`` and ``y`` from a ``.npz`` or ``.mat`` file (or from its bytes, ``data``).

    Raises
    ------
    DataError
        Naming the file, when it is empty, truncated, corrupt, holds pickled objects or
        complex numbers, or lacks ``X``/``y``.
    """
    path = Path(path)
    if (len(data) if data is not None else path.stat().st_size) == 0:
        raise DataError(f"{path}: the file is empty (0 bytes); replace it with a complete copy.")
    source: Any = io.BytesIO(data) if data is not None else path
    suffix = file_suffix(path)
    try:
        if suffix == ".npz":
            with np.load(source, allow_pickle=False) as archive:
                found = list(archive.files)
                X = np.asarray(archive["X"]) if "X" in found else None
                y = np.asarray(archive["y"]) if "y" in found else None
        else:
            from scipy.io import loadmat

            data_ = loadmat(source)
            found = [k for k in data_ if not k.startswith("__")]
            X = data_.get("X")
            y = data_.get("y")
            X = X.toarray() if hasattr(X, "toarray") else X
            y = y.toarray() if hasattr(y, "toarray") else y
    except NotImplementedError:  # scipy: "Please use HDF reader for matlab v7.3 files"
        raise DataError(
            f"{path}: a MATLAB v7.3 (HDF5) file, which scipy cannot read; re-save it with "
            "save(..., '-v7') or convert it to .npz with arrays X and y."
        ) from None
    except ValueError as exc:
        if "Object arrays" not in str(exc):  # numpy took unknown bytes for a pickle
            raise DataError(
                f"{path}: cannot read the file ({_reason(exc)}); it is truncated or "
                "corrupt, or not an .npz archive. Replace it with a complete copy."
            ) from None
        raise DataError(
            f"{path}: X or y is an array of Python objects (stored as a pickle), which adb never "
            "loads because unpickling can run code. Save X and y as numeric arrays, e.g. "
            "np.savez(path, X=X.astype(float), y=y.astype(int))."
        ) from None
    except Exception as exc:  # zipfile, zlib, scipy and numpy all raise their own types
        raise DataError(
            f"{path}: cannot read the file ({_reason(exc)}); it is truncated or "
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
    if np.iscomplexobj(X):
        raise DataError(
            f"{path}: X holds complex numbers (dtype {X.dtype}); detectors need real features. "
            "Store the real and imaginary parts as separate columns, e.g. "
            "np.column_stack([X.real, X.imag])."
        )
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool) or X.dtype.kind == "m":
        raise DataError(f"{path}: X must be numeric, got dtype {X.dtype}.")
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(
            f"{path}: y must hold one label per row of X ({X.shape[0]} rows), got shape {y.shape}."
        )
    if np.iscomplexobj(y):
        raise DataError(f"{path}: y holds complex numbers (dtype {y.dtype}); labels must be 0/1.")
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
    def _read_bytes(self) -> bytes:
        """The file's bytes, read once: they are parsed and hashed, so ``sha256`` is theirs."""
        self._require_file()
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read the file ({exc}).") from None
        if not data:
            raise DataError(f"{self.path}: the file is empty (0 bytes); replace it with a complete copy.")
        return data

    def _read_table(self, data: bytes):  # type: ignore[no-untyped-def]
        import pandas as pd

        suffix = file_suffix(self.path)
        try:
            if suffix == ".parquet":
                self._check_parquet_schema(data)
                return pd.read_parquet(io.BytesIO(data))
            options: dict[str, Any] = {
                "sep": "\t" if suffix.startswith(".tsv") else ",", "skipinitialspace": True,
                "compression": "gzip" if suffix.endswith(".gz") else None,
            }
            header = pd.read_csv(io.BytesIO(data), header=None, nrows=1, dtype=str,
                                 keep_default_na=False, **options)
            self._check_unique_names([str(v) for v in header.iloc[0]] if len(header) else [])
            frame = pd.read_csv(io.BytesIO(data), low_memory=False, **options)
        except DataError:
            raise
        except pd.errors.EmptyDataError:
            raise DataError(
                f"{self.path}: the file holds no data (no header, no rows); replace it with a "
                "complete copy."
            ) from None
        except UnicodeDecodeError as exc:
            raise DataError(self._not_utf8(data, exc)) from None
        except pd.errors.ParserError as exc:
            kind = "TSV" if suffix.startswith(".tsv") else "CSV"
            raise DataError(
                f"{self.path}: cannot parse the file as {kind} ({' '.join(str(exc).split())}). Check the "
                "delimiter and the quoting there, or whether the file is cut short."
            ) from None
        except Exception as exc:  # gzip, zlib, pyarrow and the csv parser all raise their own types
            raise DataError(
                f"{self.path}: cannot read the file ({_reason(exc)}); it is "
                "truncated or corrupt. Replace it with a complete copy."
            ) from None
        if not isinstance(frame.index, pd.RangeIndex):
            # pandas makes the first field the row index when rows have one field more than the
            # header: every value would sit under the wrong column name
            raise DataError(
                f"{self.path}: the rows have more fields than the header ({frame.shape[1]} "
                f"names: {_preview(frame.columns, 10)}); name every column in the header."
            )
        # pandas reads an integer column with a blank cell as float64, rounding integers beyond
        # 2**53 on the way: read such columns again as text, so _encode sees the exact values
        suspects = [c for c in frame.columns if frame[c].dtype.kind == "f" and frame[c].isna().any()
                    and (frame[c][np.isfinite(frame[c])].abs() > 2.0**53).any()]
        if suspects:
            text = pd.read_csv(io.BytesIO(data), usecols=suspects, dtype=str, low_memory=False, **options)
            for column in suspects:
                try:
                    exact = [_exact_number(v) for v in text[column].to_numpy(dtype=object)]
                except ValueError:  # a spelling pandas parses and Python does not: keep pandas'
                    continue
                frame[column] = pd.Series(exact, index=frame.index, dtype=object)  # no inference
        return frame

    def _check_unique_names(self, names: list[str]) -> None:
        """A column name used twice is an error (pandas would rename the copy to ``name.1``)."""
        repeated = {name: n for name, n in Counter(names).items() if n > 1}
        if not repeated:
            return
        listing = ", ".join(f"{name!r} ({n} times)" for name, n in repeated.items())
        label = self.label_column if self.label_column is not None else "label"
        leak = (f"; a second label column {label!r} would be read as a feature, leaking the "
                "labels" if label in repeated else "")
        raise DataError(
            f"{self.path}: column name(s) used more than once: {listing}{leak}. Give every column "
            "its own name, or drop the copies."
        )

    def _check_parquet_schema(self, data: bytes) -> None:
        """Names used twice and nested columns (lists, structs, maps), before pandas sees them."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(io.BytesIO(data))
        self._check_unique_names(list(schema.names))
        nested = [(field.name, field.type) for field in schema if pa.types.is_nested(field.type)]
        if nested:
            listing = ", ".join(f"{name!r} ({kind})" for name, kind in nested[:10])
            raise DataError(
                f"{self.path}: column(s) {listing} hold nested values (lists, structs or maps); "
                "each cell must be one number or one text value. Flatten them into one column "
                "per element (e.g. name_0, name_1) or drop them."
            )

    def _not_utf8(self, data: bytes, exc: UnicodeDecodeError) -> str:
        """'not UTF-8: byte 0xe9 on line 3 ...' (the position found in the decompressed text)."""
        try:
            text = gzip.decompress(data) if file_suffix(self.path).endswith(".gz") else data
            text.decode("utf-8")
            where = ""
        except UnicodeDecodeError as found:
            line = text.count(b"\n", 0, found.start) + 1
            where = f" (byte 0x{text[found.start]:02x} on line {line})"
        except Exception:  # noqa: BLE001  (a truncated archive: pandas' own position will do)
            where = f" ({exc.reason} at byte {exc.start})"
        return (
            f"{self.path}: the text is not UTF-8{where}. Save the file as UTF-8, e.g. "
            f"`iconv -f latin1 -t utf-8 {self.path.name} > utf8-{self.path.name}` for a Latin-1 file."
        )

    # -- load ------------------------------------------------------------------------------------
    def load(self) -> Dataset:
        """The parsed file, cached under its sha256, its format (the suffix) and the options:
        the workers of a sweep, and later sweeps, map one parse's arrays instead of each parsing
        the file again."""
        sha = self.sha256()
        how = (file_suffix(self.path), self.label_column, self.anomaly_label, self.impute)
        options = repr(how).encode()
        key = f"file-{sha[:16]}-{hashlib.sha256(options).hexdigest()[:12]}-v{PARSER_VERSION}"
        dataset = cached_parse(key, self._parse, sha256=sha)
        dataset.name, dataset.card = self.spec, self.card
        return dataset

    def _parse(self) -> Dataset:
        import pandas as pd

        data = self._read_bytes()
        digest = hashlib.sha256(data).hexdigest()  # of the bytes parsed below, not a re-read
        notes: list[str] = []
        if file_suffix(self.path) in ARRAY_SUFFIXES:
            X, y = read_arrays(self.path, data)
            # integer dtypes stay as they are: _encode converts them, checking float64 keeps them apart
            frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
            labels = pd.Series(y, name="y")
            label_name = "y"
        else:
            frame = self._read_table(data)
            del data
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
            card=self.card, sha256=digest, notes=notes + more,
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
            if series.dtype.kind in "mM" or isinstance(series.dtype, (pd.PeriodDtype, pd.IntervalDtype)):
                raise DataError(
                    f"{self.path}: column {column!r} holds dates or times ({series.dtype}), not "
                    "features. Convert it to the numbers you mean (e.g. seconds since a start, hour "
                    "of day) or drop it."
                )
            if isinstance(series.dtype, pd.CategoricalDtype):
                series = series.astype(object)
            if pd.api.types.is_numeric_dtype(series):
                if pd.api.types.is_complex_dtype(series):
                    raise DataError(
                        f"{self.path}: column {column!r} holds complex numbers; detectors need real "
                        "features. Store the real and imaginary parts as two columns."
                    )
                frame[column], note = self._float_column(series, column)
                notes += [note] if note else []
                continue
            present = series.dropna()
            if series.dtype == object:  # pandas' str dtype holds only text: nothing to check
                self._check_scalars(present, column)
            if series.dtype == object and all(isinstance(v, numbers.Number) for v in present.to_numpy()):
                # numbers held exactly (Python ints, Decimals): converted with the 2**53 check
                frame[column], note = self._float_column(series, column)
                notes += [note] if note else []
                continue
            as_number = pd.to_numeric(present, errors="coerce")
            stray = present[as_number.isna()]
            if stray.empty:  # numbers stored as text
                frame[column], note = self._float_column(pd.to_numeric(series, errors="coerce"), column)
                notes += [note] if note else []
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
                with np.errstate(over="ignore"):  # values beyond 1e150 fail validation, by name
                    fill = numeric.mean() if self.impute == "mean" else numeric.median()
                numeric = numeric.fillna(fill)
                if categorical_cols:
                    cats = cats.fillna(cats.mode().iloc[0])
                notes.append(f"--impute {self.impute}: filled {total} NaN/inf/missing value(s) in "
                             f"{listing} with the column {self.impute} (most frequent value for "
                             "text) over all rows, before the train/test split")
        parts = [numeric]
        if categorical_cols:
            cats = cats.astype(str)
            self._check_one_hot_names(numeric_cols, cats)
            dummies = pd.get_dummies(cats, prefix_sep="=").astype(np.float64)
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

    def _float_column(self, series, column: str):  # type: ignore[no-untyped-def]
        """A numeric column as float64, and a note when large integers were rounded.

        Integers beyond 2**53 lose precision in float64: when two distinct values become one
        float (a 64-bit id or hash column would then look constant), it is an error naming the
        column; when every value stays distinct, the rounding is recorded as a note.
        """
        try:
            values = series.astype(np.float64)
        except (OverflowError, TypeError, ValueError):
            raise DataError(
                f"{self.path}: column {column!r} holds integers beyond float64's range (about "
                "1.8e308). Rescale the column (another unit, or a log), or drop it."
            ) from None
        if series.dtype.kind == "f":
            return values, None
        finite = np.isfinite(values)
        big = [v for v in series[finite & (values.abs() > 2.0**53)] if isinstance(v, numbers.Integral)]
        if not big:  # no integer float64 has to round (large floats were floats already)
            return values, None
        largest = max(abs(int(v)) for v in big)
        exact, rounded = series[finite].nunique(), values[finite].nunique()
        if rounded < exact:
            raise DataError(
                f"{self.path}: column {column!r} holds integers up to {largest}, beyond the 2**53 "
                f"that float64 represents exactly: its {exact} distinct values would become "
                f"{rounded}. If it is an identifier or a hash, drop it; otherwise rescale it."
            )
        return values, (f"column {column!r}: integers beyond 2**53 (up to {largest}) rounded to "
                        f"float64; its {exact} distinct values stay distinct")

    def _check_scalars(self, present, column: str) -> None:  # type: ignore[no-untyped-def]
        """Each cell of a text column must be one text or number, not a list, dict, bytes, date."""
        odd = [v for v in present.to_numpy()
               if not isinstance(v, (str, numbers.Number)) or isinstance(v, complex)]
        if odd:
            kinds = ", ".join(sorted({type(v).__name__ for v in odd}))
            raise DataError(
                f"{self.path}: column {column!r} holds {len(odd)} value(s) of type {kinds} (e.g. "
                f"{_preview(odd, 2)}); each cell must be one number or one text value. Flatten or "
                "convert the column, or drop it."
            )

    def _check_one_hot_names(self, numeric_cols: list[str], cats) -> None:  # type: ignore[no-untyped-def]
        """One-hot columns are named ``column=value``: that name must not exist twice."""
        sources: dict[str, list[str]] = {c: [f"numeric column {c!r}"] for c in numeric_cols}
        for column in cats.columns:
            for value in sorted(cats[column].unique()):
                sources.setdefault(f"{column}={value}", []).append(
                    f"value {value!r} of text column {column!r}")
        clashes = {name: where for name, where in sources.items() if len(where) > 1}
        if clashes:
            name, where = next(iter(clashes.items()))
            more = f" (and {len(clashes) - 1} more name(s))" if len(clashes) > 1 else ""
            raise DataError(
                f"{self.path}: one-hot encoding names a column {name!r}, but that name comes from "
                f"{' and '.join(where)}{more}. Rename one of those columns."
            )


def looks_like_path(spec: str) -> bool:
    """Whether a ``--dataset`` spec names a file (a separator, a suffix, or an existing path)."""
    return os.sep in spec or "/" in spec or Path(spec).suffix != "" or Path(spec).exists()


@hookimpl
def adb_resolve_dataset(spec: str, options: dict[str, Any]) -> FileDataset | None:
    return FileDataset(spec, **options) if looks_like_path(spec) else None
