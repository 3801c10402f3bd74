"""``adb_plugins.dagmm.gmm``: the mixture maths against numpy/scipy, robustness, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adb_plugins.dagmm import gmm

from .conftest import mixture


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


def test_chunked_covariance_equals_one_pass() -> None:
    z, log_gamma = (torch.from_numpy(a) for a in mixture(np.random.default_rng(5), n=1000))
    whole = gmm.gmm_params(z, log_gamma, jitter=1e-6)
    chunked = gmm.gmm_params(z, log_gamma, jitter=1e-6, chunk_rows=97)
    torch.testing.assert_close(chunked.cov, whole.cov, rtol=1e-12, atol=1e-14)


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
    logits = torch.from_numpy(rng.normal(size=(64, 2))).requires_grad_(True)
    energy, penalty = gmm.batch_energy_and_penalty(z, logits, jitter=1e-6)
    (energy + 0.005 * penalty).backward()
    assert torch.isfinite(energy) and torch.isfinite(z.grad).all()
    assert torch.isfinite(logits.grad).all()


def test_an_empty_component_keeps_the_loss_and_gradients_finite() -> None:
    """A component no row belongs to (its softmax weight underflows) drops out of the mixture."""
    rng = np.random.default_rng(3)
    z = torch.from_numpy(rng.normal(size=(32, 3))).requires_grad_(True)
    logits = torch.from_numpy(rng.normal(size=(32, 3)))
    logits[:, 2] = -800.0  # exp(-800) underflows to 0 in float64
    logits.requires_grad_(True)
    energy, penalty = gmm.batch_energy_and_penalty(z, logits, jitter=1e-6)
    (energy + 0.005 * penalty).backward()
    assert torch.isfinite(energy) and torch.isfinite(penalty)
    assert torch.isfinite(z.grad).all() and torch.isfinite(logits.grad).all()


def test_batch_objective_gradients_pass_gradcheck() -> None:
    """The training objective's GMM part, differentiated by autograd through phi, mu, Sigma,
    the Cholesky factor and the triangular solve, against finite differences."""
    rng = np.random.default_rng(4)
    z = torch.from_numpy(rng.normal(size=(24, 3))).requires_grad_(True)
    logits = torch.from_numpy(rng.normal(size=(24, 4))).requires_grad_(True)

    def objective(z, logits):
        energy, penalty = gmm.batch_energy_and_penalty(z, logits, jitter=1e-3)
        return energy + 0.005 * penalty

    assert torch.autograd.gradcheck(objective, (z, logits))


def test_cholesky_failure_names_the_component() -> None:
    cov = torch.eye(3, dtype=torch.float64).repeat(3, 1, 1)
    cov[1, 2, 2] = -1.0
    with pytest.raises(gmm.CholeskyError, match="component 1") as info:
        gmm.cholesky(cov, jitter=1e-6)
    assert info.value.component == 1
    cov[1, 2, 2] = float("nan")
    with pytest.raises(gmm.CholeskyError, match="component 1"):
        gmm.cholesky(cov, jitter=1e-6)


def test_new_tensors_follow_the_input_dtype() -> None:
    z, log_gamma = (torch.from_numpy(a).float() for a in mixture(np.random.default_rng(6)))
    params = gmm.gmm_params(z, log_gamma, jitter=1e-3)
    assert params.cov.dtype == torch.float32 and gmm.sample_energy(z, params).dtype == torch.float32
