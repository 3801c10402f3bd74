"""``adb_plugins.dagmm.train``: the objective, the optimiser and the generic training loop."""

from __future__ import annotations

import json

import pytest
import torch

from adb_plugins.dagmm.model import DAGMM
from adb_plugins.dagmm.train import (
    DAGMMObjective,
    NumericalFailure,
    TrainingFailure,
    make_optimizer,
    train,
)


def _quadratic_problem():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x = torch.randn(64, 3)

    def objective(m, xb):
        return {"loss": (m(xb) - xb.sum(1, keepdim=True)).square().mean()}

    return model, x, objective


def test_objective_terms_follow_the_paper() -> None:
    """loss = recon + weight * (lambda_1 * energy + lambda_2 * P(Sigma)), recon summed per row."""
    torch.manual_seed(0)
    model = DAGMM(n_features=6, hidden=[5], latent_dim=1, n_gmm=2).eval()
    x = torch.rand(40, 6)
    objective = DAGMMObjective(lambda_energy=0.1, lambda_cov_diag=0.005, cov_jitter=1e-6)
    objective.gmm_weight = 0.5
    t = objective(model, x)
    out = model(x)
    torch.testing.assert_close(t["recon"], (x - out.x_hat).square().sum(1).mean())
    expected = t["recon"] + 0.5 * (0.1 * t["energy"] + 0.005 * t["cov_diag"])
    torch.testing.assert_close(t["loss"], expected.to(t["loss"].dtype))
    mean = DAGMMObjective(lambda_energy=0.1, lambda_cov_diag=0.005, cov_jitter=1e-6,
                          recon_reduction="mean")(model, x)
    torch.testing.assert_close(mean["recon"], t["recon"] / 6)


def test_optimizer_is_torch_adam_with_its_fused_kernel() -> None:
    opt = make_optimizer(torch.nn.Linear(2, 2).parameters(), lr=1e-3, device=torch.device("cpu"))
    assert type(opt) is torch.optim.Adam
    assert opt.defaults["fused"] is True and opt.defaults["lr"] == 1e-3


def test_early_stopping_stops_and_restores_the_best_epoch() -> None:
    model, x, objective = _quadratic_problem()
    scripted = iter([5.0, 3.0, 4.0, 4.5, 6.0, 1.0, 0.5])
    weights: dict[int, torch.Tensor] = {}
    history = train(
        model, objective, x,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        epochs=7, batch_size=16, generator=torch.Generator().manual_seed(0),
        validate=lambda m: {"loss": next(scripted)}, monitor="val_loss", patience=3,
        callbacks=[lambda epoch, m, h: weights.__setitem__(epoch, m.weight.detach().clone())],
    )
    assert history["stop_reason"] == "early_stopping"
    assert history["epochs_run"] == 5 and history["best_epoch"] == 2
    assert history["val_loss"] == [5.0, 3.0, 4.0, 4.5, 6.0]
    assert not torch.equal(weights[2], weights[5])
    torch.testing.assert_close(model.weight.detach(), weights[2], rtol=0, atol=0)
    json.dumps(history)


def test_early_stopping_ignores_the_first_min_epochs() -> None:
    """The best validation value of a warm-up epoch is neither kept nor a reason to stop."""
    model, x, objective = _quadratic_problem()
    scripted = iter([1.0, 5.0, 4.0, 4.5, 6.0, 7.0, 8.0])
    history = train(
        model, objective, x, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        epochs=7, batch_size=16, generator=torch.Generator().manual_seed(0),
        validate=lambda m: {"loss": next(scripted)}, monitor="val_loss", patience=2,
        min_epochs=1,
    )
    assert history["best_epoch"] == 3 and history["epochs_run"] == 5


def test_patience_zero_trains_every_epoch_and_keeps_the_last() -> None:
    model, x, objective = _quadratic_problem()
    history = train(
        model, objective, x, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        epochs=4, batch_size=16, generator=torch.Generator().manual_seed(0),
        validate=lambda m: {"loss": 1.0}, patience=0,
    )
    assert history["epochs_run"] == 4 and history["stop_reason"] == "max_epochs"
    assert history["best_epoch"] == 4 and history["monitor"] is None


def test_zero_epochs_leaves_the_model_untouched() -> None:
    model, x, objective = _quadratic_problem()
    before = model.weight.detach().clone()
    history = train(model, objective, x, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
                    epochs=0, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert history["epochs_run"] == 0 and torch.equal(model.weight.detach(), before)


def test_batches_are_nearly_equal() -> None:
    model, x, objective = _quadratic_problem()
    sizes: list[int] = []

    def recording(m, xb):
        sizes.append(xb.shape[0])
        return objective(m, xb)

    train(model, recording, x[:50], optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
          epochs=1, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert sizes == [13, 13, 12, 12]


def test_failure_restores_the_last_good_checkpoint_and_replays_the_epoch() -> None:
    model, x, objective = _quadratic_problem()
    calls = {"n": 0}
    weights: dict[int, torch.Tensor] = {}
    seen_at_failure: list[torch.Tensor] = []

    def flaky(m, xb):
        calls["n"] += 1
        if calls["n"] == 7:  # epoch 2, batch 3 (4 batches per epoch), after two updates
            raise NumericalFailure("boom", component=1)
        return objective(m, xb)

    def on_failure(exc: NumericalFailure) -> bool:
        seen_at_failure.append(model.weight.detach().clone())
        return True

    history = train(
        model, flaky, x, optimizer=torch.optim.Adam(model.parameters(), lr=0.05),
        epochs=3, batch_size=16, generator=torch.Generator().manual_seed(0),
        on_failure=on_failure,
        callbacks=[lambda epoch, m, h: weights.__setitem__(epoch, m.weight.detach().clone())],
    )
    assert history["recoveries"] == [{"epoch": 2, "batch": 3, "component": 1, "what": "boom"}]
    assert history["epochs_run"] == 3
    torch.testing.assert_close(seen_at_failure[0], weights[1], rtol=0, atol=0)


def test_non_finite_loss_is_unrecoverable_without_a_remedy() -> None:
    model, x, objective = _quadratic_problem()

    def nan_objective(m, xb):
        return {"loss": objective(m, xb)["loss"] * float("nan")}

    with pytest.raises(TrainingFailure, match="non-finite loss at epoch 1, batch 1"):
        train(model, nan_objective, x, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
              epochs=2, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert all(torch.isfinite(p).all() for p in model.parameters())
