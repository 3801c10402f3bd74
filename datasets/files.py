"""Any user file as a dataset: ``--dataset path/to/data.csv`` (csv, parquet, npz, mat).

Labels come from ``label_column`` (default ``label``, else the last column) for tables, ``y``
for arrays; ``anomaly_label`` says which value is the anomaly (default 1).  String columns with
few distinct values are one-hot encoded; other strings are rejected.  Constant columns are
dropped with a note; NaN/inf values are an error unless ``impute`` is given.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from adbench_dagmm.dataset import BaseDataset, Dataset, DatasetCard, file_sha256
from adbench_dagmm.errors import DataError, UsageError

SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet", ".npz", ".mat")
MAX_CATEGORIES = 64
IMPUTE = ("none", "mean", "median", "drop")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


class FileDataset(BaseDataset):
    """A dataset read from a user file; see the module docstring for the rules."""

    name = "file"

    def __init__(self, path: str, label_column: str | None = None, anomaly_label: Any = None,
                 impute: str = "none") -> None:
        self.path = Path(path).expanduser()
        self.label_column = label_column
        self.anomaly_label = anomaly_label
        self.impute = impute
        self.card = DatasetCard(name=str(path), description=f"user file {self.path}",
                                anomaly_definition=f"label == {anomaly_label if anomaly_label is not None else 1}")

    def _check_file(self) -> None:
        if not self.path.is_file():
            raise DataError(f"{self.path}: file not found; check the path given to --dataset.")
        if self.path.stat().st_size == 0:
            raise DataError(f"{self.path}: the file is empty.")
        if _suffix(self.path) not in SUFFIXES:
            raise UsageError(
                f"{self.path}: unsupported file type {self.path.suffix!r}; use one of "
                f"{', '.join(SUFFIXES)}."
            )
        if self.impute not in IMPUTE:
            raise UsageError(f"--impute {self.impute!r} is not one of {', '.join(IMPUTE)}.")

    def sha256(self) -> str:
        self._check_file()
        return file_sha256(self.path)

    def is_present(self) -> bool:
        return self.path.is_file()

    # -- readers ---------------------------------------------------------------------------------
    def _read_table(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        suffix = _suffix(self.path)
        try:
            if suffix == ".parquet":
                return pd.read_parquet(self.path)
            return pd.read_csv(self.path, sep="\t" if suffix == ".tsv" else ",")
        except pd.errors.EmptyDataError:
            raise DataError(f"{self.path}: the file holds no rows.") from None
        except (OSError, EOFError, zlib.error, ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"{self.path}: cannot read the file ({exc}); it is truncated or corrupt.") from None

    def _read_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        suffix = _suffix(self.path)
        try:
            if suffix == ".npz":
                with np.load(self.path, allow_pickle=False) as archive:
                    missing = [k for k in ("X", "y") if k not in archive.files]
                    if missing:
                        raise DataError(
                            f"{self.path}: the archive has no {' and '.join(missing)} array "
                            f"(found: {', '.join(archive.files) or 'nothing'}); save X and y."
                        )
                    return np.asarray(archive["X"]), np.asarray(archive["y"])
            from scipy.io import loadmat

            data = loadmat(self.path)
        except DataError:
            raise
        except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, TypeError) as exc:
            raise DataError(f"{self.path}: cannot read the file ({exc}); it is truncated or corrupt.") from None
        missing = [k for k in ("X", "y") if k not in data]
        if missing:
            raise DataError(f"{self.path}: the .mat file has no {' and '.join(missing)} variable.")
        return np.asarray(data["X"]), np.asarray(data["y"])

    # -- load ------------------------------------------------------------------------------------
    def load(self) -> Dataset:
        import pandas as pd

        self._check_file()
        if _suffix(self.path) in (".npz", ".mat"):
            X, y = self._read_arrays()
            if X.ndim != 2:
                raise DataError(f"{self.path}: X must be 2-D, got shape {X.shape}.")
            frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
            labels = pd.Series(np.asarray(y).reshape(-1), name="y")
            if len(labels) != len(frame):
                raise DataError(f"{self.path}: y has {len(labels)} labels for {len(frame)} rows of X.")
            label_name = "y"
        else:
            frame = self._read_table()
            if frame.shape[0] == 0:
                raise DataError(f"{self.path}: the file holds a header but no rows.")
            label_name = self.label_column or ("label" if "label" in frame.columns else frame.columns[-1])
            if label_name not in frame.columns:
                raise DataError(
                    f"{self.path}: no label column {label_name!r}; columns are "
                    f"{', '.join(map(str, frame.columns[:20]))}. Pass --label-column."
                )
            labels = frame.pop(label_name)
        return self._encode(frame, labels, str(label_name))

    def _encode(self, frame, labels, label_name: str) -> Dataset:  # type: ignore[no-untyped-def]
        import pandas as pd

        notes: list[str] = []
        if labels.isna().any():
            raise DataError(f"{self.path}: label column {label_name!r} has {int(labels.isna().sum())} missing values.")
        anomaly = self.anomaly_label if self.anomaly_label is not None else 1
        values = pd.unique(labels)
        if self.anomaly_label is None and len(values) > 2:
            raise DataError(
                f"{self.path}: label column {label_name!r} has {len(values)} distinct values; "
                "labels must be binary. Pass --anomaly-label VALUE to mark which value is the anomaly."
            )
        y = (labels.astype(str) == str(anomaly)).to_numpy(np.int8)
        if self.anomaly_label is None and not set(map(str, values)) <= {"0", "1", "0.0", "1.0"}:
            raise DataError(
                f"{self.path}: label column {label_name!r} holds {sorted(map(str, values))[:5]}, "
                "not 0/1. Pass --anomaly-label VALUE."
            )
        if self.anomaly_label is None:
            y = (pd.to_numeric(labels) == 1).to_numpy(np.int8)
        categorical_cols = []
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype) in ("string", "category", "str"):
                numeric = pd.to_numeric(frame[column], errors="coerce")
                if numeric.notna().sum() == frame[column].notna().sum():
                    frame[column] = numeric
                elif frame[column].nunique() <= MAX_CATEGORIES:
                    categorical_cols.append(column)
                else:
                    raise DataError(
                        f"{self.path}: column {column!r} holds text with {frame[column].nunique()} "
                        f"distinct values (more than {MAX_CATEGORIES}); it is neither numeric nor "
                        "categorical. Drop or encode it."
                    )
        dummies = pd.get_dummies(frame[categorical_cols].astype(str), prefix_sep="=") if categorical_cols else None
        numeric = frame.drop(columns=categorical_cols).astype(np.float64)
        bad = ~np.isfinite(numeric.to_numpy())
        if bad.any():
            counts = {c: int(n) for c, n in zip(numeric.columns, bad.sum(axis=0)) if n}
            listing = ", ".join(f"{c!r} ({n})" for c, n in counts.items())
            if self.impute == "none":
                raise DataError(
                    f"{self.path}: NaN/inf values in column(s) {listing}. Clean the file or pass "
                    "--impute mean|median|drop."
                )
            if self.impute == "drop":
                keep = ~bad.any(axis=1)
                numeric, y = numeric[keep], y[keep]
                if dummies is not None:
                    dummies = dummies[keep]
                notes.append(f"dropped {int((~keep).sum())} rows with NaN/inf in {listing}")
            else:
                numeric = numeric.mask(~np.isfinite(numeric))
                fill = numeric.mean() if self.impute == "mean" else numeric.median()
                numeric = numeric.fillna(fill)
                notes.append(f"imputed NaN/inf with the column {self.impute} in {listing}")
        parts = [numeric] + ([dummies.astype(np.float64)] if dummies is not None else [])
        table = pd.concat(parts, axis=1) if len(parts) > 1 else numeric
        constant = [c for c in table.columns if table[c].nunique(dropna=False) <= 1]
        if constant:
            table = table.drop(columns=constant)
            notes.append(f"dropped {len(constant)} constant column(s): {', '.join(map(str, constant[:10]))}")
        if table.shape[1] == 0:
            raise DataError(f"{self.path}: no usable feature columns remain.")
        categorical = np.array([c not in numeric.columns for c in table.columns])
        return Dataset(
            X=table.to_numpy(np.float64), y=y, name=str(self.path), feature_names=[str(c) for c in table.columns],
            categorical=categorical, card=self.card, sha256=file_sha256(self.path), notes=notes,
        )
