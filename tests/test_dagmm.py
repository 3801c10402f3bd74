"""Tests of the DAGMM reference detector (``adb_plugins.dagmm``).

Maths against scipy/numpy in float64, numerical robustness (near-singular covariances, injected
failures), determinism, early stopping, learning on a synthetic task, parameter checks,
persistence, and one short real training run on KDD Cup 99 under the ``zong2018`` protocol.
The whole file runs in well under two minutes on two CPU cores.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from adb_plugins.dagmm import DAGMMDetector, adb_register_detectors  # noqa: E402
from adb_plugins.dagmm import gmm  # noqa: E402
from adb_plugins.dagmm.model import DAGMM  # noqa: E402
from adb_plugins.dagmm.presets import PRESETS  # noqa: E402
from adb_plugins.dagmm.train import (  # noqa: E402
    NumericalFailure,
    TrainingFailure,
    train,
)
from adbench_dagmm.errors import ParameterError, TrainingError  # noqa: E402

#: A small, fast recipe for synthetic-data tests (the KDDCUP network would be overkill).
FAST = {"hidden": [16, 8], "latent_dim": 1, "n_gmm": 2, "batch_size": 64, "epochs": 5}


def mixture(rng: np.random.Generator, n: int = 300, d: int = 3, k: int = 3):
    """Random latent vectors, log-responsibilities and a well-conditioned mixture."""
    z = rng.normal(size=(n, d))
    logits = rng.normal(size=(n, k))
    log_gamma = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return z, log_gamma


def manifold(rng: np.random.Generator, n: int, noise: float = 0.02):
    """Inliers on a 1-D curve in 12-D, outliers uniform in the same box (y = 1)."""
    t = rng.uniform(-1, 1, size=(n, 1))
    freqs = np.arange(1, 13)[None, :]
    inliers = np.sin(freqs * t) + noise * rng.normal(size=(n, 12))
    outliers = rng.uniform(inliers.min(), inliers.max(), size=(n // 10, 12))
    X = np.vstack([inliers, outliers]).astype(np.float32)
    y = np.r_[np.zeros(n, dtype=np.int64), np.ones(n // 10, dtype=np.int64)]
    return X, y


# -- GMM maths ---------------------------------------------------------------------------------
def test_covariance_matches_weighted_numpy() -> None:
    rng = np.random.default_rng(0)
    z, log_gamma = mixture(rng)
    params = gmm.gmm_params(torch.from_numpy(z), torch.from_numpy(log_gamma), jitter=1e-6)
    gamma = np.exp(log_gamma)
    for k in range(gamma.shape[1]):
        w = gamma[:, k]
        mu = (w[:, None] * z).sum(0) / w.sum()
        cov = np.cov(z, rowvar=False, aweights=w, bias=True) + 1e-6 * np.eye(z.shape[1])
        np.testing.assert_allclose(params.mu[k].numpy(), mu, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(params.cov[k].numpy(), cov, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(params.log_phi.exp().numpy(), gamma.mean(0), rtol=1e-12)
    assert params.cov.dtype == torch.float64


def test_energy_matches_scipy_mixture_density() -> None:
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(1)
    d, k = 3, 3
    mu = rng.normal(size=(k, d))
    a = rng.normal(size=(k, d, d))
    cov = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(d)
    phi = np.array([0.5, 0.3, 0.2])
    z = rng.normal(size=(50, d)) * 3
    params = gmm.GMMParams(
        log_phi=torch.from_numpy(np.log(phi)),
        mu=torch.from_numpy(mu),
        cov=torch.from_numpy(cov),
        chol=gmm.cholesky(torch.from_numpy(cov), jitter=0.0),
    )
    energy = gmm.sample_energy(torch.from_numpy(z), params).numpy()
    density = sum(phi[j] * multivariate_normal(mu[j], cov[j]).pdf(z) for j in range(k))
    np.testing.assert_allclose(energy, -np.log(density), rtol=1e-10)


def test_energy_is_finite_far_from_every_component() -> None:
    """logsumexp: a point 1e3 standard deviations out has a huge but finite energy."""
    params = gmm.gmm_params(
        torch.randn(200, 2, dtype=torch.float64),
        torch.zeros(200, 2, dtype=torch.float64).log_softmax(1),
        jitter=1e-6,
    )
    energy = gmm.sample_energy(torch.full((1, 2), 1e3, dtype=torch.float64), params)
    assert torch.isfinite(energy).all() and energy.item() > 1e5


def test_cov_diag_penalty() -> None:
    cov = torch.diag_embed(torch.tensor([[1.0, 2.0], [0.5, 4.0]], dtype=torch.float64))
    assert gmm.cov_diag_penalty(cov).item() == pytest.approx(1 + 0.5 + 2 + 0.25)


def test_near_singular_covariance_gives_finite_energy_and_gradients() -> None:
    """A constant latent column (zero variance) is made positive definite by the jitter."""
    rng = np.random.default_rng(2)
    z = torch.from_numpy(rng.normal(size=(64, 3)))
    z[:, 2] = 0.7  # exactly singular covariance before the jitter
    z.requires_grad_(True)
    log_gamma = torch.from_numpy(rng.normal(size=(64, 2))).log_softmax(1)
    params = gmm.gmm_params(z, log_gamma, jitter=1e-6)
    energy = gmm.sample_energy(z, params)
    loss = energy.mean() + 0.005 * gmm.cov_diag_penalty(params.cov)
    loss.backward()
    assert torch.isfinite(energy).all() and torch.isfinite(z.grad).all()


def test_cholesky_failure_names_the_component() -> None:
    cov = torch.eye(3, dtype=torch.float64).repeat(3, 1, 1)
    cov[1, 2, 2] = -1.0
    with pytest.raises(gmm.CholeskyError, match="component 1") as info:
        gmm.cholesky(cov, jitter=1e-6)
    assert info.value.component == 1
    cov[1, 2, 2] = float("nan")
    with pytest.raises(gmm.CholeskyError, match="component 1"):
        gmm.cholesky(cov, jitter=1e-6)


def _reference_batch_loss(z, logits, jitter):
    """The GMM part of the objective through autograd's generic path."""
    params = gmm.gmm_params(z, torch.log_softmax(logits, dim=1), jitter=jitter)
    return gmm.sample_energy(z, params).mean(), gmm.cov_diag_penalty(params.cov)


def test_fused_batch_loss_matches_autograd_values_and_gradients() -> None:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(40, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    logits = torch.randn(40, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    fused = gmm.batch_energy_and_penalty(z, logits, jitter=1e-3)
    reference = _reference_batch_loss(z, logits, 1e-3)
    for a, b in zip(fused, reference):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    for weights in ((1.0, 0.0), (0.0, 1.0), (0.3, 0.7)):
        g_fused = torch.autograd.grad(weights[0] * fused[0] + weights[1] * fused[1],
                                      (z, logits), retain_graph=True)
        g_ref = torch.autograd.grad(weights[0] * reference[0] + weights[1] * reference[1],
                                    (z, logits), retain_graph=True)
        for a, b in zip(g_fused, g_ref):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda a, b: gmm.batch_energy_and_penalty(a, b, jitter=1e-3), (z, logits)
    )


def test_fused_batch_loss_survives_an_empty_component() -> None:
    """A component no row belongs to (γ underflows to 0) must not produce NaN."""
    z = torch.randn(32, 3, dtype=torch.float64, requires_grad=True)
    logits = torch.zeros(32, 3, dtype=torch.float64)
    logits[:, 2] = -1e4  # γ_{:,2} = exp(-1e4) = 0 in float64
    logits.requires_grad_(True)
    energy, penalty = gmm.batch_energy_and_penalty(z, logits, jitter=1e-6)
    (energy + 0.003 * penalty).backward()
    assert torch.isfinite(energy) and torch.isfinite(penalty)
    assert torch.isfinite(z.grad).all() and torch.isfinite(logits.grad).all()


def _numpy_kernel(z, logits, jitter, weights):
    energy, penalty, g_zt, g_logits_t = gmm.batch_loss_and_grads_numpy(
        z.detach().T.numpy().copy(), logits.detach().T.numpy().copy(), jitter=jitter,
        g_energy=weights[0], g_penalty=weights[1])
    return energy, penalty, torch.from_numpy(g_zt.T), torch.from_numpy(g_logits_t.T)


@pytest.mark.parametrize("case", ["random", "empty component", "constant column"])
def test_numpy_batch_kernel_matches_the_torch_function(case) -> None:
    """The CPU step's NumPy kernel: the same values and gradients as _BatchGMMLoss."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(300, 3, dtype=torch.float64, generator=gen) * 3.0
    logits = torch.randn(300, 4, dtype=torch.float64, generator=gen)
    if case == "empty component":
        logits[:, 2] = -1e4  # γ underflows to 0: μ = 0, Σ = jitter·I, log φ ≈ -708
    if case == "constant column":
        z[:, 1] = 0.25  # singular before the jitter
    z.requires_grad_(True)
    logits.requires_grad_(True)
    energy, penalty = gmm.batch_energy_and_penalty(z, logits, jitter=1e-6)
    for weights in ((1.0, 0.0), (0.0, 1.0), (0.1, 0.005)):
        got = _numpy_kernel(z, logits, 1e-6, weights)
        assert got[0] == pytest.approx(energy.item(), rel=1e-12)
        assert got[1] == pytest.approx(penalty.item(), rel=1e-12)
        expected = torch.autograd.grad(weights[0] * energy + weights[1] * penalty, (z, logits),
                                       retain_graph=True)
        for a, b in zip(got[2:], expected):
            assert torch.isfinite(a).all()
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_numpy_batch_kernel_names_the_failing_component() -> None:
    z = torch.randn(50, 3, dtype=torch.float64)
    z[:, 2] = 1.0  # zero variance: only the jitter keeps Σ positive definite
    with pytest.raises(gmm.CholeskyError, match="component 0") as info:
        _numpy_kernel(z, torch.zeros(50, 1, dtype=torch.float64), -1e-3, (0.1, 0.005))
    assert info.value.component == 0 and info.value.jitter == -1e-3
    logits = torch.zeros(50, 3, dtype=torch.float64)
    logits[:25, 1] = 50.0  # component 1 owns rows 0-24, in which column 2 is constant ...
    logits[25:, 1] = -50.0
    z[25:, 2] = torch.randn(25, dtype=torch.float64)  # ... and the others own rows 25-49
    with pytest.raises(gmm.CholeskyError, match="component 1"):
        _numpy_kernel(z, logits, -1e-3, (0.1, 0.005))
    z[0, 0] = float("nan")  # a NaN is never hidden: it fails the factorisation or reaches
    try:  # the energy (where the loop stops), depending on the LAPACK build
        with np.errstate(invalid="ignore"):
            energy, *_ = _numpy_kernel(z, logits, 1e-6, (0.1, 0.005))
    except gmm.CholeskyError:
        return
    assert math.isnan(energy)


def test_fused_network_pieces_have_correct_gradients() -> None:
    from adb_plugins.dagmm.model import _EstimationMLP, _ReconstructionFeatures

    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(6, 5, dtype=torch.float64, generator=gen) + 0.1).requires_grad_(True)
    x_hat = torch.randn(6, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: _ReconstructionFeatures.apply(a, b, 1e-6), (x, x_hat)
    )
    zt = torch.randn(3, 7, dtype=torch.float64, generator=gen, requires_grad=True)
    keep = (torch.rand(10, 7, dtype=torch.float64, generator=gen) > 0.5).double() * 2.0
    params = [torch.randn(*shape, dtype=torch.float64, generator=gen, requires_grad=True)
              for shape in ((10, 3), (10,), (4, 10), (4,))]
    for mask in (keep, None):
        assert torch.autograd.gradcheck(
            lambda a, *p: _EstimationMLP.apply(a, mask, *p), (zt, *params)
        )


# -- model -------------------------------------------------------------------------------------
def test_latent_features_match_their_definition() -> None:
    torch.manual_seed(0)
    model = DAGMM(n_features=5, hidden=[4], latent_dim=2, n_gmm=3).eval()
    x = torch.rand(16, 5) + 0.1
    out = model(x)
    assert out.z.shape == (16, 4) and out.logits.shape == (16, 3)
    err = torch.linalg.vector_norm(x - out.x_hat, dim=1)
    torch.testing.assert_close(out.z[:, 2], err / torch.linalg.vector_norm(x, dim=1))
    torch.testing.assert_close(out.z[:, 3], torch.cosine_similarity(x, out.x_hat, dim=1))
    torch.testing.assert_close(out.err_sq, err.square())


def test_all_zero_row_gives_finite_latent() -> None:
    """||x|| = 0 would make the relative distance inf; the epsilon keeps it finite."""
    model = DAGMM(n_features=4, hidden=[3], latent_dim=1, n_gmm=2)
    out = model(torch.zeros(2, 4))
    assert torch.isfinite(out.z).all()


# -- training loop -----------------------------------------------------------------------------
def _quadratic_problem():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x = torch.randn(64, 3)

    def objective(m, xb):
        return {"loss": (m(xb) - xb.sum(1, keepdim=True)).square().mean()}

    return model, x, objective


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


def test_patience_zero_trains_every_epoch_and_keeps_the_last() -> None:
    model, x, objective = _quadratic_problem()
    history = train(
        model, objective, x, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        epochs=4, batch_size=16, generator=torch.Generator().manual_seed(0),
        validate=lambda m: {"loss": 1.0}, patience=0,
    )
    assert history["epochs_run"] == 4 and history["stop_reason"] == "max_epochs"
    assert history["best_epoch"] == 4 and history["monitor"] is None


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
        model, flaky, x, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
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


@pytest.mark.parametrize("head", ["numpy", "torch"])
@pytest.mark.parametrize("latent_dim, hidden, recon, dropout, weight", [
    (1, [60, 30, 10], "sum", 0.5, 1.0),  # the KDDCUP network
    (2, [10], "mean", 0.0, 0.3),  # Arrhythmia's shape, no dropout, warm-up weight
    (1, [12, 4], "sum", 0.5, 0.0),  # Thyroid's shape, GMM terms off (first warm-up epoch)
])
def test_fused_step_equals_autograd(latent_dim, hidden, recon, dropout, weight, head,
                                    monkeypatch) -> None:
    """The hand-written backward pass (.fused) gives autograd's loss terms and gradients, to
    float32 rounding, with either head (NumPy: CPU's; torch: every other device's)."""
    from adb_plugins.dagmm import fused
    from adb_plugins.dagmm.train import DAGMMObjective

    # Each head chosen explicitly, so that a change of the default cannot test one head twice.
    heads = {"numpy": {("cpu", torch.float32): fused._head_numpy}, "torch": {}}
    monkeypatch.setattr(fused, "HEADS", heads[head])
    torch.manual_seed(0)
    x = torch.rand(300, 20)
    x[0] = 0.0  # an all-zero row: the clamped norm
    model = DAGMM(n_features=20, hidden=hidden, latent_dim=latent_dim, n_gmm=3,
                  dropout=dropout).train()
    assert fused.supports(model)
    objective = DAGMMObjective(lambda_energy=0.1, lambda_cov_diag=0.005, cov_jitter=1e-6,
                               recon_reduction=recon, gmm_weight=weight)
    torch.manual_seed(1)  # the same dropout mask on both paths
    expected = objective(model, x)
    expected["loss"].backward()
    grads = {k: p.grad.clone() for k, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
    torch.manual_seed(1)
    got = objective.loss_and_grads(model, x)
    assert got.keys() == expected.keys()
    for key in expected:
        assert float(got[key]) == pytest.approx(expected[key].item(), rel=1e-6, abs=1e-7), key
    # A bias gradient is a sum over rows that can cancel (0.2 from terms of up to ~70), so its
    # float32 rounding is of the order of its layer's weight gradient, not of itself.
    layer_scale: dict[str, float] = {}
    for key, g in grads.items():
        layer = key.rsplit(".", 1)[0]
        layer_scale[layer] = max(layer_scale.get(layer, 0.0), float(g.abs().max()))
    for key, p in model.named_parameters():
        atol = 1e-6 * layer_scale[key.rsplit(".", 1)[0]]
        torch.testing.assert_close(p.grad, grads[key], rtol=1e-5, atol=atol, msg=key)


def test_fused_step_is_used_only_where_it_applies(synthetic, monkeypatch) -> None:
    from adb_plugins.dagmm import fused
    from adb_plugins.dagmm.train import DAGMMObjective

    for layer_norm in ("input", "hidden", "all"):
        model = DAGMM(n_features=6, hidden=[4], latent_dim=1, n_gmm=2, layer_norm=layer_norm)
        assert not fused.supports(model)
    # Training end to end through either path gives the same detector, to float rounding.
    X_train, X_test, _ = synthetic
    scores = DAGMMDetector(random_state=0, **FAST).fit(X_train).decision_function(X_test)
    monkeypatch.setattr(DAGMMObjective, "fused", False)
    reference = DAGMMDetector(random_state=0, **FAST).fit(X_train).decision_function(X_test)
    np.testing.assert_allclose(scores, reference, rtol=1e-4, atol=1e-4)


def test_flat_adam_matches_torch_adam() -> None:
    import copy

    from adb_plugins.dagmm.train import FlatAdam

    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    ours = ours.double()
    reference = copy.deepcopy(ours)
    opt_ours = FlatAdam(ours.parameters(), lr=1e-2)
    opt_ref = torch.optim.Adam(reference.parameters(), lr=1e-2)
    x = torch.randn(16, 5, dtype=torch.float64)
    for step in range(30):
        if step == 20:  # a rescheduled learning rate is honoured
            opt_ours.param_groups[0]["lr"] = opt_ref.param_groups[0]["lr"] = 1e-3
        for model, opt in ((ours, opt_ours), (reference, opt_ref)):
            opt.zero_grad()
            model(x).square().sum().backward()
            opt.step()
    for a, b in zip(ours.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    saved = opt_ours.state_dict()
    opt_ours.step()
    opt_ours.load_state_dict(saved)
    assert opt_ours.steps == 30


def test_flat_adam_gradients_live_in_one_buffer() -> None:
    """Both training paths leave every gradient in FlatAdam's flat buffer, so a step gathers
    nothing; the fallback update (where torch._fused_adam_ is missing) agrees with the kernel."""
    from adb_plugins.dagmm.train import DAGMMObjective, FlatAdam

    objective = DAGMMObjective(lambda_energy=0.1, lambda_cov_diag=0.005, cov_jitter=1e-6)
    x = torch.rand(64, 8, generator=torch.Generator().manual_seed(1))

    def three_steps(fused_kernel: bool) -> torch.Tensor:
        torch.manual_seed(0)
        model = DAGMM(n_features=8, hidden=[6], latent_dim=1, n_gmm=2, dropout=0.0).train()
        opt = FlatAdam(model.parameters(), lr=1e-3)
        opt._fused = fused_kernel
        for use_fused_step in (True, False, True):  # the hand-written step, autograd, again
            opt.zero_grad()
            if use_fused_step:
                objective.loss_and_grads(model, x)
            else:
                objective(model, x)["loss"].backward()
            offset = 0
            for p in model.parameters():
                view = opt.grad[offset:offset + p.numel()]
                assert p.grad.data_ptr() == view.data_ptr()
                assert torch.equal(p.grad.reshape(-1), view)
                offset += p.numel()
            assert opt.grad.abs().sum() > 0
            opt.step()
        return opt.flat

    torch.testing.assert_close(three_steps(False), three_steps(True), rtol=1e-6, atol=1e-9)

    # A caller that replaces a .grad (rather than writing into it) is still honoured.
    torch.manual_seed(0)
    model = DAGMM(n_features=8, hidden=[6], latent_dim=1, n_gmm=2, dropout=0.0)
    opt = FlatAdam(model.parameters(), lr=1e-3)
    before = opt.flat.clone()
    model.estimation.out.bias.grad = torch.ones_like(model.estimation.out.bias)
    opt.step()
    moved = (opt.flat != before).nonzero().flatten().tolist()
    end = opt.flat.numel()
    assert moved == list(range(end - model.estimation.out.bias.numel(), end))


# -- the detector ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    X_train, _ = manifold(rng, 2000)
    X_train = X_train[:2000]  # inliers only
    X_test, y_test = manifold(rng, 1000)
    return X_train, X_test, y_test


def test_registers_through_the_hook() -> None:
    registered: list[type] = []
    adb_register_detectors(registered.append)
    assert registered == [DAGMMDetector]
    assert DAGMMDetector.name == "dagmm"


def test_init_stores_parameters_unchanged() -> None:
    det = DAGMMDetector(preset="thyroid", hidden=(5, 3), lr="x")
    assert det.get_params()["hidden"] == (5, 3) and det.lr == "x"
    assert det.n_gmm is None and det.preset == "thyroid"
    assert set(DAGMMDetector.param_defaults()) >= {
        "preset", "hidden", "latent_dim", "n_gmm", "lambda_energy", "lambda_cov_diag", "lr",
        "batch_size", "epochs", "patience", "val_fraction", "layer_norm", "dropout",
        "cov_jitter", "device", "random_state", "contamination",
    }


BAD_PARAMS = [
    ("n_gmm", 0, "The 'n_gmm' parameter of DAGMMDetector must be an int >= 1. Got 0 instead."),
    ("n_gmm", 2.5, "'n_gmm' parameter of DAGMMDetector must be an int >= 1. Got 2.5"),
    ("epochs", True, "'epochs' parameter of DAGMMDetector must be an int >= 1. Got True"),
    ("batch_size", "big", "'batch_size' parameter of DAGMMDetector must be an int >= 1"),
    ("patience", -1, "'patience' parameter of DAGMMDetector must be an int >= 0. Got -1"),
    ("hidden", "60,30", "'hidden' parameter of DAGMMDetector must be a list or tuple of ints"),
    ("hidden", [10, 0], "'hidden' parameter of DAGMMDetector must be a list or tuple of ints"),
    ("lr", -1e-4, "'lr' parameter of DAGMMDetector must be a float > 0. Got -0.0001"),
    ("lr", "fast", "'lr' parameter of DAGMMDetector must be a float > 0. Got 'fast'"),
    ("cov_jitter", 0.0, "'cov_jitter' parameter of DAGMMDetector must be a float > 0"),
    ("n_threads", 0, "'n_threads' parameter of DAGMMDetector must be None or an int >= 1"),
    ("lr_decay", 1.5, "'lr_decay' parameter of DAGMMDetector must be a float in the range (0, 1]"),
    ("lambda_energy", float("nan"), "'lambda_energy' parameter of DAGMMDetector must be a float"),
    ("dropout", 1.0, "'dropout' parameter of DAGMMDetector must be a float in the range [0, 1)"),
    ("val_fraction", 1.5, "'val_fraction' parameter of DAGMMDetector must be a float in the"),
    ("layer_norm", "everywhere", "'layer_norm' parameter of DAGMMDetector must be a str among"),
    ("monitor", "auc", "'monitor' parameter of DAGMMDetector must be a str among"),
    ("preset", "kdd", "'preset' parameter of DAGMMDetector must be a str among"),
    ("device", "tpu", "'device' parameter of DAGMMDetector must be"),
    ("random_state", -3, "'random_state' parameter of DAGMMDetector must be None or an int"),
    ("contamination", 0.7, "'contamination' parameter of DAGMMDetector must be a float in"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_PARAMS,
                         ids=[f"{n}={v!r}" for n, v, _ in BAD_PARAMS])
def test_bad_parameters_raise_parameter_error_naming_them(name, value, message, synthetic) -> None:
    X_train = synthetic[0][:100]
    with pytest.raises(ParameterError, match=re.escape(message)):
        DAGMMDetector(**{name: value}).fit(X_train)


def test_early_stopping_needs_validation_rows(synthetic) -> None:
    with pytest.raises(ParameterError, match="'val_fraction' parameter .* must be > 0 when"):
        DAGMMDetector(patience=3, val_fraction=0.0).fit(synthetic[0][:100])


def test_cli_style_values_are_accepted(synthetic) -> None:
    """The CLI hands over literals: lists for hidden, bools, ints for floats."""
    det = DAGMMDetector(hidden=(6, 3), layer_norm=True, lr=1, epochs=1, random_state=0,
                        lambda_energy=0, **{k: v for k, v in FAST.items() if k not in (
                            "hidden", "epochs")})
    det.set_params(lr=1e-3).fit(synthetic[0][:300])
    assert det.config_["hidden"] == [6, 3] and det.config_["layer_norm"] == "input"
    assert det.config_["lr"] == 1e-3 and isinstance(det.config_["lambda_energy"], float)


def test_presets_resolve_and_explicit_values_win(synthetic) -> None:
    det = DAGMMDetector(preset="thyroid", epochs=1, random_state=0).fit(synthetic[0][:300])
    assert det.config_["hidden"] == PRESETS["thyroid"]["hidden"]
    assert det.config_["n_gmm"] == 2 and det.config_["epochs"] == 1
    paper = PRESETS["paper"]
    assert (paper["hidden"], paper["n_gmm"], paper["lr"], paper["batch_size"]) == (
        [60, 30, 10], 4, 1e-4, 1024)
    assert (paper["lambda_energy"], paper["lambda_cov_diag"], paper["epochs"]) == (0.1, 0.005, 200)
    assert paper["dropout"] == 0.5 and paper["patience"] == 0


def test_same_seed_gives_identical_scores_and_another_seed_does_not(synthetic) -> None:
    X_train, X_test, _ = synthetic
    a = DAGMMDetector(random_state=3, **FAST).fit(X_train).decision_function(X_test)
    b = DAGMMDetector(random_state=3, **FAST).fit(X_train).decision_function(X_test)
    c = DAGMMDetector(random_state=4, **FAST).fit(X_train).decision_function(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_the_global_torch_state_alone(synthetic) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    DAGMMDetector(random_state=0, n_threads=1, **FAST).fit(synthetic[0])
    torch.testing.assert_close(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_dropout_is_off_when_scoring(synthetic) -> None:
    X_train, X_test, _ = synthetic
    det = DAGMMDetector(random_state=0, dropout=0.5, **FAST).fit(X_train)
    assert not det.model_.training
    np.testing.assert_array_equal(det.decision_function(X_test), det.decision_function(X_test))
    # ...while in training mode the same network is stochastic, so the check above means something.
    x = torch.from_numpy(X_test[:64])
    det.model_.train()
    assert not torch.equal(det.model_(x).logits, det.model_(x).logits)
    det.model_.eval()


def test_pyod_compatible_outputs(synthetic) -> None:
    X_train, X_test, _ = synthetic
    det = DAGMMDetector(random_state=0, contamination=0.05, **FAST)
    assert det.fit(X_train) is det
    assert det.decision_scores_.shape == (len(X_train),) and det.decision_scores_.dtype == np.float64
    assert np.mean(det.decision_scores_ > det.threshold_) == pytest.approx(0.05, abs=0.01)
    labels = det.predict(X_test)
    assert set(np.unique(labels)) <= {0, 1} and labels.shape == (len(X_test),)
    scores = det.decision_function(X_test.astype(np.float64))  # float64 input works as well
    np.testing.assert_allclose(scores, det.decision_function(X_test), rtol=1e-6)


def test_latent_representation(synthetic) -> None:
    X_train, X_test, _ = synthetic
    det = DAGMMDetector(random_state=0, **FAST).fit(X_train)
    z = det.latent(X_test)
    assert z.shape == (len(X_test), FAST["latent_dim"] + 2) and z.dtype == np.float64
    assert np.isfinite(z).all() and (z[:, -2] >= 0).all() and (np.abs(z[:, -1]) <= 1 + 1e-6).all()


def test_history_is_json_and_complete(synthetic) -> None:
    det = DAGMMDetector(random_state=0, **FAST).fit(synthetic[0])
    history = json.loads(json.dumps(det.history_))
    n = history["epochs_run"]
    for key in ("loss", "recon", "energy", "cov_diag", "val_loss", "val_energy", "seconds"):
        assert len(history[key]) == n and all(math.isfinite(v) for v in history[key]), key
    assert history["stop_reason"] in ("max_epochs", "early_stopping")
    assert 1 <= history["best_epoch"] <= n and history["seed"] == 0
    assert history["fit_seconds"] > 0 and history["recoveries"] == []


def test_early_stopping_restores_the_best_validation_epoch(synthetic) -> None:
    states: dict[int, dict[str, torch.Tensor]] = {}

    def keep(epoch: int, det: DAGMMDetector) -> None:
        states[epoch] = {k: v.clone() for k, v in det.model_.state_dict().items()}

    det = DAGMMDetector(random_state=0, **{**FAST, "epochs": 300, "lr": 3e-3}, patience=2)
    history = det.fit(synthetic[0], callbacks=[keep]).history_
    assert history["stop_reason"] == "early_stopping" and history["epochs_run"] < 300
    best = history["best_epoch"]
    assert best == int(np.argmin(history["val_loss"])) + 1
    assert history["epochs_run"] == best + 2 and len(states) == best + 2
    final = det.model_.state_dict()
    for key, value in states[best].items():
        torch.testing.assert_close(final[key], value, rtol=0, atol=0)
    assert any(not torch.equal(final[k], v) for k, v in states[best + 2].items())


def test_save_and_load_round_trip(synthetic, tmp_path) -> None:
    X_train, X_test, _ = synthetic
    det = DAGMMDetector(random_state=0, hidden=(8, 4), **{k: v for k, v in FAST.items()
                                                           if k != "hidden"}).fit(X_train)
    path = tmp_path / "dagmm.pt"
    det.save(path)
    torch.load(path, weights_only=True)  # plain tensors and Python values only
    again = DAGMMDetector.load(path)
    np.testing.assert_array_equal(again.decision_function(X_test), det.decision_function(X_test))
    assert again.threshold_ == det.threshold_ and again.config_ == det.config_
    assert again.get_params() == det.get_params() and again.history_ == det.history_
    np.testing.assert_array_equal(again.predict(X_test), det.predict(X_test))


# -- numerical failures at the detector level --------------------------------------------------
def _patch_batch_gmm(monkeypatch, fail) -> None:
    """Make ``fail(jitter)`` run before every batch GMM factorisation, on every path: the torch
    Function (autograd path, validation, non-CPU devices) and the fused step's NumPy kernel."""
    from adb_plugins.dagmm import fused

    real_forward, real_numpy = gmm._BatchGMMLoss.forward, fused.batch_loss_and_grads_numpy

    def forward(ctx, z, logits, jitter):
        fail(jitter)
        return real_forward(ctx, z, logits, jitter)

    def numpy_kernel(zt, logits_t, *, jitter, **kwargs):
        fail(jitter)
        return real_numpy(zt, logits_t, jitter=jitter, **kwargs)

    monkeypatch.setattr(gmm._BatchGMMLoss, "forward", staticmethod(forward))
    monkeypatch.setattr(fused, "batch_loss_and_grads_numpy", numpy_kernel)


def test_a_failed_cholesky_is_recovered_by_raising_the_jitter(synthetic, monkeypatch) -> None:
    calls = {"n": 0}

    def fails_once(jitter):
        calls["n"] += 1
        if calls["n"] == 3:
            raise gmm.CholeskyError(1, jitter)

    _patch_batch_gmm(monkeypatch, fails_once)
    det = DAGMMDetector(random_state=0, cov_jitter=1e-6, **FAST).fit(synthetic[0])
    assert det.history_["recoveries"] == [
        {"epoch": 1, "batch": 3, "component": 1,
         "what": "covariance of GMM component 1 is not positive definite (diagonal jitter 1e-06)"}
    ]
    assert det.cov_jitter_ == pytest.approx(1e-5) and det.history_["epochs_run"] == FAST["epochs"]
    assert np.isfinite(det.decision_function(synthetic[1])).all()


def test_an_unrecoverable_failure_names_epoch_batch_and_component(synthetic, monkeypatch) -> None:
    def always_fails(jitter):
        raise gmm.CholeskyError(2, jitter)

    _patch_batch_gmm(monkeypatch, always_fails)
    det = DAGMMDetector(random_state=0, **FAST)
    with pytest.raises(TrainingError, match=r"epoch 1, batch 1, GMM component 2.*cov_jitter"):
        det.fit(synthetic[0])


def test_degenerate_data_gives_finite_scores() -> None:
    """Constant columns, duplicated rows and an all-zero row: singular latent covariances."""
    rng = np.random.default_rng(0)
    base = rng.uniform(size=(5, 6)).astype(np.float32)
    X = np.repeat(base, 60, axis=0)  # 5 distinct rows, 60 copies each
    X[:, 4] = 1.0  # a constant column
    X[0] = 0.0  # ||x|| = 0
    det = DAGMMDetector(random_state=0, **FAST).fit(X)
    scores = det.decision_function(np.vstack([X, rng.uniform(size=(20, 6)).astype(np.float32)]))
    assert np.isfinite(scores).all() and np.isfinite(det.decision_scores_).all()


# -- it learns ---------------------------------------------------------------------------------
def line_data(rng: np.random.Generator, n_in: int, n_out: int):
    """Inliers near a line in 12-D; outliers pushed 0.4 off it, within the inliers' range."""
    v = np.random.default_rng(42).normal(size=12)
    v /= np.linalg.norm(v)
    t = rng.uniform(-2, 2, size=(n_in + n_out, 1))
    X = t * v + 1.0 + 0.01 * rng.normal(size=(n_in + n_out, 12))
    off = rng.normal(size=(n_out, 12))
    off -= (off @ v)[:, None] * v
    X[n_in:] += 0.4 * off / np.linalg.norm(off, axis=1, keepdims=True)
    return X.astype(np.float32), np.r_[np.zeros(n_in), np.ones(n_out)].astype(np.int64)


@pytest.fixture(scope="module")
def line_task():
    rng = np.random.default_rng(0)
    X_train, _ = line_data(rng, 2000, 0)
    X_test, y_test = line_data(rng, 1000, 100)
    return X_train, X_test, y_test


def test_training_changes_parameters_and_lowers_the_loss(line_task) -> None:
    X_train = line_task[0]
    recipe = {**FAST, "epochs": 10, "lr": 3e-3, "patience": 0, "random_state": 0}
    # lr=1e-12 for one epoch: the same seeded initialisation, effectively untrained.
    untrained = DAGMMDetector(**{**recipe, "lr": 1e-12, "epochs": 1}).fit(X_train)
    trained = DAGMMDetector(**recipe).fit(X_train)
    before, after = untrained.model_.state_dict(), trained.model_.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)
    history = trained.history_
    assert history["loss"][-1] < history["loss"][0] - 5.0
    assert history["recon"][-1] < 0.5 * history["recon"][0]


def test_trained_model_beats_its_untrained_initialisation(line_task) -> None:
    """Xavier init here: PyTorch's smaller default init already separates this task untrained
    (AUC ~0.93, a reconstruction close to a constant), so there would be little to beat."""
    from sklearn.metrics import roc_auc_score

    X_train, X_test, y_test = line_task
    recipe = {**FAST, "epochs": 10, "lr": 3e-3, "patience": 0, "random_state": 0,
              "init": "xavier"}
    untrained = DAGMMDetector(**{**recipe, "lr": 1e-12, "epochs": 1}).fit(X_train)
    trained = DAGMMDetector(**recipe).fit(X_train)
    auc_before = roc_auc_score(y_test, untrained.decision_function(X_test))
    auc_after = roc_auc_score(y_test, trained.decision_function(X_test))
    assert auc_after >= 0.95 and auc_after > auc_before + 0.2, (auc_before, auc_after)


# -- real data ---------------------------------------------------------------------------------
def test_short_training_on_kddcup99_clears_a_floor(kdd_path) -> None:
    """zong2018, seed 0, the default recipe cut to 6 epochs (of 20): F1 >= 0.85, ROC AUC >= 0.95."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    from adb_datasets.kddcup99 import KDDCup99Dataset
    from adbench_dagmm.protocols import Zong2018Protocol

    protocol = Zong2018Protocol()
    split = protocol.split(KDDCup99Dataset().load(), seed=0)
    det = DAGMMDetector(preset="kddcup", epochs=6, random_state=0).fit(split.X_train)
    scores = det.decision_function(split.X_test)
    predicted = protocol.threshold(scores, split.contamination)
    _, _, f1, _ = precision_recall_fscore_support(split.y_test, predicted, average="binary")
    auc = roc_auc_score(split.y_test, scores)
    assert f1 >= 0.85 and auc >= 0.95, (f1, auc)
    assert det.history_["epochs_run"] == 6 and det.history_["recoveries"] == []


def test_latent_has_the_papers_three_coordinates() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    from adb_plugins.dagmm.detector import DAGMMDetector

    det = DAGMMDetector(preset="thyroid", epochs=2, random_state=0).fit(X)
    z = det.latent(X[:50])
    assert z.shape == (50, det.config_["latent_dim"] + 2) and z.dtype == np.float64
    assert np.isfinite(z).all()
    assert (z[:, -2] >= 0).all()  # relative Euclidean distance
    assert (np.abs(z[:, -1]) <= 1 + 1e-6).all()  # cosine similarity
