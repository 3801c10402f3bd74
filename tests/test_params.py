"""Typed --param parsing against a detector's constructor."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.errors import ParameterError
from adbench_dagmm.params import build_params, parse_literal, parse_param_specs, split_param
from adb_plugins.pyod_baselines import IForestDetector


class Toy:
    def __init__(self, n: int = 3, rate: float = 0.1, flag: bool = False, mode: str = "a",
                 hidden: tuple = (60, 30), anything=None) -> None:
        pass


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("n", "200", 200), ("n", "1e3", 1000), ("rate", "1e-4", 1e-4), ("flag", "true", True),
        ("flag", "0", False), ("mode", "b", "b"), ("hidden", "60,30,10", (60, 30, 10)),
        ("hidden", "[8]", (8,)), ("anything", "[1, 2]", [1, 2]), ("anything", "x", "x"),
        ("anything", "none", None),
    ],
    ids=lambda v: str(v),
)
def test_values_are_typed(key: str, text: str, expected: object) -> None:
    value = build_params("toy", Toy, {key: text})[key]
    assert value == expected and type(value) is type(expected)


def test_unknown_parameter_lists_valid_ones() -> None:
    with pytest.raises(ParameterError, match=r"unknown parameter toy\.nn\. Did you mean n\?.*Valid parameters of toy: anything, flag, hidden, mode, n, rate"):
        build_params("toy", Toy, {"nn": "3"})


@pytest.mark.parametrize(("key", "text", "typename"), [("n", "abc", "integer"), ("n", "2.5", "integer"), ("rate", "fast", "number"), ("flag", "maybe", r"boolean \(true or false\)")])
def test_bad_type_names_parameter_value_and_type(key: str, text: str, typename: str) -> None:
    with pytest.raises(ParameterError, match=rf"parameter toy\.{key}: value '{text}' is not a valid {typename}"):
        build_params("toy", Toy, {key: text})


def test_spec_parsing() -> None:
    assert split_param("iforest.n_estimators=200") == ("iforest", "n_estimators", "200")
    assert parse_param_specs(["a.x=1", "a.y=2", "b.z=3"]) == {"a": {"x": "1", "y": "2"}, "b": {"z": "3"}}
    assert parse_literal("1e-4") == 1e-4
    with pytest.raises(ParameterError, match="DETECTOR.KEY=VALUE"):
        split_param("n_estimators=200")


def test_iforest_params_are_typed() -> None:
    assert build_params("iforest", IForestDetector, {"n_estimators": "200"}) == {"n_estimators": 200}


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("iforest.n_trees=5", "unknown parameter iforest.n_trees"),
        ("iforest.n_estimators=many", "parameter iforest.n_estimators: value 'many' is not a valid integer"),
        ("lof.n_neighbors=5", "--param given for 'lof'"),
        ("oops", "DETECTOR.KEY=VALUE"),
    ],
    ids=["unknown", "badtype", "other-detector", "malformed"],
)
def test_cli_param_errors_exit_2(csv_dataset, param: str, message: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["run", "-d", "iforest", "-D", str(csv_dataset), "--seeds", "1",
                                      "--param", param, "--results", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r" / "adb.sqlite").exists()  # nothing ran, nothing written


def test_none_is_accepted_for_optional_annotations() -> None:
    class Capped:
        def __init__(self, max_train_rows: "int | None" = 20000) -> None:
            pass

    assert build_params("capped", Capped, {"max_train_rows": "none"}) == {"max_train_rows": None}
    assert build_params("capped", Capped, {"max_train_rows": "500"}) == {"max_train_rows": 500}
    with pytest.raises(ParameterError, match="not a valid int"):
        build_params("toy", Toy, {"n": "none"})
