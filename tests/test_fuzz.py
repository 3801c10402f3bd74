"""Property-based fuzzing of ``adb run`` on generated data files (issue 14).

Hypothesis builds CSV, TSV, gzip CSV, Parquet and NPZ files: odd column names (rich markup
such as ``[/]`` and ``weight[kg]``, ``=``, quotes, newlines, empty names, duplicates), NaN, inf,
huge and extreme integer values, text, mixed and boolean columns, odd labels, and damaged
bytes (empty, cut short, non-UTF-8, garbage).  Whatever the file, ``adb run --detector hbos
--dataset FILE`` keeps the contract:

* exit status 0, 1 or 2, never an uncaught exception and never a traceback;
* when it is not 0, exactly one line starting with ``error``, naming the file;
* the finished row already in the results store is unchanged.

The budget is bounded (``max_examples``, ``deadline``) so the test takes well under a minute on
two cores; under ``CI=true`` the examples are derandomized, so CI is reproducible.  Inputs that
fail because of code this test does not cover are listed in ``KNOWN_FAILURES`` with the reason:
they are kept out of the fuzzed inputs and pinned as strict xfail cases, so fixing them turns
those cases into failures to remove from the list, and the contract itself is never loosened.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the `test` extra")
from hypothesis import HealthCheck, assume, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from adb_datasets.files import FileDataset  # noqa: E402
from adbench_dagmm.cli import app  # noqa: E402
from adbench_dagmm.errors import DataError  # noqa: E402
from adbench_dagmm.registry import build_registry  # noqa: E402
from adbench_dagmm.results import Store  # noqa: E402

PROTOCOLS = build_registry(load_entrypoints=False)

DETECTOR = "hbos"  # milliseconds per fit: the budget goes to inputs, not training
SUFFIXES = [".csv", ".tsv", ".csv.gz", ".parquet", ".npz"]
TRICKY_NAMES = ["label", "weight[kg]", "[/]", "a=b", "", " ", "x.1", "Unnamed: 0", "é", "c,d", 'q"t',
                "n\nl", "\\", "y"]
TRICKY_TEXT = ["a", "b", "[red]", "[/]", "a=b", "", " ", "nan", "NA", "?", "1", "1.0", "é", "x\ny"]
FILE_STEMS = ["data", "data", "two words", "ü", "w[kg]"]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=6)  # no lone surrogates
FLOATS = st.one_of(st.floats(), st.sampled_from([1e308, -np.finfo(np.float64).max, 1e200, 0.0, -0.0]))
INT64 = st.integers(-(2**63), 2**63 - 1)


# -- the files ---------------------------------------------------------------------------------
@st.composite
def columns(draw: Callable[..., Any], n: int) -> tuple[str, list[Any]]:
    """One column: (kind, n values)."""
    kind = draw(st.sampled_from(["normal"] * 4 + ["float", "int", "text", "mixed", "bool", "bigint"]))
    if kind == "normal":
        seed = draw(st.integers(0, 2**32 - 1))
        return kind, np.random.default_rng(seed).normal(size=n).tolist()
    element = {
        "float": FLOATS, "int": st.integers(-5, 5), "bigint": INT64, "bool": st.booleans(),
        "text": st.sampled_from(TRICKY_TEXT),
        "mixed": st.one_of(st.sampled_from(TRICKY_TEXT), TEXT, FLOATS, st.integers(-3, 3)),
    }[kind]
    return kind, draw(st.lists(element, min_size=n, max_size=n))


@st.composite
def labels(draw: Callable[..., Any], n: int) -> list[Any]:
    kind = draw(st.sampled_from(["binary", "binary", "binary", "any"]))
    if kind == "binary":  # about one anomaly in seven, so that most files can run
        return [int(i % 7 == 3) for i in range(n)]
    return draw(st.lists(st.one_of(st.integers(0, 2), st.sampled_from(TRICKY_TEXT), FLOATS),
                         min_size=n, max_size=n))


@dataclasses.dataclass(frozen=True)
class DataFile:
    """A generated file: its name, its bytes and every text that went into it."""

    name: str
    data: bytes
    texts: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()  # FileDataset keyword -> value (and CLI option)

    def cli_options(self) -> list[str]:
        return [arg for key, value in self.options for arg in (f"--{key.replace('_', '-')}", value)]

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return f"DataFile(name={self.name!r}, data={self.data!r})"


@st.composite
def data_files(draw: Callable[..., Any]) -> DataFile:
    """A generated data file, possibly damaged."""
    suffix = draw(st.sampled_from(SUFFIXES))
    name = draw(st.sampled_from(FILE_STEMS)) + suffix
    n = draw(st.one_of(st.just(42), st.integers(0, 60)))
    n_features = draw(st.integers(1, 4))
    drawn = [draw(columns(n)) for _ in range(n_features)]
    y = draw(labels(n))
    texts = [name, *(str(v) for _, values in drawn for v in values), *map(str, y)]
    if suffix == ".npz":
        data = npz_bytes(draw, drawn, y, n)
    else:
        plain = st.sampled_from([f"f{i}" for i in range(8)])
        names = draw(st.lists(st.one_of(plain, plain, st.sampled_from(TRICKY_NAMES), TEXT),
                              min_size=n_features, max_size=n_features, unique=True))
        if draw(st.integers(0, 7)) == 0:  # one file in eight repeats a column name
            names[-1] = names[0]
        label_name = draw(st.sampled_from(["label"] * 5 + ["target", names[0]]))
        texts += [*names, label_name]
        data = table_bytes(suffix, [*names, label_name], [*(v for _, v in drawn), y])
    damage = draw(st.sampled_from(["none"] * 8 + ["empty", "truncate", "not-utf8", "garbage"]))
    if damage == "empty":
        data = b""
    elif damage == "truncate":
        data = data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    elif damage == "not-utf8":
        at = draw(st.integers(0, len(data)))
        raw = gzip.decompress(data) if suffix == ".csv.gz" else data
        raw = raw[:at] + b"\xe9\xff" + raw[at:]
        data = gzip.compress(raw) if suffix == ".csv.gz" else raw
    elif damage == "garbage":
        data = draw(st.binary(max_size=200))
    options = draw(st.sampled_from([(), (), (), ("impute", "mean"), ("impute", "median"),
                                    ("impute", "drop"), ("anomaly_label", "1"), ("anomaly_label", "a"),
                                    ("label_column", "y"), ("label_column", "f0")]))
    return DataFile(name, data, tuple(texts), (options,) if options else ())


def table_bytes(suffix: str, names: list[str], values: list[list[Any]]) -> bytes:
    frame = pd.DataFrame(dict(enumerate(values)))
    frame.columns = names  # duplicate names allowed, as in a hand-written header
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = []
        for column in values:
            try:
                arrays.append(pa.array(column))
            except (pa.ArrowException, OverflowError, TypeError, ValueError):  # mixed types
                arrays.append(pa.array([None if v is None else str(v) for v in column]))
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_arrays(arrays, names=names), buffer)
        return buffer.getvalue()
    text = frame.to_csv(index=False, sep="\t" if suffix == ".tsv" else ",").encode()
    return gzip.compress(text) if suffix == ".csv.gz" else text


def npz_bytes(draw: Callable[..., Any], drawn: list[tuple[str, list[Any]]], y: list[Any], n: int) -> bytes:
    dtype = draw(st.sampled_from(["float", "float", "int64", "uint64", "complex", "object", "str", "bool"]))
    numeric = [v for kind, v in drawn if kind in ("normal", "float", "int", "bool")] or [[0.0] * n]
    X: np.ndarray = np.array(numeric, dtype=np.float64).T.reshape(n, len(numeric))
    if dtype == "int64":
        X = np.array(draw(st.lists(INT64, min_size=n, max_size=n)), dtype=np.int64).reshape(n, 1)
    elif dtype == "uint64":
        X = (np.arange(n, dtype=np.uint64) * np.uint64(draw(st.integers(1, 2**40)))).reshape(n, 1)
        X = np.iinfo(np.uint64).max - X
    elif dtype != "float":
        X = X.astype({"complex": np.complex128, "object": object, "str": str, "bool": bool}[dtype])
    arrays: dict[str, Any] = {"X": X}
    if draw(st.integers(0, 9)):  # one file in ten has no y
        try:
            arrays["y"] = np.asarray(y)
        except ValueError:
            arrays["y"] = np.asarray([str(v) for v in y])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


# -- inputs that break the contract because of code outside this test's reach ------------------
#: (reason, predicate over a generated file).  Each is excluded from the fuzzed CLI inputs (the
#: library-level property still covers them) and pinned by a strict xfail example below; fix
#: the code, then delete the entry and its example.
KNOWN_FAILURES: list[tuple[str, Callable[[DataFile], bool]]] = []


#: The same for the library-level property: (reason, predicate over (dataset, protocol)).
#: Splits known to fail with something other than a DataError (none left: a new entry needs a
#: reason naming the code at fault).
KNOWN_SPLIT_FAILURES: list[tuple[str, Callable[[Any, str], bool]]] = []


def known_split_failure(dataset: Any, protocol: str) -> str | None:
    for reason, applies in KNOWN_SPLIT_FAILURES:
        if applies(dataset, protocol):
            return reason
    return None


def known_failure(file: DataFile) -> str | None:
    for reason, applies in KNOWN_FAILURES:
        if applies(file):
            return reason
    return None


# -- the contract ------------------------------------------------------------------------------
def adb(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def template_store(tmp_path: Path, blobs) -> tuple[Path, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A results folder holding one finished (ok) run, and that run's stored row."""
    X, y = blobs
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["label"] = y
    good = tmp_path / "good.csv"
    frame.to_csv(good, index=False)
    results = tmp_path / "template"
    result = adb("run", "-d", DETECTOR, "-D", str(good), "--seeds", "1", "--results", str(results))
    assert result.exit_code == 0, result.output
    with Store(results, create=False) as store:
        (row,) = store.rows()
    assert row["status"] == "ok"
    return results, row


def check_cli_contract(file: DataFile, template: tuple[Path, dict[str, Any]],
                       note: Callable[[str], None] = event) -> None:
    template_dir, finished = template
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / file.name
        path.write_bytes(file.data)
        results = Path(tmp) / "results"
        shutil.copytree(template_dir, results)
        result = adb("run", "-d", DETECTOR, "-D", str(path), *file.cli_options(), "--seeds", "1",
                     "--results", str(results))
        shown = (f"input {file.name!r} ({len(file.data)} bytes, options {file.cli_options()}): "
                 f"exit {result.exit_code}\n{result.output}")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            trace = "".join(traceback.format_exception(result.exception))
            raise AssertionError(f"uncaught exception\n{shown}\n{trace}")
        assert result.exit_code in (0, 1, 2), shown
        note(f"exit status {result.exit_code}")
        assert "Traceback" not in result.output, shown
        errors = [line for line in result.output.splitlines() if line.startswith("error")]
        if result.exit_code == 0:
            assert errors == [], shown
        else:
            assert len(errors) == 1 and file.name in errors[0], shown
        with Store(results, create=False) as store:
            rows = {r["run_id"]: r for r in store.rows(history=True) if r["status"] == "ok"}
        kept = rows.get(finished["run_id"])
        assert kept is not None, f"the finished run is gone\n{shown}"
        for key in ("status", "roc_auc", "average_precision", "f1", "created_at", "data_sha256"):
            assert kept.get(key) == finished.get(key), f"{key} of the finished run changed\n{shown}"


#: ``ADB_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py`` searches harder (minutes), e.g. after
#: a change to a reader; the default keeps CI fast.
BUDGET = settings(
    max_examples=int(os.environ.get("ADB_FUZZ_EXAMPLES", 60)), deadline=timedelta(seconds=20), database=None,
    derandomize=os.environ.get("CI", "").lower() in ("1", "true", "yes"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@BUDGET
@given(file=data_files())
def test_any_data_file_keeps_the_cli_contract(file: DataFile, template_store) -> None:  # type: ignore[no-untyped-def]
    assume(known_failure(file) is None)
    check_cli_contract(file, template_store)


@BUDGET
@given(file=data_files())
def test_any_data_file_loads_as_valid_data_or_fails_with_one_data_error(file: DataFile) -> None:
    """The library side, brackets included: valid finite data for every protocol, or a DataError."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / file.name
        path.write_bytes(file.data)
        try:
            dataset = FileDataset(str(path), **dict(file.options)).load().validate()
        except DataError as exc:
            assert file.name in str(exc) and "\n" not in str(exc), str(exc)
            event(f"load: {str(exc).split(': ', 1)[-1][:25]}")
            return
        event("loaded")
        assert dataset.X.dtype == np.float64 and np.isfinite(dataset.X).all()
        assert set(np.unique(dataset.y)) == {0, 1}
        assert len(dataset.feature_names) == len(set(dataset.feature_names)) == dataset.X.shape[1]
        for protocol in ("zong2018", "pyod", "adbench"):
            if known_split_failure(dataset, protocol):
                continue
            try:
                split = PROTOCOLS.protocol(protocol)().split(dataset, 0)
            except DataError as exc:
                assert file.name in str(exc) and "\n" not in str(exc), str(exc)
                continue
            assert np.isfinite(split.X_train).all() and np.isfinite(split.X_test).all(), protocol


# -- the known failures, pinned -----------------------------------------------------------------
def header_only(name: str) -> DataFile:
    return DataFile(name, b"x,label\n", (name, "x", "label"))


def markup_in_a_message(name: str) -> DataFile:
    text = "[/],b,label\n?,1,0\n" + "".join(f"{i},{i % 5},{int(i % 7 == 3)}\n" for i in range(41))
    return DataFile(name, text.encode(), (name, "[/]", "?"))


def test_one_anomaly_under_adbench_is_a_data_error() -> None:
    """sklearn's stratified split raises a bare ValueError here; the protocol names the cause."""
    from adbench_dagmm.dataset import Dataset

    X = np.random.default_rng(0).normal(size=(30, 2))
    dataset = Dataset(X=X, y=np.r_[np.zeros(29), 1].astype(int), name="one-anomaly").validate()
    with pytest.raises(DataError, match=r"'one-anomaly': protocol 'adbench' .* has 1 anomalies"):
        PROTOCOLS.protocol("adbench")().split(dataset, 0)


@pytest.mark.parametrize("file", [header_only("w[kg].csv"), markup_in_a_message("data.csv")],
                         ids=["bracketed-file-name", "markup-in-the-error"])
def test_markup_in_names_and_messages_keeps_the_cli_contract(file: DataFile, template_store) -> None:  # type: ignore[no-untyped-def]
    """Once a MarkupError mid-sweep and 'w[kg].csv' shown as 'w.csv' (issue 14 item 1)."""
    check_cli_contract(file, template_store, note=lambda _: None)
