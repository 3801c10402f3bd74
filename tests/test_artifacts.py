"""Per-run artifacts: a sample of test rows gets its labels from the runner, not the detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from adbench_dagmm.cli import app
from adbench_dagmm.execute import _label_row_samples
from adbench_dagmm.results import Store


def test_row_samples_get_the_labels_of_their_rows() -> None:
    artifacts = {"latent": {"rows": [0, 3, 4], "z": [[0.0]] * 3}, "history": {"loss": [1.0]},
                 "given": {"rows": [1], "y": [7]}}
    _label_row_samples(artifacts, np.array([1, 0, 0, 1, 0]))
    assert artifacts["latent"]["y"] == [1, 1, 0]
    assert "y" not in artifacts["history"] and artifacts["given"]["y"] == [7]  # never overwritten


def test_dagmm_run_stores_a_labelled_latent_sample(csv_dataset: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "-d", "dagmm", "-D", str(csv_dataset), "--seeds", "1",
                                      "--param", "dagmm.steps=20", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    with Store(tmp_path, create=False) as store:
        (row,) = store.rows()
        latent = store.artifact(row["run_id"], "latent")
    assert len(latent["rows"]) == len(latent["y"]) == len(latent["z"]) == row["n_test"]
    assert set(latent["y"]) == {0, 1}
