"""Gaussian-mixture maths of DAGMM as pure functions on tensors (paper §3.3, eqs. 5–7).

Meant to run in float64: the latent vectors have 3–4 dimensions, so the cost is nil, while
float32 cannot represent a useful diagonal jitter next to covariances of order 1 (the classic
``1e-12`` jitter of public reimplementations is below float32's resolution and does nothing).
The functions take dtype and device from their inputs and never move data.  One implementation
serves training (the GMM of each batch, differentiated by autograd) and scoring (the GMM fitted
once on all training rows).  Mixture weights come from log responsibilities through
``logsumexp``/softmax, so a component whose weight underflows keeps a finite ``log φ``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor


class GMMParams(NamedTuple):
    """Mixture parameters; ``chol`` is the lower Cholesky factor of ``cov`` (jitter included)."""

    log_phi: Tensor  # (K,)
    mu: Tensor  # (K, D)
    cov: Tensor  # (K, D, D)
    chol: Tensor  # (K, D, D)


class CholeskyError(RuntimeError):
    """A covariance matrix was not positive definite even with the jitter.

    ``component`` is the index of the first failing component; the caller (which knows the epoch
    and batch) turns this into a :class:`~adbench_dagmm.errors.TrainingError` or recovers.
    """

    def __init__(self, component: int, jitter: float) -> None:
        super().__init__(
            f"covariance of GMM component {component} is not positive definite "
            f"(diagonal jitter {jitter:g})"
        )
        self.component = component
        self.jitter = jitter


def gmm_params(
    z: Tensor, log_gamma: Tensor, *, jitter: float, chunk_rows: int = 65536
) -> GMMParams:
    """Estimate mixture weights, means and covariances from soft assignments (eq. 5).

    Parameters
    ----------
    z : Tensor of shape (N, D)
        Latent vectors (float64 recommended).
    log_gamma : Tensor of shape (N, K)
        Log responsibilities, ``log_softmax`` of the estimation network's output.
    jitter : float
        Added to every covariance diagonal; must be > 0 for a guaranteed factorisation.
    chunk_rows : int
        Rows per step of the covariance accumulation (bounds memory, not the result).

    Returns
    -------
    GMMParams
        ``log_phi`` (K,), ``mu`` (K, D), ``cov`` (K, D, D) with the jitter on its diagonal, and
        its Cholesky factor ``chol``.

    Raises
    ------
    CholeskyError
        If a covariance is not positive definite (only possible with non-finite input or a
        jitter of 0).
    """
    n = z.shape[0]
    log_phi = torch.logsumexp(log_gamma, dim=0) - math.log(n)  # (K,)
    # Weights normalised per component: each column of w sums to 1, so the means and
    # covariances are convex combinations and never divide by an underflowed sum.
    w = torch.softmax(log_gamma, dim=0)  # (N, K)
    mu = w.T @ z  # (K, D)
    # Centred two-pass covariance as batched Gram matrices, in row chunks so that the (K, N, D)
    # deviations of a whole training set never exist at once.
    cov = None
    for z_part, w_part in zip(torch.split(z, chunk_rows), torch.split(w, chunk_rows)):
        diff = z_part.unsqueeze(0) - mu.unsqueeze(1)  # (K, n, D)
        part = (diff * w_part.T.unsqueeze(-1)).transpose(1, 2) @ diff  # (K, D, D)
        cov = part if cov is None else cov + part
    eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)  # (D, D)
    cov = cov + jitter * eye  # (K, D, D)
    return GMMParams(log_phi=log_phi, mu=mu, cov=cov, chol=cholesky(cov, jitter=jitter))


def cholesky(cov: Tensor, *, jitter: float) -> Tensor:
    """Lower Cholesky factors of a (K, D, D) stack; raise :class:`CholeskyError` on failure."""
    chol, info = torch.linalg.cholesky_ex(cov)
    # info is a (K,) tensor: 0 where the factorisation succeeded.  Also catch NaN/inf inputs,
    # for which some LAPACK builds report success and return a non-finite factor.
    bad = (info != 0) | ~torch.isfinite(chol).all(dim=(-2, -1))  # (K,)
    if bool(bad.any()):
        raise CholeskyError(int(bad.nonzero()[0, 0]), jitter)
    return chol


def component_log_density(z: Tensor, mu: Tensor, chol: Tensor) -> Tensor:
    """Log density of every row under every Gaussian component.

    Parameters
    ----------
    z : Tensor of shape (N, D)
    mu : Tensor of shape (K, D)
    chol : Tensor of shape (K, D, D)
        Lower Cholesky factors of the covariances.

    Returns
    -------
    Tensor of shape (N, K)
    """
    d = z.shape[-1]
    diff = (z.unsqueeze(0) - mu.unsqueeze(1)).transpose(1, 2)  # (K, D, N)
    # Mahalanobis distance through a triangular solve: never forms Σ⁻¹ explicitly.
    sol = torch.linalg.solve_triangular(chol, diff, upper=False)  # (K, D, N)
    maha = sol.square().sum(dim=1)  # (K, N)
    # log|Σ| = 2 Σ_j log L_jj, exact from the factor (no det() under/overflow).
    half_logdet = torch.diagonal(chol, dim1=-2, dim2=-1).log().sum(-1)  # (K,)
    log_norm = half_logdet + 0.5 * d * math.log(2.0 * math.pi)  # (K,)
    return (-0.5 * maha - log_norm.unsqueeze(-1)).T  # (N, K)


def sample_energy(z: Tensor, params: GMMParams) -> Tensor:
    """Sample energy ``E(z) = -log Σ_k φ_k N(z | μ_k, Σ_k)`` (eq. 6), via ``logsumexp``.

    Returns a tensor of shape (N,).  Higher energy means lower density, i.e. more anomalous.
    """
    log_joint = component_log_density(z, params.mu, params.chol) + params.log_phi  # (N, K)
    return -torch.logsumexp(log_joint, dim=1)  # (N,)


def cov_diag_penalty(cov: Tensor) -> Tensor:
    """The singularity penalty ``P(Σ) = Σ_k Σ_j 1 / Σ_kjj`` of eq. 7 (a scalar)."""
    return torch.diagonal(cov, dim1=-2, dim2=-1).reciprocal().sum()


def batch_energy_and_penalty(z: Tensor, logits: Tensor, *, jitter: float) -> tuple[Tensor, Tensor]:
    """Mean energy of ``z`` under the GMM estimated from the batch itself, and ``P(Σ)``.

    The GMM part of the training objective (paper eq. 5–7), differentiable by autograd.

    Parameters
    ----------
    z : Tensor of shape (N, D), float64
    logits : Tensor of shape (N, K), float64
        Estimation-network output before the softmax.
    jitter : float
        Diagonal jitter of every covariance.

    Returns
    -------
    (Tensor, Tensor)
        Scalars: the mean sample energy and the covariance-diagonal penalty.

    Raises
    ------
    CholeskyError
        If a covariance does not factorise.
    """
    params = gmm_params(z, torch.log_softmax(logits, dim=1), jitter=jitter)
    return sample_energy(z, params).mean(), cov_diag_penalty(params.cov)
