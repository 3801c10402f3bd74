"""The public data API: ``load_dataset`` and ``get_protocol`` give what a run gets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import adbench_dagmm
from adbench_dagmm import RunContext, UsageError
from adbench_dagmm.errors import DataError

PLUGINS = str(Path(__file__).parent / "plugins")


def test_a_file_loads_with_its_options(tmp_path: Path, csv_dataset: Path) -> None:
    data = adbench_dagmm.load_dataset(str(csv_dataset))
    assert data.X.shape == (200, 5) and int(data.y.sum()) == 20
    relabelled = adbench_dagmm.load_dataset(str(csv_dataset), label_column="x0", anomaly_label=7.5)
    assert relabelled.X.shape == (200, 5)  # x0 is the label now, "label" a feature
    assert 1 <= relabelled.y.sum() < 20


def test_the_split_is_the_one_a_run_gets(csv_dataset: Path) -> None:
    data = adbench_dagmm.load_dataset(str(csv_dataset))
    split = adbench_dagmm.get_protocol("pyod").split(data, seed=3)
    ran = RunContext().split(str(csv_dataset), {}, "pyod", 3)
    np.testing.assert_array_equal(split.X_train, ran.X_train)
    np.testing.assert_array_equal(split.y_test, ran.y_test)
    assert split.X_train.min() != 0 or split.X_train.max() != 1  # pyod standardises
    assert adbench_dagmm.get_protocol("zong2018").split(data, seed=3).y_train.max() == 0


def test_a_registered_dataset_through_a_context(tmp_path: Path) -> None:
    (tmp_path / "toy").mkdir()
    rng = np.random.default_rng(0)
    rows = [",".join(f"{v:.3f}" for v in rng.normal(size=3)) + f",{int(i % 10 == 0)}" for i in range(60)]
    (tmp_path / "toy" / "toy.csv").write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    context = RunContext(tmp_path, PLUGINS)  # the data folder and plugins of the context
    data = adbench_dagmm.load_dataset("toy", context=context)
    assert data.name == "toy" and data.X.shape[1] >= 3
    assert adbench_dagmm.load_dataset("toy", context=context) is data  # the context caches it


def test_the_shipped_thyroid_file_loads_without_a_data_folder() -> None:
    data = adbench_dagmm.load_dataset("adbench:thyroid")
    assert data.X.shape == (3772, 6)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: adbench_dagmm.load_dataset("kddcup99", impute="mean"),
     r"dataset 'kddcup99' is registered and takes no option impute; label_column, anomaly_label and "
     r"impute are for data files\."),
    (lambda: adbench_dagmm.load_dataset("kddcup9"), r"unknown dataset 'kddcup9'\. Did you mean: kddcup99"),
    (lambda: adbench_dagmm.load_dataset("kddcup99", data_dir=".", context=RunContext()),
     r"give either data_dir or context, not both"),
    (lambda: adbench_dagmm.get_protocol("zong"), r"unknown protocol 'zong'\. Did you mean: zong2018"),
], ids=["option-for-registered", "unknown-dataset", "data-dir-and-context", "unknown-protocol"])
def test_bad_calls_say_what_to_do(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=message):
        call()


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises((DataError, UsageError), match=r"gone\.csv"):
        adbench_dagmm.load_dataset(str(tmp_path / "gone.csv"))
