"""Detector parameters are checked before any run (issue 14 item 9): exit 2, nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.results import Store


def run(csv_dataset: Path, results: Path, *params: str):  # type: ignore[no-untyped-def]
    args = ["run", "-D", str(csv_dataset), "--seeds", "2", "--results", str(results)]
    for param in params:
        args += ["-d", param.split(".", 1)[0], "--param", param]
    return CliRunner().invoke(app, args)


@pytest.mark.parametrize(("param", "message"), [
    ("dagmm.lr=-1", r"The 'lr' parameter of DAGMMDetector must be a float > 0\. Got -1 instead"),
    ("dagmm.preset=bogus", r"The 'preset' parameter of DAGMMDetector must be a str among"),
    ("dagmm.device=tpu", r"The 'device' parameter of DAGMMDetector"),
    ("knn.method=bogus", r"KNNDetector rejects method='bogus'"),
    ("lof.metric=nonsense", r"LOFDetector rejects metric='nonsense'.*must be a str among"),
], ids=["dagmm-lr", "dagmm-preset", "dagmm-device", "knn-method", "lof-metric"])
def test_a_bad_parameter_stops_the_sweep_before_any_run(csv_dataset: Path, tmp_path: Path,
                                                        param: str, message: str) -> None:
    result = run(csv_dataset, tmp_path / "r", param)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"detector '{param.split('.')[0]}'" in errors[0], result.output
    import re

    assert re.search(message, errors[0]), errors[0]
    assert not (tmp_path / "r" / "adb.sqlite").exists() or Store(tmp_path / "r", create=False).rows() == []


def test_a_good_text_parameter_runs(csv_dataset: Path, tmp_path: Path) -> None:
    result = run(csv_dataset, tmp_path, "knn.method=mean")
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in Store(tmp_path, create=False).rows()] == ["ok", "ok"]
