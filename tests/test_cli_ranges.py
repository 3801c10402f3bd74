"""Range errors of `adb run`'s options are one usage error, never a traceback (issue 14 item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from adbench_dagmm.cli import app


@pytest.mark.parametrize(("args", "message"), [
    (["--timeout", "nan"], "--timeout must be a finite number of seconds > 0, got nan"),
    (["--timeout", "inf"], "--timeout must be a finite number of seconds > 0, got inf"),
    (["--timeout", "0"], "--timeout must be a finite number of seconds > 0, got 0"),
    (["--seed-start", str(2**63)], f"seeds must be from 0 to 2**63 - 1 (the store's integer range); "
                                   f"--seed-start and --seeds give {2**63}"),
    (["--seed-start", "-1"], "seeds must be from 0 to 2**63 - 1"),
    (["--seeds", str(10**8)], "--seeds must be from 1 to 100,000, got 100,000,000"),
    (["--param", "iforest.n_estimators=" + "1" * 100_000],
     "value '" + "1" * 60 + "'… (100,000 characters) is not a valid integer"),
    (["--param", "x" * 100_000], "… (100,000 characters) is not of the form DETECTOR.KEY=VALUE"),
], ids=["timeout-nan", "timeout-inf", "timeout-0", "seed-start-2**63", "seed-start-negative",
        "seeds-1e8", "param-100k-value", "param-100k-spec"])
def test_out_of_range_options_are_one_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["run", "-d", "iforest", "-D", "thyroid", *args,
                                      "--results", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert len(result.output) < 2000  # the 100,000 characters are not echoed
    assert not (tmp_path / "adb.sqlite").exists()
