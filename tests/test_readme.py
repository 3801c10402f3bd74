"""The README's promises: its plugin example runs, its test command is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm import hookspecs
from adbench_dagmm.registry import build_registry
from adbench_dagmm.results import Store

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def plugin_example() -> str:
    block = README.split("<!-- plugin-example -->", 1)[1]
    return re.search(r"```python\n(.*?)```", block, re.S).group(1)


def test_plugin_example_is_short_and_runs(tmp_path: Path, csv_dataset: Path) -> None:
    code = plugin_example()
    assert len(code.strip().splitlines()) <= 25  # "at most 20 lines" of logic, plus blank lines
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "mahalanobis_plugin.py").write_text(code)
    registry = build_registry(load_entrypoints=False, plugins_dir=tmp_path / "plugins")
    det = registry.detector("mahalanobis")()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    scores = det.fit(X).decision_function(np.vstack([X[:5], [[9.0, 9.0, 9.0]]]))
    assert scores.dtype == np.float64 and scores.argmax() == 5
    result = CliRunner().invoke(app, ["--plugins-dir", str(tmp_path / "plugins"), "run", "-d", "mahalanobis",
                                      "-D", str(csv_dataset), "--seeds", "2", "--results", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in Store(tmp_path / "r").rows()] == ["ok", "ok"]


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    assert len(commands) >= 2
    install_and_run, test_command = commands[0], commands[1]
    assert "adb run" in install_and_run and "torch==2.13.0" in install_and_run
    assert test_command.strip() in (ROOT / ".ci" / "run").read_text()


def test_every_hook_is_documented() -> None:
    hooks = [name for name in vars(hookspecs) if name.startswith("adb_")]
    assert hooks
    for name in hooks:
        assert name in README, name


def test_dagmm_example_runs_as_written(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The DAGMM example defines its own data (the shipped Thyroid file: no ADB_DATA_DIR here)."""
    block = README.split("<!-- dagmm-example -->", 1)[1]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    split = namespace["split"]
    assert namespace["scores"].shape == (split.X_test.shape[0],) and np.isfinite(namespace["scores"]).all()
    assert (tmp_path / "dagmm.pt").is_file()
    printed = float(capsys.readouterr().out.split()[-1])
    quoted = float(re.search(r"It prints `ROC AUC ([0-9.]+)`", block).group(1))
    assert abs(printed - quoted) < 0.02  # the README quotes what it prints (up to BLAS rounding)


def test_python_api_example_runs() -> None:
    """The Python-API example, on the shipped KDD Cup file (no ADB_DATA_DIR here)."""
    block = README.split("### From Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    data, split = namespace["data"], namespace["split"]
    assert data.name == "kddcup99" and data.X.shape == (494021, 118)
    assert split.X_test.shape[0] == split.y_test.shape[0] and 0 < split.contamination < 1
