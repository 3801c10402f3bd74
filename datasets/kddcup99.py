"""KDD Cup 1999 (10 % file) with the DAGMM paper's inverted labels: ``normal.`` is the anomaly."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from adbench_dagmm.dataset import BaseDataset, Dataset, DatasetCard, cached_parse, find_file

from .catalog import shipped_copy
from adbench_dagmm.errors import DataError
from adbench_dagmm.hookspecs import hookimpl

COLUMNS = (
    "duration protocol_type service flag src_bytes dst_bytes land wrong_fragment urgent hot "
    "num_failed_logins logged_in num_compromised root_shell su_attempted num_root "
    "num_file_creations num_shells num_access_files num_outbound_cmds is_host_login "
    "is_guest_login count srv_count serror_rate srv_serror_rate rerror_rate srv_rerror_rate "
    "same_srv_rate diff_srv_rate srv_diff_host_rate dst_host_count dst_host_srv_count "
    "dst_host_same_srv_rate dst_host_diff_srv_rate dst_host_same_src_port_rate "
    "dst_host_srv_diff_host_rate dst_host_serror_rate dst_host_srv_serror_rate "
    "dst_host_rerror_rate dst_host_srv_rerror_rate label"
).split()
SYMBOLIC = ("protocol_type", "service", "flag")
#: The same bytes (same sha256) on figshare: the copy scikit-learn's ``fetch_kddcup99`` verifies.
MIRROR = "https://ndownloader.figshare.com/files/5976042"
PARSER_VERSION = "1"

CARD = DatasetCard(
    name="kddcup99",
    description="KDD Cup 1999 network intrusion data, 10 % file: 494,021 connections x 41 features.",
    source_url="http://kdd.ics.uci.edu/databases/kddcup99/kddcup.data_10_percent.gz",
    sha256="8045aca0d84e70e622d1148d7df782496f6333bf6eb979a1b0837c42a9fd9561",
    citation=(
        "Zong et al., Deep Autoencoding Gaussian Mixture Model for Unsupervised Anomaly "
        "Detection, ICLR 2018 (protocol); KDD Cup 1999 Data, UCI KDD Archive (data)."
    ),
    anomaly_definition=(
        "Inverted labels as in the DAGMM paper: the 97,278 'normal.' rows (19.69 %) are the "
        "anomalies; the attack rows are the normal class."
    ),
    default_protocol="zong2018",
    detector_params={"dagmm": {"preset": "kddcup"}},
    notes=(
        "protocol_type, service and flag are one-hot encoded: 3 + 66 + 11 = 80 columns plus 38 "
        "continuous = 118 features. The paper's 120 features came from the full KDD data, whose "
        "service column has more values than this 10 % file. A byte-identical copy of the "
        "UCI file (the sha256 above) ships inside this package as "
        "adb_datasets/data/kddcup99/kddcup.data_10_percent.gz and is used when no data folder "
        "holds the file; downloads try the UCI address, then figshare's copy of the same bytes "
        "(the one scikit-learn's fetch_kddcup99 verifies with this sha256)."
    ),
)


def read_kdd_csv(path: Path):  # type: ignore[no-untyped-def]
    """Parse the gzip CSV into a DataFrame (pure function; tested on a small slice)."""
    import pandas as pd

    # Strings as categories (codes, not a Python object per row) and numbers as float32, X's
    # dtype: the parse is the memory peak of a cold start.
    strings = {column: "category" for column in (*SYMBOLIC, "label")}
    numbers = {column: np.float32 for column in COLUMNS if column not in strings}
    try:
        try:
            frame = pd.read_csv(path, header=None, names=COLUMNS, compression="infer",
                                dtype={**strings, **numbers})
        except ValueError:  # a non-numeric value: read the numbers as text, and encode names it
            frame = pd.read_csv(path, header=None, names=COLUMNS, compression="infer", dtype=strings)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path}: cannot read the KDD Cup 99 file ({exc}); it is truncated or corrupt. "
            "Replace it with a fresh copy."
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a KDD Cup 99 CSV ({exc}).") from None
    if frame.shape[1] != len(COLUMNS) or frame[COLUMNS[-2]].isna().any():
        raise DataError(f"{path}: expected {len(COLUMNS)} comma-separated columns per row.")
    return frame


def encode(frame) -> Dataset:  # type: ignore[no-untyped-def]
    """One-hot the symbolic columns (sorted categories) and invert the labels."""
    import pandas as pd

    # column by column, never a copy of the whole frame: the parse is the peak of a cold start
    y = (frame["label"] == "normal.").to_numpy(np.int8)
    continuous = [c for c in frame.columns if c not in SYMBOLIC and c != "label"]
    bad = pd.Series({c: int(pd.to_numeric(frame[c], errors="coerce").isna().sum()) for c in continuous})
    if bad.any():
        column = bad.idxmax()
        raise DataError(f"KDD Cup 99: column {column!r} has {int(bad.max())} non-numeric values.")
    dummies = pd.get_dummies(frame[list(SYMBOLIC)], columns=list(SYMBOLIC), prefix_sep="=")
    dummies = dummies.reindex(sorted(dummies.columns), axis=1)
    names = continuous + list(dummies.columns)
    X = np.empty((len(frame), len(names)), dtype=np.float32)
    for i, column in enumerate(continuous):
        X[:, i] = frame[column].to_numpy()
    for i, column in enumerate(dummies.columns, start=len(continuous)):
        X[:, i] = dummies[column].to_numpy()
    categorical = np.array([False] * len(continuous) + [True] * dummies.shape[1])
    return Dataset(X=X, y=y, name="kddcup99", feature_names=names, categorical=categorical)


class KDDCup99Dataset(BaseDataset):
    """KDD Cup 99 (10 %), DAGMM protocol: ``normal.`` records are the anomaly class (~20 %).

    X is float32 (494,021 x 118, 233 MB) to keep a sweep's memory low.
    """

    name = "kddcup99"
    filename = "kddcup99/kddcup.data_10_percent.gz"
    card = CARD

    def path(self) -> Path:
        return find_file(self.filename, CARD.sha256, (CARD.source_url, MIRROR),
                         shipped=shipped_copy(self.filename))

    def sha256(self) -> str:
        self.path()  # fails clearly when the file is missing or corrupt
        return CARD.sha256

    def is_present(self) -> bool:
        try:
            self.path()
        except DataError:
            return False
        return True

    def describe(self) -> dict[str, object]:
        return {"rows": 494021, "features": 118, "anomaly_ratio": 97278 / 494021}

    def load(self) -> Dataset:
        path = self.path()

        def parse() -> Dataset:
            dataset = encode(read_kdd_csv(path))
            dataset.sha256 = CARD.sha256
            return dataset

        dataset = cached_parse(f"kddcup99-{CARD.sha256[:16]}-v{PARSER_VERSION}", parse)
        dataset.card = CARD
        return dataset


@hookimpl
def adb_register_datasets(register):  # type: ignore[no-untyped-def]
    register(KDDCup99Dataset)
