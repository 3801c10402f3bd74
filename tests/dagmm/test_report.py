"""The DAGMM plugin's report section (plugins/dagmm/report.py): its figures and its blocks."""

from __future__ import annotations

from adb_plugins.dagmm.report import (
    SECTION, _latent_points, history_series, latent_figure, training_figure,
    training_figure_possible,
)
from adbench_dagmm.reporting.document import FigureBlock, Heading, Para
from adbench_dagmm.reporting.plots import draw
from adbench_dagmm.reporting.sections import ReportView


def test_history_series_tolerates_odd_histories():
    history = {"epoch": [1, 2, 3], "loss": [3.0, 2.0, 1.0], "val_loss": [3.5, 2.5, 1.5],
               "energy": [1.0, 0.5], "note": "x", "flags": [True, False, True], "recoveries": [],
               "cov_diag": [0.1, 0.2, 0.3]}
    panels = history_series(history)
    assert [(t, [k for k, _ in s]) for t, s in panels] == [("loss", ["loss", "val_loss"]), ("cov_diag", ["cov_diag"])]
    assert history_series({"loss": [1.0, 0.5]}) == [("loss", [("loss", [1.0, 0.5])])]
    assert training_figure("t", {"stop_reason": "max_epochs"}, None) is None
    assert not training_figure_possible({"stop_reason": "max_epochs"}, {"z": [], "y": []})
    assert training_figure("t", history, None) is not None


def test_latent_figure_needs_three_columns():
    assert latent_figure("t", {"z": [[1.0, 2.0]], "y": [0]}) is None
    assert latent_figure("t", {"z": [[1.0, 2.0, 3.0]], "y": [0, 1]}) is None  # lengths differ
    assert latent_figure("t", {"z": [[1.0, 2.0, 3.0, 0.5, 0.9]] * 4, "y": [0, 1, 0, 1]}) is not None
    png = draw((training_figure, ("t", None, {"z": [[1.0, 2.0, 3.0]] * 4, "y": [0, 1, 0, 1]})))
    assert png[:4] == b"\x89PNG"


def test_latent_axis_names_a_single_code_column_z_c():
    """With ``abs_distance`` a 1-d code gives 4 columns: the stored latent_dim says which."""
    row = [1.0, 2.0, 3.0, 0.5]
    one = latent_figure("t", {"z": [row] * 4, "y": [0, 1, 0, 1], "latent_dim": 1})
    two = latent_figure("t", {"z": [row] * 4, "y": [0, 1, 0, 1], "latent_dim": 2})
    old = latent_figure("t", {"z": [row] * 4, "y": [0, 1, 0, 1]})  # stored before latent_dim
    assert [f.axes[0].get_xlabel() for f in (one, two, old)] == ["z_c", "z_c[0]", "z_c[0]"]
    z, _, _ = _latent_points({"z": [row] * 4, "y": [0, 1, 0, 1], "latent_dim": 1})
    assert z.tolist() == [[1.0, 3.0, 0.5]] * 4  # z_c[0], relative distance, cosine


def _view(artifacts: dict, plots: bool = True) -> ReportView:
    row = {"run_id": "r1", "detector": "dagmm", "seed": 3}
    return ReportView(
        rows=[row], summary=[], drawn=[("thyroid", row)], plots=plots,
        _artifact=lambda run_id, name: artifacts.get(name),
        _figure=lambda draw_, args, stem, caption: FigureBlock("_".join(stem), caption, b"", "png",
                                                               job=(draw_, args)),
    )


def test_section_draws_the_stored_history_and_latent_sample():
    history = {"epoch": [1, 2], "loss": [2.0, 1.0], "epochs_run": 2, "best_epoch": 2,
               "stop_reason": "max_epochs"}
    latent = {"z": [[0.1, 0.2, 0.3]] * 4, "y": [0, 1, 0, 1]}
    blocks = SECTION.build(_view({"history": history, "latent": latent}))
    assert isinstance(blocks[0], Heading) and blocks[0].text == "dagmm on thyroid (seed 3)"
    figure = blocks[1]
    assert isinstance(figure, FigureBlock) and figure.job[0] is training_figure
    assert "epochs run 2, best epoch 2, stop reason max_epochs" in figure.caption
    assert draw(figure.job)[:4] == b"\x89PNG"


def test_section_is_left_out_without_artifacts_or_plots():
    assert SECTION.build(_view({})) == []
    assert SECTION.build(_view({"history": {"loss": [1.0]}}, plots=False)) == []
    blocks = SECTION.build(_view({"history": {"stop_reason": "max_epochs"}}))
    assert isinstance(blocks[1], Para) and "no per-epoch curves" in blocks[1].text
